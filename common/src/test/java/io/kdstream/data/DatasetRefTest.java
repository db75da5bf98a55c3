package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatasetRefTest {

    @Test
    void idRoundTripsAndNamesTheSubset() {
        DatasetRef ref = new DatasetRef("/data/my images", 0.5, 5000, 7);
        assertThat(ref.id()).isEqualTo("/data/my images?fraction=0.5&limit=5000&seed=7");
        assertThat(DatasetRef.parse(ref.id())).isEqualTo(ref);
        assertThat(DatasetRef.parse("fashion-mnist")).isEqualTo(DatasetRef.full("fashion-mnist"));
    }

    @Test
    void rejectsInvalidSubsets() {
        assertThatThrownBy(() -> new DatasetRef("x", 0, 0, 0)).hasMessageContaining("--train-fraction");
        assertThatThrownBy(() -> new DatasetRef("x", 1, -1, 0)).hasMessageContaining("--train-limit");
        assertThatThrownBy(() -> DatasetRef.parse("x?limit=lots")).hasMessageContaining("bad dataset id");
    }
}
