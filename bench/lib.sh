# Shared by the agent bench scripts (source it): the lab and lattice-control's config. Needs bash, iproute2.

# lab_build: a bridge in namespace $NS_SW and, for each host h of the associative arrays NS (h -> namespace) and ADDR
# (h -> IPv4 address, /24), a namespace with eth0 on the bridge.
lab_build() {
  local h i=0
  ip netns add "$NS_SW" && ip -n "$NS_SW" link set lo up || return 1
  ip -n "$NS_SW" link add br0 type bridge && ip -n "$NS_SW" link set br0 up || return 1
  for h in "${!NS[@]}"; do
    ip netns add "${NS[$h]}" && ip -n "${NS[$h]}" link set lo up || return 1
    ip link add eth0 netns "${NS[$h]}" type veth peer name "p$i" netns "$NS_SW" || return 1
    ip -n "$NS_SW" link set "p$i" master br0 && ip -n "$NS_SW" link set "p$i" up &&
      ip -n "${NS[$h]}" addr add "${ADDR[$h]}/24" dev eth0 && ip -n "${NS[$h]}" link set eth0 up || return 1
    i=$((i + 1))
  done
}

# control_config DIR IP REGION_NAME: DIR/config.yaml for lattice-control on IP:8080 with its embedded DERP and STUN
# (region 999), state under DIR, the admin API on DIR/control.sock.
control_config() {
  cat >"$1/config.yaml" <<YAML
server_url: http://$2:8080
listen_addr: $2:8080
metrics_listen_addr: 127.0.0.1:9090
noise:
  private_key_path: $1/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
database:
  type: sqlite
  sqlite:
    path: $1/db.sqlite
derp:
  server:
    enabled: true
    region_id: 999
    region_code: lattice
    region_name: $3
    verify_clients: true
    stun_listen_addr: 0.0.0.0:3478
    private_key_path: $1/derp_server_private.key
    automatically_add_embedded_derp_region: true
    ipv4: $2
  urls: []
dns:
  magic_dns: false
  base_domain: tailnet.test
  nameservers:
    global: []
log:
  level: info
unix_socket: $1/control.sock
unix_socket_permissions: "0770"
YAML
}
