#!/usr/bin/env bash
# nicached's own cost per request on the DPDK path, with no kernel anywhere in the path.
#
#   scripts/bench-memif.sh [--runs 3] [--duration 8] [--window 32] [--get-ratio 0.9]
#                          [--value-size 32] [--multiget 1]
#                          [--proto udp|tcp | --compare] [--conns 1]
#                          [--nicached PATH] [--gen PATH]
#
# Root only. Two DPDK processes on this machine joined by net_memif (shared-memory rings):
#   nicached   --backend dpdk -t 1 on the memif profile (the memif server, 10.88.0.1, UDP and
#              TCP on port 11211), its control lcore on CPU 0 and its worker on CPU 1
#   nc_udpgen  (tests/bench) the memif client on CPU 0: memcached text over UDP (--proto udp,
#              the default) or over TCP through the project's lib/tcp (--proto tcp: --conns
#              connections sharing the window, each with --window / --conns requests
#              pipelined), --window requests in flight in all, 16-byte keys, --value-size byte values,
#              --get-ratio gets (the rest sets; 1 for a pure GET load; --multiget N: each
#              get asks for N keys, UDP only, and cycles/request is per key), every key set first
#              (--warm) so every get must hit, every reply checked
# --compare: each run is a UDP run and a TCP run of the same load, in turn (the order swaps
# every run), and the summary gives the TCP/UDP ratio of the medians.
# A fresh server per run. Per run: the generator's TPS, and the server's CPU cost per request
# in TSC cycles from its own `stats` (busy_cycles / requests, and without busy_driver_cycles:
# the cycles inside the memif rx/tx calls), its busy share of the worker's time, requests per
# TCP segment the server received, and the non-zero drop and error counters of its
# `stats nic`. Prints every run and the medians. On a shared machine the busy cycles include
# the time the worker thread was preempted: on-CPU% is the share of the time it could run
# that it did run (its /proc schedstat over the generator's run), and adj. cycles is
# cycles/request x on-CPU%, an estimate of the cost without preemption (it assumes
# preemption hits busy and idle loop iterations alike).
# Defaults: build/app/nicached/nicached and build/tests/bench/nc_udpgen (meson -Dbench=true).
# Exit 1 when a run fails (server not up, a server that crashed or hung on SIGTERM, or the
# generator's exit status: see nc_udpgen.c;
# over TCP any bad reply, timeout or failed connection fails the run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=3
DURATION=8
WINDOW=32
GET_RATIO=0.9
VALUE_SIZE=32
MULTIGET=1
PROTOS=udp
CONNS=1
NICACHED=$ROOT/build/app/nicached/nicached
GEN=$ROOT/build/tests/bench/nc_udpgen
PORT=11211
SERVER=10.88.0.1
CLIENT=10.88.0.2

usage() {
	sed -n '2,33s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--get-ratio) GET_RATIO=$2; shift 2 ;;
	--value-size) VALUE_SIZE=$2; shift 2 ;;
	--multiget) MULTIGET=$2; shift 2 ;;
	--proto)
		[[ $2 == udp || $2 == tcp ]] || { echo "bench-memif: --proto udp or tcp" >&2; usage; }
		PROTOS=$2; shift 2 ;;
	--compare) PROTOS="udp tcp"; shift ;;
	--conns) CONNS=$2; shift 2 ;;
	--nicached) NICACHED=$(realpath "$2"); shift 2 ;;
	--gen) GEN=$(realpath "$2"); shift 2 ;;
	-h | --help) usage ;;
	*) echo "bench-memif: unknown argument $1" >&2; usage ;;
	esac
