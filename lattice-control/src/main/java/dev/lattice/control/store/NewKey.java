package dev.lattice.control.store;

/**
 * A freshly created key and its full text, which exists only here: show it to the admin once. {@code toString}
 * redacts the text.
 */
public record NewKey<K>(K key, String fullKey) {
    @Override
    public String toString() {
        return "NewKey[" + key + ", fullKey=<redacted>]";
    }
}
