#!/usr/bin/env bash
# Memory efficiency, nicached vs memcached, side by side: one machine, loopback, one run.
#
#   scripts/bench-memory.sh [--runs 3] [-m 64] [--mixes "tiny mixed large shift"]
#                           [--nicached PATH] [--memcached PATH] [--seed 1]
#                           [--extra-nicached-args "..."] [--extra-memcached-args "..."]
#                           [--pace 0.5] [--max-seconds 900] [--json FILE] [--check]
#                           [--check-floor 0.98] [--check-end-only]
#
# Builds nothing: expects build/app/nicached/nicached (or --nicached). For every run and mix
# it starts a fresh pair of servers on two free loopback ports,
#   memcached -p P1 -U 0 -l 127.0.0.1 -t 1 -m MB [extra]      (a root run adds -u nobody)
#   nicached  -p P2 -U 0 -l 127.0.0.1 -t 1 -m MB [extra]      (socket backend)
# runs scripts/bench-memory.py measure against both, one after the other (memcached first on
# odd runs, nicached first on even ones), and stops them (SIGTERM, SIGKILL after 10 s).
# What is measured (details in bench-memory.py's header): per mix, 3 x -m bytes of values
# written with pipelined sets of new keys ("k<seq>"), value sizes uniform in
#   tiny 10..100 B, mixed 100 B..10 KiB, large 100 KiB..1000000 B,
#   shift 1.5 x -m of 10 B..2 KiB then 1.5 x -m of 100 KiB..1000000 B;
# at most --pace x -m bytes of values per second (default 0.5); "stats" after every batch
# (about -m/200 of values) to catch the first eviction (bytes, curr_items then) and at the
# end (bytes, curr_items, evictions); the recency rule (a sample of keys written 0.2..0.9 s ago
# is read, and read again one batch later: a miss while the server still holds an item not
# touched for a second is a recent miss); for large and shift, the appender of the bug report
# (key "hot": 200 KiB, append 1 KiB per batch up to 900 KiB, again; failures counted); the
# footprint after writing (VmRSS + hugetlb pages of the process, MB and x -m); a client-side
# scan of the keys held.
# Prints each cell as it ends, then bench-memory.py report: one markdown table of the medians
# over the runs (rows per mix and server), "nicached/memcached bytes after 3x: X.XXx, at
# first eviction: Y.YYx" per mix, the scan and the slab use. --json FILE keeps every raw record
# and the medians. --check: exit 1 unless nicached holds >= 0.98 x memcached's bytes at first
# eviction and after 3x, and has no recent miss and no append failure, in every mix;
# --check-floor F changes 0.98, --check-end-only compares only the bytes after 3x (the
# regression guard scripts/test.sh runs).
# Time: about 3.5 minutes with the defaults on 2 quiet CPUs (the tiny mix is most of it: the
# servers' set rate bounds it). Bounds: every receive times out after 20 s, a measurement
# after 90 s, one mix of one run after 200 s; no cell starts after --max-seconds (900).
# Exits 1 if a server crashes (exits by itself or dies of a signal other than our SIGTERM) or a
# measurement fails or --check fails; 2 on bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
RUNS=3
MEM=64
MIXES="tiny mixed large shift"
NICACHED=build/app/nicached/nicached
MEMCACHED=/usr/bin/memcached
SEED=1
EXTRA_NC=""
EXTRA_MC=""
JSON=""
CHECK=0
CHECK_EXTRA=()
PACE=0.5
CELL_CAP=200 # seconds one measure call (both servers) may take
MAX_TOTAL=900

usage() {
	sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while (($#)); do
	case $1 in
	--runs) RUNS=${2:?}; shift 2 ;;
	-m) MEM=${2:?}; shift 2 ;;
	--mixes) MIXES=${2:?}; shift 2 ;;
	--nicached) NICACHED=${2:?}; shift 2 ;;
	--memcached) MEMCACHED=${2:?}; shift 2 ;;
	--seed) SEED=${2:?}; shift 2 ;;
	--extra-nicached-args) EXTRA_NC=${2?}; shift 2 ;;
	--extra-memcached-args) EXTRA_MC=${2?}; shift 2 ;;
	--json) JSON=${2:?}; shift 2 ;;
	--check) CHECK=1; shift ;;
	--check-floor) CHECK_EXTRA+=(--check-floor "${2:?--check-floor needs a ratio}"); shift 2 ;;
	--check-end-only) CHECK_EXTRA+=(--check-end-only); shift ;;
	--pace) PACE=${2:?}; shift 2 ;;
	--max-seconds) MAX_TOTAL=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	*) printf 'bench-memory: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done
if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 99)); then
	echo "--runs: 1..99" >&2
	usage
fi
if ! [[ $MEM =~ ^[0-9]+$ ]] || ((MEM < 2 || MEM > 65536)); then
	echo "-m: 2..65536 MB" >&2
	usage
fi
if ! [[ $MAX_TOTAL =~ ^[0-9]+$ ]]; then
	echo "--max-seconds: a number of seconds" >&2
	usage
fi
if ! [[ $SEED =~ ^[0-9]+$ ]]; then
	echo "--seed: a number" >&2
	usage
