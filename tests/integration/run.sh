#!/usr/bin/env bash
# Real clients against a real running server, one fresh server per check.
#
#   tests/integration/run.sh --server PATH [--server-args "..."] [--only NAME[,NAME..]]
#                            [--keep-logs] [--list]
#
# PATH is nicached or any memcached-compatible server taking memcached's flags
# (-p -U -l -m -c -t -I); /usr/bin/memcached is the reference.  For each check
# a server is started on 127.0.0.1 at a free random port (TCP port == UDP port)
# with -t 2, the check runs under `timeout`, then the server is stopped with
# SIGTERM (SIGKILL after 5 s) and must have exited 0 and left nothing behind.
#
# Prints "PASS name" / "FAIL name" per check and ends with "N passed, M failed";
# exits non-zero on any failure.  A failing check's log and the server's log
# are shown.  Environment: NC_PYTHON (default /usr/bin/python3: the Debian
# interpreter that has pymemcache and pytest).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SERVER=""
SERVER_ARGS=""
ONLY=""
KEEP_LOGS=0
LIST=0

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?--server needs a path}; shift 2 ;;
	--server-args) SERVER_ARGS=${2?--server-args needs a value}; shift 2 ;;
	--only) ONLY=${2:?--only needs a check name}; shift 2 ;;
	--keep-logs) KEEP_LOGS=1; shift ;;
	--list) LIST=1; shift ;;
	-h | --help) usage ;;
	*) printf 'run.sh: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done

# shellcheck source=tests/integration/common.sh
. "$HERE/common.sh"

# Check table: name | server options (udp, -m MB, -c conns) | time limit (s) | -I in bytes
# (default 1 MiB; - for the default) | one more server flag (memcached's spelling too).
# X-macro style: one line per check, run_check expands each.
CHECKS=(
	"memccapable      tcp 64 1024 120"
	"pymemcache       tcp 64 1024 300"
	"memcaslap-tcp    tcp 64 1024 90"
	"memcaslap-udp    udp 64 1024 90"
	"pytest-server    udp 64 1024 300"
	"pytest-maxconns  tcp 64 32   120"
	"pytest-eviction  tcp 32 1024 180"
	"pytest-large     tcp 512 64 240 134217728"
	"pytest-idle      tcp 64 1024 60 - -oidle_timeout=2"
	"telemetry        tcp 64 1024 60"
	"pytest-compression udp 64 1024 120 8388608 -ocompression=lzf,compression_min=256"
	"memccapable-lzf  tcp 64 1024 120 - -ocompression=lzf,compression_min=16,compression_min_saving=0"
	"pymemcache-lzf   tcp 64 1024 300 - -ocompression=lzf,compression_min=16,compression_min_saving=0"
	"pytest-server-lzf udp 64 1024 300 - -ocompression=lzf,compression_min=16,compression_min_saving=0"
)
# Eviction runs with 32 MB (16 one-MiB pages per shard with -t 2): the test's values span
# about 11 size classes, and a shard with fewer pages than classes in use moves a page (and
# its items, recent ones included) at nearly every store.
ITEM_MAX_DEFAULT=1048576
THREADS=2

if ((LIST)); then
	for c in "${CHECKS[@]}"; do
		read -r name _ <<<"$c"
		printf '%s\n' "$name"
	done
	exit 0
fi

[[ -n $SERVER ]] || usage
SERVER=$(server_path "$SERVER") ||
	{ printf 'run.sh: server %s is not an executable\n' "$SERVER" >&2; exit 2; }

# memcached refuses to run as root without -u.
EXTRA_ARGS=()
if [[ $(basename "$SERVER") == memcached* ]] && (($(id -u) == 0)); then
	EXTRA_ARGS=(-u nobody)
fi
IS_MEMCACHED=0
[[ $(basename "$SERVER") == memcached* ]] && IS_MEMCACHED=1

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-integration.XXXXXX")
SERVER_PID=""

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	keep_or_remove_logs "$KEEP_LOGS" "$LOGDIR" run.sh
}
trap cleanup EXIT

listening_on() {
	command -v ss >/dev/null 2>&1 || return 1
	[[ -n $(ss -Htlnu "( sport = :$1 )" 2>/dev/null) ]]
}

# start_server SLOG UDP MEM CONNS: sets PORT and SERVER_PID, or returns 1.
start_server() {
	local slog=$1 udp=$2 mem=$3 conns=$4 try
	for try in 1 2 3 4 5; do
		PORT=$(pick_port tcp udp)
		local cmd=("$SERVER" -p "$PORT" -l 127.0.0.1 -t "$THREADS" -m "$mem" -c "$conns"
			-I "$ITEM_MAX")
		if [[ $udp == udp ]]; then
			cmd+=(-U "$PORT")
		fi
		cmd+=("${EXTRA_ARGS[@]}")
		[[ -n ${CHECK_ARG:-} ]] && cmd+=("$CHECK_ARG")
		# shellcheck disable=SC2206  # word splitting of --server-args is wanted
		cmd+=($SERVER_ARGS)
		printf '[run.sh] try %d: %s\n' "$try" "${cmd[*]}" >>"$slog"
		# A session of its own, so anything it leaves behind can be found.
		setsid "${cmd[@]}" </dev/null >>"$slog" 2>&1 &
		SERVER_PID=$!
		if wait_for_version "$SERVER_PID" "$PORT" 150 >/dev/null; then
			return 0
		fi
		# Not ready in 15 s, or it died (port taken meanwhile?): try another port.
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		printf '[run.sh] server did not answer version on port %s\n' "$PORT" >>"$slog"
		SERVER_PID=""
	done
	return 1
}

