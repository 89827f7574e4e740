/** Schema migrations that SQL alone cannot express the same way on SQLite and PostgreSQL (Flyway Java migrations). */
package dev.lattice.control.store.migration;
