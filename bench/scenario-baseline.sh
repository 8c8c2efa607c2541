#!/usr/bin/env bash
# The shell baseline of bench/scenario: scenarios/router-firewall done by hand
# with ip, nft, qemu-system, OpenSSH and nc, the way a hand-written harness
# would do it. Same kernel, same cached images, same addresses, same checks:
# a namespace with two isolated bridges, three VMs on qcow2 overlays, the
# router's policy loaded with nft -f, the two run checks, the nine matrix
# rows, the link fault through QMP and the retried probe after it.
#
# usage: bench/scenario-baseline.sh KERNEL ROUTER_IMAGE BUSYBOX_IMAGE CLIENT_KEY
#   ROUTER_IMAGE, BUSYBOX_IMAGE: image fixture directories (rootfs.qcow2 and
#   manifest.json with the recorded host key), as bench/scenario finds them.
# Prints one line per check and `baseline: N/M checks passed`; exit 0 when
# all passed. Needs root; leaves nothing behind.
set -euo pipefail
[ $# -eq 4 ] || { sed -n '9,13p' "$0"; exit 2; }
kernel=$1 router_image=$2 busybox_image=$3 key=$4
here=$(cd "$(dirname "$0")" && pwd)
policy=$here/../scenarios/router-firewall/policies/router.nft
ns=mbase-$$
work=$(mktemp -d /tmp/meros-bench-baseline.XXXXXX)
pids=()

teardown() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap teardown EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# --- network: the namespace, two isolated bridges, one tap per NIC ----------
ip netns add "$ns"
in_ns ip link set lo up
for bridge in br-lan br-dmz; do
  in_ns ip link add "$bridge" type bridge
  in_ns ip link set "$bridge" up
done
tap() {  # NAME [BRIDGE]
  in_ns ip tuntap add mode tap name "$1"
  [ -z "${2:-}" ] || in_ns ip link set "$1" master "$2"
  in_ns ip link set "$1" up
}
tap router-0 br-lan; tap router-1 br-dmz; tap client-0 br-lan; tap server-0 br-dmz
tap router-m; tap client-m; tap server-m
in_ns ip addr add 100.127.0.1/30 dev router-m
in_ns ip addr add 100.127.0.5/30 dev client-m
in_ns ip addr add 100.127.0.9/30 dev server-m
in_ns nft -f - <<'EOF'
table inet isolate {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "br-lan" oifname "br-lan" accept
    iifname "br-dmz" oifname "br-dmz" accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname { "br-lan", "br-dmz" } drop
  }
}
EOF

# --- machines ----------------------------------------------------------------
known_hosts=$work/known_hosts
boot() {  # NAME IMAGE_DIR MEMORY_MB MGMT_IP GATEWAY NIC...  (NIC = TAP,MAC,IFNAME,IP/PREFIX)
  local name=$1 image=$2 memory=$3 mgmt=$4 gateway=$5 nics=() append i=0
  shift 5
  qemu-img create -q -f qcow2 -F qcow2 -b "$image/rootfs.qcow2" "$work/$name.qcow2"
  append="console=ttyS0 root=/dev/vda rw init=/opt/meros/init quiet panic=-1 reboot=t meros.hostname=$name"
  for nic in "$@" "$name-m,52:54:00:00:0$i:ff,mgmt0,$mgmt/30"; do
    IFS=, read -r tap mac ifname address <<< "$nic"
    append+=" meros.if=$mac,$ifname,$address"
    nics+=(-netdev "tap,id=n$i,ifname=$tap,script=no,downscript=no" -device "virtio-net-device,netdev=n$i,mac=$mac,id=net$i")
    i=$((i + 1))
  done
  [ -z "$gateway" ] || append+=" meros.gw=$gateway"
  echo "$mgmt $(jq -r .host_key "$image/manifest.json")" >> "$known_hosts"
  # A simple command in the background: $! is ip's pid, which becomes QEMU's.
  ip netns exec "$ns" qemu-system-x86_64 -name "$name" -machine microvm,acpi=off -accel tcg -cpu max -smp 1 -m "$memory" \
    -nodefaults -no-user-config -nographic -no-reboot -serial "file:$work/$name.console" \
    -qmp "unix:$work/$name.qmp,server=on,wait=off" -kernel "$kernel" -append "$append" \
    -drive "id=root,if=none,format=qcow2,cache=unsafe,file=$work/$name.qcow2" -device virtio-blk-device,drive=root \
    -device virtio-rng-device "${nics[@]}" > "$work/$name.qemu.log" 2>&1 &
  pids+=($!)
}
boot router "$router_image" 384 100.127.0.2 "" router-0,52:54:00:00:01:01,eth0,10.0.10.2/24 router-1,52:54:00:00:01:02,eth1,10.0.20.2/24
boot client "$busybox_image" 128 100.127.0.6 10.0.10.2 client-0,52:54:00:00:02:01,eth0,10.0.10.10/24
boot server "$busybox_image" 128 100.127.0.10 10.0.20.2 server-0,52:54:00:00:03:01,eth0,10.0.20.10/24

