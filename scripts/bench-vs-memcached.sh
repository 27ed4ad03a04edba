#!/usr/bin/env bash
# nicached vs memcached, side by side: one machine, loopback, the same mcgen loads, one run.
#
#   scripts/bench-vs-memcached.sh [--runs 5] [--duration 10] [--nicached PATH]
#                                 [--memcached PATH] [--mcgen PATH]
#                                 [--clients "serial text"] [--no-pin]
#
# Builds nothing: expects build/ (mcgen and nicached) to exist. Starts
#   memcached -t 1 -m 1024 -p P1 -U 0 -l 127.0.0.1      ("memcached")
#   nicached  -t 1 -m 1024 -p P2 -l 127.0.0.1           ("nicached")
# on two free ports (a root run adds "-u nobody" to a memcached binary, which refuses to run
# as root without it). Workload: mcgen (app/mcgen, kernel TCP, 1 thread), 100,000 16-byte keys
# set once first (-w), 32-byte values, 90% get / 10% set, every reply checked. Clients (each
# an mcgen shape; its achieved rate of the measured phase):
#   serial    text, 16 connections, one request in flight each (-c 16 -d 1: memaslap's shape,
#             one read and one write per request on both sides)
#   text      text, pipelined: 4 connections x 32 requests in flight (-c 4 -d 32)
#   binary    the same with the binary protocol (GETK/SET)
#   meta      the same with the meta protocol (mg/ms)
# Each run measures every client against both servers back to back, in the order
# memcached, nicached on odd runs and nicached, memcached on even runs, so drift and noise hit
# both alike. Prints each run's ops/s (and mcgen's p99), the median, and nicached/memcached of
# the medians, and the mcgen command of each client.
# Each cell also shows its "other load": CPUs' worth of work done meanwhile by anything but
# that client and that server (machine busy time, steal included, from /proc/stat); cells
# above 0.1 are counted and end the output with a warning that the figures are noisy.
#
# Pinning (default when there are 2+ CPUs): servers on CPU 1, clients on CPU 0 (taskset), so
# the client and the server never compete for one CPU and every server gets the same one.
# --no-pin leaves placement to the scheduler (e.g. when nicached's EAL wants more lcores).
# Time: about runs * clients * 2 * (duration + 2 s) plus a few seconds of setup.
# Exits 1 if a server or a client fails (any wrong reply: the table shows FAIL there), 2 on
# bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
RUNS=5
DURATION=10
NICACHED=build/app/nicached/nicached
MEMCACHED=/usr/bin/memcached
MCGEN=build/app/mcgen/mcgen
CLIENTS="serial text"
PIN=1
SERVER_CPU=1
CLIENT_CPU=0

usage() {
	sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while (($#)); do
	case $1 in
	--runs) RUNS=${2:?}; shift 2 ;;
	--duration) DURATION=${2:?}; shift 2 ;;
	--nicached) NICACHED=${2:?}; shift 2 ;;
	--memcached) MEMCACHED=${2:?}; shift 2 ;;
	--mcgen) MCGEN=${2:?}; shift 2 ;;
	--clients) CLIENTS=${2:?}; shift 2 ;;
	--no-pin) PIN=0; shift ;;
	-h | --help) usage ;;
	*) printf 'bench-vs-memcached: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done
if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 99)); then
	echo "--runs: 1..99" >&2
	usage
fi
if ! [[ $DURATION =~ ^[0-9]+$ ]] || ((DURATION < 1 || DURATION > 600)); then
	echo "--duration: 1..600 seconds" >&2
	usage
fi
for c in $CLIENTS; do
	[[ $c == serial || $c == text || $c == binary || $c == meta ]] ||
		{ echo "--clients: serial, text, binary, meta" >&2; usage; }
done
NICACHED=$(resolve_path "$NICACHED" "$ROOT")
MEMCACHED=$(resolve_path "$MEMCACHED" "$ROOT")
MCGEN=$(resolve_path "$MCGEN" "$ROOT")
for f in "$NICACHED" "$MEMCACHED" "$MCGEN"; do
	[[ -x $f ]] || { echo "bench-vs-memcached: $f: not an executable (build first)" >&2; exit 2; }
