#!/usr/bin/env bash
# Instructions nicached's worker spends per UDP GET on the DPDK path (net_memif, no kernel),
# counted by callgrind: the reproducible twin of bench-memif.sh's cycles per request.
#
#   scripts/callgrind-memif.sh [--nicached PATH] [--mcgen PATH] [--duration 5] [--window 64]
#                              [--proto udp|tcp] [--multiget N | --mix SPEC] [--workers N]
#                              [--keep DIR] [--zero-copy]
#
# Root only. Starts PATH (default build/app/nicached/nicached) under valgrind --tool=callgrind
# on the memif profile (-t 1, no hugepages; common.sh memif_server_start), instrumentation off;
# mcgen (-x dpdk-udp, one source port) sets every key once (-w, 1 s of GETs after it), then
# instrumentation goes on and a second mcgen run (the same seed and sizes, so its checks hold
# without a warm-up) sends pure GETs (16-byte keys, 32-byte values, --window in flight) for
# --duration seconds; the server is stopped and the worker's instructions in its per-datagram
# functions (the receive burst net_queue_rx and worker_handle: prefetch, execution, reply, TX
# flush) are divided by the datagrams it handled (calls of conn_udp_datagram, mcgen's two
# stats requests included). Prints that figure, the worker's whole count per datagram (its
# idle polls too: varies with how busy it was) and the top functions (self cost per
# datagram). --proto tcp: the same GETs pipelined on one TCP connection (mcgen -x dpdk-tcp,
# --window in flight); per request (calls of conn_execute) only the worker's whole count means
# something there (TCP input runs in the stack's poll). --multiget N: every get asks for N
# keys; figures are per key (the datagrams counted as above times N: every get of the load
# asks for N keys; the two stats requests are noise). --keep DIR keeps callgrind's output there.
# --mix SPEC: mcgen's -m instead of pure GETs (e.g. set=100: every request a set); figures per
# datagram as above. --workers N: nicached -t N (default 1); mcgen still uses one queue, so
# worker 0 receives everything and a write for another worker's shard travels to its owner and
# back (forward.c): the summary then also gives the share of datagrams forwarded and, per
# forwarded write, the owner's work (serve_one), the receiver's answer (conn_answered) and the
# post; the other workers' idle polls land in the "with the idle polls" count only.
# --zero-copy: the lab's zero-copy mode (bench-memif.sh --zero-copy): mcgen is the memif server
# and starts first (--link-wait 120: nicached starts slowly under valgrind), so one mcgen run
# does both phases (a memif client does not reconnect to a second server): instrumentation
# goes on when it says its warm-up is done.
# mcgen's replies are not judged (under callgrind the server is slow and some time out).
# NC_MEMIF_TAG (default nc) starts the names of the memif interface and the EAL file prefixes.
# NC_CALLGRIND_OPTS: more valgrind options (e.g. --dump-instr=yes: costs by instruction too, in
# the file --keep keeps).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
NICACHED=$ROOT/build/app/nicached/nicached
MCGEN=$ROOT/build/app/mcgen/mcgen
DURATION=5
WINDOW=64
PROTO=udp
MULTIGET=1
MIX=
WORKERS=1
MEMIF_ZC=0
KEEP=
TAG=${NC_MEMIF_TAG:-nc}
while (($#)); do
	case $1 in
	--nicached) NICACHED=$(realpath "${2:?}"); shift 2 ;;
	--mcgen) MCGEN=$(realpath "${2:?}"); shift 2 ;;
	--duration) DURATION=${2:?}; shift 2 ;;
	--window) WINDOW=${2:?}; shift 2 ;;
	--proto) PROTO=${2:?}; shift 2 ;;
	--multiget) MULTIGET=${2:?}; shift 2 ;;
	--mix) MIX=${2:?}; shift 2 ;;
	--workers) WORKERS=${2:?}; shift 2 ;;
	--keep) KEEP=${2:?}; shift 2 ;;
	--zero-copy) MEMIF_ZC=1; shift ;;
	*) sed -n '2,37s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
