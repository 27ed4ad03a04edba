#!/usr/bin/env bash
# TCP segmentation offload on a real device: nicached on DPDK's net_tap PMD (which offers
# TSO and cuts frames with rte_gso before writing them to the tap fd), a Linux client.
#
#   tests/integration/lab/tso.sh [--server PATH] [--keep-logs]
#
# nicached (default build/app/nicached/nicached) starts with --backend dpdk on the tap
# profile (drivers-config/tap.ini: tx_tcp_tso = yes); the kernel side of the tap interface it
# creates moves into a namespace made here (nctso<pid>, 10.78.0.2/24; nicached is 10.78.0.1),
# so traffic only crosses that interface. Checks:
#   - the banner says "tx tcp tso  on" (with its limits) and that TX chains are sent;
#   - a Linux client (python3 sockets) sets and reads back values of 100 KB and 1 MB,
#     byte-exact, over two connections: one with Linux's MSS (1460, above what net_tap cuts
#     at, MTU - 54 = 1446: segments cut in software, no TSO frame) and one with TCP_MAXSEG
#     1400 (TSO frames);
#   - `stats tcp` over TCP: tso_frames grew on the second connection only, segs_out by at
#     least the segments the replies needed; `stats nic` is logged.
# Bounded in time (each step under `timeout`, 300 s in all); the EXIT trap stops the server
# this script started (by its pid: SIGTERM, SIGKILL after 5 s) and deletes the namespace.
# Prints PASS/FAIL, then "1 passed, 0 failed" or "0 passed, 1 failed" (scripts/test.sh counts
# it), and exits non-zero on failure. Root only (namespaces, /dev/net/tun).
# Environment: NC_PYTHON (default /usr/bin/python3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SERVER=$ROOT/build/app/nicached/nicached
KEEP_LOGS=0
PYTHON=${NC_PYTHON:-/usr/bin/python3}
NS=nctso$$
IFACE=nctso$$t
SERVER_IP=10.78.0.1
CLIENT_IP=10.78.0.2
PORT=11211
T0=$SECONDS
LIMIT=300

usage() {
	sed -n '2,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?--server needs a path}; shift 2 ;;
	--keep-logs) KEEP_LOGS=1; shift ;;
	-h | --help) usage ;;
	*) printf 'tso.sh: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done
