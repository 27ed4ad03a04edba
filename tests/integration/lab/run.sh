#!/usr/bin/env bash
# nicached on its DPDK path, driven by real Linux peers in the netns lab.
#
#   tests/integration/lab/run.sh --server PATH [--only NAME[,NAME..]] [--keep-logs] [--list]
#
# For each check: scripts/lab.sh up (namespace + veth + site file), nicached
# started on the root end with --backend dpdk --site (net_af_xdp first; when
# its port does not start, net_af_packet, and the log says so), the check run
# from inside the namespace under `timeout`, the server stopped (SIGTERM, then
# SIGKILL after 5 s).  Prints "PASS name" / "FAIL name" per check and ends with
# "N passed, M failed"; exits non-zero on any failure.  The lab is always torn
# down (EXIT trap) and only the server this script started is killed.
#
# Environment: NC_LAB_NS (namespace, default nclab; the veth is ${NS}0/${NS}1),
# NC_LAB_DIR (site file folder, default /run/nicached-lab), NC_PYTHON
# (default /usr/bin/python3), NC_LAB_DRIVERS (drivers to try, default
# "af_xdp af_packet"), NC_LAB_CAPTURE (a folder: each check's TCP traffic is
# written to FOLDER/<check>.pcap by tcpdump on the namespace's end of the veth;
# scripts/tcp-capture-seeds.py turns captures into fuzz_tcp seeds; NC_LAB_CAPTURE_FILTER
# replaces the filter "tcp", e.g. "udp", NC_LAB_CAPTURE_SNAP the snap length, default 0 = all),
# NC_TCP_SOAK_SECONDS (tcp-soak's load time, default 90 s; its time limit follows),
# NC_LONG=1 (the long mode: tcp-soak runs 1800 s unless NC_TCP_SOAK_SECONDS says), NC_MCGEN
# (mcgen-af-xdp's generator, default build/app/mcgen/mcgen).  Root only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
LAB=$ROOT/scripts/lab.sh

SERVER=""
ONLY=""
KEEP_LOGS=0
LIST=0

usage() {
	sed -n '2,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?--server needs a path}; shift 2 ;;
	--only) ONLY=${2:?--only needs a check name}; shift 2 ;;
	--keep-logs) KEEP_LOGS=1; shift ;;
	--list) LIST=1; shift ;;
	-h | --help) usage ;;
	*) printf 'run.sh: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done

# Check table: name | workers (= veth queues) | time limit (s) | server flags beyond the
# common ones (-U 11211 -t WORKERS -m 64 -v; later flags override earlier ones; @LOGDIR@ is
# the run's log folder). nicached's
# -p defaults to 11211, so a check without -p has TCP on the DPDK path too; arp-ping turns it
# off (-p 0) to see a SYN refused with RST, the tcp checks name -p 11211.
CHECKS=(
	"arp-ping        1 60  -p 0"
	"memcaslap-udp   1 120"
	"udp-frames      1 240"
	"two-workers     2 240"
	"tcp-clients     1 300 -p 11211"
	"memcaslap-tcp   1 120 -p 11211"
	"tcp-big         1 240 -p 11211 -c 2048"
	"tcp-conn-limit  1 120 -p 11211 -c 4"
	"tcp-eviction    1 180 -p 11211 -m 32"
	"tcp-large       1 240 -p 11211 -m 256 -I 64m"
	"tcp-idle        1 60  -p 11211 -o idle_timeout=2"
	"tcp-compression 2 120 -p 11211 -I 8m -o compression=lzf,compression_min=256"
	"two-workers-tcp 2 240 -p 11211"
	"tcp-loss        1 300 -p 11211 -m 256 --fault seed=7,drop=0.05,reorder=0.05,dup=0.01"
	"tcp-soak        1 240 -p 11211 -m 256 --fault seed=11,drop=0.02,reorder=0.02"
	"cluster-dpdk    1 200 -p 11211"
	"tcp-auth        1 120 -p 11211 -U 0 -S -Y @AUTH_FILE@"
	"snapshot-dpdk   2 120 -p 11211 --snapshot-file @LOGDIR@/lab.snap"
	"pdump           1 120 -p 11211 --pdump"
	"mcgen-af-xdp    1 120 -p 11211"
)

if ((LIST)); then
	for c in "${CHECKS[@]}"; do
		read -r name _ <<<"$c"
		printf '%s\n' "$name"
	done
	exit 0
fi

[[ -n $SERVER ]] || usage
[[ -x $SERVER ]] || { printf 'run.sh: server %s is not an executable\n' "$SERVER" >&2; exit 2; }
SERVER=$(cd "$(dirname "$SERVER")" && pwd)/$(basename "$SERVER")
(($(id -u) == 0)) || { printf 'run.sh: needs root (the lab)\n' >&2; exit 2; }

