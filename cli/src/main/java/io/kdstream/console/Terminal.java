package io.kdstream.console;

import java.io.Console;

/**
 * Whether stdout is a terminal a live view may redraw in place. Anything else (a file, a pipe, a
 * container log) gets plain lines: redrawing there writes carriage-return frames that pile up
 * into one huge line.
 */
public final class Terminal {

    private static final boolean INTERACTIVE = detect();

    private Terminal() {
    }

    /** True when stdin and stdout are a terminal that understands cursor movement. */
    public static boolean isInteractive() {
        return INTERACTIVE;
    }

    private static boolean detect() {
        if ("dumb".equals(System.getenv("TERM")) || Boolean.getBoolean("kdstream.plain")) {
            return false;
        }
        Console console = System.console();
        if (console == null) {
            return false; // Java 17-21: no console unless both stdin and stdout are a terminal
        }
        try {
            // Java 22+ returns a console even when redirected; Console.isTerminal() tells the difference.
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
