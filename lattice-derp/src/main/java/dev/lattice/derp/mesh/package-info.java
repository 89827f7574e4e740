/** Regional meshing: a server watches its peers' connections and forwards packets to them (cmd/derper mesh.go). */
package dev.lattice.derp.mesh;