export NC_LAB_NS=${NC_LAB_NS:-nclab}
export NC_LAB_DIR=${NC_LAB_DIR:-/run/nicached-lab}
NS=$NC_LAB_NS
PEER_IF=${NS}1
SITE=$NC_LAB_DIR/site.ini
SERVER_IP=10.77.0.1
UDP_PORT=11211
ITEM_MAX=1048576
DRIVERS=${NC_LAB_DRIVERS:-af_xdp af_packet}
# shellcheck source=tests/integration/common.sh
. "$HERE/../common.sh"

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-lab.XXXXXX")
# tcp-auth's users (@AUTH_FILE@ in a CHECKS line; test_tcp_auth.py knows them).
AUTH_FILE=$LOGDIR/auth.txt
printf 'alice:secret\nbob:hunter2\n' >"$AUTH_FILE"
SERVER_PID=""
SERVER_MAC=""
DRIVER_USED=""
RUN_ID=$$
# The running check's server flags (from its CHECKS line) and what they set.
SERVER_FLAGS=()
TCP_PORT=11211
MAX_CONNS=1024
MEMORY_MB=64
CHECK_T0=0

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	"$LAB" down >/dev/null 2>&1 || printf 'run.sh: lab.sh down failed\n' >&2
	if ((KEEP_LOGS)); then
		printf 'run.sh: logs kept in %s\n' "$LOGDIR"
	else
		rm -rf "$LOGDIR"
	fi
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }

# capture_start NAME / capture_stop: with NC_LAB_CAPTURE, tcpdump the check's TCP traffic
# (the namespace's end of the veth) to $NC_LAB_CAPTURE/NAME.pcap.
CAPTURE_PID=""
capture_start() {
	local i
	[[ -n ${NC_LAB_CAPTURE:-} ]] || return 0
	mkdir -p "$NC_LAB_CAPTURE"
	# Not through in_ns (a function: a subshell in the background): $! must be tcpdump.
	ip netns exec "$NS" tcpdump -i "$PEER_IF" -s "${NC_LAB_CAPTURE_SNAP:-0}" -U \
		-w "$NC_LAB_CAPTURE/$1.pcap" "${NC_LAB_CAPTURE_FILTER:-tcp}" 2>/dev/null &
	CAPTURE_PID=$!
	# tcpdump writes the file's header once it listens: wait for that (5 s at most).
	for ((i = 0; i < 50; i++)); do
		[[ -s $NC_LAB_CAPTURE/$1.pcap ]] && break
		sleep 0.1
	done
	sleep 0.5
}
capture_stop() {
	[[ -n $CAPTURE_PID ]] || return 0
	kill -INT "$CAPTURE_PID" 2>/dev/null || true
	wait "$CAPTURE_PID" 2>/dev/null || true
	CAPTURE_PID=""
}

# start_one SLOG DRIVER WORKERS: lab up for DRIVER, server started; 0 once it
# serves, 1 when it died or never said so within 30 s.
start_one() {
	local slog=$1 driver=$2 workers=$3 i
	"$LAB" up --queues "$workers" --driver "$driver" >>"$slog" 2>&1 || return 1
	local cmd=("$SERVER" --backend dpdk --site "$SITE" -U "$UDP_PORT" -t "$workers" -m 64 -v
		--eal "--file-prefix nclab-$RUN_ID-$driver" "${SERVER_FLAGS[@]}")
	printf '[run.sh] %s\n' "${cmd[*]}" >>"$slog"
	setsid "${cmd[@]}" </dev/null >>"$slog" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 300; i++)); do
		if grep -q '^nicached: serving' "$slog"; then
			SERVER_MAC=$(awk '$1 == "mac" { print $2; exit }' "$slog")
			DRIVER_USED=$driver
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	return 1
}

# start_server SLOG WORKERS: af_xdp first, then the fallbacks, saying so.
start_server() {
	local slog=$1 workers=$2 d prev=""
	for d in $DRIVERS; do
		if [[ -n $prev ]]; then
			printf 'run.sh: the %s port did not start (see the log): falling back to %s\n' \
				"$prev" "$d" | tee -a "$slog"
		fi
		if start_one "$slog" "$d" "$workers"; then
			printf 'run.sh: nicached serving on %s, %d worker(s), MAC %s\n' "$d" "$workers" \
				"$SERVER_MAC"
			return 0
		fi
		prev=$d
	done
	return 1
}

