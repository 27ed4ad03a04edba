#!/usr/bin/env bash
# nicached's own cost per request on the DPDK path, with no kernel anywhere in the path.
#
#   scripts/bench-memif.sh [--runs 3] [--duration 8] [--window 32] [--get-ratio 0.9]
#                          [--nicached PATH] [--gen PATH]
#
# Root only. Two DPDK processes on this machine joined by net_memif (shared-memory rings):
#   nicached   --backend dpdk -t 1 on the memif profile (the memif server, 10.88.0.1), its
#              control lcore on CPU 0 and its worker on CPU 1
#   nc_udpgen  (tests/bench) the memif client on CPU 0: memcached text over UDP, --window
#              requests in flight, 16-byte keys, 32-byte values, --get-ratio gets (the rest
#              sets; 1 for a pure GET load), every key set first
#              (--warm) so every get must hit, every reply checked
# A fresh server per run. Per run: the generator's TPS, and the server's CPU cost per request
# in TSC cycles from its own `stats` (busy_cycles / requests, and without busy_driver_cycles:
# the cycles inside the memif rx/tx calls), its busy share of the worker's time, and the
# non-zero drop and error counters of its `stats nic`. Prints every run and the medians.
# Defaults: build/app/nicached/nicached and build/tests/bench/nc_udpgen (meson -Dbench=true).
# Exit 1 when a run fails (server not up, or the generator's exit status: see nc_udpgen.c).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=3
DURATION=8
WINDOW=32
GET_RATIO=0.9
NICACHED=$ROOT/build/app/nicached/nicached
GEN=$ROOT/build/tests/bench/nc_udpgen
PORT=11211
SERVER=10.88.0.1
CLIENT=10.88.0.2

usage() {
	sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--get-ratio) GET_RATIO=$2; shift 2 ;;
	--nicached) NICACHED=$(realpath "$2"); shift 2 ;;
	--gen) GEN=$(realpath "$2"); shift 2 ;;
	-h | --help) usage ;;
	*) echo "bench-memif: unknown argument $1" >&2; usage ;;
	esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench-memif: needs root (memif socket in /run)" >&2; exit 1; }
[[ -x $NICACHED ]] || { echo "bench-memif: $NICACHED not built (ninja -C build)" >&2; exit 1; }
[[ -x $GEN ]] || { echo "bench-memif: $GEN not built (meson -Dbench=true)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nc-bench-memif.XXXXXX)
IFACE=ncbench$$
SOCKET=/run/nicached-$IFACE.memif
SRV_PID=
stop_server() {
	[[ -n $SRV_PID ]] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	stop_server
	rm -rf "$TMP"
	rm -f "$SOCKET"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$TMP/site.ini" <<SITE
[port]
profile = memif
iface = $IFACE
[ipv4]
address = $SERVER/24
SITE

# Starts nicached and waits until it serves; 1 on failure (its log on stderr).
start_server() {
	local log=$1
	taskset -c 0,1 "$NICACHED" --backend dpdk --site "$TMP/site.ini" -U "$PORT" -p "$PORT" \
		-t 1 -m 256 --eal "--file-prefix ncmemif$$" </dev/null >"$log" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 300); do
		grep -q '^nicached: serving' "$log" && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$log" >&2
	echo "bench-memif: nicached did not start" >&2
	stop_server
	return 1
}

# One run; leaves its RESULT and NIC lines in $TMP/run.N.out.
run_once() {
	local log=$TMP/run.$1 rc=0
	start_server "$log.server" || return 1
	timeout $((${DURATION%.*} + 200)) taskset -c 0 "$GEN" -l 0 --no-huge --no-shconf \
		--file-prefix ncgen$$ --no-pci \
		"--vdev=net_memif0,role=client,id=0,socket=$SOCKET,rsize=10,bsize=2048" -- \
		--src-ip "$CLIENT" --dst-ip "$SERVER" --port "$PORT" --warm \
		--duration "$DURATION" --window "$WINDOW" --get-ratio "$GET_RATIO" \
		>"$log.gen" 2>&1 || rc=$?
	stop_server
	if ((rc != 0)) || ! grep -q '^RESULT ' "$log.gen"; then
		grep -v '^EAL:' "$log.gen" >&2
		echo "bench-memif: run $1: nc_udpgen exit status $rc" >&2
		return 1
	fi
	grep -E '^(RESULT|NIC)' "$log.gen" >"$log.out"
}

# field NAME LINE: the value of NAME=... in LINE.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bench-memif: $RUNS runs x ${DURATION} s, nc_udpgen over net_memif, window $WINDOW," \
	"get ratio $GET_RATIO," \
	"16 B keys, 32 B values, warmed"
printf '%-4s %10s %12s %18s %7s %9s %7s  %s\n' run TPS cycles/req "(app, no driver)" busy% \
	timeouts bad "nic drops/errors"
declare -a TPS CYC APP
for run in $(seq 1 "$RUNS"); do
	run_once "$run" || exit 1
	res=$(grep '^RESULT ' "$TMP/run.$run.out")
	nic=$(grep '^NIC' "$TMP/run.$run.out" | sed 's/^NIC *//')
	tps=$(field tps "$res") cyc=$(field server_cycles_per_request "$res")
	app=$(field server_app_cycles_per_request "$res")
	TPS+=("$tps") CYC+=("$cyc") APP+=("$app")
	printf '%-4s %10s %12s %18s %7s %9s %7s  %s\n' "$run" "$tps" "$cyc" "$app" \
		"$(field server_busy_percent "$res")" "$(field timeouts "$res")" \
		"$(field verify_failed "$res")" "${nic:-none}"
done
echo "median     TPS $(median "${TPS[@]}")  cycles/request $(median "${CYC[@]}")" \
	" (without driver calls: $(median "${APP[@]}"))"
