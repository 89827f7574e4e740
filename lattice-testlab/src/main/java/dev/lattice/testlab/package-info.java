/**
 * Test hosts in Linux network namespaces: {@link dev.lattice.testlab.Lab} is the entry point. Free of any test
 * framework; tests check {@link dev.lattice.testlab.Lab#support()} and skip with their framework's assumptions.
 * {@link dev.lattice.testlab.NatLab} builds a small internet on top: a server, sites behind NAT
 * {@link dev.lattice.testlab.Router}s of a chosen {@link dev.lattice.testlab.Nat} kind, and public hosts;
 * {@link dev.lattice.testlab.Reflector} shows what a NAT did to a flow.
 */
package dev.lattice.testlab;