# stop_server SLOG: SIGTERM, 5 s, SIGKILL; 1 unless it exited 0 by itself.
stop_server() {
	local slog=$1 i rc=0 ok=0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		printf '[run.sh] server still running 5 s after SIGTERM: SIGKILL\n' >>"$slog"
		# Its state and signal masks per thread (was SIGTERM pending, blocked, the process stopped?).
		for i in /proc/"$SERVER_PID"/task/*; do
			printf '[run.sh] task %s %s: %s\n' "${i##*/}" "$(cat "$i/comm" 2>/dev/null)" \
				"$(grep -E '^(State|SigPnd|ShdPnd|SigBlk|SigCgt)' "$i/status" 2>/dev/null |
					tr -s '\t\n' '  ')" >>"$slog"
		done
		# Where it hangs, for the log (gdb only reads the process's memory).
		if command -v gdb >/dev/null; then
			timeout 30 gdb -p "$SERVER_PID" -batch -ex 'thread apply all bt 12' \
				</dev/null 2>/dev/null | grep -E '^(Thread|#)' >>"$slog" || true
		fi
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		ok=1
	fi
	wait "$SERVER_PID" 2>/dev/null || rc=$?
	if ((rc != 0)); then
		printf '[run.sh] server exit status %d after SIGTERM (want 0)\n' "$rc" >>"$slog"
		ok=1
	fi
	SERVER_PID=""
	return "$ok"
}

# ---------------------------------------------------------------- checks
# check_NAME OUT LIMIT WORKERS: runs with the server serving; non-zero on failure.

check_arp-ping() {
	local out=$1 limit=$2 neigh mac
	in_ns ip neigh flush dev "$PEER_IF" >>"$out" 2>&1 || true
	timeout -k 2 "$limit" ip netns exec "$NS" ping -c 3 -W 1 "$SERVER_IP" >>"$out" 2>&1 || {
		echo "ping failed" >>"$out"
		return 1
	}
	neigh=$(in_ns ip neigh show "$SERVER_IP" dev "$PEER_IF")
	echo "ip neigh: $neigh" >>"$out"
	mac=$(awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }' <<<"$neigh")
	if [[ -z $mac || ${mac,,} != "${SERVER_MAC,,}" ]]; then
		echo "neighbour MAC '$mac' is not the MAC nicached printed '$SERVER_MAC'" >>"$out"
		return 1
	fi
	if [[ $neigh == *PERMANENT* || $neigh == *NOARP* ]]; then
		echo "the neighbour entry is static, not learned" >>"$out"
		return 1
	fi
	if ((TCP_PORT == 0)); then
		# TCP off (-p 0): a SYN gets a RST from lib/net (refused, at once).
		timeout -k 2 10 ip netns exec "$NS" "$PYTHON" - "$SERVER_IP" "$UDP_PORT" >>"$out" 2>&1 <<-'PY'
		import socket, sys, time
		t0 = time.monotonic()
		try:
		    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
		except ConnectionRefusedError:
		    dt = time.monotonic() - t0
		    print("tcp connect refused after %.3f s" % dt)
		    sys.exit(0 if dt < 1.0 else 1)
		except OSError as e:
		    sys.exit("tcp connect: %r, want connection refused (RST)" % e)
		sys.exit("tcp connect succeeded, want connection refused (the server runs with -p 0)")
		PY
	else
		# TCP on: the connect is accepted at once and the server answers.
		timeout -k 2 10 ip netns exec "$NS" "$PYTHON" - "$SERVER_IP" "$TCP_PORT" >>"$out" 2>&1 <<-'PY'
		import socket, sys, time
		t0 = time.monotonic()
		s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
		s.sendall(b"version\r\n")
		line = s.recv(100)
		dt = time.monotonic() - t0
		print("tcp connect and version in %.3f s: %r" % (dt, line))
		sys.exit(0 if line.startswith(b"VERSION ") and dt < 1.0 else 1)
		PY
	fi
}

check_memcaslap-udp() {
	local out=$1 limit=$2
	memcaslap_run "$out" $((limit / 2)) ip netns exec "$NS" memcaslap \
		-s "$SERVER_IP:$UDP_PORT" -U -t 10s -v 0.1 || return 1
	memcaslap_verdict "$out" udp 1
}

# left LIMIT: seconds left of the running check's LIMIT (at least 10).
left() {
	local n=$(($1 - (SECONDS - CHECK_T0)))
	((n >= 10)) || n=10
	printf '%d\n' "$n"
}

# step OUT TITLE: a header in the check log before each part of a check.
step() { printf '\n==== %s\n' "$2" >>"$1"; }

run_pytest() {
	local out=$1 limit=$2 workers=$3 file=$4
	shift 4
	(cd "$LOGDIR" && timeout -k 5 "$limit" ip netns exec "$NS" "$PYTHON" -m pytest \
		-p no:cacheprovider -q -rs "$@" "$HERE/$file" --rootdir "$HERE" --confcutdir "$HERE" --server "$SERVER_IP" \
		--udp-port "$UDP_PORT" --tcp-port "$TCP_PORT" --max-conns "$MAX_CONNS" \
		--item-max "$ITEM_MAX" --server-mac "$SERVER_MAC" --iface "$PEER_IF" \
		--threads "$workers" --server-pid "$SERVER_PID") >>"$out" 2>&1
}