for name in router client server; do
  for _ in $(seq 600); do
    grep -q MEROS-READY "$work/$name.console" 2>/dev/null && break
    grep -q MEROS-FAILED "$work/$name.console" 2>/dev/null && { echo "$name failed to boot"; exit 1; }
    sleep 0.05
  done
  grep -q MEROS-READY "$work/$name.console" || { echo "$name: not ready in 30 s"; exit 1; }
done

declare -A mgmt=([router]=100.127.0.2 [client]=100.127.0.6 [server]=100.127.0.10)
on() {  # VM COMMAND...: a fresh OpenSSH client per command, the guest key pinned
  local vm=$1
  shift
  in_ns ssh -F /dev/null -i "$key" -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR "root@${mgmt[$vm]}" "$@"
}
bb=/opt/meros/bin/busybox

# --- the router's policy -------------------------------------------------------
on router nft -f - < "$policy"

# --- checks ------------------------------------------------------------------
passed=0 total=0
check() {  # NAME EXPECTED OBSERVED
  total=$((total + 1))
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "PASS  $1"; else echo "FAIL  $1: expected $2, observed $3"; fi
}
contains() { case "$2" in *"$1"*) echo yes ;; *) echo no ;; esac; }

check "router forwards" 1 "$(on router $bb sysctl -n net.ipv4.ip_forward)"
check "router policy is loaded" yes "$(contains "chain forward" "$(on router nft list table inet router)")"

# Listeners: busybox httpd bound to the address (nc here cannot bind one).
listen() {  # VM ADDR PORT...
  local vm=$1 address=$2 port
  shift 2
  for port in "$@"; do on "$vm" $bb httpd -p "$address:$port" -h /tmp; done
}
listen server 10.0.20.10 80 443 22
listen client 10.0.10.10 80
listen router 10.0.10.2 22
listen router 10.0.20.2 8080

tcp() {  # FROM ADDR PORT -> allow|reject|drop
  local out
  if out=$(on "$1" $bb nc -w 1 "$2" "$3" < /dev/null 2>&1); then echo allow
  elif [ "$(contains refused "$out")" = yes ]; then echo reject
  else echo drop
  fi
}
icmp() {  # FROM ADDR -> allow|deny
  if on "$1" $bb ping -c 1 -W 1 "$2" > /dev/null 2>&1; then echo allow; else echo deny; fi
}
udp_no_ports() { on server "$bb awk '/^Udp: [0-9]/ { print \$3 }' /proc/net/snmp"; }
udp() {  # client -> server 53/udp: did the datagram arrive (the server's NoPorts count)?
  local before
  before=$(udp_no_ports)
  on client $bb timeout 2 $bb nslookup meros 10.0.20.10 > /dev/null 2>&1 || true
  if [ "$(udp_no_ports)" -gt "$before" ]; then echo allow; else echo drop; fi
}

check "client -> server 80/tcp" allow "$(tcp client 10.0.20.10 80)"
check "client -> server 443/tcp" reject "$(tcp client 10.0.20.10 443)"
check "client -> server 22/tcp" drop "$(tcp client 10.0.20.10 22)"
check "client -> server 53/udp" allow "$(udp)"
check "client -> server icmp" allow "$(icmp client 10.0.20.10)"
check "server -> client 80/tcp" drop "$(tcp server 10.0.10.10 80)"
check "server -> client icmp" deny "$(icmp server 10.0.10.10)"
check "client -> router 22/tcp" allow "$(tcp client 10.0.10.2 22)"
check "server -> router@dmz 8080/tcp" reject "$(tcp server 10.0.20.2 8080)"

set_link() {  # UP: the router's dmz NIC through QMP
  printf '%s\n' '{"execute":"qmp_capabilities"}' \
    "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"net1\",\"up\":$1}}" |
    in_ns nc -N -U "$work/router.qmp" > "$work/qmp.out"
  grep -c '"return": {}' "$work/qmp.out"
}
check "cut the router's dmz link" 2 "$(set_link false)"
check "server is unreachable without the link" drop "$(tcp client 10.0.20.10 80)"
check "restore the link" 2 "$(set_link true)"
observed=drop
for _ in 1 2 3 4; do
  observed=$(tcp client 10.0.20.10 80)
  [ "$observed" = allow ] && break
done
check "server is reachable again" allow "$observed"

echo "baseline: $passed/$total checks passed"
[ "$passed" -eq "$total" ]
