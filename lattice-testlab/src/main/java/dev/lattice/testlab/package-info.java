/**
 * Test hosts in Linux network namespaces: {@link dev.lattice.testlab.Lab} is the entry point. Free of any test
 * framework; tests check {@link dev.lattice.testlab.Lab#support()} and skip with their framework's assumptions.
 */
package dev.lattice.testlab;
