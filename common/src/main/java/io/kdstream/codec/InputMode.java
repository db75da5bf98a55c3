package io.kdstream.codec;

import java.util.Locale;

/** How the student gets the teacher's augmented inputs (DESIGN.md §5). */
public enum InputMode {
    /** The augmented inputs travel in the record ({@code inputs} tensor). */
    INLINE,
    /** Only sample ids and augmentation seeds travel; the student rebuilds the inputs. */
    REFERENCE;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The input modes a command line accepts, derived from the constants (a picocli converter and candidates). */
    public static final class Names extends io.kdstream.config.EnumChoice<InputMode> {
        public Names() {
            super(values(), InputMode::tag);
        }
    }
}
