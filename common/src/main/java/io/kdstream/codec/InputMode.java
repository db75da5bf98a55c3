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
}
