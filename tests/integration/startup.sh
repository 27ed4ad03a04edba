#!/usr/bin/env bash
# How nicached starts when hugepages are short (root only: it changes vm.nr_hugepages for the
# run and puts it back).
#
#   tests/integration/startup.sh --server PATH
#
# hugepages-together  two servers started at the same moment, with free hugepages for one of
#                     them: one runs on hugepages, the other on 4 KiB pages and its banner says
#                     how many it needed and found; both serve.
# hugepages-retry     a server whose start on hugepages fails inside EAL (here: `ulimit -v`
#                     leaves no room for the virtual area EAL reserves for hugepages) starts
#                     again on 4 KiB pages, its banner says why, and it serves.
# Prints "PASS name" / "FAIL name" and "N passed, M failed"; exits non-zero on a failure.
# Only the servers this script started are stopped, by pid.
set -uo pipefail

SERVER=
while (($# > 0)); do
	case $1 in
	--server) SERVER=$2; shift 2 ;;
	*) echo "usage: $0 --server PATH" >&2; exit 64 ;;
	esac
done
[[ -x $SERVER ]] || { echo "startup.sh: --server $SERVER is not executable" >&2; exit 64; }
[[ $(id -u) -eq 0 ]] || { echo "startup.sh: needs root (vm.nr_hugepages)"; echo "0 passed, 1 failed"; exit 1; }

PYTHON=${NC_PYTHON:-/usr/bin/python3}
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-startup.XXXXXX")
ORIG_PAGES=$(cat /proc/sys/vm/nr_hugepages)
PIDS=()
PASSED=0
FAILED=0

# stop_all: stop the servers this script started (by pid) and wait for them.
stop_all() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	PIDS=()
}

cleanup() {
	stop_all
	echo "$ORIG_PAGES" >/proc/sys/vm/nr_hugepages
	rm -rf "$LOGDIR"
}
trap cleanup EXIT

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# start PORT LOG [ulimit-v-kb]: a socket-backend server with -m 64: on hugepages, NEED_MB of EAL
# memory (64 MB of items, 39 first pages past -m as memcached allows, the first index table in
# 1 MB, 24 MB fixed: settings_eal_memory_total_mb).
NEED_MB=128
start() {
	local port=$1 log=$2 vlimit=${3:-unlimited}
	(ulimit -v "$vlimit" && exec "$SERVER" -m 64 -t 1 -p "$port" -U 0 -l 127.0.0.1) >"$log" 2>&1 &
	PIDS+=($!)
}

# banner LOG: the server's first banner line, once it printed it (up to 20 s).
banner() {
	for _ in $(seq 200); do
		if grep -q 'EAL memory' "$1"; then
			grep -m1 'EAL memory' "$1"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# serves PORT: a set and a get over TCP answered.
serves() {
	"$PYTHON" - "$1" <<-'PY'
	import socket, sys, time
	for attempt in range(50):
	    try:
	        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	        break
	    except OSError:
	        time.sleep(0.1)
	else:
	    sys.exit("no connection")
	s.sendall(b"set k 0 0 2\r\nhi\r\nget k\r\n")
	want = b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n"
	got = b""
	while len(got) < len(want):
	    d = s.recv(4096)
	    if not d:
	        break
	    got += d
	sys.exit(0 if got == want else "got %r" % got)
	PY
}

report() {
	if (($2 == 0)); then
		echo "PASS $1"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL $1 (logs follow)"
		cat "$LOGDIR"/"$1".* 2>/dev/null | sed 's/^/    /'
		FAILED=$((FAILED + 1))
	fi
}


# Free hugepages for one server (96 pages of 2 MB) and not for two.
set_free_pages() {
	local size_kb total free
	size_kb=$(meminfo Hugepagesize)
	total=$(meminfo HugePages_Total)
	free=$(meminfo HugePages_Free)
	echo $((total - free + NEED_MB * 1024 / size_kb + 40)) >/proc/sys/vm/nr_hugepages
	free=$(meminfo HugePages_Free)
	echo "free hugepages: $free of $size_kb kB" >>"$LOGDIR/$1.setup"
	((free * size_kb >= NEED_MB * 1024 && free * size_kb < 2 * NEED_MB * 1024))
}

check_together() {
	local name=hugepages-together rc=0 b1 b2
	set_free_pages $name || rc=1
	start 21461 "$LOGDIR/$name.server1"
	start 21462 "$LOGDIR/$name.server2"
	b1=$(banner "$LOGDIR/$name.server1") || rc=1
	b2=$(banner "$LOGDIR/$name.server2") || rc=1
	printf '%s\n%s\n' "$b1" "$b2" >>"$LOGDIR/$name.setup"
	# exactly one on hugepages; the other says what it needed and found
	if [[ $b1 == *"EAL memory hugepages"* ]]; then
		[[ $b2 == *"4 KiB pages (--no-huge): $NEED_MB MB of hugepages needed, "*" MB free"* ]] || rc=1
	else
		[[ $b2 == *"EAL memory hugepages"* &&
			$b1 == *"4 KiB pages (--no-huge): $NEED_MB MB of hugepages needed, "*" MB free"* ]] || rc=1
	fi
	serves 21461 >>"$LOGDIR/$name.setup" 2>&1 || rc=1
	serves 21462 >>"$LOGDIR/$name.setup" 2>&1 || rc=1
	stop_all
	report $name $rc
}

check_retry() {
	local name=hugepages-retry rc=0 b
	set_free_pages $name || rc=1
	start 21463 "$LOGDIR/$name.server" 3000000
	b=$(banner "$LOGDIR/$name.server") || rc=1
	echo "$b" >>"$LOGDIR/$name.setup"
	grep -q 'EAL init failed' "$LOGDIR/$name.server" || rc=1
	[[ $b == *"4 KiB pages (--no-huge): the start on hugepages failed ("*"), started again on 4 KiB pages"* ]] || rc=1
	serves 21463 >>"$LOGDIR/$name.setup" 2>&1 || rc=1
	stop_all
	report $name $rc
}

check_together
check_retry
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
