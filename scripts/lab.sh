#!/usr/bin/env bash
# The netns lab: a veth pair whose root end is driven by DPDK (net_af_xdp or
# net_af_packet) and whose other end sits in a network namespace that plays the
# client host, with the Linux stack and real clients.
#
#   scripts/lab.sh up [--queues N] [--driver af_xdp|af_packet]
#   scripts/lab.sh down
#   scripts/lab.sh status
#
#   root namespace               namespace $NC_LAB_NS (default nclab)
#   ${NS}0  (no address, IPv6 off;  <-veth->  ${NS}1  10.77.0.2/24, IPv6 off,
#            DPDK's port, 10.77.0.1)          TX checksum offload off
#
# `up` writes the site file nicached reads, $NC_LAB_DIR/site.ini (default
# /run/nicached-lab/site.ini), naming the driver profile, the interface and the
# server's address.  `up` on an existing lab rebuilds it (so --queues takes
# effect); `down` removes everything `up` made; both are idempotent.  `status`
# prints what exists and exits 1 when the lab is not (completely) up.
#
# Environment: NC_LAB_NS (namespace, default nclab; the veth ends are named
# after it: ${NS}0 and ${NS}1), NC_LAB_DIR (default /run/nicached-lab),
# NC_LAB_SERVER_IP (10.77.0.1/24), NC_LAB_CLIENT_IP (10.77.0.2/24).
# No static neighbour entries are made: the client learns the server's MAC by ARP.
# Root only.  Every command is bounded by `timeout`.
set -euo pipefail

NS=${NC_LAB_NS:-nclab}
ROOT_IF=${NS}0
PEER_IF=${NS}1
LAB_DIR=${NC_LAB_DIR:-/run/nicached-lab}
SERVER_IP=${NC_LAB_SERVER_IP:-10.77.0.1/24}
CLIENT_IP=${NC_LAB_CLIENT_IP:-10.77.0.2/24}
QUEUES=1
DRIVER=af_xdp
T=10 # seconds any one command may take

die() {
	printf 'lab.sh: error: %s\n' "$*" >&2
	exit 1
}
say() { printf 'lab.sh: %s\n' "$*"; }

