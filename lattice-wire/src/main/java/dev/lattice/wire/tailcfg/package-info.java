/**
 * The JSON bodies of Tailscale's control protocol ({@code tailcfg}), read and written by {@link
 * dev.lattice.wire.tailcfg.Tailcfg#json()} exactly as Go's {@code encoding/json} does for tailscale v1.102.3.
 *
 * <p>Where each type comes from (tailscale source):
 * <ul>
 *   <li>{@code tailcfg/tailcfg.go}: User, Login, UserProfile, Node, Service, Hostinfo, NetInfo,
 *       RegisterResponseAuth, RegisterRequest, RegisterResponse, MapRequest, PortRange, NetPortRange, CapGrant,
 *       FilterRule, DNSConfig, DNSRecord, PingRequest, MapResponse, ClientVersion, Debug, SetDNSRequest,
 *       OverTLSPublicKeyResponse, PeerChange, EarlyNoise, CapabilityVersion, EndpointType;</li>
 *   <li>{@code tailcfg/derpmap.go}: DERPMap, DERPHomeParams, DERPRegion, DERPNode, DERPAdmitClientRequest,
 *       DERPAdmitClientResponse;</li>
 *   <li>{@code types/dnstype/dnstype.go}: Resolver, here DNSResolver;</li>
 *   <li>{@code net/netip} AddrPort: AddrPort.</li>
 * </ul>
 * Passed through untyped as {@code JsonNode}: capability maps (NodeCapMap/PeerCapMap values are raw JSON),
 * SSHPolicy, TKAInfo, DisplayMessages, ControlDialPlan, Oauth2Token.
 *
 * <p>Conventions. Record components carry Go's JSON names ({@code @JsonProperty}) and are boxed: null means
 * absent and is never written, which is what Go's {@code omitempty}/{@code omitzero} and MapResponse's
 * "null = unchanged" need; Go decodes an absent field and {@code null} alike. An empty list is written as
 * {@code []} and differs from null (Go's Node.AllowedIPs relies on that). A Go zero value that Go writes anyway
 * (e.g. {@code "User":0}) decodes to that value, not to null. Go's zero {@code time.Time} decodes to
 * {@link dev.lattice.wire.tailcfg.Tailcfg#ZERO_TIME} and encodes back to {@code 0001-01-01T00:00:00Z}. Go
 * {@code int64} IDs (NodeID, UserID) are {@code Long}, StableNodeID is a String, {@code opt.Bool} is a nullable
 * Boolean, Go {@code []byte} is {@code byte[]} (base64 on the wire; records holding arrays compare them by
 * reference). Hostinfo and NetInfo wrap the JSON object received so unknown fields reach peers verbatim.
 *
 * <p>Known differences from Go, all for inputs Tailscale clients do not send: prefixes are kept masked
 * ({@code 10.1.2.3/8} reads as {@code 10.0.0.0/8}); IPv4-mapped IPv6 addresses read as IPv4; an empty string
 * for a prefix or address is an error (Go reads the zero value); times are written in UTC.
 */
package dev.lattice.wire.tailcfg;
