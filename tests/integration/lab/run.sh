#!/usr/bin/env bash
# nicached on its DPDK path, driven by real Linux peers in the netns lab.
#
#   tests/integration/lab/run.sh --server PATH [--only NAME[,NAME..]] [--keep-logs] [--list]
#
# For each check: scripts/lab.sh up (namespace + veth + site file), nicached
# started on the root end with --backend dpdk --site (net_af_xdp first; when
# its port does not start, net_af_packet, and the log says so), the check run
# from inside the namespace under `timeout`, the server stopped (SIGTERM, then
# SIGKILL after 5 s).  Prints "PASS name" / "FAIL name" per check and ends with
# "N passed, M failed"; exits non-zero on any failure.  The lab is always torn
# down (EXIT trap) and only the server this script started is killed.
#
# Environment: NC_LAB_NS (namespace, default nclab; the veth is ${NS}0/${NS}1),
# NC_LAB_DIR (site file folder, default /run/nicached-lab), NC_PYTHON
# (default /usr/bin/python3), NC_LAB_DRIVERS (drivers to try, default
# "af_xdp af_packet").  Root only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
LAB=$ROOT/scripts/lab.sh

SERVER=""
ONLY=""
KEEP_LOGS=0
LIST=0

usage() {
	sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?--server needs a path}; shift 2 ;;
	--only) ONLY=${2:?--only needs a check name}; shift 2 ;;
	--keep-logs) KEEP_LOGS=1; shift ;;
	--list) LIST=1; shift ;;
	-h | --help) usage ;;
	*) printf 'run.sh: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done

# Check table: name | workers (= veth queues) | time limit (s).
CHECKS=(
	"arp-ping      1 60"
	"memcaslap-udp 1 120"
	"udp-frames    1 240"
	"two-workers   2 240"
)

if ((LIST)); then
	for c in "${CHECKS[@]}"; do
		read -r name _ <<<"$c"
		printf '%s\n' "$name"
	done
	exit 0
fi

[[ -n $SERVER ]] || usage
[[ -x $SERVER ]] || { printf 'run.sh: server %s is not an executable\n' "$SERVER" >&2; exit 2; }
SERVER=$(cd "$(dirname "$SERVER")" && pwd)/$(basename "$SERVER")
(($(id -u) == 0)) || { printf 'run.sh: needs root (the lab)\n' >&2; exit 2; }

export NC_LAB_NS=${NC_LAB_NS:-nclab}
export NC_LAB_DIR=${NC_LAB_DIR:-/run/nicached-lab}
NS=$NC_LAB_NS
PEER_IF=${NS}1
SITE=$NC_LAB_DIR/site.ini
SERVER_IP=10.77.0.1
UDP_PORT=11211
DRIVERS=${NC_LAB_DRIVERS:-af_xdp af_packet}
# shellcheck source=tests/integration/common.sh
. "$HERE/../common.sh"

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-lab.XXXXXX")
SERVER_PID=""
SERVER_MAC=""
DRIVER_USED=""
RUN_ID=$$

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	"$LAB" down >/dev/null 2>&1 || printf 'run.sh: lab.sh down failed\n' >&2
	if ((KEEP_LOGS)); then
		printf 'run.sh: logs kept in %s\n' "$LOGDIR"
	else
		rm -rf "$LOGDIR"
	fi
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }

# start_one SLOG DRIVER WORKERS: lab up for DRIVER, server started; 0 once it
# serves, 1 when it died or never said so within 30 s.
start_one() {
	local slog=$1 driver=$2 workers=$3 i
	"$LAB" up --queues "$workers" --driver "$driver" >>"$slog" 2>&1 || return 1
	local cmd=("$SERVER" --backend dpdk --site "$SITE" -U "$UDP_PORT" -t "$workers" -m 64 -v
		--eal "--file-prefix nclab-$RUN_ID-$driver")
	printf '[run.sh] %s\n' "${cmd[*]}" >>"$slog"
	setsid "${cmd[@]}" </dev/null >>"$slog" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 300; i++)); do
		if grep -q '^nicached: serving' "$slog"; then
			SERVER_MAC=$(awk '$1 == "mac" { print $2; exit }' "$slog")
			DRIVER_USED=$driver
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	return 1
}

# start_server SLOG WORKERS: af_xdp first, then the fallbacks, saying so.
start_server() {
	local slog=$1 workers=$2 d prev=""
	for d in $DRIVERS; do
		if [[ -n $prev ]]; then
			printf 'run.sh: the %s port did not start (see the log): falling back to %s\n' \
				"$prev" "$d" | tee -a "$slog"
		fi
		if start_one "$slog" "$d" "$workers"; then
			printf 'run.sh: nicached serving on %s, %d worker(s), MAC %s\n' "$d" "$workers" \
				"$SERVER_MAC"
			return 0
		fi
		prev=$d
	done
	return 1
}

