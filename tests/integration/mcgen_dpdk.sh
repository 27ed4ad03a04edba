#!/usr/bin/env bash
# mcgen over DPDK (-x dpdk-udp, -x dpdk-tcp) against nicached's DPDK backend, joined by
# net_memif: no kernel and no NIC on the path. Root only (the memif socket lives in /run).
#
#   tests/integration/mcgen_dpdk.sh [--mcgen PATH] [--nicached PATH]
#
# nicached runs on the memif profile (drivers-config/memif.ini: the memif server, 10.88.0.1;
# common.sh memif_server_start), started fresh per check and stopped by pid; mcgen is the memif client (10.88.0.2), ARP
# resolving the server. Checks, each a few seconds with --warm: a closed loop with a mix of
# get, set, delete and multiget over a range of value sizes; an open loop (Poisson arrivals);
# two threads on two queue pairs against two workers (meta, no multiget); then dpdk-tcp (lib/tcp's
# active open) with text, meta and binary in closed loop, an open loop, and two threads; two
# threads with --cross-queues (each sends on the other's queue, so every reply lands on the
# wrong thread's queue) over UDP and TCP, which must show handoffs > 0 in the JSON and the
# summary's "dpdk:" line. Every such run must exit 0 and write JSON with replies, errors 0,
# timeouts 0 and the server's cycles per request; the summary must print its "server:" line.
# A closed loop with the port from a site file (--site: the profile memif-client.ini gives the
# device, our address from the site). Negative checks: a site with a VLAN must be refused;
# dpdk-tcp to a port where nothing listens must exit 1 saying "Connection refused";
# --threads 2 on one lcore must be refused (exit 1, "needs 2 lcores"); a server over its -c (8)
# must have its "ERROR Too many open connections" quoted and stop the run (exit 1).
# Prints PASS/FAIL per check and "N passed, M failed" for scripts/test.sh. NC_MEMIF_TAG
# (default nc) starts the names of the memif interface and the EAL file prefixes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
MEMIF_ZC=0 # the default lab: nicached the memif server (an exported MEMIF_ZC does not apply)
MCGEN=$ROOT/build/app/mcgen/mcgen
NICACHED=$ROOT/build/app/nicached/nicached
while (($# > 0)); do
	case $1 in
	--mcgen) MCGEN=${2:?}; shift 2 ;;
	--nicached) NICACHED=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--mcgen PATH] [--nicached PATH]" >&2; exit 2 ;;
	esac
done
for exe in "$MCGEN" "$NICACHED"; do
	[[ -x $exe ]] || { echo "mcgen_dpdk.sh: $exe is not an executable" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "mcgen_dpdk.sh: needs root (memif socket in /run)" >&2; exit 2; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-mcgen-dpdk.XXXXXX")
PASSED=0 FAILED=0 TIMES=()
T0=$SECONDS
TAG=${NC_MEMIF_TAG:-nc}
IFACE=${TAG}mcg$$
PORT=11211

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	memif_server_stop 5 >/dev/null 2>&1 || true
	keep_or_remove_logs "${KEEP_LOGS:-0}" "$LOGDIR" mcgen_dpdk.sh
}
trap cleanup EXIT

# start NAME WORKERS: nicached on the memif profile (and SERVER_ARGS), waited for until it
# serves.
SERVER_ARGS=()
start() {
	memif_server_start "$IFACE" "$LOGDIR/$1.server.log" "$NICACHED" -U "$PORT" -p "$PORT" \
		-t "$2" -m 128 "${SERVER_ARGS[@]}"
}

stop() {
	memif_server_stop 5 >/dev/null 2>&1 || true
}

