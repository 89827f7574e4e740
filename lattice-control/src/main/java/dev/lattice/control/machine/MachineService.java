package dev.lattice.control.machine;

import dev.lattice.control.noise.ControlSession;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import java.util.concurrent.CompletionStage;

/**
 * What the control server does for a machine: registration, map requests and ACME challenge records, from clients whose capability version
 * is supported. Methods run on virtual threads.
 */
public interface MachineService {
    /** {@code POST /machine/register}. May complete much later (interactive login waits for an admin). */
    CompletionStage<RegisterResponse> register(ControlSession session, RegisterRequest request);

    /**
     * {@code POST /machine/map}. A streaming request keeps {@code sink} open and pushes updates; a lite update
     * (Stream false) applies the request and closes the sink with an empty 200.
     */
    void map(ControlSession session, MapRequest request, MapSink sink);

    /**
     * {@code POST /machine/set-dns}: publishes an ACME challenge record. Returns normally when stored.
     *
     * @throws HttpError when the request is refused, with the status and message the client gets
     */
    void setDns(ControlSession session, SetDNSRequest request);

    /**
     * {@code GET /machine/ssh/action/SRC/to/DST}: the next tailcfg.SSHAction for a Tailscale SSH connection that met
     * a {@code check} rule; {@code authId} is null on the first request. May block while the check waits.
     *
     * @throws HttpError when the request is refused
     */
    default Object sshAction(ControlSession session, long src, long dst, String authId) throws InterruptedException {
        throw new HttpError(501, "not implemented by this control server");
    }
}
