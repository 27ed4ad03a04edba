#!/usr/bin/env bash
# Soak: one server under a steady paced load for minutes; its memory must stop growing and
# no request may be slow.
#
#   tests/integration/soak.sh --server PATH [--threads N] [--memory MB] [--server-args "..."]
#                             [--keep-logs] [-- SOAK.PY OPTIONS...]
#
# PATH is nicached or memcached (told apart by its name or `--version`; memcached gets
# -u nobody when run as root). The server is started on 127.0.0.1 at a free port with
# `-p PORT -U 0 -l 127.0.0.1 -t THREADS (1) -m MEMORY (64)`: 64 MB is far below the soak's
# key set (100,000 keys x 5 KB on average), so eviction and page moves run all along.
# tests/integration/soak.py (see its header: 180 s at 1,200 req/s, 90% get / 10% set,
# values 1..10240 bytes; memory slope after 60 s <= 64 KB/min, worst latency <= 50 ms) runs
# against it with --pid, options after `--` passed on. Then the server gets SIGTERM and must
# exit cleanly within 10 s; if it died during the soak, that is a failure too.
#
# Exit status: soak.py's (0 pass, 1 threshold exceeded, 2 usage), or 1 when the server
# crashed or did not stop cleanly, 2 when it never answered. Environment: NC_PYTHON.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVER=""
THREADS=1
MEMORY=64
SERVER_ARGS=""
KEEP_LOGS=0
SOAK_ARGS=()

usage() {
	sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?--server needs a path}; shift 2 ;;
	--threads) THREADS=${2:?--threads needs a number}; shift 2 ;;
	--memory) MEMORY=${2:?--memory needs MB}; shift 2 ;;
	--server-args) SERVER_ARGS=${2?--server-args needs a value}; shift 2 ;;
	--keep-logs) KEEP_LOGS=1; shift ;;
	--) shift; SOAK_ARGS=("$@"); break ;;
	-h | --help) usage ;;
	*) printf 'soak.sh: unknown argument %s\n' "$1" >&2; usage ;;
	esac
done

# shellcheck source=tests/integration/common.sh
. "$HERE/common.sh"

[[ -n $SERVER ]] || usage
SERVER=$(server_path "$SERVER") ||
	{ printf 'soak.sh: server %s is not an executable\n' "$SERVER" >&2; exit 2; }

IS_MEMCACHED=0
if [[ $(basename "$SERVER") == memcached* ]] ||
	timeout 5 "$SERVER" --version 2>/dev/null | grep -qi '^memcached'; then
	IS_MEMCACHED=1
fi
EXTRA_ARGS=()
if ((IS_MEMCACHED)) && (($(id -u) == 0)); then
	EXTRA_ARGS=(-u nobody)
fi

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-soak.XXXXXX")
SLOG=$LOGDIR/server.log
SERVER_PID=""

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	keep_or_remove_logs "$KEEP_LOGS" "$LOGDIR" soak.sh
}
trap cleanup EXIT

start_server() {
	local try
	for try in 1 2 3; do
		PORT=$(pick_port tcp)
		local cmd=("$SERVER" -p "$PORT" -U 0 -l 127.0.0.1 -t "$THREADS" -m "$MEMORY")
		cmd+=("${EXTRA_ARGS[@]}")
		# shellcheck disable=SC2206  # word splitting of --server-args is wanted
		cmd+=($SERVER_ARGS)
		printf '[soak.sh] try %d: %s\n' "$try" "${cmd[*]}" >>"$SLOG"
		"${cmd[@]}" </dev/null >>"$SLOG" 2>&1 &
		SERVER_PID=$!
		wait_for_version "$SERVER_PID" "$PORT" 150 >/dev/null && return 0
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
	done
	return 1
}

if ! start_server; then
	printf 'soak.sh: the server never answered version\n'
	tail -n 30 "$SLOG"
	exit 2
fi
printf 'soak.sh: %s pid %d port %d (-t %d -m %d)\n' "$(basename "$SERVER")" "$SERVER_PID" \
	"$PORT" "$THREADS" "$MEMORY"

rc=0
# Bounded: prefill (<= 180 s by default) plus the timed part plus a margin.
timeout -k 10 3600 "$PYTHON" "$HERE/soak.py" --host 127.0.0.1 --port "$PORT" \
	--pid "$SERVER_PID" "${SOAK_ARGS[@]}" || rc=$?

ok=1
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
	printf 'soak.sh: FAIL: the server died during the soak\n'
	ok=0
fi
src=0
stop_pid "$SERVER_PID" 10 || src=$?
SERVER_PID=""
if ((STOP_KILLED)); then
	printf 'soak.sh: FAIL: the server still runs 10 s after SIGTERM (killed)\n'
	ok=0
fi
# memcached may end with the SIGTERM status (143); nicached exits 0.
if ((src != 0)) && ! ((IS_MEMCACHED && src == 143)); then
	printf 'soak.sh: FAIL: server exit status %d after SIGTERM (want 0)\n' "$src"
	ok=0
fi
if ((!ok)); then
	tail -n 30 "$SLOG"
	((rc != 0)) || rc=1
fi
report_single soak "$rc"
exit "$rc"
