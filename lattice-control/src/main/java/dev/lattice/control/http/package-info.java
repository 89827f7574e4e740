/** The control server's HTTP/1.1 front: listener, TLS, routing of /key, /ts2021, /health, /verify, /register, and DERP. */
package dev.lattice.control.http;