fi
if ! [[ $PACE =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
	echo "--pace: a number (0: no limit)" >&2
	usage
fi
for x in $MIXES; do
	[[ $x == tiny || $x == mixed || $x == large || $x == shift ]] ||
		{ echo "--mixes: tiny, mixed, large, shift" >&2; usage; }
done
[[ -n ${MIXES// /} ]] || { echo "--mixes: at least one" >&2; usage; }
NICACHED=$(resolve_path "$NICACHED" "$ROOT")
MEMCACHED=$(resolve_path "$MEMCACHED" "$ROOT")
for f in "$NICACHED" "$MEMCACHED"; do
	[[ -x $f ]] || { echo "bench-memory: $f: not an executable (build first)" >&2; exit 2; }
done
read -r -a EXTRA_NC_ARR <<<"$EXTRA_NC"
read -r -a EXTRA_MC_ARR <<<"$EXTRA_MC"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nc-mem.XXXXXX")
RESULTS=$TMP/results.jsonl
declare -A PID=() PORT=()
FAILED=0

# Stops one server: SIGTERM, up to 10 s, then SIGKILL. Prints its exit status.
stop_server() {
	local name=$1 pid=${PID[$1]:-} rc=0
	[[ -n $pid ]] || return 0
	stop_pid "$pid" 10 || rc=$?
	if ((STOP_KILLED)); then
		echo "bench-memory: $name (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
	fi
	unset "PID[$name]"
	return "$rc"
}

# shellcheck disable=SC2317  # reached from the EXIT trap
cleanup() {
	local name
	for name in "${!PID[@]}"; do
		stop_server "$name" || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # start_server NAME PORT
	local name=$1 port=$2 cmd version rc=0
	if [[ $name == memcached ]]; then
		cmd=("$MEMCACHED" -p "$port" -U 0 -l 127.0.0.1 -t 1 -m "$MEM" "${EXTRA_MC_ARR[@]}")
		((EUID == 0)) && cmd+=(-u nobody)
	else
		cmd=("$NICACHED" -p "$port" -U 0 -l 127.0.0.1 -t 1 -m "$MEM" "${EXTRA_NC_ARR[@]}")
	fi
	"${cmd[@]}" >"$TMP/$name.log" 2>&1 &
	PID[$name]=$!
	PORT[$name]=$port
	version=$(wait_for_version "${PID[$name]}" "$port" 150 1) || rc=$?
	if ((rc == 1)); then
		echo "bench-memory: $name exited at start: ${cmd[*]}" >&2
		tail -n 20 "$TMP/$name.log" >&2
		unset "PID[$name]"
		exit 1
	elif ((rc != 0)); then
		echo "bench-memory: $name did not answer on port $port within 15 s" >&2
		exit 1
	fi
	[[ -n ${SHOWN[$name]:-} ]] || printf 'server:  %-9s %s (%s)\n' "$name" "${cmd[*]}" "$version"
	SHOWN[$name]=1
}

declare -A SHOWN=()
START=$SECONDS
echo "== nicached vs memcached, memory efficiency: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
	head -n 1), kernel $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "workload: -m $MEM MB, mixes: $MIXES; $RUNS runs; seed $SEED; 3 x -m of values per cell," \
	"at most $PACE x -m per second"

mi=0
for ((r = 1; r <= RUNS; r++)); do
	order=(memcached nicached)
	((r % 2)) || order=(nicached memcached)
	mi=0
	for mix in $MIXES; do
		mi=$((mi + 1))
		if ((SECONDS - START > MAX_TOTAL)); then
			echo "bench-memory: --max-seconds $MAX_TOTAL reached: run $r $mix and later not measured" >&2
			FAILED=1
			break 2
		fi
		P1=$(pick_port tcp)
		P2=$(pick_port tcp)
		while [[ $P2 == "$P1" ]]; do P2=$(pick_port tcp); done
		start_server memcached "$P1"
		start_server nicached "$P2"
		specs=()
		for s in "${order[@]}"; do specs+=(--server "$s:${PORT[$s]}:${PID[$s]}"); done
		rc=0
		timeout -k 5 "$CELL_CAP" python3 "$ROOT/scripts/bench-memory.py" measure \
			--mix "$mix" -m "$MEM" --seed $((SEED * 1000 + r * 10 + mi)) --run "$r" \
			--pace "$PACE" --out "$RESULTS" "${specs[@]}" || rc=$?
		if ((rc != 0)); then
			echo "bench-memory: run $r $mix: measure failed (exit $rc)" >&2
			FAILED=1
		fi
		for s in memcached nicached; do
			if ! kill -0 "${PID[$s]}" 2>/dev/null; then
				src=0
				wait "${PID[$s]}" 2>/dev/null || src=$?
				echo "bench-memory: run $r $mix: $s CRASHED (exit status $src); its log:" >&2
				tail -n 20 "$TMP/$s.log" >&2
				unset "PID[$s]"
				FAILED=1
				continue
			fi
			src=0
			stop_server "$s" || src=$?
			# 143: SIGTERM (ours); memcached and nicached exit 0 on it
			if ((src != 0 && src != 143)); then
				echo "bench-memory: run $r $mix: $s exited with status $src when stopped; its log:" >&2
				tail -n 20 "$TMP/$s.log" >&2
				FAILED=1
			fi
		done
	done
done

echo
report=(python3 "$ROOT/scripts/bench-memory.py" report --results "$RESULTS" -m "$MEM"
	--runs "$RUNS" --mixes "$MIXES")
[[ -n $JSON ]] && report+=(--json "$JSON")
((CHECK)) && report+=(--check "${CHECK_EXTRA[@]}")
rc=0
"${report[@]}" || rc=$?
echo
echo "elapsed: $((SECONDS - START)) s; load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
if ((rc != 0 || FAILED)); then
	exit 1
fi
exit 0