done
if ((PIN)) && (($(nproc) < 2)); then
	PIN=0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nc-vs-mc.XXXXXX")
declare -A PID=() PORT=() BIN=() VERSION=() RESULT=()
SERVERS=(memcached nicached)
FAILED=0
NOISY=0 # cells during which other work used more than a tenth of a CPU

# shellcheck disable=SC2317  # reached from the EXIT trap
cleanup() {
	local name
	for name in "${!PID[@]}"; do
		kill "${PID[$name]}" 2>/dev/null || true
	done
	for name in "${!PID[@]}"; do
		wait "${PID[$name]}" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin() { # pin CPU CMD...: runs CMD on CPU when pinning is on
	local cpu=$1
	shift
	if ((PIN)); then
		exec taskset -c "$cpu" "$@"
	fi
	exec "$@"
}

start_server() { # start_server NAME BINARY PORT EXTRA-FLAGS...
	local name=$1 bin=$2 port=$3 rc=0
	shift 3
	local cmd=("$bin" -t 1 -m 1024 -p "$port" "$@" -l 127.0.0.1)
	if ((EUID == 0)) && [[ $(basename "$bin") == memcached* ]]; then
		cmd+=(-u nobody)
	fi
	(pin "$SERVER_CPU" "${cmd[@]}") >"$TMP/$name.log" 2>&1 &
	PID[$name]=$!
	PORT[$name]=$port
	BIN[$name]=$bin
	VERSION[$name]=$(wait_for_version "${PID[$name]}" "$port" 100 1) || rc=$?
	if ((rc == 1)); then
		echo "bench-vs-memcached: $name exited at start:" >&2
		tail -n 20 "$TMP/$name.log" >&2
		exit 1
	elif ((rc != 0)); then
		echo "bench-vs-memcached: $name did not answer on port $port within 10 s" >&2
		exit 1
	fi
}

busy_ticks() { # CPU ticks the whole machine spent busy (steal included) so far
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

proc_ticks() { # CPU ticks process $1 (all threads) used so far
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# client_args CLIENT: mcgen's options for CLIENT (without the server, duration and JSON file).
client_args() {
	local load=(-x tcp -t 1 -k 100000 --key-size 16 --value-size 32 -m "get=90,set=10" -w -q)
	case $1 in
	serial) echo "${load[@]}" -P text -c 16 -d 1 ;;
	text | binary | meta) echo "${load[@]}" -P "$1" -c 4 -d 32 ;;
	esac
}

# Runs one client against one server. Prints "OPS P99 OTHER": mcgen's achieved rate (or FAIL,
# and the log to stderr), its p99 in us, and the CPUs' worth of work that neither this client
# nor this server did meanwhile.
measure() { # measure CLIENT SERVER
	local client=$1 server=$2 port=${PORT[$2]} log="$TMP/run.log" json="$TMP/run.json" res=""
	local bound=$((DURATION + 150)) busy0 srv0 t0=$EPOCHREALTIME TIMEFORMAT='%3U %3S' args
	read -ra args < <(client_args "$client")
	busy0=$(busy_ticks)
	srv0=$(proc_ticks "${PID[$server]}")
	rm -f "$json"
	{ time if (pin "$CLIENT_CPU" timeout "$bound" "$MCGEN" -s "127.0.0.1:$port" "${args[@]}" \
		-T "$DURATION" -j "$json") >"$log" 2>&1; then
		res=$("$PYTHON" -c 'import json, sys; s = json.load(open(sys.argv[1]))["steps"][0]
print("%.0f %.1f" % (s["achieved_rate"], s["latency_us"]["p99"]))' "$json") || res=""
	fi; } 2>"$TMP/time"
	local other
	other=$(awk -v b="$(($(busy_ticks) - busy0))" -v s="$(($(proc_ticks "${PID[$server]}") - srv0))" \
		-v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$EPOCHREALTIME" \
		'{ printf "%.2f", ((b - s) / hz - $1 - $2) / (t1 - t0) }' "$TMP/time")
	if ! kill -0 "${PID[$server]}" 2>/dev/null; then
		echo "bench-vs-memcached: $server died during the $client run" >&2
		res=""
	fi
	if [[ -z $res ]]; then
		{
			echo "bench-vs-memcached: $client vs $server failed:"
			tail -n 20 "$log"
		} >&2
		echo "FAIL - $other"
		return 0
	fi
	echo "$res $other"
}

median() { # median NUMBER... (FAIL entries ignored); prints "-" when none
	printf '%s\n' "$@" | grep -E '^[0-9]+$' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
			else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

P1=$(pick_port tcp)
P2=$(pick_port tcp)
while [[ $P2 == "$P1" ]]; do P2=$(pick_port tcp); done
START=$SECONDS
start_server memcached "$MEMCACHED" "$P1" -U 0
start_server nicached "$NICACHED" "$P2"

echo "== nicached vs memcached: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:    $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"kernel $(uname -r)"
if ((PIN)); then
	echo "placement:  servers on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU (taskset)"
else
	echo "placement:  not pinned"
fi
for s in "${SERVERS[@]}"; do
	printf 'server:     %-9s %s (%s) port %s, pid %s\n' "$s" "${BIN[$s]}" "${VERSION[$s]}" \
		"${PORT[$s]}" "${PID[$s]}"
done
echo "mcgen:      $MCGEN (nicached $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
for c in $CLIENTS; do
	printf 'client:     %-9s mcgen -s 127.0.0.1:PORT %s -T %s\n' "$c" "$(client_args "$c")" "$DURATION"
done
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
echo "workload:   16-byte keys, 32-byte values, 90% get; $RUNS runs x ${DURATION} s per cell"
echo

for ((r = 1; r <= RUNS; r++)); do
	order=("${SERVERS[@]}")
	((r % 2)) || order=("${SERVERS[1]}" "${SERVERS[0]}")
	for c in $CLIENTS; do
		for s in "${order[@]}"; do
			read -r v p99 other < <(measure "$c" "$s")
			[[ $v == FAIL ]] && FAILED=1
			RESULT[$c,$s]="${RESULT[$c,$s]:-} $v"
			printf 'run %d/%d  %-10s %-9s %9s ops/s   p99 %9s us   other load %s CPUs\n' \
				"$r" "$RUNS" "$c" "$s" "$v" "$p99" "$other"
			if awk -v o="$other" 'BEGIN { exit !(o > 0.10) }'; then
				NOISY=$((NOISY + 1))
			fi
		done
	done
done

echo
printf '%-10s %-9s' client server
for ((r = 1; r <= RUNS; r++)); do printf ' %9s' "run$r"; done
printf ' %9s\n' median
declare -A MED=()
for c in $CLIENTS; do
	for s in "${SERVERS[@]}"; do
		# shellcheck disable=SC2086  # the list of figures is split on purpose
		MED[$c,$s]=$(median ${RESULT[$c,$s]})
		printf '%-10s %-9s' "$c" "$s"
		# shellcheck disable=SC2086
		printf ' %9s' ${RESULT[$c,$s]}
		printf ' %9s\n' "${MED[$c,$s]}"
	done
done
echo
for c in $CLIENTS; do
	a=${MED[$c,memcached]} b=${MED[$c,nicached]}
	if [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] && ((a > 0)); then
		ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
	else
		ratio="-"
	fi
	printf 'ratio nicached/memcached (medians), %-10s %s\n' "$c:" "$ratio"
done
echo "elapsed: $((SECONDS - START)) s; load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
if ((NOISY)); then
	echo "WARNING: in $NOISY cells other work used > 0.1 CPU (see \"other load\"):" \
		"the machine was not quiet and these figures are noisy"
fi
exit "$FAILED"
