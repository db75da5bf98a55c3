package io.kdstream.student;

import io.kdstream.model.Architecture;

/** Zoo configurations shared by the student model tests. */
final class StudentModelTestConfig {

    private StudentModelTestConfig() {
    }

    /** An mlp student, constant learning rate 1e-3 without weight decay or warm-up, seed 1. */
    static StudentConfig mlp() {
        return StudentConfig.builder().optArch(Architecture.MLP).optLr(1e-3).optWeightDecay(0)
                .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optSeed(1L).build();
    }
}
