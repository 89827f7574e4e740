/**
 * Limits for servers that strangers can reach: connection caps per source and in total, absolute request deadlines,
 * request-body budgets that shed load with 503 instead of running out of memory, HTTP/2 liveness pings, and
 * rate-limited one-line logging of bad input.
 */
package dev.lattice.guard;