# stop_server SLOG: SIGTERM, wait up to 5 s, SIGKILL.  Returns 1 when the
# server did not exit cleanly or left something behind.
stop_server() {
	local slog=$1 i rc=0 ok=0
	stop_pid "$SERVER_PID" 5 || rc=$?
	if ((STOP_KILLED)); then
		printf '[run.sh] server still running 5 s after SIGTERM: SIGKILL\n' >>"$slog"
		ok=1
	fi
	if ((rc != 0)) && ! ((IS_MEMCACHED && rc == 143)); then
		printf '[run.sh] server exit status %d after SIGTERM (want 0)\n' "$rc" >>"$slog"
		ok=1
	fi
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		printf '[run.sh] server process %d still exists\n' "$SERVER_PID" >>"$slog"
		ok=1
	fi
	local left
	left=$(pgrep -s "$SERVER_PID" 2>/dev/null || true)
	if [[ -n $left ]]; then
		printf '[run.sh] processes left in the server session: %s (killed)\n' \
			"${left//$'\n'/ }" >>"$slog"
		kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
		ok=1
	fi
	for ((i = 0; i < 20; i++)); do
		listening_on "$PORT" || break
		sleep 0.1
	done
	if listening_on "$PORT"; then
		printf '[run.sh] something still listens on port %s after the server exited\n' \
			"$PORT" >>"$slog"
		ok=1
	fi
	SERVER_PID=""
	return "$ok"
}

# ---------------------------------------------------------------- checks
# Each check_NAME runs with PORT set and its output going to the check log;
# it returns non-zero on failure.

PYTEST=("$PYTHON" -m pytest -p no:cacheprovider -q -rs)

check_memccapable() {
	local out=$1
	timeout -k 5 "$2" memccapable -h 127.0.0.1 -p "$PORT" -t 10 >"$out" 2>&1 || return 1
	grep -q 'All tests passed' "$out"
}

check_pymemcache() {
	local out=$1 dir
	dir=$("$PYTHON" -c 'import os, pymemcache.test as t; print(os.path.dirname(t.__file__))')
	(cd "$LOGDIR" && timeout -k 5 "$2" "${PYTEST[@]}" "$dir/test_integration.py" \
		-m integration -W ignore::pytest.PytestUnknownMarkWarning --server 127.0.0.1 --port "$PORT" -k 'not tls') >"$out" 2>&1
}

check_memcaslap() {
	local out=$1 limit=$2 udp=$3
	local args=(-s "127.0.0.1:$PORT" -t 10s -v 0.1)
	[[ $udp == udp ]] && args+=(-U)
	memcaslap_run "$out" $((limit / 2)) memcaslap "${args[@]}" || return 1
	memcaslap_verdict "$out" "$udp" 0
}

check_memcaslap-tcp() { check_memcaslap "$1" "$2" tcp; }
check_memcaslap-udp() { check_memcaslap "$1" "$2" udp; }

check_pytest() {
	local out=$1 limit=$2 udp=$3 mem=$4 conns=$5 marker=$6
	local udp_port=0
	[[ $udp == udp ]] && udp_port=$PORT
	(cd "$LOGDIR" && timeout -k 5 "$limit" "${PYTEST[@]}" "$HERE/test_server.py" \
		"$HERE/test_regress.py" "$HERE/test_large_items.py" "$HERE/test_idle.py" \
		"$HERE/test_compression.py" --rootdir "$HERE" -m "$marker" --server 127.0.0.1 --port "$PORT" \
		--udp-port "$udp_port" --memory-mb "$mem" --max-conns "$conns" \
		--item-max "$ITEM_MAX" --threads "$THREADS") >"$1" 2>&1
}

check_pytest-server() { check_pytest "$@" "not maxconns and not eviction and not large and not idle and not compression"; }
check_pytest-maxconns() { check_pytest "$@" "maxconns"; }
check_pytest-eviction() { check_pytest "$@" "eviction"; }
check_pytest-large() { check_pytest "$@" "large"; }
check_pytest-idle() { check_pytest "$@" "idle"; }
check_pytest-compression() { check_pytest "$@" "compression"; }
# The client suites again with every value of 16 bytes or more stored compressed if that
# saves anything: compression must not show.
check_memccapable-lzf() { check_memccapable "$@"; }
check_pymemcache-lzf() { check_pymemcache "$@"; }
check_pytest-server-lzf() { check_pytest-server "$@"; }

