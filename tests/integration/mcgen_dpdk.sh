#!/usr/bin/env bash
# mcgen over DPDK (-x dpdk-udp) against nicached's DPDK backend, joined by net_memif: no
# kernel and no NIC on the path. Root only (the memif socket lives in /run).
#
#   tests/integration/mcgen_dpdk.sh [--mcgen PATH] [--nicached PATH]
#
# nicached runs on the memif profile (drivers-config/memif.ini: the memif server, 10.88.0.1;
# common.sh memif_server_start), started fresh per check and stopped by pid; mcgen is the
# memif client (10.88.0.2), ARP resolving the server. Checks, each a few seconds with --warm: a closed loop with a mix of
# get, set, delete and multiget over a range of value sizes; an open loop (Poisson arrivals);
# two threads on two queue pairs against two workers (meta, no multiget). Every run must exit 0 and write JSON
# with replies, errors 0, timeouts 0 and the server's cycles per request; the summary must
# print its "server:" line. Prints PASS/FAIL per check and "N passed, M failed" for
# scripts/test.sh. NC_MEMIF_TAG (default nc) starts the names of the memif interface and the EAL
# file prefixes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
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

# json_ok FILE: replies, errors 0, timeouts 0, and the server's cost in every step.
json_ok() {
	"$PYTHON" - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
steps = r["steps"]
assert steps and r["errors"] == 0, "errors %d" % r["errors"]
for s in steps:
    c = s["counters"]
    assert c["replies"] > 0 and c["timeouts"] == 0, "replies %d timeouts %d" % (c["replies"], c["timeouts"])
    assert s["server"]["cycles_per_request"] > 0, "no server cycles per request"
    print("json ok: %d replies, server %.0f cycles/request" % (c["replies"], s["server"]["cycles_per_request"]))
PY
}

# check NAME WORKERS MCGEN-ARGS...: a fresh server with WORKERS workers, one mcgen run (its
# threads on lcores $LCORES).
LCORES=0
check() {
	local name=$1 workers=$2 t0=$SECONDS rc=0 ok=1
	shift 2
	local out=$LOGDIR/$name.out json=$LOGDIR/$name.json
	if ! memif_server_start "$IFACE" "$LOGDIR/$name.server.log" "$NICACHED" -U "$PORT" \
		-p "$PORT" -t "$workers" -m 128; then
		report_check "$name" 0 "$t0" /dev/null "$LOGDIR/$name.server.log" 30
		return
	fi
	timeout 90 "$MCGEN" -x dpdk-udp -s "$MEMIF_SERVER_IP:$PORT" --src-ip "$MEMIF_CLIENT_IP" \
		-j "$json" "$@" -- -l "$LCORES" --file-prefix "${TAG}mcgc$$" --log-level=4 \
		"${MEMIF_CLIENT_EAL[@]}" >"$out" 2>&1 || rc=$?
	memif_server_stop 5 >/dev/null 2>&1 || true
	if ((rc != 0)); then
		printf 'exit status %d, want 0\n' "$rc" >>"$out"
		ok=0
	elif ! grep -q '^  server: [0-9]* cycles/request' "$out"; then
		echo "no 'server:' line in the summary" >>"$out"
		ok=0
	elif ! json_ok "$json" >>"$out" 2>&1; then
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$LOGDIR/$name.server.log" 30 \
		"$(grep -o '^  server: [0-9]* cycles/request' "$out" | sed 's/^  //' | head -n 1)"
}

MIX=(-w -k 20000 -m get=60,set=20,delete=5,multiget=15 --mget-keys 5 --value-size 1-700 -q)
check dpdk-udp-closed 1 "${MIX[@]}" -T 2 -c 4 -d 8
check dpdk-udp-open 1 "${MIX[@]}" -T 2 -c 4 -d 8 -r 50k --arrivals poisson
# Two queues: no multiget. nicached with two workers may answer a multiget's keys from
# different workers' queues, and a reply on another thread's queue is dropped (dpdk.h).
LCORES=0-1
check dpdk-udp-meta-2-queues 2 -w -k 20000 -m get=70,set=25,delete=5 --value-size 1-700 -q \
	-P meta -T 2 -t 2 -c 4 -d 8
finish_checks 1 all "$T0"
