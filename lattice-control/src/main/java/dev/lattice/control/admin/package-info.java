/**
 * Administration: {@link dev.lattice.control.admin.AdminApi} (one method per operation, every node mutation through
 * the tailnet), served as Headscale's REST paths under {@code /api/v1/} both on the main port
 * ({@link dev.lattice.control.admin.AdminRoutes}, API key required) and on the local unix socket
 * ({@link dev.lattice.control.admin.AdminSocket}, guarded by the socket file's mode).
 */
package dev.lattice.control.admin;
