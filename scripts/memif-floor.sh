#!/usr/bin/env bash
# The floor under nicached's cycles per request on the memif lab: what the driver alone costs.
#
#   scripts/memif-floor.sh [--duration 5] [--window 64] [--mcgen PATH] [--zero-copy]
#                          [--pages auto|huge|4k]
#
# Root only. One run of bench-memif.sh's load (mcgen -x dpdk-udp, one source port, --window
# GETs of 16-byte keys in flight, on CPU 0) against DPDK's own dpdk-testpmd instead of nicached:
# the memif server on the same rings (rsize=10, bsize=2048), its forwarding lcore on CPU 1
# where nicached's worker runs, forwarding mode 5tswap (every frame sent back with its MAC, IP
# addresses and UDP ports swapped: a receive burst, a header swap and a transmit burst, the
# least a server can do per request). testpmd's --record-core-cycles counts the TSC cycles of
# its forwarding bursts, as nicached's busy_cycles does: cycles per packet is that count over
# the frames it forwarded between a `start` and a `stop` taken while the load runs (the link
# is up by then; memif zeroes its counters when the peer connects). mcgen reads every echoed
# request as a wrong reply: its verdict is not looked at here, only that frames went round. The
# echoed frames are the requests (about 60 bytes), a little shorter than nicached's replies.
# --zero-copy: the lab's zero-copy mode (common.sh MEMIF_ZC): testpmd is the memif client with
# zero-copy=yes (mcgen, the server, copies frames into testpmd's mbufs and out of them), as
# nicached is in bench-memif.sh --zero-copy.
# --pages: testpmd's memory, 4 KiB pages (the default), 2 MiB hugepages (reserved already), or
# auto (common.sh memif_pages: hugepages when 512 are free), as bench-memif.sh --pages.
# Prints one line: "floor: C cycles/packet, P packets/s (testpmd 5tswap over memif[, zero-copy])".
# Exit 1 when testpmd does not start or forwards nothing.
# NC_MEMIF_TAG (default nc) starts the names of the memif socket and the EAL file prefixes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
DURATION=5
WINDOW=64
MEMIF_ZC=0
MEMIF_PAGES=4k
MCGEN=$ROOT/build/app/mcgen/mcgen
TAG=${NC_MEMIF_TAG:-nc}
while (($#)); do
	case $1 in
	--duration) DURATION=${2:?}; shift 2 ;;
	--window) WINDOW=${2:?}; shift 2 ;;
	--mcgen) MCGEN=$(realpath "${2:?}"); shift 2 ;;
	--zero-copy) MEMIF_ZC=1; shift ;;
	--pages) MEMIF_PAGES=${2:?}; shift 2 ;;
	*) sed -n '2,25s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
[[ $DURATION =~ ^[1-9][0-9]*$ && $WINDOW =~ ^[1-9][0-9]*$ ]] ||
	{ echo "memif-floor: --duration and --window want positive integers" >&2; exit 2; }
MEMIF_PAGES=$(memif_pages "$MEMIF_PAGES") ||
	{ echo "memif-floor: --pages auto, huge or 4k" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "memif-floor: needs root (memif socket in /run)" >&2; exit 1; }
TESTPMD=$(command -v dpdk-testpmd) ||
	{ echo "memif-floor: dpdk-testpmd missing (Debian package dpdk)" >&2; exit 1; }