[[ -x $SERVER ]] || { printf 'tso.sh: server %s is not an executable\n' "$SERVER" >&2; exit 2; }
(($(id -u) == 0)) || { printf 'tso.sh: needs root (namespace, tap)\n' >&2; exit 2; }
((${#IFACE} <= 15)) || { printf 'tso.sh: interface name %s too long\n' "$IFACE" >&2; exit 2; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nctso.XXXXXX")
SLOG=$LOGDIR/server.log
SERVER_PID=""
NS_MADE=0

say() { printf 'tso.sh: %s\n' "$*"; }
fail() {
	say "FAIL: $*"
	echo "0 passed, 1 failed"
	exit 1
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local rc=$? i
	if [[ -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	# The tap goes with the server's fd; delete it in case it outlived the server.
	if ((NS_MADE)); then
		timeout 10 ip netns exec "$NS" ip link del "$IFACE" 2>/dev/null || true
		timeout 10 ip netns del "$NS" || say "deleting namespace $NS failed"
	fi
	timeout 10 ip link del "$IFACE" 2>/dev/null || true
	if ((rc != 0 || KEEP_LOGS)); then
		say "logs kept in $LOGDIR"
		if ((rc != 0)); then
			tail -40 "$SLOG" 2>/dev/null | sed 's/^/  server: /'
		fi
	else
		rm -rf "$LOGDIR"
	fi
}
trap cleanup EXIT

in_ns() { timeout -k 2 10 ip netns exec "$NS" "$@"; }

# The site file: the tap profile, the interface the PMD makes, our address.
cat >"$LOGDIR/site.ini" <<EOF
; written by tests/integration/lab/tso.sh
[port]
profile = tap
iface = $IFACE

[ipv4]
address = $SERVER_IP/24
EOF

say "starting $SERVER on net_tap ($IFACE)"
setsid "$SERVER" --backend dpdk --site "$LOGDIR/site.ini" --drivers-dir "$ROOT/drivers-config" \
	-p "$PORT" -t 1 -m 64 -v --eal "--file-prefix nctso-$$" </dev/null >"$SLOG" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 300; i++)); do
	grep -q '^nicached: serving' "$SLOG" && break
	kill -0 "$SERVER_PID" 2>/dev/null || fail "nicached exited before serving"
	sleep 0.1
done
grep -q '^nicached: serving' "$SLOG" || fail "nicached did not serve within 30 s"
tso_line=$(grep -E '^tx tcp tso ' "$SLOG" || true)
chains_line=$(grep -E '^tx chains ' "$SLOG" || true)
say "banner: ${tso_line:-no tx tcp tso line}"
say "banner: ${chains_line:-no tx chains line}"
[[ $tso_line =~ ^tx\ tcp\ tso\ +on: ]] || fail "TSO is not on"
[[ $chains_line == *"sent as chains"* ]] || fail "TX chains are not sent"

# The kernel side of the tap into a namespace of its own: the client host.
timeout 10 ip netns add "$NS"
NS_MADE=1
timeout 10 ip link set dev "$IFACE" netns "$NS" || fail "cannot move $IFACE into $NS"
in_ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
in_ns ip link set dev lo up
in_ns ip addr add "$CLIENT_IP/24" dev "$IFACE"
in_ns ip link set dev "$IFACE" up
say "client host: namespace $NS, $IFACE $CLIENT_IP/24"

left=$((LIMIT - (SECONDS - T0)))
((left > 30)) || fail "out of time before the client ran"
rc=0
timeout -k 5 "$left" ip netns exec "$NS" "$PYTHON" - "$SERVER_IP" "$PORT" >"$LOGDIR/client.log" \
	2>&1 <<'PY' || rc=$?
import os
import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])


def connect(mss=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if mss is not None:
        # Before connect: our SYN announces it, so nicached's MSS for this connection is it.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.settimeout(30)
    s.connect((HOST, PORT))
    return s


def read_exact(s, buf, n):
    while len(buf) < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_until(s, buf, end):
    while not buf.endswith(end):
        chunk = s.recv(1 << 16)
        if not chunk:
            raise SystemExit("connection closed waiting for %r" % end)
        buf += chunk
    return buf


def stats(group):
    s = connect()
    s.sendall(b"stats " + group + b"\r\n")
    text = read_until(s, b"", b"END\r\n").decode()
    s.close()
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "STAT":
            out[f[1]] = f[2]
    return out


def set_get(s, key, value):
    s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
    got = read_until(s, b"", b"\r\n")
    if got != b"STORED\r\n":
        raise SystemExit("set %s: %r" % (key.decode(), got[:80]))
    s.sendall(b"get %s\r\n" % key)
    head = b"VALUE %s 0 %d\r\n" % (key, len(value))
    want = len(head) + len(value) + len(b"\r\nEND\r\n")
    got = read_exact(s, b"", want)
    if got[: len(head)] != head or got[len(head) : len(head) + len(value)] != value:
        raise SystemExit("get %s: reply differs from what was set" % key.decode())
    if got[len(head) + len(value) :] != b"\r\nEND\r\n":
        raise SystemExit("get %s: bad trailer" % key.decode())


def run(label, mss):
    s = connect(mss)
    eff = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    before = stats(b"tcp")
    for size in (100_000, 1_000_000):
        key = b"tso-%s-%d" % (label.encode(), size)
        set_get(s, key, os.urandom(size))
        print("%s: %d bytes set and read back byte-exact" % (label, size))
    s.close()
    after = stats(b"tcp")
    d = {k: int(after[k]) - int(before[k]) for k in ("tso_frames", "segs_out", "bytes_out")}
    print("%s: MSS %d: tso_frames +%d, segs_out +%d, bytes_out +%d" % (
        label, eff, d["tso_frames"], d["segs_out"], d["bytes_out"]))
    return eff, d


# 1100 KB of replies at least: segments needed at the MSS (the stats replies add a few).
REPLY = 1_100_000
eff, d = run("linux-mss", None)
if eff > 1446:
    if d["tso_frames"] != 0:
        raise SystemExit("MSS %d is above what net_tap cuts at: no TSO frame wanted" % eff)
if d["segs_out"] < REPLY // eff:
    raise SystemExit("segs_out +%d: fewer than the replies need" % d["segs_out"])
eff, d = run("mss-1400", 1400)
if d["tso_frames"] == 0:
    raise SystemExit("no TSO frame sent with MSS %d" % eff)
if d["segs_out"] < REPLY // eff:
    raise SystemExit("segs_out +%d: fewer than the replies need" % d["segs_out"])
print("segments per TSO frame: about %.1f" % (d["segs_out"] / max(d["tso_frames"], 1)))
nic = stats(b"nic")
print("stats nic: " + ", ".join("%s %s" % (k, v) for k, v in sorted(nic.items())
                                if "tso" in k or "tcp_segs" in k or k.startswith("drop_tx")
                                or "error" in k))
print("OK")
PY
sed 's/^/  client: /' "$LOGDIR/client.log"
((rc == 0)) || fail "client failed (status $rc)"
grep -q '^OK$' "$LOGDIR/client.log" || fail "client did not finish"
say "PASS ($((SECONDS - T0)) s)"
echo "1 passed, 0 failed"
