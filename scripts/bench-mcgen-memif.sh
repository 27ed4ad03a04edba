#!/usr/bin/env bash
# Latency against offered load on the DPDK path with no kernel anywhere: nicached (one worker,
# the memif profile's server, 10.88.0.1) and mcgen -x dpdk-udp (the memif client) on this
# machine, UDP GETs of 16-byte keys and 32-byte values, every key set first (--warm).
#
#   scripts/bench-mcgen-memif.sh [--runs 3] [--seconds 5] [--plot FILE.png]
#                                [--nicached PATH] [--mcgen PATH] [--logs DIR]
#                                [--pages auto|huge|4k]
#
# Per run, a fresh server:
#   1. the peak: a closed loop of 4 sockets x 16 requests in flight for --seconds (the
#      achieved rate, and the server's cycles per request from its own stats);
#   2. an open-loop sweep at 10, 25, 50, 75 and 90 % of that peak, Poisson arrivals, each for
#      --seconds, latency counted from each request's scheduled send time (so queueing shows;
#      coordinated omission does not hide it).
# Prints each run's table and then the medians over the runs of the peak and of p50/p99 at
# 50 % of the peak; --plot draws the last run's sweep (mcgen --plot, python3-matplotlib).
# --pages: nicached's memory, as bench-memif.sh --pages (auto, the default: 2 MiB hugepages when
# 512 are free, else 4 KiB pages); mcgen runs on 4 KiB pages.
# NC_MEMIF_TAG (default nc) starts the names of the memif interface and the EAL file prefixes.
# Root only (the memif socket lives in /run). Exit 1 when a run fails (a server that did not
# start, mcgen's exit status: any wrong reply or timeout).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
MEMIF_ZC=0 # the default lab: nicached the memif server (an exported MEMIF_ZC does not apply)
RUNS=3
SECS=5
PLOT=""
LOGS=""
PAGES=auto
MCGEN=$ROOT/build/app/mcgen/mcgen
NICACHED=$ROOT/build/app/nicached/nicached
while (($# > 0)); do
	case $1 in
	--runs) RUNS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--plot) PLOT=${2:?}; shift 2 ;;
	--logs) LOGS=${2:?}; shift 2 ;;
	--mcgen) MCGEN=${2:?}; shift 2 ;;
	--nicached) NICACHED=${2:?}; shift 2 ;;
	--pages) PAGES=${2:?}; shift 2 ;;
	*) sed -n '2,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
	esac
done
MEMIF_PAGES=$(memif_pages "$PAGES") ||
	{ echo "bench-mcgen-memif: --pages auto, huge or 4k" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench-mcgen-memif: needs root (memif socket in /run)" >&2; exit 2; }
for exe in "$MCGEN" "$NICACHED"; do
	[[ -x $exe ]] || { echo "bench-mcgen-memif: $exe is not an executable" >&2; exit 2; }
done

LOGDIR=${LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/nc-bench-mcgen.XXXXXX")}
mkdir -p "$LOGDIR"
TAG=${NC_MEMIF_TAG:-nc}
IFACE=${TAG}bm$$
PORT=11211

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	memif_server_stop 5 >/dev/null 2>&1 || true
	[[ -n $LOGS ]] || rm -rf "$LOGDIR"
}
trap cleanup EXIT

# One worker on CPU 1, its control lcore on CPU 0 (where mcgen's lcore runs too).
start_server() {
	memif_server_start "$IFACE" "$1" "$NICACHED" -U "$PORT" -p 0 -t 1 -m 128 && return 0
	echo "bench-mcgen-memif: nicached did not start (see $1)" >&2
	return 1
}

stop_server() {
	memif_server_stop 10 >/dev/null 2>&1 || true
}

# mcgen ARGS...: one mcgen run as the memif client (GETs only, 10,000 warmed keys).
mcgen() {
	timeout 300 "$MCGEN" -x dpdk-udp -s "$MEMIF_SERVER_IP:$PORT" --src-ip "$MEMIF_CLIENT_IP" \
		-k 10000 --key-size 16 --value-size 32 -m get=100 -w -q "$@" -- \
		-l 0 --file-prefix "${TAG}bmc$$" --log-level=4 "${MEMIF_PEER_EAL[@]}"
}

# field JSON EXPR: a value from mcgen's JSON result (EXPR in Python over r).
field() {
	"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$1" "$2"
}

echo "bench-mcgen-memif: nicached on $(memif_pages_name "$MEMIF_PAGES"), mcgen on 4 KiB pages"
PEAKS=() P50S=() P99S=() CYCLES=()
for ((run = 1; run <= RUNS; run++)); do
	start_server "$LOGDIR/server-$run-peak.log"
	mcgen -c 4 -d 16 -T "$SECS" -j "$LOGDIR/peak-$run.json" >"$LOGDIR/peak-$run.out" 2>&1 || {
		cat "$LOGDIR/peak-$run.out" >&2
		exit 1
	}
	stop_server
	peak=$(field "$LOGDIR/peak-$run.json" 'round(r["steps"][0]["achieved_rate"])')
	cycles=$(field "$LOGDIR/peak-$run.json" 'round(r["steps"][0]["server"]["cycles_per_request"])')
	rates=""
	for pct in 10 25 50 75 90; do
		rates+="${rates:+,}$((peak * pct / 100))"
	done
	plot=()
	if ((run == RUNS)) && [[ -n $PLOT ]]; then plot=(--plot "$PLOT"); fi
	start_server "$LOGDIR/server-$run-sweep.log"
	mcgen -c 4 -d 64 -T "$SECS" --arrivals poisson --sweep "$rates" -j "$LOGDIR/sweep-$run.json" \
		"${plot[@]}" >"$LOGDIR/sweep-$run.out" 2>&1 || {
		cat "$LOGDIR/sweep-$run.out" >&2
		exit 1
	}
	stop_server
	printf 'run %d: peak %s requests/s (closed loop, 64 in flight), server %s cycles/request\n' \
		"$run" "$peak" "$cycles"
	grep -E '^ +(offered|[0-9])' "$LOGDIR/sweep-$run.out" || true
	PEAKS+=("$peak") CYCLES+=("$cycles")
	P50S+=("$(field "$LOGDIR/sweep-$run.json" 'r["steps"][2]["latency_us"]["p50"]')")
	P99S+=("$(field "$LOGDIR/sweep-$run.json" 'r["steps"][2]["latency_us"]["p99"]')")
done
printf 'median of %d runs: peak %s requests/s, server %s cycles/request; at 50%% of the peak: p50 %s us, p99 %s us\n' \
	"$RUNS" "$(median "${PEAKS[@]}")" "$(median "${CYCLES[@]}")" "$(median "${P50S[@]}")" \
	"$(median "${P99S[@]}")"
[[ -z $PLOT ]] || printf 'plot of the last run: %s\n' "$PLOT"