# json_ok FILE: replies, errors 0, timeouts 0, and the server's cost in every step; with
# NEED_HANDOFFS=1 also frames handed over between threads.
NEED_HANDOFFS=0
json_ok() {
	"$PYTHON" - "$1" "$NEED_HANDOFFS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
need_handoffs = sys.argv[2] == "1"
steps = r["steps"]
assert steps and r["errors"] == 0, "errors %d" % r["errors"]
for s in steps:
    c = s["counters"]
    assert c["replies"] > 0 and c["timeouts"] == 0, "replies %d timeouts %d" % (c["replies"], c["timeouts"])
    assert s["server"]["cycles_per_request"] > 0, "no server cycles per request"
    assert not need_handoffs or c["handoffs"] > 0, "no handoffs"
    print("json ok: %d replies, server %.0f cycles/request" % (c["replies"], s["server"]["cycles_per_request"]))
PY
}

# mcgen_run OUT JSON MCGEN-ARGS...: one mcgen run on lcores $LCORES against the server started,
# its output in OUT. Its port and address are the lab's EAL arguments and --src-ip, or with
# MCGEN_SITE set that site file (and the source tree's profiles), a net_null device of no use
# given to EAL first. Returns mcgen's exit status.
LCORES=0
mcgen_run() {
	local out=$1 json=$2 port=(--src-ip "$MEMIF_CLIENT_IP") eal=("${MEMIF_PEER_EAL[@]}")
	shift 2
	if [[ -n ${MCGEN_SITE:-} ]]; then
		# (net_null0, EAL's port 0 here, must not take the load: the site names its device)
		port=(--site "$MCGEN_SITE" --drivers-dir "$ROOT/drivers-config")
		eal=(--no-huge --no-shconf --vdev=net_null0)
	fi
	timeout 90 "$MCGEN" -s "$MEMIF_SERVER_IP:${MCGEN_PORT:-$PORT}" "${port[@]}" \
		-j "$json" "$@" -- -l "$LCORES" --file-prefix "${TAG}mcgc$$" --log-level=4 \
		"${eal[@]}" >"$out" 2>&1
}

