#!/usr/bin/env bash
# nicached on the DPDK path vs memcached over UDP or TCP, in the netns lab, side by side in one run.
#
#   scripts/bench-lab.sh [--runs 3] [--duration 10] [--nicached PATH] [--memcached PATH]
#                        [--driver af_xdp|af_packet] [--concurrency 16] [--proto udp|tcp]
#                        [--mcgen PATH]
#
# Root only. Brings the lab up (scripts/lab.sh, 1 queue) and, for each run, serves the same
# client load from the namespace (mcgen on kernel sockets, -x udp or -x tcp: 1 thread,
# --concurrency sockets or connections with one request in flight each, 100,000 16-byte keys
# set first (a run of its own before the measured one), 32-byte values, 90% get, every reply
# checked) over the same veth link to:
#   nicached   --backend dpdk -t 1 on the lab's DPDK port (10.77.0.1, the root veth end); TCP
#              is served by its own TCP (lib/tcp)
#   memcached  -t 1 -p/-U 11211 bound to 10.77.0.1 on the same veth end, given to the kernel
#              for the round (address added, then removed)
# alternating which goes first. The client runs on CPU 0, the servers' worker on CPU 1.
# Per cell: mcgen's achieved rate (TPS), and the server CPU cost per request in TSC cycles
# over the measured run:
#   nicached   its own accounting: busy loop-iteration cycles / requests (`stats`
#              busy_cycles, requests), also without the cycles spent inside the driver's
#              rx/tx burst calls (`stats` busy_driver_cycles: for af_xdp/af_packet these are
#              kernel system calls, and the TX one delivers the reply into the client's
#              namespace; on a real NIC they are a few dozen cycles)
#   memcached  its process CPU time (utime + stime from /proc/PID/stat) x TSC Hz / requests
#              (cmd_get + cmd_set + other commands from its `stats`)
# Prints every cell, the medians, and memcached/nicached of the medians. Exit 1 on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
RUNS=3
DURATION=10
CONC=16
NICACHED=$ROOT/build/app/nicached/nicached
MEMCACHED=/usr/bin/memcached
MCGEN=$ROOT/build/app/mcgen/mcgen
DRIVER=af_xdp
PROTO=udp
export NC_LAB_NS=${NC_LAB_NS:-nclab}
export NC_LAB_DIR=${NC_LAB_DIR:-/run/nicached-lab}
SERVER=10.77.0.1
PORT=11211

usage() {
	sed -n '2,26s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--concurrency) CONC=$2; shift 2 ;;
	--nicached) NICACHED=$(realpath "$2"); shift 2 ;;
	--memcached) MEMCACHED=$2; shift 2 ;;
	--mcgen) MCGEN=$(realpath "$2"); shift 2 ;;
	--driver) DRIVER=$2; shift 2 ;;
	--proto) PROTO=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "bench-lab: unknown argument $1" >&2; usage ;;
	esac