# server_pytest OUT LIMIT WORKERS MARKER [FILE]: the socket-level suite of tests/integration
# (test_server.py, or FILE there, as tests/integration/run.sh runs it) against the server's
# TCP (and UDP) port on the DPDK path, from the namespace.
server_pytest() {
	local out=$1 limit=$2 workers=$3 marker=$4 file=${5:-test_server.py}
	(cd "$LOGDIR" && timeout -k 5 "$limit" ip netns exec "$NS" "$PYTHON" -m pytest \
		-p no:cacheprovider -q -rs "$HERE/../$file" --rootdir "$HERE/.." \
		--confcutdir "$HERE/.." -m "$marker" --server "$SERVER_IP" --port "$TCP_PORT" \
		--udp-port "$UDP_PORT" --memory-mb "$MEMORY_MB" --max-conns "$MAX_CONNS" \
		--item-max "$ITEM_MAX" --threads "$workers") >>"$out" 2>&1
}

check_udp-frames() { run_pytest "$1" "$2" "$3" test_udp_frames.py; }
check_two-workers() { run_pytest "$1" "$2" "$3" test_two_workers.py -s; }

# Snapshots over the DPDK path: items stored over nicached's TCP, `snapshot` over that TCP
# and in a UDP datagram (both answer OK and are written), then a socket-backend server on
# loopback restored from the file holds every item with its value, flags and CAS.
check_snapshot-dpdk() {
	local out=$1 limit=$2 port pid rc=0
	step "$out" "write: items and two snapshots over the DPDK path"
	timeout -k 5 "$(left "$limit")" ip netns exec "$NS" "$PYTHON" "$HERE/snapshot_lab.py" write \
		"$SERVER_IP" "$TCP_PORT" "$UDP_PORT" "$LOGDIR/lab.json" >>"$out" 2>&1 || return 1
	step "$out" "verify: a loopback server restored from $LOGDIR/lab.snap"
	port=$(pick_port tcp)
	"$SERVER" -p "$port" -U 0 -l 127.0.0.1 -t 1 -m 64 --restore "$LOGDIR/lab.snap" \
		--eal "--file-prefix nclab-$RUN_ID-verify" >>"$out" 2>&1 &
	pid=$!
	if ! wait_for_version "$pid" "$port" 200 >>"$out"; then
		echo "the verifying server did not answer" >>"$out"
		stop_pid "$pid" 5 || true
		return 1
	fi
	timeout -k 5 "$(left "$limit")" "$PYTHON" "$HERE/snapshot_lab.py" verify "$port" \
		"$LOGDIR/lab.json" >>"$out" 2>&1 || rc=1
	stop_pid "$pid" 10 || { echo "the verifying server did not exit 0" >>"$out"; rc=1; }
	return "$rc"
}

# Real TCP clients from the namespace, as tests/integration/run.sh runs them on loopback:
# memccapable (every ascii and binary test), pymemcache's own integration tests and
# test_server.py (all but the -c and -m ones, which have checks of their own).
check_tcp-clients() {
	local out=$1 limit=$2 workers=$3 ok=0 dir
	step "$out" "memccapable -t 10 (every ascii and binary test)"
	if timeout -k 5 "$(left "$limit")" ip netns exec "$NS" memccapable -h "$SERVER_IP" \
		-p "$TCP_PORT" -t 10 >>"$out" 2>&1 && tail -n 3 "$out" | grep -q 'All tests passed'; then
		echo "memccapable: ok" >>"$out"
	else
		echo "memccapable: FAILED" >>"$out"
		ok=1
	fi
	step "$out" "pymemcache's integration tests"
	dir=$("$PYTHON" -c 'import os, pymemcache.test as t; print(os.path.dirname(t.__file__))')
	if (cd "$LOGDIR" && timeout -k 5 "$(left "$limit")" ip netns exec "$NS" "$PYTHON" -m pytest \
		-p no:cacheprovider -q -rs "$dir/test_integration.py" -m integration \
		-W ignore::pytest.PytestUnknownMarkWarning --server "$SERVER_IP" --port "$TCP_PORT" \
		-k 'not tls') >>"$out" 2>&1; then
		echo "pymemcache: ok" >>"$out"
	else
		echo "pymemcache: FAILED" >>"$out"
		ok=1
	fi
	step "$out" "test_server.py over TCP (and UDP) on the DPDK path"
	if server_pytest "$out" "$(left "$limit")" "$workers" "not maxconns and not eviction"; then
		echo "test_server.py: ok" >>"$out"
	else
		echo "test_server.py: FAILED" >>"$out"
		ok=1
	fi
	return "$ok"
}