# stop_server SLOG: SIGTERM, 5 s, SIGKILL; 1 unless it exited 0 by itself.
stop_server() {
	local slog=$1 i rc=0 ok=0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		printf '[run.sh] server still running 5 s after SIGTERM: SIGKILL\n' >>"$slog"
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		ok=1
	fi
	wait "$SERVER_PID" 2>/dev/null || rc=$?
	if ((rc != 0)); then
		printf '[run.sh] server exit status %d after SIGTERM (want 0)\n' "$rc" >>"$slog"
		ok=1
	fi
	SERVER_PID=""
	return "$ok"
}

# ---------------------------------------------------------------- checks
# check_NAME OUT LIMIT WORKERS: runs with the server serving; non-zero on failure.

check_arp-ping() {
	local out=$1 limit=$2 neigh mac
	in_ns ip neigh flush dev "$PEER_IF" >>"$out" 2>&1 || true
	timeout -k 2 "$limit" ip netns exec "$NS" ping -c 3 -W 1 "$SERVER_IP" >>"$out" 2>&1 || {
		echo "ping failed" >>"$out"
		return 1
	}
	neigh=$(in_ns ip neigh show "$SERVER_IP" dev "$PEER_IF")
	echo "ip neigh: $neigh" >>"$out"
	mac=$(awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }' <<<"$neigh")
	if [[ -z $mac || ${mac,,} != "${SERVER_MAC,,}" ]]; then
		echo "neighbour MAC '$mac' is not the MAC nicached printed '$SERVER_MAC'" >>"$out"
		return 1
	fi
	if [[ $neigh == *PERMANENT* || $neigh == *NOARP* ]]; then
		echo "the neighbour entry is static, not learned" >>"$out"
		return 1
	fi
	# TCP: no TCP service on this path yet, a SYN gets a RST (refused, at once).
	timeout -k 2 10 ip netns exec "$NS" "$PYTHON" - "$SERVER_IP" "$UDP_PORT" >>"$out" 2>&1 <<-'PY'
	import socket, sys, time
	t0 = time.monotonic()
	try:
	    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
	except ConnectionRefusedError:
	    dt = time.monotonic() - t0
	    print("tcp connect refused after %.3f s" % dt)
	    sys.exit(0 if dt < 1.0 else 1)
	except OSError as e:
	    sys.exit("tcp connect: %r, want connection refused (RST)" % e)
	sys.exit("tcp connect succeeded, want connection refused")
	PY
}

check_memcaslap-udp() {
	local out=$1 limit=$2
	timeout -k 5 "$limit" ip netns exec "$NS" memcaslap -s "$SERVER_IP:$UDP_PORT" -U -t 20s \
		-v 0.1 >"$out" 2>&1 || return 1
	memcaslap_verdict "$out" udp 1
}

run_pytest() {
	local out=$1 limit=$2 workers=$3 file=$4
	shift 4
	(cd "$LOGDIR" && timeout -k 5 "$limit" ip netns exec "$NS" "$PYTHON" -m pytest \
		-p no:cacheprovider -q -rs "$@" "$HERE/$file" --rootdir "$HERE" --confcutdir "$HERE" --server "$SERVER_IP" \
		--udp-port "$UDP_PORT" --server-mac "$SERVER_MAC" --iface "$PEER_IF" \
		--threads "$workers") >"$out" 2>&1
}

check_udp-frames() { run_pytest "$1" "$2" "$3" test_udp_frames.py; }
check_two-workers() { run_pytest "$1" "$2" "$3" test_two_workers.py -s; }

# ---------------------------------------------------------------- driver

PASSED=0
FAILED=0
START=$SECONDS
TIMES=()

run_check() {
	local name=$1 workers=$2 limit=$3
	local out="$LOGDIR/$name.log" slog="$LOGDIR/$name.server.log" ok=1 t0=$SECONDS
	: >"$out"
	: >"$slog"
	if ! start_server "$slog" "$workers"; then
		printf 'run.sh: nicached did not start on any of: %s\n' "$DRIVERS" >>"$out"
		ok=0
	else
		printf 'driver %s\n' "$DRIVER_USED" >>"$out"
		"check_$name" "$out" "$limit" "$workers" || ok=0
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			printf 'run.sh: the server died during the check\n' >>"$out"
			ok=0
		fi
		stop_server "$slog" || {
			printf 'run.sh: the server did not stop cleanly\n' >>"$out"
			ok=0
		}
	fi
	report_check "$name" "$ok" "$t0" "$out" "$slog" 120 "$DRIVER_USED"
}

printf 'run.sh: server %s, lab namespace %s\n' "$SERVER" "$NS"
ran=0
for c in "${CHECKS[@]}"; do
	read -r name workers limit <<<"$c"
	if [[ -n $ONLY && ",$ONLY," != *",$name,"* ]]; then
		continue
	fi
	ran=$((ran + 1))
	run_check "$name" "$workers" "$limit"
done
finish_checks "$ran" "$ONLY" "$START"
