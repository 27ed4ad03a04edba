#!/usr/bin/env bash
# Instructions nicached's worker spends per UDP GET on the DPDK path (net_memif, no kernel),
# counted by callgrind: the reproducible twin of bench-memif.sh's cycles per request.
#
#   scripts/callgrind-memif.sh [--nicached PATH] [--gen PATH] [--duration 5] [--window 64]
#                              [--proto udp|tcp] [--multiget N] [--keep DIR]
#
# Root only. Starts PATH (default build/app/nicached/nicached) under valgrind --tool=callgrind
# on the memif profile (-t 1, no hugepages), instrumentation off; nc_udpgen (tests/bench) sets
# every key once (--warm, 1 s), then instrumentation goes on and a second nc_udpgen run sends
# pure GETs (16-byte keys, 32-byte values, --window in flight) for --duration seconds; the
# server is stopped and the worker's instructions in its per-datagram functions (the receive
# burst net_queue_rx and worker_handle: prefetch, execution, reply, TX flush) are divided by
# the datagrams it handled (calls of conn_udp_datagram, the generator's two stats requests
# included). Prints that figure, the worker's whole count per datagram (its idle polls too:
# varies with how busy it was) and the top functions (self cost per datagram). --proto tcp:
# the same GETs pipelined on one TCP connection (--window in flight); per request (calls of
# conn_execute) only the worker's whole count means something there (TCP input runs in the
# stack's poll). --multiget N (UDP): every get asks for N keys; figures are per key (calls of
# conn_execute). --keep DIR keeps callgrind's output there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NICACHED=$ROOT/build/app/nicached/nicached
GEN=$ROOT/build/tests/bench/nc_udpgen
DURATION=5
WINDOW=64
PROTO=udp
MULTIGET=1
KEEP=
while (($#)); do
	case $1 in
	--nicached) NICACHED=$(realpath "$2"); shift 2 ;;
	--gen) GEN=$(realpath "$2"); shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--proto) PROTO=$2; shift 2 ;;
	--multiget) MULTIGET=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	*) sed -n '2,22s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
[[ $(id -u) -eq 0 ]] || { echo "callgrind-memif: needs root (memif socket in /run)" >&2; exit 1; }
[[ $PROTO == udp || $PROTO == tcp ]] || { echo "callgrind-memif: --proto udp or tcp" >&2; exit 2; }
[[ -x $NICACHED && -x $GEN ]] || { echo "callgrind-memif: $NICACHED or $GEN missing" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nc-cg-memif.XXXXXX)
IFACE=nccg$$
SOCKET=/run/nicached-$IFACE.memif
PID=
cleanup() {
	if [[ -n $PID ]]; then
		kill -KILL "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[[ -z $KEEP ]] || { mkdir -p "$KEEP" && cp "$TMP"/cg.out* "$KEEP"/ 2>/dev/null || true; }
	rm -rf "$TMP"
	rm -f "$SOCKET"
}
trap cleanup EXIT

cat >"$TMP/site.ini" <<SITE
[port]
profile = memif
iface = $IFACE
[ipv4]
address = 10.88.0.1/24
SITE
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" \
	"$NICACHED" --backend dpdk --site "$TMP/site.ini" -U 11211 -p 11211 -t 1 -m 64 \
	--eal "--file-prefix nccg$$ --no-huge" </dev/null >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 1200); do
	grep -q '^nicached: serving' "$TMP/server.log" && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/server.log" >&2; exit 1; }
	sleep 0.1
done
grep -q '^nicached: serving' "$TMP/server.log" || { echo "callgrind-memif: no server" >&2; exit 1; }

gen() {
	"$GEN" -l 0 --no-huge --no-shconf --file-prefix nccggen$$ --no-pci \
		"--vdev=net_memif0,role=client,id=0,socket=$SOCKET,rsize=10,bsize=2048" -- \
		--src-ip 10.88.0.2 --dst-ip 10.88.0.1 --port 11211 --get-ratio 1 \
		--window "$WINDOW" "$@" >>"$TMP/gen.log" 2>&1 || true
}
gen --warm --duration 1
callgrind_control -i on "$PID" >/dev/null
if [[ $PROTO == tcp ]]; then
	gen --duration "$DURATION" --proto tcp --conns 1
else
	gen --duration "$DURATION" --multiget "$MULTIGET"
fi
callgrind_control -i off "$PID" >/dev/null
grep -E '^(LOAD|RESULT)' "$TMP/gen.log" | tail -n 2 >&2
kill -TERM "$PID"
wait "$PID" || true
PID=

/usr/bin/python3 - "$TMP" "$PROTO" "$MULTIGET" <<'PY'
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
            cost = int(parts[1]) if len(parts) > 1 else 0
            if pending is not None:
                calls_to[cfn] += pending
                call_incl[(fn, cfn)] += cost
                pending = None
            elif fn is not None:
                self_cost[fn] += cost
by_name = {}
for k, v in names.items():
    by_name.setdefault(v, []).append(k)
def ids(n):
    return by_name.get(n, [])
tcp = sys.argv[2] == "tcp"
per_key = tcp or sys.argv[3] != "1"
dgrams = sum(calls_to[i] for i in ids("conn_execute" if per_key else "conn_udp_datagram"))
def inclusive(n):
    return sum(v for (a, b), v in call_incl.items() if b in ids(n))
if dgrams == 0:
    sys.exit("callgrind-memif: no request counted")
total = sum(self_cost.values())
if per_key:
    print(f"requests {dgrams}: {total / dgrams:.1f} instructions per request (key), the worker's "
          f"whole count (idle polls too); worker_handle {inclusive('worker_handle') / dgrams:.1f}")
    print("top self costs per request:")
    for k, v in self_cost.most_common(30):
        print(f"  {v / dgrams:8.1f}  {names.get(k, k)}")
    sys.exit(0)
per = (inclusive("worker_handle") + inclusive("net_queue_rx")) / dgrams
print(f"datagrams {dgrams}: {per:.1f} instructions per datagram "
      f"(worker_handle {inclusive('worker_handle') / dgrams:.1f}, "
      f"net_queue_rx {inclusive('net_queue_rx') / dgrams:.1f}); "
      f"with the idle polls: {total / dgrams:.1f}")
print("top self costs per datagram:")
for k, v in self_cost.most_common(25):
    print(f"  {v / dgrams:8.1f}  {names.get(k, k)}")
PY