check_memcaslap-tcp() {
	local out=$1 limit=$2
	timeout -k 5 "$limit" ip netns exec "$NS" memcaslap -s "$SERVER_IP:$TCP_PORT" -t 10s \
		-v 0.1 >>"$out" 2>&1 || return 1
	memcaslap_verdict "$out" tcp 1
}

check_tcp-big() { run_pytest "$1" "$2" "$3" test_tcp_big.py -s; }

check_tcp-conn-limit() {
	local out=$1 limit=$2 workers=$3 ok=0
	step "$out" "test_tcp_conn_limit.py (-c 4)"
	run_pytest "$out" "$(left "$limit")" "$workers" test_tcp_conn_limit.py || ok=1
	step "$out" "test_server.py -m maxconns (-c 4)"
	server_pytest "$out" "$(left "$limit")" "$workers" maxconns || ok=1
	return "$ok"
}

check_tcp-eviction() { server_pytest "$1" "$2" "$3" eviction; }
check_tcp-large() { server_pytest "$1" "$2" "$3" large test_large_items.py; }
check_tcp-idle() { server_pytest "$1" "$2" "$3" idle test_idle.py; }
# Compressed values over the DPDK TCP (and UDP) path with two workers (reads of the other
# shard, forwarded gat): decompressed into the worker's scratch and copied into mbufs before
# its quiescent state, multi-MB chained ones included.
check_tcp-compression() { server_pytest "$1" "$2" "$3" compression test_compression.py; }

check_two-workers-tcp() { run_pytest "$1" "$2" "$3" test_tcp_two_workers.py -s; }

# Under the fault hook (see the CHECKS line). The namespace's Linux retransmits sooner
# (rto_min 20 ms on its route to the lab; its own namespace only), so the run is bounded
# by the server's recovery more than by Linux's 200 ms minimum RTO.
check_tcp-loss() {
	local out=$1 limit=$2 workers=$3 route
	route=$(in_ns ip -4 route show 10.77.0.0/24 dev "$PEER_IF")
	echo "route before: $route" >>"$out"
	# shellcheck disable=SC2086  # the route's words
	timeout -k 2 10 ip netns exec "$NS" ip route change $route dev "$PEER_IF" rto_min 20ms >>"$out" 2>&1 || return 1
	echo "route now: $(in_ns ip -4 route show 10.77.0.0/24 dev "$PEER_IF")" >>"$out"
	NC_LOSS_DEADLINE=$(($(left "$limit") - 40)) run_pytest "$out" "$(left "$limit")" "$workers" \
		test_tcp_loss.py -s
}

# The loss and reordering soak (test_tcp_soak.py): NC_TCP_SOAK_SECONDS of mixed TCP and UDP
# load (default 90 s, 1800 s with NC_LONG=1) under the fault hook, rto_min 20 ms as for
# tcp-loss. Its time limit is the CHECKS one (the default run) or the load time + 90 s.
check_tcp-soak() {
	local out=$1 limit=$2 workers=$3 route secs=90
	if [[ ${NC_LONG:-0} == 1 ]]; then secs=1800; fi
	secs=${NC_TCP_SOAK_SECONDS:-$secs}
	((limit >= secs + 90)) || limit=$((secs + 90))
	route=$(in_ns ip -4 route show 10.77.0.0/24 dev "$PEER_IF")
	# shellcheck disable=SC2086  # the route's words
	timeout -k 2 10 ip netns exec "$NS" ip route change $route dev "$PEER_IF" rto_min 20ms >>"$out" 2>&1 || return 1
	echo "route now: $(in_ns ip -4 route show 10.77.0.0/24 dev "$PEER_IF"); load ${secs} s, limit ${limit} s" >>"$out"
	NC_TCP_SOAK_SECONDS=$secs run_pytest "$out" "$limit" "$workers" test_tcp_soak.py -s --tb=short
}

# The cluster on the DPDK path (cluster_lab.py): a lab of its own (namespace ${NS}c, a bridge,
# two DPDK nodes on their own veths and a socket node), replication links up, 5,000 keys
# written, one DPDK node killed with SIGKILL, every key read from the copies, then the node
# back (--rejoin: links up again, its copies resynced). The lab server started for this
# check stays idle.
# Authentication on the DPDK TCP path (-S -Y, UDP off): test_tcp_auth.py from the namespace.
check_tcp-auth() { run_pytest "$1" "$2" "$3" test_tcp_auth.py -s; }

check_cluster-dpdk() {
	local out=$1 limit=$2
	timeout -k 5 "$limit" "$PYTHON" "$HERE/cluster_lab.py" --server "$SERVER" --ns "${NS}c" \
		--drivers "$DRIVERS" --time-limit $((limit - 20)) --rejoin >>"$out" 2>&1
}