# site_file NAME [LINE...]: a site file in LOGDIR for mcgen's end of the lab (the profile
# memif-client.ini, the lab's interface, the client's address), LINE... added under [port].
site_file() {
	local f=$LOGDIR/$1.site.ini
	shift
	printf '[port]\nprofile = memif-client\niface = %s\n' "$IFACE" >"$f"
	(($# == 0)) || printf '%s\n' "$@" >>"$f"
	printf '[ipv4]\naddress = %s/24\n' "$MEMIF_CLIENT_IP" >>"$f"
	echo "$f"
}

# run_one NAME WORKERS T0 MCGEN-ARGS...: a fresh server with WORKERS workers, one mcgen run
# (output in $LOGDIR/NAME.out, JSON in NAME.json), the server stopped; mcgen's exit status in
# RUN_RC. Returns 1 when the server did not start (the check is reported failed then).
run_one() {
	local name=$1 workers=$2 t0=$3
	shift 3
	RUN_RC=0
	if ! start "$name" "$workers"; then
		report_check "$name" 0 "$t0" /dev/null "$LOGDIR/$name.server.log" 30
		stop
		return 1
	fi
	mcgen_run "$LOGDIR/$name.out" "$LOGDIR/$name.json" "$@" || RUN_RC=$?
	stop
}

# check NAME WORKERS MCGEN-ARGS...: a fresh server with WORKERS workers, one mcgen run that
# must succeed.
check() {
	local name=$1 workers=$2 t0=$SECONDS ok=1
	shift 2
	local out=$LOGDIR/$name.out json=$LOGDIR/$name.json
	run_one "$name" "$workers" "$t0" "$@" || return 0
	if ((RUN_RC != 0)); then
		printf 'exit status %d, want 0\n' "$RUN_RC" >>"$out"
		ok=0
	elif ! grep -q '^  server: [0-9]* cycles/request' "$out"; then
		echo "no 'server:' line in the summary" >>"$out"
		ok=0
	elif ! json_ok "$json" >>"$out" 2>&1; then
		ok=0
	elif ((NEED_HANDOFFS)) && ! grep -q '^  dpdk: [1-9][0-9]* frames handed over' "$out"; then
		echo "no 'dpdk: N frames handed over' line with N > 0" >>"$out"
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$LOGDIR/$name.server.log" 30 \
		"$(grep -o '^  server: [0-9]* cycles/request' "$out" | sed 's/^  //' | head -n 1)"
}

# check_fails NAME WORKERS PATTERN MCGEN-ARGS...: a fresh server, one mcgen run that must exit
# 1 with PATTERN (grep -E) in its output.
check_fails() {
	local name=$1 workers=$2 pattern=$3 t0=$SECONDS ok=1
	shift 3
	local out=$LOGDIR/$name.out
	run_one "$name" "$workers" "$t0" "$@" || return 0
	if ((RUN_RC != 1)); then
		printf 'exit status %d, want 1\n' "$RUN_RC" >>"$out"
		ok=0
	elif ! grep -Eq "$pattern" "$out"; then
		printf 'no "%s" in the output\n' "$pattern" >>"$out"
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$LOGDIR/$name.server.log" 30
}

MIX=(-w -k 20000 -m get=60,set=20,delete=5,multiget=15 --mget-keys 5 --value-size 1-700 -q)
check dpdk-udp-closed 1 -x dpdk-udp "${MIX[@]}" -T 1 -c 4 -d 8
check dpdk-udp-open 1 -x dpdk-udp "${MIX[@]}" -T 1 -c 4 -d 8 -r 50k --arrivals poisson
for proto in text meta binary; do
	check "dpdk-tcp-$proto-closed" 1 -x dpdk-tcp -P "$proto" "${MIX[@]}" -T 1 -c 4 -d 8
done
# TCP costs the server more than UDP: a rate this busy machine keeps up with.
check dpdk-tcp-open 1 -x dpdk-tcp "${MIX[@]}" -T 1 -c 4 -d 8 -r 20k --arrivals poisson
# The port from a site file and the NIC profile it names (memif-client.ini), as nicached takes
# its own: the device's EAL arguments, our address and the rings come from them; the load runs
# on that device, not on the net_null0 EAL made first (it would get no ARP reply there).
MCGEN_SITE=$(site_file udp) check dpdk-udp-site 1 -x dpdk-udp "${MIX[@]}" -T 1 -c 4 -d 8
# mcgen sends untagged frames: a site with a VLAN is refused before EAL starts.
MCGEN_SITE=$(site_file vlan 'vlan = 7') check_fails dpdk-site-vlan-refused 1 \
	'site .*VLAN.*untagged frames' -x dpdk-udp -T 1 -c 2 -q
MCGEN_PORT=$((PORT + 1)) check_fails dpdk-tcp-refused 1 'connect to the server.s port: Connection refused' \
	-x dpdk-tcp -T 1 -c 2 -d 2 -q
check_fails dpdk-2-threads-1-lcore 1 'needs 2 lcores' -x dpdk-udp -T 1 -t 2 -c 2 -q
# A server over its -c turns connections away (nicached's own TCP): quoted, the run stops.
SERVER_ARGS=(-c 8)
check_fails dpdk-tcp-turned-away 1 "turned a connection away: 'ERROR Too many open connections'" \
	-x dpdk-tcp -T 1 -c 16 -d 1 -q
SERVER_ARGS=()
LCORES=0-1
check dpdk-udp-meta-2-queues 2 -x dpdk-udp -w -k 20000 -m get=70,set=25,delete=5 \
	--value-size 1-700 -q -P meta -T 1 -t 2 -c 4 -d 8
check dpdk-tcp-2-threads 2 -x dpdk-tcp "${MIX[@]}" -T 1 -t 2 -c 4 -d 8
# Every reply on the other thread's queue: handed over through the rings.
NEED_HANDOFFS=1
check dpdk-udp-2-threads-cross 2 -x dpdk-udp --cross-queues "${MIX[@]}" -T 1 -t 2 -c 4 -d 8
# Text: with -P binary the warm-up over two workers and crossed queues stalls (open).
check dpdk-tcp-2-threads-cross 2 -x dpdk-tcp --cross-queues "${MIX[@]}" -T 1 -t 2 -c 4 -d 8
NEED_HANDOFFS=0
finish_checks 1 all "$T0"
