package dev.lattice.agent.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Go's {@code text/tabwriter} with space padding and no flags, for the layouts tailscale prints with it. Cells are
 * tab-terminated; a column is a run of adjacent lines that have a cell in it, and each such block is as wide as its
 * widest cell plus {@code padding} (at least {@code minWidth}). Widths count code points, as Go counts runes.
 */
final class TabWriter {
    private final int minWidth;
    private final int padding;

    TabWriter(int minWidth, int padding) {
        this.minWidth = minWidth;
        this.padding = padding;
    }

    String format(String text) {
        String[] raw = text.split("\n", -1);
        List<String[]> lines = new ArrayList<>(raw.length);
        for (String l : raw) lines.add(l.split("\t", -1));
        StringBuilder out = new StringBuilder(text.length() + 64);
        format(out, lines, new ArrayList<>(), 0, lines.size());
        return out.toString();
    }

    private void format(StringBuilder out, List<String[]> lines, List<Integer> widths, int line0, int line1) {
        int column = widths.size();
        for (int i = line0; i < line1; i++) {
            if (column >= lines.get(i).length - 1) continue;
            // Line i starts a block of lines with a cell in this column.
            writeLines(out, lines, widths, line0, i);
            line0 = i;
            int width = minWidth;
            for (; i < line1; i++) {
                String[] l = lines.get(i);
                if (column >= l.length - 1) break;
                width = Math.max(width, cellWidth(l[column]) + padding);
            }
            widths.add(width);
            format(out, lines, widths, line0, i);
            widths.removeLast();
            line0 = i;
            i--; // the loop's i++ must not skip the line that ended the block
        }
        writeLines(out, lines, widths, line0, line1);
    }

    private static void writeLines(StringBuilder out, List<String[]> lines, List<Integer> widths, int line0, int line1) {
        for (int i = line0; i < line1; i++) {
            String[] l = lines.get(i);
            for (int j = 0; j < l.length; j++) {
                out.append(l[j]);
                if (j < widths.size() && j < l.length - 1) out.repeat(' ', widths.get(j) - cellWidth(l[j]));
            }
            if (i + 1 < lines.size()) out.append('\n');
        }
    }

    private static int cellWidth(String s) {
        return s.codePointCount(0, s.length());
    }
}