[[ $(id -u) -eq 0 ]] || { echo "callgrind-memif: needs root (memif socket in /run)" >&2; exit 1; }
[[ $PROTO == udp || $PROTO == tcp ]] || { echo "callgrind-memif: --proto udp or tcp" >&2; exit 2; }
[[ -z $MIX || $MULTIGET == 1 ]] || { echo "callgrind-memif: --multiget or --mix" >&2; exit 2; }
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || { echo "callgrind-memif: --workers N (1 or more)" >&2; exit 2; }
[[ -x $NICACHED && -x $MCGEN ]] || { echo "callgrind-memif: $NICACHED or $MCGEN missing" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nc-cg-memif.XXXXXX)
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	[[ -z $MEMIF_PEER_PID ]] || stop_pid "$MEMIF_PEER_PID" 5 >/dev/null 2>&1 || true
	memif_server_stop 60 >/dev/null 2>&1 || true
	[[ -z $KEEP ]] || { mkdir -p "$KEEP" && cp "$TMP"/cg.out* "$TMP"/*.log "$KEEP"/ 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap cleanup EXIT

IFACE=${TAG}cg$$
memif_lab "$IFACE" # MEMIF_SOCKET, MEMIF_PEER_EAL
# gen_cmd ARGS...: sets the array GEN to one mcgen run of GETs (line-buffered: the zero-copy
# run watches for its warm-up line); gen ARGS...: runs it (its exit status is not judged, but
# for bad usage).
gen_cmd() {
	local x=(-x dpdk-udp -c 1 -d "$WINDOW")
	[[ $PROTO == udp ]] || x=(-x dpdk-tcp -c 1 -d "$WINDOW")
	GEN=(timeout $((DURATION + 300)) stdbuf -oL "$MCGEN" "${x[@]}" -s "$MEMIF_SERVER_IP:11211"
		--src-ip "$MEMIF_CLIENT_IP" -k 10000 --key-size 16 --value-size 32 -q "$@" -- -l 0
		--file-prefix "${TAG}cggen$$" --log-level=4 "${MEMIF_PEER_EAL[@]}")
}
gen() {
	local rc=0
	gen_cmd "$@"
	"${GEN[@]}" >>"$TMP/gen.log" 2>&1 || rc=$?
	((rc != 2)) || { grep -v '^EAL' "$TMP/gen.log" >&2; exit 1; }
}
GETS=(-m get=100)
((MULTIGET == 1)) || GETS=(-m multiget=100 --mget-keys "$MULTIGET")
[[ -z $MIX ]] || GETS=(-m "$MIX")
# (zero-copy mode: mcgen listens first and waits for nicached's link, its start under valgrind)
gen_cmd --link-wait 120 -w -T "$DURATION" "${GETS[@]}"
memif_peer_first "$TMP/gen.log" "${GEN[@]}" || { echo "callgrind-memif: no mcgen" >&2; exit 1; }
# shellcheck disable=SC2206  # NC_CALLGRIND_OPTS: options split at spaces
MEMIF_WRAP=(valgrind --tool=callgrind --instr-atstart=no ${NC_CALLGRIND_OPTS:-}
	--callgrind-out-file="$TMP/cg.out")
MEMIF_EAL=--no-huge MEMIF_START_WAIT=120
((MEMIF_ZC == 0)) || MEMIF_EAL="" # (memif_server_start's zero-copy EAL words have it)
memif_server_start "$IFACE" "$TMP/server.log" "$NICACHED" -U 11211 -p 11211 -t "$WORKERS" -m 64 || {
	cat "$TMP/server.log" >&2
	echo "callgrind-memif: no server" >&2
	exit 1
}
if ((MEMIF_ZC)); then
	log_wait "$TMP/gen.log" '^mcgen: warm-up' "$MEMIF_PEER_PID" 60 ||
		{ grep -v '^EAL' "$TMP/gen.log" >&2; echo "callgrind-memif: no warm-up" >&2; exit 1; }
	callgrind_control -i on "$MEMIF_PID" >/dev/null
	wait "$MEMIF_PEER_PID" || true
	MEMIF_PEER_PID=""
else
	gen -w -T 1 "${GETS[@]}"
	callgrind_control -i on "$MEMIF_PID" >/dev/null
	gen -T "$DURATION" "${GETS[@]}"
fi
callgrind_control -i off "$MEMIF_PID" >/dev/null
grep -E '^(mcgen: dpdk|  (requests|errors|server))' "$TMP/gen.log" | tail -n 4 >&2
memif_server_stop 60 || echo "callgrind-memif: nicached $MEMIF_STOP" >&2

/usr/bin/python3 - "$TMP" "$PROTO" "$MULTIGET" "$WORKERS" <<'PY'
import collections, glob, re, sys

# Callgrind's format: fn=/cfn= name lines (compressed "(id) name" / "(id)"), cost lines
# "pos cost" (self cost of fn), "calls=N pos" followed by the call's inclusive cost line.
names, self_cost, incl_calls = {}, collections.Counter(), collections.Counter()
calls_to = collections.Counter()
call_incl = collections.Counter()  # inclusive cost of calls, by (caller, callee)
for path in glob.glob(sys.argv[1] + "/cg.out*"):
    fn = cfn = None
    pending = None
    for line in open(path, errors="replace"):
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3).strip()
            if m.group(1) == "fn":
                fn = m.group(2)
            else:
                cfn = m.group(2)
            continue
        if line.startswith("calls="):
            pending = int(line.split("=")[1].split()[0])
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            parts = line.split()
            cost = int(parts[-1]) if len(parts) > 1 else 0  # (after the positions)
            if pending is not None:
                calls_to[cfn] += pending
                call_incl[(fn, cfn)] += cost
                pending = None
            elif fn is not None:
                self_cost[fn] += cost
by_name = {}
for k, v in names.items():
    # (A function GCC specialised, e.g. under LTO, is "name.constprop.0", "name.lto_priv.0";
    # not a piece it split off, "name.part.0" or "name.cold", which name calls.)
    by_name.setdefault(re.sub(r"(\.(constprop|lto_priv|isra)\.\d+)+$", "", v), []).append(k)
def ids(n):
    return by_name.get(n, [])
tcp = sys.argv[2] == "tcp"
multiget = sys.argv[3] != "1"
def inclusive(n):
    return sum(v for (a, b), v in call_incl.items() if b in ids(n))
total = sum(self_cost.values())
if tcp:
    reqs = sum(calls_to[i] for i in ids("conn_execute"))
    if reqs == 0:
        sys.exit("callgrind-memif: no request counted")
    print(f"requests {reqs}: {total / reqs:.1f} instructions per request, the worker's "
          f"whole count (idle polls too); worker_handle {inclusive('worker_handle') / reqs:.1f}")
    print("top self costs per request:")
    for k, v in self_cost.most_common(30):
        print(f"  {v / reqs:8.1f}  {names.get(k, k)}")
    sys.exit(0)
dgrams = sum(calls_to[i] for i in ids("conn_udp_datagram"))
if dgrams == 0:
    sys.exit("callgrind-memif: no request counted")
if multiget:
    # Keys: N a datagram (exec_read, once a key, is inlined into the direct get).
    keys = dgrams * int(sys.argv[3])
    if keys == 0:
        sys.exit("callgrind-memif: no key counted")
    per = (inclusive("worker_handle") + inclusive("net_queue_rx")) / keys
    print(f"keys {keys} in {dgrams} datagrams: {per:.1f} instructions per key "
          f"(worker_handle {inclusive('worker_handle') / keys:.1f}, "
          f"net_queue_rx {inclusive('net_queue_rx') / keys:.1f}); "
          f"with the idle polls: {total / keys:.1f}")
    print("top self costs per key:")
    for k, v in self_cost.most_common(30):
        print(f"  {v / keys:8.1f}  {names.get(k, k)}")
    sys.exit(0)
per = (inclusive("worker_handle") + inclusive("net_queue_rx")) / dgrams
print(f"datagrams {dgrams}: {per:.1f} instructions per datagram "
      f"(worker_handle {inclusive('worker_handle') / dgrams:.1f}, "
      f"net_queue_rx {inclusive('net_queue_rx') / dgrams:.1f}); "
      f"with the idle polls: {total / dgrams:.1f}")
fwd = sum(calls_to[i] for i in ids("serve_one"))
if not fwd and int(sys.argv[4]) > 1:
    print("forwarded writes: none counted (no write for another shard, or serve_one inlined)")
if fwd:
    print(f"forwarded writes: {fwd} ({100 * fwd / dgrams:.1f}% of the datagrams); per forwarded "
          f"write: the owner's serve_one {inclusive('serve_one') / fwd:.1f}, the receiver's "
          f"conn_answered {inclusive('conn_answered') / fwd:.1f}, forward_post "
          f"{inclusive('forward_post') / fwd:.1f}; conn_udp_datagram "
          f"{inclusive('conn_udp_datagram') / dgrams:.1f} a datagram (all of them)")
print("top self costs per datagram:")
for k, v in self_cost.most_common(25):
    print(f"  {v / dgrams:8.1f}  {names.get(k, k)}")
PY
