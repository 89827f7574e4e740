/** Log output: the config's {@code log.level} and {@code log.format} (text, or one JSON object per line). */
package dev.lattice.control.logging;