# server_stats OUT: append to the check log the server's `stats tcp` (nicached's TCP
# counters), the non-zero drop and fault counters of `stats nic`, and how many frames the
# driver took from nicached (port_opackets) against how many the veth delivered into the
# namespace (the root end's TX count, which is the peer's RX; nothing else sends there):
# a difference is frames lost inside the driver or the kernel. Over UDP, retried (the fault
# hook may drop a datagram).
server_stats() {
	local out=$1 res vtx
	res=$(timeout -k 2 30 ip netns exec "$NS" "$PYTHON" - "$SERVER_IP" "$UDP_PORT" 2>&1 <<-'PY'
	import os, socket, struct, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(1)
	def stats(group):
	    for attempt in range(5):
	        rid = int.from_bytes(os.urandom(2), "big")
	        s.sendto(struct.pack("!HHHH", rid, 0, 1, 0) + b"stats " + group + b"\r\n",
	                 (sys.argv[1], int(sys.argv[2])))
	        parts = {}
	        try:
	            while True:
	                d = s.recv(65536)
	                r, seq, total, _ = struct.unpack("!HHHH", d[:8])
	                if r != rid:
	                    continue
	                parts[seq] = d[8:]
	                if len(parts) == total:
	                    break
	        except socket.timeout:
	            continue
	        body = b"".join(parts[i] for i in sorted(parts)).decode(errors="replace")
	        return dict(l[5:].split(" ", 1) for l in body.splitlines() if l.startswith("STAT "))
	    return None
	tcp = stats(b"tcp")
	print("---- server's stats tcp after the check:")
	print(" ".join("%s %s" % kv for kv in tcp.items()) if tcp is not None else "no answer over UDP")
	nic = stats(b"nic")
	print("---- server's stats nic after the check (non-zero drops and faults):")
	if nic is None:
	    print("no answer over UDP")
	else:
	    print(" ".join("%s %s" % (k, v) for k, v in nic.items()
	                   if k.startswith(("drop_", "fault_", "port_imissed", "port_oerrors",
	                                    "port_rx_nombuf", "q")) and v != "0"))
	    print("OPACKETS %s" % nic.get("port_opackets", "?"))
	PY
	)
	vtx=$(ip -s -j link show dev "${NS}0" 2>/dev/null | "$PYTHON" -c \
		'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])' 2>/dev/null)
	grep -v '^OPACKETS ' <<<"$res" >>"$out"
	printf -- '---- frames: the driver took %s from nicached, the veth delivered %s into the namespace (a few more: the stats replies)\n' \
		"$(awk '$1 == "OPACKETS" { print $2 }' <<<"$res")" "${vtx:-?}" >>"$out"
}