[[ -x $MCGEN ]] || { echo "memif-floor: $MCGEN not built (ninja -C build)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nc-memif-floor.XXXXXX)
memif_lab "${TAG}floor$$" # MEMIF_SOCKET, MEMIF_PEER_EAL (mcgen's), MEMIF_OWN_EAL (testpmd's)
TP_PREFIX=${TAG}floor$$
TP_PID=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	[[ -z $MEMIF_PEER_PID ]] || stop_pid "$MEMIF_PEER_PID" 5 || true
	[[ -z $TP_PID ]] || stop_pid "$TP_PID" 5 || true
	exec 7>&-
	rm -rf "$TMP" "/var/run/dpdk/$TP_PREFIX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# testpmd reads its commands from a FIFO whose only writer is this script (fd 7, opened first so
# testpmd's read-only open does not block): it waits between commands, and reads end-of-file
# (and quits) should this script die.
mkfifo "$TMP/cmd"
exec 7<>"$TMP/cmd"
# mcgen's load (the array GEN). It runs past the measured window on both sides (3 s for the
# link before it, about 1 s after).
GEN=(timeout $((DURATION + 60)) taskset -c 0 "$MCGEN" -x dpdk-udp -c 1 -d "$WINDOW"
	-s "$MEMIF_SERVER_IP:11211" --src-ip "$MEMIF_CLIENT_IP" --dst-mac 02:00:00:00:00:01
	-k 10000 --key-size 16 --value-size 32 -m get=1000 -q -T $((DURATION + 4)) -- -l 0
	--file-prefix "${TAG}floorgen$$" --log-level=4 "${MEMIF_PEER_EAL[@]}")

# The memif server first: in zero-copy mode that is mcgen, waiting for its client's link.
memif_peer_first "$TMP/mcgen" "${GEN[@]}" 7>&- || { echo "memif-floor: no mcgen" >&2; exit 1; }
taskset -c 0,1 stdbuf -oL "$TESTPMD" -l 0,1 --file-prefix "$TP_PREFIX" -m 1024 \
	--log-level=4 "${MEMIF_OWN_EAL[@]}" -- -i \
	--forward-mode=5tswap --record-core-cycles --nb-cores=1 --rxq=1 --txq=1 \
	--total-num-mbufs=16384 <"$TMP/cmd" >"$TMP/testpmd" 2>&1 7>&- &
TP_PID=$!
log_wait "$TMP/testpmd" 'testpmd>' "$TP_PID" 10 ||
	{ cat "$TMP/testpmd" >&2; echo "memif-floor: testpmd did not start" >&2; exit 1; }
echo start >&7
if [[ -z $MEMIF_PEER_PID ]]; then
	"${GEN[@]}" >"$TMP/mcgen" 2>&1 7>&- &
	MEMIF_PEER_PID=$!
fi
sleep 3
# A fresh start: testpmd's forwarding counters begin again with the link up and load flowing.
echo stop >&7
sleep 0.2
echo start >&7
sleep "$DURATION"
echo stop >&7
wait "$MEMIF_PEER_PID" || true
MEMIF_PEER_PID=""
echo quit >&7
for ((i = 0; i < 50; i++)); do
	kill -0 "$TP_PID" 2>/dev/null || break
	sleep 0.1
done
stop_pid "$TP_PID" 5 || true
TP_PID=""
# The second stop's line: "CPU cycles/packet=231.18 (total cycles=... / total 5tswap
# packets=11024032) at 2600 MHz Clock" (printed only when its window forwarded frames: each
# stop starts the figures afresh, so a silent measured window does not report the first).
awk -v d="$DURATION" -v zc="$MEMIF_ZC" '
	/Telling cores to stop/ { stops++; cyc = 0; pk = 0 }
	/CPU cycles\/packet=/ {
		split($0, a, "cycles/packet="); cyc = a[2] + 0
		split($0, b, "packets="); pk = b[2] + 0
	}
	END {
		if (stops != 2 || pk <= 0) exit 1
		printf "floor: %.0f cycles/packet, %.0f packets/s (testpmd 5tswap over memif%s)\n", cyc,
			pk / d, zc == 1 ? ", zero-copy" : ""
	}' "$TMP/testpmd" || {
	grep -v '^EAL:' "$TMP/testpmd" | tail -n 20 >&2
	grep -v '^EAL:' "$TMP/mcgen" | tail -n 5 >&2
	echo "memif-floor: testpmd forwarded nothing" >&2
	exit 1
}
