package io.kdstream.progress;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The protocol's mappers: lenient reading, so that an added field does not break an older reader. */
final class ProgressJson {
    static final ObjectMapper WRITER = new ObjectMapper();
    static final ObjectMapper READER = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ProgressJson() {
    }
}