# Capture with DPDK's own tool (--pdump): dpdk-dumpcap attaches to the server as an EAL
# secondary process and writes the port's frames, both directions, to a pcapng file while
# clients in the namespace talk TCP and UDP; tcpdump reads it back. --pdump needs hugepages
# on a hugetlbfs mount: prepare_pdump reserves them (and mounts one if there is none),
# finish_pdump puts things back and checks that the clean stop gave the pages back
# (no hugepage files of the server's prefix left).
PDUMP_PAGES_BEFORE=""
PDUMP_MOUNT=""
PDUMP_PAGES_FILE=/proc/sys/vm/nr_hugepages
prepare_pdump() {
	local out=$1 need free said
	PDUMP_PAGES_BEFORE=$(cat "$PDUMP_PAGES_FILE")
	need=$("$SERVER" --backend dpdk -t 1 -m "$MEMORY_MB" --hugepages-needed)
	free=$(awk '$1 == "HugePages_Free:" { print $2 }' /proc/meminfo)
	if ((free * 2 < need)); then
		# Without the pages, --pdump is a refusal that says what to do, not a start on 4 KiB.
		said=$(timeout -k 2 30 "$SERVER" --backend dpdk --site "$SITE" -t 1 -m "$MEMORY_MB" \
			--pdump 2>&1) && { echo "started without hugepages: $said" >>"$out"; return 1; }
		echo "without hugepages: $said" >>"$out"
		grep -Eq 'hugetlbfs mount and there is none|refusing to start \(--pdump\)' <<<"$said" ||
			return 1
	fi
	if ! grep -q ' hugetlbfs ' /proc/mounts; then
		PDUMP_MOUNT=$LOGDIR/hugetlbfs
		mkdir -p "$PDUMP_MOUNT"
		mount -t hugetlbfs nodev "$PDUMP_MOUNT" >>"$out" 2>&1 || return 1
	fi
	# The server's need (MB, in 2 MiB pages) and as much again for dpdk-dumpcap's buffers.
	echo "hugepages: $PDUMP_PAGES_BEFORE reserved, $free free; the server needs $need MB" >>"$out"
	echo $((PDUMP_PAGES_BEFORE + need)) >"$PDUMP_PAGES_FILE"
}
finish_pdump() {
	local out=$1 ok=0 left
	left=$(find /dev/hugepages "${PDUMP_MOUNT:-/nonexistent}" -maxdepth 1 \
		-name "nclab-$RUN_ID-*map_*" 2>/dev/null | wc -l)
	echo "hugepage files of the server left after its stop: $left (want 0)" >>"$out"
	((left == 0)) || ok=1
	echo "$PDUMP_PAGES_BEFORE" >"$PDUMP_PAGES_FILE"
	if [[ -n $PDUMP_MOUNT ]]; then
		umount "$PDUMP_MOUNT" >>"$out" 2>&1 || ok=1
		PDUMP_MOUNT=""
	fi
	return "$ok"
}
check_pdump() {
	local out=$1 limit=$2 slog prefix port cap=$LOGDIR/pdump.pcapng pid rc=0 text
	slog=$LOGDIR/pdump.server.log
	step "$out" "the banner names the capture command"
	prefix=$(sed -n 's/^nicached: --pdump: capture with dpdk-dumpcap --file-prefix \([^ ]*\) -i \([^ ]*\) .*/\1/p' "$slog")
	port=$(sed -n 's/^nicached: --pdump: capture with dpdk-dumpcap --file-prefix \([^ ]*\) -i \([^ ]*\) .*/\2/p' "$slog")
	echo "prefix '$prefix', port '$port'" >>"$out"
	[[ $prefix == "nclab-$RUN_ID-$DRIVER_USED" && -n $port ]] || return 1
	step "$out" "dpdk-dumpcap -i $port while clients talk TCP and UDP"
	timeout -k 2 60 dpdk-dumpcap --file-prefix "$prefix" -i "$port" -c 40 -w "$cap" \
		>>"$out" 2>&1 &
	pid=$!
	sleep 3 # EAL start of the secondary, and its request to the server
	timeout -k 2 20 ip netns exec "$NS" "$PYTHON" - "$SERVER_IP" "$TCP_PORT" "$UDP_PORT" \
		>>"$out" 2>&1 <<-'PY' || rc=1
	import socket, struct, sys, time
	host, tport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	for i in range(6):
	    s = socket.create_connection((host, tport), timeout=3)
	    s.sendall(b"set pdump-%d 0 0 12\r\ncaptured-%03d\r\nget pdump-%d\r\n" % (i, i, i))
	    got = b""
	    while not got.endswith(b"END\r\n"):
	        got += s.recv(1000)
	    s.close()
	    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    u.settimeout(2)
	    u.sendto(struct.pack("!HHHH", i, 0, 1, 0) + b"get pdump-%d\r\n" % i, (host, uport))
	    print("tcp %r udp %r" % (got, u.recv(2000)[8:]))
	    time.sleep(0.2)
	PY
	wait "$pid" || { echo "dpdk-dumpcap: exit status $?" >>"$out"; rc=1; }
	text=$(tcpdump -nr "$cap" -A 2>>"$out") || rc=1
	printf '%s\n' "$text" | grep -E '^[0-9]' >>"$out"
	local want
	for want in 'UDP, length' '10.77.0.2.[0-9]+ > 10.77.0.1.11211: Flags \[S\]' \
		'10.77.0.1.11211 > 10.77.0.2.[0-9]+: Flags \[S\.\]' 'captured-00' 'STORED' \
		'10.77.0.1.11211 > 10.77.0.2.[0-9]+: UDP'; do
		if ! grep -Eq -- "$want" <<<"$text"; then
			echo "not in the capture: $want" >>"$out"
			rc=1
		fi
	done
	return "$rc"
}

