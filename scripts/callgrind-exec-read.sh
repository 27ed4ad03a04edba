#!/usr/bin/env bash
# Instructions the server spends per text GET in exec_read (lookup, counters, the result's
# value: compressed or not), counted by callgrind on a real server (socket backend, -t 1):
#
#   scripts/callgrind-exec-read.sh [--server PATH] [--args "-o compression=lzf"] [--gets N]
#
# Starts PATH (default build/app/nicached/nicached) under valgrind --tool=callgrind collecting
# only exec_read and what it calls, on a free loopback port; stores 10 keys of 100 bytes
# (below any compression minimum), sends N GETs (default 20000, pipelined by 100), stops the
# server (SIGTERM) and prints callgrind's total divided by N. Compare two binaries (e.g. a
# build before and after a change) with the same N: the digest seed is drawn per process, so
# the index path moves a few instructions either way between runs.
set -euo pipefail

SERVER=build/app/nicached/nicached
ARGS=""
GETS=20000
while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?}; shift 2 ;;
	--args) ARGS=${2?}; shift 2 ;;
	--gets) GETS=${2:?}; shift 2 ;;
	*) sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
[[ -x $SERVER ]] || { echo "callgrind-exec-read.sh: no server at $SERVER" >&2; exit 2; }
((GETS % 100 == 0 && GETS > 0 && GETS <= 1000000)) ||
	{ echo "callgrind-exec-read.sh: --gets must be a multiple of 100 up to 1000000" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nc-cg.XXXXXX")
PID=""
cleanup() {
	if [[ -n $PID ]]; then
		kill -KILL -- "-$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086  # --args is split into words on purpose
setsid valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" --toggle-collect=exec_read \
	"$SERVER" -p "$PORT" -U 0 -l 127.0.0.1 -t 1 -m 64 $ARGS >"$TMP/server.log" 2>&1 &
PID=$!
/usr/bin/python3 - "$PORT" "$GETS" <<'PY'
import socket, sys, time

port, gets = int(sys.argv[1]), int(sys.argv[2])
end = time.monotonic() + 120
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        break
    except OSError:
        if time.monotonic() > end:
            sys.exit("the server did not start in 120 s")
        time.sleep(0.5)
s.settimeout(60)


def read_until(pred):
    b = b""
    while not pred(b):
        d = s.recv(1 << 20)
        if not d:
            sys.exit("connection closed")
        b += d
    return b


for i in range(10):
    s.sendall(b"set k%d 0 0 100\r\n%s\r\n" % (i, b"x" * 100))
    read_until(lambda b: b.endswith(b"\r\n"))
for _ in range(gets // 100):
    s.sendall(b"".join(b"get k%d\r\n" % (i % 10) for i in range(100)))
    read_until(lambda b: b.count(b"END\r\n") == 100)
PY
kill -TERM "$PID"
wait "$PID" || true
PID=""
total=$(callgrind_annotate "$TMP/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
printf '%s: %s instructions in exec_read for %d GETs: %.1f per GET\n' "$SERVER" "$total" "$GETS" \
	"$(echo "$total / $GETS" | bc -l)"
