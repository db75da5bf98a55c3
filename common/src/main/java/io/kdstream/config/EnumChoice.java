package io.kdstream.config;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The one picocli converter for enum options: each constant under its wire name (the spelling the
 * help lists, the manifest and the metrics use), matched ignoring case; the option's field is the
 * enum. Anything else is refused with the allowed names, as every {@link Choice}.
 *
 * <pre>{@code
 * public static final class Names extends EnumChoice<Normalization> {
 *     public Names() { super(values(), Normalization::configName); }
 * }
 * @Option(names = "--norm", converter = Normalization.Names.class, completionCandidates = Normalization.Names.class)
 * Normalization norm;
 * }</pre>
 *
 * @param <E> the option field's enum
 */
public abstract class EnumChoice<E extends Enum<E>> extends Choice {

    private final Map<String, E> byName;

    /** {@code values} (all constants, or the subset this option allows) under their wire names. */
    protected EnumChoice(E[] values, Function<E, String> wireName) {
        super(values, wireName);
        Map<String, E> m = new LinkedHashMap<>();
        Arrays.stream(values).forEach(e -> m.put(wireName.apply(e), e));
        this.byName = Map.copyOf(m);
    }

    @Override
    public E convert(String value) {
        return byName.get(canonical(value));
    }
}
