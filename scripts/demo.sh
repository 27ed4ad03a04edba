#!/usr/bin/env bash
# nicached on its DPDK data path, end to end, on a fresh Debian 12 machine (as root):
#
#   scripts/demo.sh [--driver af_xdp|af_packet]
#
#   1. dependencies (scripts/setup-deps.sh; NC_SKIP_DEPS=1 skips it)
#   2. build (meson setup build + ninja -C build; an existing build/ is reused)
#   3. the netns lab (scripts/lab.sh up): namespace nclab, veth nclab0 (DPDK) / nclab1
#   4. nicached --backend dpdk on nclab0 (10.77.0.1, memcached over TCP and UDP 11211)
#   5. unmodified TCP clients in the namespace, served by nicached's own TCP:
#      memccp / memccat / memcstat (libmemcached) and a pymemcache snippet
#   6. memcached commands over UDP, request and reply; memcaslap over TCP and -U, 10 s each
#   7. nicached's `stats`, `stats tcp` and `stats nic` (TCP counters, NIC counters, drops)
# On exit (also on error or Ctrl-C) nicached is stopped by pid and the lab torn down.
# Environment: NC_LAB_NS / NC_LAB_DIR as for scripts/lab.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DRIVER=af_xdp
case ${1:-} in
--driver) DRIVER=${2:?--driver needs af_xdp or af_packet} ;;
"") ;;
*) sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
(($(id -u) == 0)) || { echo "demo.sh: run as root (network namespace, DPDK port)" >&2; exit 1; }

export NC_LAB_NS=${NC_LAB_NS:-nclab}
export NC_LAB_DIR=${NC_LAB_DIR:-/run/nicached-lab}
NS=$NC_LAB_NS
SERVER_IP=10.77.0.1
PORT=11211
SERVER=build/app/nicached/nicached
LOG=$(mktemp "${TMPDIR:-/tmp}/nc-demo.XXXXXX")
SERVER_PID=""

section() { printf '\n========== %s ==========\n' "$*"; }

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local rc=$?
	section "cleanup"
	if [[ -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		tail -n 1 "$LOG"
	fi
	scripts/lab.sh down || true
	rm -f "$LOG"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# udp_cmd COMMAND...: each command to the server over UDP from the namespace,
# printed with its reply (memcached's 8-byte frame header added and removed).
udp_cmd() {
	timeout 30 ip netns exec "$NS" python3 - "$SERVER_IP" "$PORT" "$@" <<-'PY'
	import socket, struct, sys
	host, port = sys.argv[1], int(sys.argv[2])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(2)
	for rid, cmd in enumerate(sys.argv[3:], 1):
	    req = cmd.encode().decode("unicode_escape").encode()
	    s.sendto(struct.pack("!HHHH", rid, 0, 1, 0) + req, (host, port))
	    parts = {}
	    while True:
	        d = s.recv(65536)
	        r, seq, total, _ = struct.unpack("!HHHH", d[:8])
	        if r == rid:
	            parts[seq] = d[8:]
	            if len(parts) == total:
	                break
	    reply = b"".join(parts[i] for i in sorted(parts)).decode(errors="replace")
	    print(">> " + req.decode().replace("\r\n", "\\r\\n"))
	    print("\n".join("<< " + l for l in reply.rstrip("\r\n").split("\r\n")))
	PY
}

section "1. dependencies"
if [[ ${NC_SKIP_DEPS:-0} == 1 ]]; then
	echo "skipped (NC_SKIP_DEPS=1)"
else
	timeout 1800 bash scripts/setup-deps.sh </dev/null
fi

section "2. build"
if [[ ! -f build/build.ninja ]]; then
	timeout 600 meson setup build
fi
timeout 1800 ninja -C build

section "3. the lab (scripts/lab.sh up --driver $DRIVER)"
scripts/lab.sh up --driver "$DRIVER"
scripts/lab.sh status

section "4. nicached on the DPDK path"
cmd=("$SERVER" --backend dpdk --site "$NC_LAB_DIR/site.ini" -p "$PORT" -U "$PORT" -t 1 -m 64
	--eal "--file-prefix nicached-demo-$$")
echo "\$ ${cmd[*]} &"
"${cmd[@]}" </dev/null >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
	grep -q '^nicached: serving' "$LOG" && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "demo.sh: nicached exited" >&2; exit 1; }
	sleep 0.1
done
grep -v '^libbpf\|^libxdp' "$LOG"
grep -q '^nicached: serving' "$LOG" || { echo "demo.sh: nicached did not start in 30 s" >&2; exit 1; }

section "5. the client host: namespace $NS"
echo "\$ ip netns exec $NS ping -c 2 $SERVER_IP"
timeout 10 ip netns exec "$NS" ping -c 2 -W 1 "$SERVER_IP"
echo "\$ ip netns exec $NS ip neigh   (learned by ARP, nothing static)"
timeout 5 ip netns exec "$NS" ip neigh

section "6. unmodified TCP clients (libmemcached tools, pymemcache) over nicached's TCP"
echo "nicached's DPDK path answers TCP itself (lib/tcp): the clients below use Linux's TCP"
echo "in the namespace as they would against memcached."
echo 'hello from the namespace' >"$LOG.greeting"
run_ns() { echo "\$ $*"; timeout 30 ip netns exec "$NS" "$@"; }
run_ns memccp --servers="$SERVER_IP:$PORT" "$LOG.greeting"
run_ns memccat --servers="$SERVER_IP:$PORT" "$(basename "$LOG.greeting")"
run_ns memcstat --servers="$SERVER_IP:$PORT" | grep -E 'pid|uptime|curr_conn|total_conn|cmd_get|cmd_set|get_hits|threads' || true
rm -f "$LOG.greeting"
echo "\$ python3 (pymemcache) in $NS:"
timeout 30 ip netns exec "$NS" /usr/bin/python3 - "$SERVER_IP" "$PORT" <<-'PY'
	import sys
	from pymemcache.client.base import Client
	c = Client((sys.argv[1], int(sys.argv[2])), connect_timeout=5, timeout=5)
	c.set("pymemcache-key", b"x" * 100000)
	v = c.get("pymemcache-key")
	print("set and got back a 100,000-byte value:", v == b"x" * 100000)
	print("get_many:", c.get_many(["pymemcache-key", "missing"]).keys())
	print("incr:", c.set("n", b"41"), c.incr("n", 1))
	c.close()
	PY

echo
echo "memcached commands over UDP from 10.77.0.2 to $SERVER_IP:$PORT:"
udp_cmd 'version\r\n' 'set greeting 0 0 5\r\nhello\r\n' 'get greeting\r\n' \
	'incr visits 1\r\n' 'set visits 0 0 1\r\n0\r\n' 'incr visits 1\r\n' \
	'mg greeting v t\r\n' 'delete greeting\r\n' 'get greeting\r\n'

section "7. memcaslap over TCP, then -U (UDP), 10 s each, from the namespace"
timeout -k 5 60 ip netns exec "$NS" memcaslap -s "$SERVER_IP:$PORT" -t 10s -v 0.1 | tail -n 12
timeout -k 5 60 ip netns exec "$NS" memcaslap -s "$SERVER_IP:$PORT" -U -t 10s -v 0.1 | tail -n 12

section "8. stats"
udp_cmd 'stats\r\n'

section "9. stats tcp (nicached's TCP: opens, retransmissions, SYN cookies, TIME_WAIT, ...)"
udp_cmd 'stats tcp\r\n'

section "10. stats nic (NIC counters, packet path, drops)"
udp_cmd 'stats nic\r\n'