# nicached only: the startup banner, and `stats` through DPDK telemetry
# (dpdk-telemetry.py, file prefix nicached-PORT) after a few known commands.
check_telemetry() {
	local out=$1 limit=$2 slog=${1%.log}.server.log dir sock json
	grep -q 'backend socket, 2 workers' "$slog" || {
		echo "no startup banner in the server log" >>"$out"
		return 1
	}
	# Where every worker runs and its shard lies (one NUMA node here: socket 0).
	grep -Eq '^nicached: NUMA: worker 1: lcore 2, CPUs? [0-9,-]+, socket [0-9]+; shard memory on socket [0-9]+' "$slog" || {
		echo "no NUMA placement line for worker 1 in the banner" >>"$out"
		return 1
	}
	"$PYTHON" - "$PORT" >>"$out" 2>&1 <<-'PY' || return 1
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	s.sendall(b"set tk 0 0 1\r\nx\r\nget tk\r\nget nokey\r\n")
	want = b"STORED\r\nVALUE tk 0 1\r\nx\r\nEND\r\nEND\r\n"
	got = b""
	while len(got) < len(want):
	    got += s.recv(4096)
	assert got == want, got
	PY
	dir=${XDG_RUNTIME_DIR:-/var/run}/dpdk/nicached-$PORT
	[[ $(id -u) == 0 ]] && dir=/var/run/dpdk/nicached-$PORT
	sock=$(ls "$dir" 2>/dev/null | grep '^dpdk_telemetry.v2' | sort | tail -n 1)
	local inst=()
	if [[ $sock == *:* ]]; then
		inst=(-i "${sock##*:}")
	fi
	json=$(echo /nicached/stats | timeout -k 5 "$limit" dpdk-telemetry.py \
		-f "nicached-$PORT" "${inst[@]}" 2>>"$out") || return 1
	echo "$json" >>"$out"
	"$PYTHON" -c '
import json, sys
d = json.loads(sys.argv[1])["/nicached/stats"]
assert d["cmd_get"] == 2 and d["get_hits"] == 1 and d["get_misses"] == 1, d
assert d["cmd_set"] == 1 and d["curr_items"] == 1 and d["threads"] == 2, d
' "$json" >>"$out" 2>&1 || return 1
	# The size classes: the one holding "tk", by memcached's number (as stats items has it),
	# then its figures.
	json=$(printf '/nicached/slabs\n/nicached/slabs,1\n' | timeout -k 5 "$limit" \
		dpdk-telemetry.py -f "nicached-$PORT" "${inst[@]}" 2>>"$out") || return 1
	echo "$json" >>"$out"
	"$PYTHON" -c '
import json, sys
replies = [json.loads(line) for line in sys.argv[1].splitlines() if line.startswith("{")]
assert replies[0]["/nicached/slabs"] == [1], replies
c = replies[1]["/nicached/slabs"]
assert c["number"] == 1 and c["chunk_size"] >= 48 and c["total_pages"] >= 1, c
assert c["used_chunks"] + c["free_chunks"] <= c["total_chunks"], c
assert c["get_hits"] == 1 and c["cmd_set"] == 1, c
' "$json" >>"$out" 2>&1
}

# ---------------------------------------------------------------- driver

PASSED=0
FAILED=0
START=$SECONDS
TIMES=()

run_check() {
	local name=$1 udp=$2 mem=$3 conns=$4 limit=$5
	local out="$LOGDIR/$name.log" slog="$LOGDIR/$name.server.log"
	local ok=1 t0=$SECONDS
	: >"$out"
	: >"$slog"
	if ! start_server "$slog" "$udp" "$mem" "$conns"; then
		printf 'run.sh: the server never answered version\n' >>"$out"
		ok=0
	else
		if ! "check_$name" "$out" "$limit" "$udp" "$mem" "$conns"; then
			ok=0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			printf 'run.sh: the server died during the check\n' >>"$out"
			ok=0
		fi
		if ! stop_server "$slog"; then
			printf 'run.sh: the server did not stop cleanly (see its log)\n' >>"$out"
			ok=0
		fi
	fi
	report_check "$name" "$ok" "$t0" "$out" "$slog" 150
}

printf 'run.sh: server %s %s\n' "$SERVER" "$SERVER_ARGS"
ran=0
for c in "${CHECKS[@]}"; do
	read -r name udp mem conns limit item CHECK_ARG <<<"$c"
	[[ ${item:--} == - ]] && item=$ITEM_MAX_DEFAULT
	ITEM_MAX=$item
	if [[ -n $ONLY && ",$ONLY," != *",$name,"* ]]; then
		continue
	fi
	if [[ $name == telemetry ]] && ((IS_MEMCACHED)); then
		printf 'run.sh: telemetry is nicached'"'"'s own (DPDK telemetry): not run on memcached\n'
		continue
	fi
	if [[ $name == *compression* || $name == *-lzf ]] && ((IS_MEMCACHED)); then
		printf 'run.sh: %s needs nicached'"'"'s -o compression: not run on memcached\n' "$name"
		continue
	fi
	ran=$((ran + 1))
	run_check "$name" "$udp" "$mem" "$conns" "$limit"
done
finish_checks "$ran" "$ONLY" "$START"
