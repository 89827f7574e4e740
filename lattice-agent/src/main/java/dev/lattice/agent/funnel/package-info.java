/** The Funnel ingress: public TLS routed by its server name, unopened, over the tailnet to the node's peer API. */
package dev.lattice.agent.funnel;
