/**
 * Registration of machines (headscale {@code auth.go}): pre-auth keys, interactive registration completed by an
 * admin ({@code auth register --auth-id}), re-login, logout, node key rotation and expiry.
 */
package dev.lattice.control.auth;
