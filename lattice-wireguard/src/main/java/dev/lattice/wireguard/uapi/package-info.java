/**
 * WireGuard's cross-platform configuration protocol (UAPI, https://www.wireguard.com/xplatform/), as served by
 * wireguard-go on {@code /var/run/wireguard/IFNAME.sock} and spoken by the {@code wg} tool.
 *
 * <ul>
 *   <li>{@link dev.lattice.wireguard.uapi.UapiCodec}: the text format, pure, byte for byte like wireguard-go.
 *   <li>{@link dev.lattice.wireguard.uapi.UapiServer}: the unix-socket server.
 *   <li>{@link dev.lattice.wireguard.uapi.UapiDevice}: what the device implements;
 *       {@link dev.lattice.wireguard.uapi.DeviceState} goes out for {@code get},
 *       {@link dev.lattice.wireguard.uapi.UapiSet} comes in for {@code set}.
 * </ul>
 */
package dev.lattice.wireguard.uapi;
