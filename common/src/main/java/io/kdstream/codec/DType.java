package io.kdstream.codec;

import java.util.Locale;
import java.util.Optional;

/** Element types with their safetensors names; values are stored little-endian. */
public enum DType {
    BOOL(1), U8(1), I8(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4), I64(8), U64(8), F64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** Whether values convert to and from {@code float} ({@link Tensor#toFloats()}). */
    public boolean isFloating() {
        return this == F16 || this == BF16 || this == F32 || this == F64;
    }

    /** The safetensors header name, e.g. {@code "F16"}. */
    public String safetensorsName() {
        return name();
    }

    /** Parses a safetensors dtype name; empty for names this codec does not know. */
    public static Optional<DType> fromSafetensorsName(String name) {
        try {
            return Optional.of(valueOf(name));
        } catch (IllegalArgumentException | NullPointerException e) {
            return Optional.empty();
        }
    }

    /** Parses a user-facing name such as {@code f16}, {@code bf16}, {@code f32} (case-insensitive). */
    public static DType parse(String name) {
        return fromSafetensorsName(name.toUpperCase(Locale.ROOT)).orElseThrow(() ->
                new IllegalArgumentException("unknown dtype '" + name + "' (expected e.g. f32, f16, bf16, i8)"));
    }
}
