package io.kdstream.student;

import io.kdstream.codec.InputMode;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.Datasets;
import io.kdstream.data.JpegDecoder;

/**
 * Which decoder a student reads its images with ({@code --jpeg-decoder}). A reference-mode student
 * rebuilds the teacher's inputs from the files, so it decodes as the run's dataset id says the
 * teacher did, or refuses to start; an inline-fed student decodes only its evaluation split.
 */
final class StudentJpegDecoder {
    private StudentJpegDecoder() {
    }

    /**
     * @param run    the run's name, for messages
     * @param data   the run's data as its manifest records it (with the student's {@code --dataset})
     * @param wanted {@code --jpeg-decoder}; {@link JpegDecoder#AUTO} follows the teacher
     * @throws IllegalStateException in one line where the student would decode otherwise than the teacher
     */
    static JpegDecoder choose(String run, DatasetRef data, InputMode mode, JpegDecoder wanted) {
        JpegDecoder teacher = data.jpegDecoder();
        if (!Datasets.decodesFiles(data.dataset())) {
            if (wanted != JpegDecoder.AUTO) {
                throw new IllegalStateException("--jpeg-decoder picks what decodes an image folder's JPEGs, and run " + run
                        + " reads " + data.dataset() + ", IDX files: drop it");
            }
            return teacher;
        }
        if (mode != InputMode.REFERENCE) { // the inputs travel in the records: only the evaluation split is decoded here
            return wanted != JpegDecoder.AUTO ? wanted.resolve()
                    : teacher == JpegDecoder.TURBO ? JpegDecoder.AUTO.resolve() : JpegDecoder.JAVA.resolve();
        }
        if (wanted != JpegDecoder.AUTO && wanted != teacher) {
            throw new IllegalStateException("run " + run + " decoded its JPEGs with --jpeg-decoder " + teacher.tag()
                    + " (dataset id " + data.id() + "): a reference-mode student rebuilds the teacher's inputs and must "
                    + "decode as the teacher did; drop --jpeg-decoder " + wanted.tag());
        }
        if (teacher == JpegDecoder.TURBO && !JpegDecoder.turboAvailable()) {
            throw new IllegalStateException("run " + run + " decoded its JPEGs with libjpeg-turbo, which does not load "
                    + "here: " + JpegDecoder.turboMissing() + "; a reference-mode student must decode as the teacher did: "
                    + "install it (apt-get install libturbojpeg0; Ubuntu: libturbojpeg), or start the run's teacher with "
                    + "--jpeg-decoder java");
        }
        return teacher.resolve();
    }
}