# mcgen over DPDK from the namespace: its own net_af_xdp port on the namespace's end of the veth
# (the kernel there sees none of those frames while it runs), memcached over UDP (gets,
# multi-gets, sets, deletes) and over the project's TCP (4 connections), every reply checked:
# each run must exit 0 with no error, timeout or abort. The UDP run's port is EAL arguments
# and --src-ip; the TCP run's a site file naming the shipped af_xdp profile (mcgen --site), as
# nicached takes its own. Last in the table: the namespace's kernel gets its interface back
# when mcgen's port closes.
check_mcgen-af-xdp() {
	local out=$1 limit=$2 mcgen=${NC_MCGEN:-$ROOT/build/app/mcgen/mcgen} proto rc=0 port
	local site=$LOGDIR/mcgen-af-xdp.site.ini
	[[ -x $mcgen ]] || { echo "no mcgen at $mcgen (NC_MCGEN)" >>"$out"; return 1; }
	printf '[port]\nprofile = af_xdp\niface = %s\n[ipv4]\naddress = 10.77.0.2/24\n' \
		"$PEER_IF" >"$site"
	local vdev="net_af_xdp1,iface=$PEER_IF,start_queue=0,queue_count=1,force_copy=1"
	for proto in udp tcp; do
		if [[ $proto == udp ]]; then
			port=(--src-ip 10.77.0.2 -- --no-pci "--vdev=$vdev")
		else
			port=(--site "$site" --drivers-dir "$ROOT/drivers-config" --)
		fi
		step "$out" "mcgen -x dpdk-$proto over net_af_xdp on $PEER_IF (${port[0]})"
		timeout -k 5 "$(left "$limit")" ip netns exec "$NS" "$mcgen" -x "dpdk-$proto" \
			-s "$SERVER_IP:$UDP_PORT" -k 10000 --key-size 16 \
			--value-size 1-700 -m get=60,set=20,delete=5,multiget=15 --mget-keys 5 -c 4 \
			-d 8 -w -T 2 -q "${port[@]}" -l 0 --file-prefix "nclabgen-$RUN_ID" \
			--no-huge --no-shconf --log-level=4 \
			>>"$out" 2>&1 || { echo "mcgen dpdk-$proto: exit status $?" >>"$out"; rc=1; }
	done
	((rc == 0)) || return 1
	if ! [[ $(grep -c '^  errors 0 (wrong 0, server 0); timeouts 0, aborted 0' "$out") == 2 ]]; then
		echo "a run had errors, timeouts or aborts" >>"$out"
		return 1
	fi
}

# set_flags FLAGS...: the running check's server flags, and what the tests need of them.
set_flags() {
	SERVER_FLAGS=("${@//@AUTH_FILE@/$AUTH_FILE}")
	SERVER_FLAGS=("${SERVER_FLAGS[@]//@LOGDIR@/$LOGDIR}")
	AUTH_ON=0
	TCP_PORT=11211
	MAX_CONNS=1024
	MEMORY_MB=64
	ITEM_MAX=1048576
	while (($# > 0)); do
		case $1 in
		-p) TCP_PORT=$2; shift ;;
		-c) MAX_CONNS=$2; shift ;;
		-m) MEMORY_MB=$2; shift ;;
		-I) ITEM_MAX=$(($(tr -d 'mM' <<<"$2") * 1048576)); shift ;; # -I in megabytes
		-S | -Y) AUTH_ON=1 ;;
		esac
		shift
	done
}

# ---------------------------------------------------------------- driver

PASSED=0
FAILED=0
START=$SECONDS
TIMES=()

run_check() {
	local name=$1 workers=$2 limit=$3
	local out="$LOGDIR/$name.log" slog="$LOGDIR/$name.server.log" ok=1 t0=$SECONDS
	shift 3
	set_flags "$@"
	CHECK_T0=$SECONDS
	: >"$out"
	: >"$slog"
	# A check may set the machine up before its server starts (prepare_NAME) and put it back
	# after the server stopped (finish_NAME, which may fail the check).
	if declare -F "prepare_$name" >/dev/null && ! "prepare_$name" "$out"; then
		printf 'run.sh: prepare_%s failed\n' "$name" >>"$out"
		ok=0
	elif ! start_server "$slog" "$workers"; then
		printf 'run.sh: nicached did not start on any of: %s\n' "$DRIVERS" >>"$out"
		ok=0
	else
		printf 'driver %s\n' "$DRIVER_USED" >>"$out"
		capture_start "$name"
		"check_$name" "$out" "$limit" "$workers" || ok=0
		capture_stop
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			printf 'run.sh: the server died during the check\n' >>"$out"
			ok=0
		elif ((TCP_PORT != 0 && !AUTH_ON)); then
			server_stats "$out" # (over UDP: off with authentication)
		fi
		stop_server "$slog" || {
			printf 'run.sh: the server did not stop cleanly\n' >>"$out"
			ok=0
		}
	fi
	if declare -F "finish_$name" >/dev/null && ! "finish_$name" "$out"; then
		printf 'run.sh: finish_%s failed\n' "$name" >>"$out"
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$slog" 120 "$DRIVER_USED"
}

printf 'run.sh: server %s, lab namespace %s\n' "$SERVER" "$NS"
ran=0
for c in "${CHECKS[@]}"; do
	read -r name workers limit flags <<<"$c"
	if [[ -n $ONLY && ",$ONLY," != *",$name,"* ]]; then
		continue
	fi
	ran=$((ran + 1))
	# shellcheck disable=SC2086  # the flags' words
	run_check "$name" "$workers" "$limit" $flags
done
finish_checks "$ran" "$ONLY" "$START"
