/** What the commands print to a person: whether stdout is a terminal a live view may redraw. */
package io.kdstream.console;