done
[[ $PROTO == udp || $PROTO == tcp ]] || { echo "bench-lab: --proto udp or tcp" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench-lab: needs root (namespaces, AF_XDP)" >&2; exit 1; }
for exe in "$NICACHED" "$MCGEN"; do
	[[ -x $exe ]] || { echo "bench-lab: $exe not built (ninja -C build)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/nc-bench-lab.XXXXXX)
SRV_PID=
cleanup() {
	if [[ -n $SRV_PID ]] && kill -0 "$SRV_PID" 2>/dev/null; then
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	ip addr del "$SERVER/24" dev "${NC_LAB_NS}0" 2>/dev/null || true
	ip link set dev "${NC_LAB_NS}0" arp off 2>/dev/null || true
	bash "$ROOT/scripts/lab.sh" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

in_ns() { ip netns exec "$NC_LAB_NS" "$@"; }

# `stats` over UDP from the namespace, as "name value" lines.
udp_stats() {
	in_ns timeout 10 python3 - "$SERVER" "$PORT" <<'PY'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
cmd = b"stats\r\n"
for attempt in range(5):
    s.sendto(struct.pack(">HHHH", 4242 + attempt, 0, 1, 0) + cmd, (host, port))
    parts, total = {}, None
    try:
        while total is None or len(parts) < total:
            d = s.recv(65536)
            rid, seq, total, _ = struct.unpack(">HHHH", d[:8])
            if rid == 4242 + attempt:
                parts[seq] = d[8:]
    except socket.timeout:
        continue
    text = b"".join(parts[i] for i in sorted(parts)).decode()
    for line in text.split("\r\n"):
        f = line.split(" ", 2)
        if len(f) == 3 and f[0] == "STAT":
            print(f[1], f[2])
    sys.exit(0)
sys.exit("no stats reply")
PY
}

stat_of() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

wait_ready() {
	for _ in $(seq 1 50); do
		if udp_stats >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	return 1
}

MCGEN_ARGS=(-x "$PROTO" -s "$SERVER:$PORT" -t 1 -c "$CONC" -d 1 -k 100000 --key-size 16
	--value-size 32 -m "get=90,set=10" -q)

# Sets every key (mcgen -w and a second of load), before the server's first stats.
warm() {
	in_ns timeout 200 taskset -c 0 "$MCGEN" "${MCGEN_ARGS[@]}" -w -T 1 >"$1" 2>&1
}

# Runs the measured load (the keys warm() set: same seed and sizes); prints the TPS.
load() {
	local log=$1
	in_ns timeout $((DURATION + 60)) taskset -c 0 "$MCGEN" "${MCGEN_ARGS[@]}" -T "$DURATION" \
		-j "$log.json" >"$log" 2>&1 || return 1
	python3 -c 'import json, sys; print("%.0f" % json.load(open(sys.argv[1]))["steps"][0]["achieved_rate"])' \
		"$log.json"
}

# A cell runs in a subshell (process substitution): on failure it stops its own server.
cell_fail() {
	cat "$1" >&2
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
}

TSC_HZ=
# One nicached cell: "tps cycles_per_request app_cycles_per_request".
cell_nicached() {
	local log=$TMP/nicached.$1 tps b0 b1 r0 r1 d0 d1
	taskset -c 0,1 "$NICACHED" --backend dpdk --site "$NC_LAB_DIR/site.ini" -U "$PORT" \
		-p "$PORT" -t 1 -m 256 --eal "--file-prefix ncbench$$" >"$log.server" 2>&1 &
	SRV_PID=$!
	wait_ready || { cell_fail "$log.server"; return 1; }
	warm "$log.warm" || { cell_fail "$log.warm"; return 1; }
	udp_stats >"$log.s0"
	tps=$(load "$log.load") || { cell_fail "$log.load"; return 1; }
	udp_stats >"$log.s1"
	kill "$SRV_PID"
	wait "$SRV_PID" || true
	SRV_PID=
	TSC_HZ=$(stat_of "$log.s1" tsc_hz)
	b0=$(stat_of "$log.s0" busy_cycles) b1=$(stat_of "$log.s1" busy_cycles)
	r0=$(stat_of "$log.s0" requests) r1=$(stat_of "$log.s1" requests)
	d0=$(stat_of "$log.s0" busy_driver_cycles) d1=$(stat_of "$log.s1" busy_driver_cycles)
	awk -v t="$tps" -v b=$((b1 - b0)) -v r=$((r1 - r0 - 1)) -v d=$((d1 - d0)) \
		'BEGIN { if (r <= 0) exit 1; printf "%s %.0f %.0f\n", t, b / r, (b - d) / r }'
}

# One memcached cell: "tps cycles_per_request".
cell_memcached() {
	local log=$TMP/memcached.$1 tps c0 c1 r0 r1 user=()
	# The lab keeps the kernel off the DPDK end (no address, ARP off): hand it over.
	ip link set dev "${NC_LAB_NS}0" arp on
	ip addr add "$SERVER/24" dev "${NC_LAB_NS}0"
	[[ $(id -u) -eq 0 ]] && user=(-u nobody)
	taskset -c 1 "$MEMCACHED" "${user[@]}" -t 1 -m 256 -p "$PORT" -U "$PORT" -l "$SERVER" \
		>"$log.server" 2>&1 &
	SRV_PID=$!
	wait_ready || { cell_fail "$log.server"; return 1; }
	warm "$log.warm" || { cell_fail "$log.warm"; return 1; }
	udp_stats >"$log.s0"
	c0=$(awk '{ print $14 + $15 }' "/proc/$SRV_PID/stat")
	tps=$(load "$log.load") || { cell_fail "$log.load"; return 1; }
	c1=$(awk '{ print $14 + $15 }' "/proc/$SRV_PID/stat")
	udp_stats >"$log.s1"
	kill "$SRV_PID"
	wait "$SRV_PID" || true
	SRV_PID=
	ip addr del "$SERVER/24" dev "${NC_LAB_NS}0"
	ip link set dev "${NC_LAB_NS}0" arp off
	in_ns ip neigh flush dev "${NC_LAB_NS}1" || true
	r0=$(($(stat_of "$log.s0" cmd_get) + $(stat_of "$log.s0" cmd_set)))
	r1=$(($(stat_of "$log.s1" cmd_get) + $(stat_of "$log.s1" cmd_set)))
	awk -v t="$tps" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v tsc="$TSC_HZ" \
		-v r=$((r1 - r0)) 'BEGIN { if (r <= 0) exit 1; printf "%s %.0f\n", t, c / hz * tsc / r }'
}

bash "$ROOT/scripts/lab.sh" up --queues 1 --driver "$DRIVER" >/dev/null
echo "bench-lab: driver $DRIVER, $PROTO, $RUNS runs x ${DURATION} s, 16 B keys, 32 B values, 90% get:" \
	"mcgen ${MCGEN_ARGS[*]} [-w -T 1, then] -T $DURATION"
printf '%-4s %-10s %12s %14s %18s\n' run server "TPS" "cycles/req" "(app, no driver)"
declare -a N_TPS N_CYC N_APP M_TPS M_CYC
for run in $(seq 1 "$RUNS"); do
	order="nicached memcached"
	((run % 2 == 0)) && order="memcached nicached"
	for srv in $order; do
		if [[ $srv == nicached ]]; then
			read -r tps cyc app < <(cell_nicached "$run") || { echo "nicached run $run failed" >&2; exit 1; }
			N_TPS+=("$tps") N_CYC+=("$cyc") N_APP+=("$app")
			printf '%-4s %-10s %12s %14s %18s\n' "$run" nicached "$tps" "$cyc" "$app"
		else
			[[ -n $TSC_HZ ]] || TSC_HZ=$(awk '/^cpu MHz/ { printf "%.0f", $4 * 1e6; exit }' /proc/cpuinfo)
			read -r tps cyc < <(cell_memcached "$run") || { echo "memcached run $run failed" >&2; exit 1; }
			M_TPS+=("$tps") M_CYC+=("$cyc")
			printf '%-4s %-10s %12s %14s %18s\n' "$run" memcached "$tps" "$cyc" "-"
		fi
	done
done
nt=$(median "${N_TPS[@]}") nc=$(median "${N_CYC[@]}") na=$(median "${N_APP[@]}")
mt=$(median "${M_TPS[@]}") mc=$(median "${M_CYC[@]}")
echo "median     nicached  TPS $nt  cycles/request $nc  (without driver calls: $na)"
echo "median     memcached TPS $mt  cycles/request $mc"
awk -v a="$mc" -v b="$nc" -v c="$na" 'BEGIN { printf "memcached/nicached server CPU per request: %.1fx (%.1fx without driver calls)\n", a / b, a / c }'
