package dev.lattice.agent.localapi;

import dev.lattice.wire.tailcfg.Tailcfg;
import tools.jackson.core.util.DefaultIndenter;
import tools.jackson.core.util.DefaultPrettyPrinter;
import tools.jackson.core.util.Separators;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/** The JSON of the local API: tailcfg's mapper (Go's field names, time and key forms, nulls omitted). */
public final class LocalApiJson {
    private static final ObjectWriter INDENTED = mapper().writer().with(goIndent());

    private LocalApiJson() {}

    public static JsonMapper mapper() {
        return Tailcfg.json();
    }

    /** {@code value} indented as Go's {@code json.MarshalIndent(v, "", "  ")} writes it (what {@code status --json} prints). */
    public static String indented(Object value) {
        return INDENTED.writeValueAsString(value);
    }

    private static DefaultPrettyPrinter goIndent() {
        Separators seps = Separators.createDefaultInstance()
                .withObjectNameValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator("");
        DefaultIndenter nl = new DefaultIndenter("  ", "\n");
        return new DefaultPrettyPrinter(seps).withObjectIndenter(nl).withArrayIndenter(nl);
    }
}