done
[[ $WINDOW =~ ^[1-9][0-9]*$ && $CONNS =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench-memif: --window and --conns want positive integers" >&2; usage; }
((WINDOW % CONNS == 0)) ||
	{ echo "bench-memif: --window $WINDOW does not split over --conns $CONNS" >&2; usage; }
[[ $CONNS -eq 1 || $PROTOS != udp ]] ||
	{ echo "bench-memif: --conns wants --proto tcp or --compare" >&2; usage; }
[[ $(id -u) -eq 0 ]] || { echo "bench-memif: needs root (memif socket in /run)" >&2; exit 1; }
[[ -x $NICACHED ]] || { echo "bench-memif: $NICACHED not built (ninja -C build)" >&2; exit 1; }
[[ -x $GEN ]] || { echo "bench-memif: $GEN not built (meson -Dbench=true)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nc-bench-memif.XXXXXX)
IFACE=ncbench$$
SOCKET=/run/nicached-$IFACE.memif
SRV_PID=
SRV_STOP=  # how the last server stopped: "ok", or what went wrong
stop_server() {
	local st=0
	[[ -n $SRV_PID ]] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null || true
	SRV_STOP="did not stop within 5 s of SIGTERM (killed)"
	for _ in $(seq 50); do
		if ! kill -0 "$SRV_PID" 2>/dev/null; then
			SRV_STOP=ok
			break
		fi
		sleep 0.1
	done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || st=$?
	# 0 after SIGTERM; anything else (a signal, 128 + n) is a crash on the way out
	[[ $SRV_STOP != ok || $st -eq 0 ]] || SRV_STOP="exited with status $st"
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

# worker_sched: "run wait" nanoseconds of the server's worker thread so far (schedstat).
worker_sched() {
	local t
	for t in /proc/"$SRV_PID"/task/*; do
		[[ $(cat "$t/comm" 2>/dev/null) == rte-worker-* ]] || continue
		awk '{ print $1, $2 }' "$t/schedstat" 2>/dev/null && return 0
	done
	echo "0 0"
}

# run_once N PROTO: one run; leaves its RESULT, NIC, SRVTCP and SCHED lines in
# $TMP/run.N.PROTO.out.
run_once() {
	local log=$TMP/run.$1.$2 rc=0 load=(--window "$WINDOW") run0 wait0 run1 wait1
	[[ $2 == udp ]] || load=(--proto tcp --conns "$CONNS" --window $((WINDOW / CONNS)))
	[[ $2 != udp ]] || load+=(--multiget "$MULTIGET")
	start_server "$log.server" || return 1
	read -r run0 wait0 < <(worker_sched)
	timeout $((${DURATION%.*} + 200)) taskset -c 0 "$GEN" -l 0 --no-huge --no-shconf \
		--file-prefix ncgen$$ --no-pci \
		"--vdev=net_memif0,role=client,id=0,socket=$SOCKET,rsize=10,bsize=2048" -- \
		--src-ip "$CLIENT" --dst-ip "$SERVER" --port "$PORT" --warm \
		--duration "$DURATION" "${load[@]}" --get-ratio "$GET_RATIO" --value-size "$VALUE_SIZE" \
		>"$log.gen" 2>&1 || rc=$?
	read -r run1 wait1 < <(worker_sched)
	stop_server
	if [[ $SRV_STOP != ok ]]; then
		tail -n 20 "$log.server" >&2
		echo "bench-memif: run $1 ($2): nicached $SRV_STOP" >&2
		return 1
	fi
	if ((rc != 0)) || ! grep -q '^RESULT ' "$log.gen"; then
		grep -v '^EAL:' "$log.gen" >&2
		echo "bench-memif: run $1 ($2): nc_udpgen exit status $rc" >&2
		return 1
	fi
	grep -E '^(RESULT|NIC|SRVTCP)' "$log.gen" >"$log.out"
	awk -v r=$((run1 - run0)) -v w=$((wait1 - wait0)) \
		'BEGIN { print "SCHED oncpu=" (r > 0 ? sprintf("%.3f", r / (r + w)) : "-") }' \
		>>"$log.out"
}

# field NAME LINE: the value of NAME=... in LINE.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

tcp_shape="TCP $CONNS x $((WINDOW / CONNS)) pipelined"
shape=
[[ $PROTOS == udp ]] || shape=" ($tcp_shape)"
echo "bench-memif: $RUNS runs x ${DURATION} s, nc_udpgen over net_memif ($PROTOS)," \
	"$WINDOW in flight$shape, get ratio $GET_RATIO ($MULTIGET keys a get), 16 B keys, $VALUE_SIZE B values, warmed"
ROW='%-4s %-5s %9s %11s %17s %6s %7s %11s %8s %4s %7s  %s\n'
# shellcheck disable=SC2059  # the format is ROW
printf "$ROW" run proto TPS cycles/req "(app, no driver)" busy% on-CPU% "adj. cycles" \
	timeouts bad req/seg "nic drops/errors"
declare -A TPS CYC APP ADJ MED_TPS MED_CYC MED_APP MED_ADJ LAST_CYC LAST_APP LAST_ADJ
declare -a PAIR_CYC PAIR_APP PAIR_ADJ
for run in $(seq 1 "$RUNS"); do
	order=$PROTOS
	# --compare: the order swaps every run, so a drift of the machine favours neither.
	((run % 2 == 1)) || order=$(tr ' ' '\n' <<<"$PROTOS" | tac | xargs)
	for proto in $order; do
		run_once "$run" "$proto" || exit 1
		out=$TMP/run.$run.$proto.out
		res=$(grep '^RESULT ' "$out")
		nic=$(grep '^NIC' "$out" | sed 's/^NIC *//')
		srvtcp=$(grep '^SRVTCP' "$out" || true)
		oncpu=$(field oncpu "$(grep '^SCHED' "$out")")
		tps=$(field tps "$res") cyc=$(field server_cycles_per_request "$res")
		app=$(field server_app_cycles_per_request "$res")
		adj=$(awk -v c="$cyc" -v s="$oncpu" 'BEGIN { print s == "-" ? c : int(c * s + 0.5) }')
		TPS[$proto]+=" $tps" CYC[$proto]+=" $cyc" APP[$proto]+=" $app" ADJ[$proto]+=" $adj"
		LAST_CYC[$proto]=$cyc LAST_APP[$proto]=$app LAST_ADJ[$proto]=$adj
		# shellcheck disable=SC2059  # the format is ROW
		printf "$ROW" "$run" "$proto" "$tps" "$cyc" "$app" \
			"$(field server_busy_percent "$res")" \
			"$(awk -v s="$oncpu" 'BEGIN { print s == "-" ? s : sprintf("%.1f", s * 100) }')" \
			"$adj" "$(field timeouts "$res")" "$(field verify_failed "$res")" \
			"$( [[ -n $srvtcp ]] && field requests_per_seg_in "$srvtcp" || echo -)" \
			"${nic:-none}"
	done
	if [[ $PROTOS == "udp tcp" ]]; then
		PAIR_CYC+=("$(ratio "${LAST_CYC[tcp]}" "${LAST_CYC[udp]}")")
		PAIR_APP+=("$(ratio "${LAST_APP[tcp]}" "${LAST_APP[udp]}")")
		PAIR_ADJ+=("$(ratio "${LAST_ADJ[tcp]}" "${LAST_ADJ[udp]}")")
	fi
done
for proto in $PROTOS; do
	# shellcheck disable=SC2086  # the lists are words
	{
		MED_TPS[$proto]=$(median ${TPS[$proto]}) MED_CYC[$proto]=$(median ${CYC[$proto]})
		MED_APP[$proto]=$(median ${APP[$proto]}) MED_ADJ[$proto]=$(median ${ADJ[$proto]})
	}
	echo "median $proto  TPS ${MED_TPS[$proto]}  cycles/request ${MED_CYC[$proto]}" \
		" (without driver calls: ${MED_APP[$proto]}; adjusted: ${MED_ADJ[$proto]})"
done
if [[ $PROTOS == "udp tcp" ]]; then
	echo "TCP/UDP ($tcp_shape vs UDP $WINDOW in flight): cycles/request" \
		"x$(ratio "${MED_CYC[tcp]}" "${MED_CYC[udp]}")" \
		" (without driver calls: x$(ratio "${MED_APP[tcp]}" "${MED_APP[udp]}");" \
		"adjusted: x$(ratio "${MED_ADJ[tcp]}" "${MED_ADJ[udp]}"))"
	echo "per run TCP/UDP: cycles ${PAIR_CYC[*]}; without driver calls ${PAIR_APP[*]};" \
		"adjusted ${PAIR_ADJ[*]}"
fi
