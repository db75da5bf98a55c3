package io.kdstream.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void cpuIsTheCpuOnAnyHostAndAutoIsTheEnginesDefault() {
        assertThat(Devices.resolve("cpu")).isEqualTo(Device.cpu());
        assertThat(Devices.resolve(" CPU ")).isEqualTo(Device.cpu());
        assertThat(Devices.resolve("auto")).isEqualTo(Engine.getEngine("PyTorch").defaultDevice());
    }

    @Test
    void aGpuTheHostLacksIsRefusedWithTheCountDjlSees() {
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        assertThatThrownBy(() -> Devices.resolve("gpu:" + gpus))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--device gpu:" + gpus)
                .hasMessageContaining("DJL sees " + gpus + " GPU(s)");
    }

    @Test
    void anythingElseIsRefusedNamingTheAllowedValues() {
        for (String bad : new String[] {"tpu", "gpu:", "gpu:-1", "gpu:x", "cuda:0"}) {
            assertThatThrownBy(() -> Devices.resolve(bad)).as(bad)
                    .hasMessage("--device must be auto, cpu, gpu or gpu:i, got '" + bad + "'");
        }
    }
}
