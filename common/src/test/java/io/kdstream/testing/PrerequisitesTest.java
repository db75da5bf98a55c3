package io.kdstream.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import io.kdstream.testing.Prerequisites.Need;

/** A missing need skips with its reason, except in strict mode where CI must have provided it. */
class PrerequisitesTest {

    private final String saved = System.getProperty(Prerequisites.STRICT_PROPERTY);

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(Prerequisites.STRICT_PROPERTY);
        } else {
            System.setProperty(Prerequisites.STRICT_PROPERTY, saved);
        }
    }

    @Test
    void outsideStrictModeAMissingNeedIsASkipNamingIt() {
        System.setProperty(Prerequisites.STRICT_PROPERTY, "false");
        assertThatThrownBy(() -> Prerequisites.assume(Need.PYTORCH, false, "/usr/bin/python3 cannot import torch"))
                .isInstanceOf(TestAbortedException.class)
                .hasMessage("[python3-torch] /usr/bin/python3 cannot import torch");
        Prerequisites.assume(Need.PYTORCH, true, "not thrown");
        Prerequisites.assumeNull(Need.TOOL, null);
    }

    @Test
    void inStrictModeOnlyDockerGpuAndPrivilegedTmpfsMayStillSkip() {
        System.setProperty(Prerequisites.STRICT_PROPERTY, "true");
        for (Need need : Need.values()) {
            if (need == Need.DOCKER || need == Need.GPU || need == Need.PRIVILEGED_TMPFS) {
                assertThat(need.ciProvides()).as(need.label()).isFalse();
                assertThatThrownBy(() -> Prerequisites.assumeNull(need, "absent here"))
                        .isInstanceOf(TestAbortedException.class).hasMessage("[" + need.label() + "] absent here");
            } else {
                assertThatThrownBy(() -> Prerequisites.assumeNull(need, "absent here"))
                        .isInstanceOf(AssertionError.class)
                        .hasMessageContaining("strict mode")
                        .hasMessageContaining("[" + need.label() + "] absent here");
            }
        }
    }

    @Test
    void thePropertyDecidesWhenSetAndTheCiVariableWhenNot() {
        System.setProperty(Prerequisites.STRICT_PROPERTY, "false");
        assertThat(Prerequisites.strict()).isFalse();
        System.setProperty(Prerequisites.STRICT_PROPERTY, "true");
        assertThat(Prerequisites.strict()).isTrue();
        System.setProperty(Prerequisites.STRICT_PROPERTY, "");
        assertThat(Prerequisites.strict()).isEqualTo("true".equalsIgnoreCase(System.getenv("CI")));
    }
}
