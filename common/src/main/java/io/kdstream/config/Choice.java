package io.kdstream.config;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import picocli.CommandLine;

/**
 * A string option with a fixed set of values (architectures, norms, maps, ...): a picocli converter
 * that refuses anything else, naming the allowed values, and the completion candidates that
 * {@code ${COMPLETION-CANDIDATES}} lists in the help. Subclasses derive the values from the enum
 * they select, so a new constant is allowed and documented without touching the option.
 * The converted value is the canonical (lower-case) name; {@link EnumChoice} converts to the enum
 * constant itself, and a subclass may narrow {@link #convert} to its own type (as
 * {@code AugmentPolicy.Names} does), so that the option's field has the value's type.
 */
public abstract class Choice implements CommandLine.ITypeConverter<Object>, Iterable<String> {

    private final List<String> names;

    protected Choice(List<String> names) {
        this.names = List.copyOf(names);
    }

    protected <E extends Enum<E>> Choice(E[] values, Function<E, String> name) {
        this(Arrays.stream(values).map(name).toList());
    }

    @Override
    public Object convert(String value) {
        return canonical(value);
    }

    /** The canonical spelling of {@code value}; refuses anything else, naming the allowed values. */
    protected final String canonical(String value) {
        for (String n : names) {
            if (n.equalsIgnoreCase(value.trim())) {
                return n;
            }
        }
        throw new CommandLine.TypeConversionException("'" + value + "' is not one of " + String.join(", ", names));
    }

    @Override
    public Iterator<String> iterator() {
        return names.iterator();
    }

    /** An enum's constants in lower case with {@code _} kept (e.g. {@code matrix_exp}). */
    protected static <E extends Enum<E>> String lower(E e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
