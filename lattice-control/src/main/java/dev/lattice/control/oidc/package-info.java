/** OpenID Connect login (Headscale's {@code oidc} config): discovery, the login redirect, the callback, the pages a person sees. */
package dev.lattice.control.oidc;