usage() {
	sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# run CMD...: a bounded command that must succeed, loudly.
run() {
	timeout -k 2 "$T" "$@" || die "failed (status $?): $*"
}

# in_ns CMD...: run inside the namespace.
in_ns() { run ip netns exec "$NS" "$@"; }

ns_exists() { timeout "$T" ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NS"; }
link_exists() { timeout "$T" ip link show dev "$1" >/dev/null 2>&1; }

lab_down() {
	# Deleting one end of a veth deletes both; the peer may sit in the namespace.
	if link_exists "$ROOT_IF"; then
		run ip link del dev "$ROOT_IF"
		say "deleted veth $ROOT_IF"
	fi
	if ns_exists; then
		run ip netns del "$NS"
		say "deleted namespace $NS"
	fi
	if [[ -e $LAB_DIR/site.ini ]]; then
		run rm -f "$LAB_DIR/site.ini"
		rmdir "$LAB_DIR" 2>/dev/null || true
		say "removed $LAB_DIR/site.ini"
	fi
}

write_site() {
	run mkdir -p "$LAB_DIR"
	local tmp="$LAB_DIR/.site.ini.$$"
	cat >"$tmp" <<-EOF
		; written by scripts/lab.sh up: the netns lab's DPDK port
		[port]
		profile = $DRIVER
		iface = $ROOT_IF

		[ipv4]
		address = $SERVER_IP
	EOF
	run mv -f "$tmp" "$LAB_DIR/site.ini"
}

lab_up() {
	lab_down >/dev/null
	run ip netns add "$NS"
	run ip link add "$ROOT_IF" numtxqueues "$QUEUES" numrxqueues "$QUEUES" type veth \
		peer name "$PEER_IF" numtxqueues "$QUEUES" numrxqueues "$QUEUES"
	run ip link set dev "$PEER_IF" netns "$NS"

	# Root end: DPDK's.  No address and no IPv6, so the kernel neither answers for it nor
	# sends its own router/neighbour solicitations; no forwarding of what it receives
	# (af_packet leaves every frame to the kernel too), no ARP from the kernel.
	run sysctl -q -w "net.ipv6.conf.$ROOT_IF.disable_ipv6=1"
	run sysctl -q -w "net.ipv4.conf.$ROOT_IF.forwarding=0"
	run ip link set dev "$ROOT_IF" arp off
	run ip link set dev "$ROOT_IF" up

	# Namespace end: the client host.
	in_ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	in_ns sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
	in_ns sysctl -q -w "net.ipv6.conf.$PEER_IF.disable_ipv6=1"
	in_ns ip link set dev lo up
	in_ns ip addr add "$CLIENT_IP" dev "$PEER_IF"
	# A veth hands its skbs to the peer with the checksum still "partial" (the kernel
	# trusts the pair to skip it).  A receiver that reads raw frames (AF_PACKET or an XDP
	# socket on the root end) gets those bytes as they are: UDP/TCP checksums unfinished,
	# hence wrong.  Turning TX checksum offload off makes the kernel finish them in
	# software before the frame leaves, as a real NIC would.
	in_ns ethtool -K "$PEER_IF" tx off >/dev/null
	in_ns ip link set dev "$PEER_IF" up

	write_site
	say "up: namespace $NS ($PEER_IF ${CLIENT_IP}), veth $ROOT_IF for DPDK" \
		"($DRIVER, $QUEUES queue(s), server ${SERVER_IP}), site file $LAB_DIR/site.ini"
}

lab_status() {
	local ok=0
	printf 'namespace %s: ' "$NS"
	if ns_exists; then echo present; else echo absent; ok=1; fi
	printf 'veth %s: ' "$ROOT_IF"
	if link_exists "$ROOT_IF"; then
		echo present
		timeout "$T" ip -d link show dev "$ROOT_IF" | sed 's/^/    /'
	else
		echo absent
		ok=1
	fi
	if ns_exists; then
		printf 'veth %s in %s: ' "$PEER_IF" "$NS"
		if timeout "$T" ip netns exec "$NS" ip link show dev "$PEER_IF" >/dev/null 2>&1; then
			echo present
			timeout "$T" ip netns exec "$NS" ip -br addr show dev "$PEER_IF" | sed 's/^/    /'
			printf '    neighbours:\n'
			timeout "$T" ip netns exec "$NS" ip neigh show dev "$PEER_IF" | sed 's/^/      /'
		else
			echo absent
			ok=1
		fi
	fi
	printf 'site file %s: ' "$LAB_DIR/site.ini"
	if [[ -f $LAB_DIR/site.ini ]]; then
		echo present
		sed 's/^/    /' "$LAB_DIR/site.ini"
	else
		echo absent
		ok=1
	fi
	return "$ok"
}

(($# > 0)) || usage
CMD=$1
shift
while (($# > 0)); do
	case $1 in
	--queues) QUEUES=${2:?--queues needs a number}; shift 2 ;;
	--driver) DRIVER=${2:?--driver needs af_xdp or af_packet}; shift 2 ;;
	-h | --help) usage ;;
	*) printf 'lab.sh: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done
[[ $QUEUES =~ ^[1-9][0-9]?$ ]] || die "--queues wants 1..99, not $QUEUES"
[[ $DRIVER == af_xdp || $DRIVER == af_packet ]] || die "--driver wants af_xdp or af_packet"
((${#PEER_IF} <= 15)) || die "NC_LAB_NS=$NS is too long for interface names (${PEER_IF})"
(($(id -u) == 0)) || die "needs root (namespaces, veth, sysctl)"

case $CMD in
up) lab_up ;;
down) lab_down ;;
status) lab_status ;;
*) usage ;;
esac
