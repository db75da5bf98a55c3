package io.kdstream.console;

import java.io.Console;
import java.io.IOException;

import org.jline.terminal.Size;
import org.jline.terminal.TerminalBuilder;

/**
 * Whether stdout is a terminal a live view may redraw in place. Anything else (a file, a pipe, a
 * container log) gets plain lines: redrawing there writes carriage-return frames that pile up
 * into one huge line. Also the size of that terminal, for views that fit it.
 */
public final class Terminal {

    private static final boolean INTERACTIVE = detect();
    private static org.jline.terminal.Terminal jline; // opened on first use, for the process's life

    private Terminal() {
    }

    /** True when stdin and stdout are a terminal that understands cursor movement. */
    public static boolean isInteractive() {
        return INTERACTIVE;
    }

    /**
     * The columns and rows of the terminal stdout is on, asked of the terminal at each call (so it
     * follows a resize); 0 by 0 where that is unknown or stdout is no terminal.
     */
    public static synchronized Size size() {
        if (!INTERACTIVE) {
            return new Size(0, 0);
        }
        if (jline == null) {
            try {
                // nativeSignals(false): by default JLine sets SIGINT to the OS default, and Ctrl-C
                // would then end the JVM without its shutdown hooks (which stop child processes
                // and let services finish their transaction)
                jline = TerminalBuilder.builder().system(true).nativeSignals(false).build();
            } catch (IOException | RuntimeException e) {
                return new Size(0, 0);
            }
        }
        return jline.getSize();
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
