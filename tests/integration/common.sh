# shellcheck shell=bash
# Pieces both integration runners use (tests/integration/run.sh on loopback and
# tests/integration/lab/run.sh in the netns lab), and the loopback server helpers that
# tests/integration/soak.sh and scripts/bench-*.sh share with them, and nicached as the memif
# server (memif_server_start/stop: tests/integration/mcgen_dpdk.sh, scripts/bench-memif.sh,
# scripts/bench-mcgen-memif.sh, scripts/callgrind-memif.sh). Sourced, not run.
#
# The caller sets PASSED=0 FAILED=0 TIMES=() before running checks (report_check).

# PYTHON: the Debian interpreter that has pymemcache and pytest (NC_PYTHON overrides).
if [[ -x /usr/bin/python3 ]]; then
	PYTHON=${NC_PYTHON:-/usr/bin/python3}
else
	PYTHON=${NC_PYTHON:-python3}
fi
export PYTHONDONTWRITEBYTECODE=1

# median NUMBER...: the median of the numbers (the mean of the middle two for an even
# count), printed as a plain number (up to 10 significant digits, never awk's 1.98031e+06).
median() {
	printf '%s\n' "$@" | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.10g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# show_log FILE TITLE LINES: the end of a log, framed.
show_log() {
	printf -- '---- %s (last %d lines) ----\n' "$2" "$3"
	tail -n "$3" "$1" 2>/dev/null || true
}

# memcaslap_run OUT LIMIT CMD...: runs CMD (a memcaslap command line, maybe behind
# `ip netns exec`) under `timeout LIMIT` with its output in OUT. memcaslap (libmemcached-tools
# 1.1) now and then aborts on its own assertion `req_id == c->request_id % (1 << 16)` in
# ms_sort_udp_packet, its UDP reply bookkeeping: it does so against memcached 1.6 on loopback
# as well (1 of 60 one-second runs here), so that abort says nothing about the
# server. On that abort only, the first run's output is moved to OUT.aborted, OUT says so,
# and CMD runs once more. Returns the status of the last run.
memcaslap_run() {
	local out=$1 limit=$2
	shift 2
	timeout -k 5 "$limit" "$@" >"$out" 2>&1 && return 0
	grep -q 'ms_sort_udp_packet: Assertion .req_id == c->request_id' "$out" || return 1
	mv "$out" "$out.aborted"
	printf 'memcaslap_run: memcaslap aborted on its own UDP request-id assertion (its bug, seen with memcached 1.6 too; that run is in %s): running it once more\n' \
		"$out.aborted" >"$out"
	timeout -k 5 "$limit" "$@" >>"$out" 2>&1
}

# memcaslap_verdict OUT UDP EACH: judge memcaslap's closing lines in OUT, e.g.
#   cmd_get: 371792   cmd_set: 41315   verify_failed: 0   ...
#   Run time: 20.0s Ops: 413107 TPS: 82609 Net_rate: 92.4M/s
# (with -U also packet_disorder, packet_drop, udp_timeout): a "Run time ... Ops"
# line with ops done, verify_failed 0, no error lines, gets and sets done (EACH=1:
# both; else their sum), and with UDP=udp timeouts under 0.1% of ops. The verdict
# is appended to OUT; non-zero on failure.
memcaslap_verdict() {
	local out=$1 udp=$2 each=$3
	awk -v udp="$udp" -v each="$each" '
	function fail(msg) { print "memcaslap check: " msg; bad = 1 }
	/^[a-z_]+: [0-9]+[ \t]*$/ { v[substr($1, 1, length($1) - 1)] = $2 + 0 }
	/^Run time:/ { for (i = 1; i < NF; i++) if ($i == "Ops:") ops = $(i + 1) + 0; runline = 1 }
	/[Ee]rror|[Ff]ail/ && !/^verify_failed: / { fail("reported: " $0) }
	END {
		if (!runline) fail("no \"Run time: ... Ops: N\" line")
		if (!("verify_failed" in v)) fail("no verify_failed line")
		else if (v["verify_failed"] != 0) fail("verify_failed = " v["verify_failed"])
		if (ops <= 0) fail("no operations done (Ops: " ops ")")
		if (each && (v["cmd_get"] <= 0 || v["cmd_set"] <= 0)) fail("no gets or no sets")
		if (!each && v["cmd_get"] + v["cmd_set"] <= 0) fail("cmd_get + cmd_set = 0")
		if (udp == "udp" && v["udp_timeout"] * 1000 > ops)
			fail("udp_timeout " v["udp_timeout"] " is over 0.1% of " ops " ops")
		if (!bad) printf "memcaslap check: ok (ops %d, get %d, set %d, verify_failed 0)\n",
			ops, v["cmd_get"], v["cmd_set"]
		exit bad
	}' "$out" >"$out.parsed" || { cat "$out.parsed" >>"$out"; return 1; }
	cat "$out.parsed" >>"$out"
}

# keep_or_remove_logs KEEP DIR WHO: for an EXIT trap: with KEEP=1 prints "WHO: logs kept in
# DIR", else removes DIR. Returns 0.
keep_or_remove_logs() {
	if (($1)); then
		printf '%s: logs kept in %s\n' "$3" "$2"
	else
		rm -rf "$2"
	fi
}

# report_check NAME OK T0 OUT SLOG LINES [NOTE]: count the check, print PASS/FAIL
# (NOTE in parentheses after PASS; a memcaslap run twice by memcaslap_run says so there too, so
# how often memcaslap aborts stays in sight), and on failure the ends of both logs.
report_check() {
	local name=$1 ok=$2 t0=$3 out=$4 slog=$5 lines=$6 note=${7:-}
	if grep -q '^memcaslap_run:' "$out" 2>/dev/null; then
		note="${note:+$note; }memcaslap run twice: its own UDP request-id abort"
	fi
	if ((ok)); then
		PASSED=$((PASSED + 1))
		printf 'PASS %s%s\n' "$name" "${note:+ ($note)}"
	else
		FAILED=$((FAILED + 1))
		printf 'FAIL %s\n' "$name"
		show_log "$out" "$name: check output" "$lines"
		show_log "$slog" "$name: server log" "$lines"
		printf -- '---- end of %s ----\n' "$name"
	fi
	TIMES+=("$name=$((SECONDS - t0))s")
}

# report_single NAME RC: the closing lines of a script that is one check (for scripts/test.sh's
# count): "PASS NAME" and "1 passed, 0 failed" when RC is 0, else "FAIL NAME (exit RC)" and
# "0 passed, 1 failed". Returns 0; the caller exits with RC.
report_single() {
	if (($2 == 0)); then
		printf 'PASS %s\n1 passed, 0 failed\n' "$1"
	else
		printf 'FAIL %s (exit %d)\n0 passed, 1 failed\n' "$1" "$2"
	fi
}

# finish_checks RAN ONLY START: the closing lines ("N passed, M failed"); non-zero on failure.
finish_checks() {
	if (($1 == 0)); then
		printf 'run.sh: no check named %s (see --list)\n' "$2" >&2
		FAILED=$((FAILED + 1))
	fi
	printf 'run.sh: times: %s; total %ds\n' "${TIMES[*]}" $((SECONDS - $3))
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	((FAILED == 0))
}

# ---------------------------------------------------------------- servers on loopback

# server_path PATH: prints the absolute path of the server executable PATH (a name without
# "/" is looked up in $PATH; symlinks are kept as named). Returns 1 when that is not an
# executable; it prints the path it tried then (empty for a name not in $PATH), for the
# caller's message.
server_path() {
	local path=$1
	if [[ $path != */* ]]; then
		path=$(command -v "$path" || true)
	fi
	if [[ ! -x $path ]]; then
		printf '%s\n' "$path"
		return 1
	fi
	printf '%s/%s\n' "$(cd "$(dirname "$path")" && pwd)" "$(basename "$path")"
}

# resolve_path PATH BASE: prints PATH with symlinks resolved (realpath) when it exists as
# given (relative to the current folder), else BASE/PATH when that exists (a default
# relative to the repository), else PATH unchanged (the caller's -x test then fails).
# Returns 0.
resolve_path() {
	if [[ -e $1 ]]; then
		realpath "$1"
	elif [[ -e $2/$1 ]]; then
		realpath "$2/$1"
	else
		printf '%s\n' "$1"
	fi
}

# pick_port [KIND...]: prints a random port on 127.0.0.1 that is free right now for every
# KIND (tcp, udp; default both, for a server taking -U PORT too). From 20000..31999, below
# the kernel's ephemeral range, so client sockets do not take it meanwhile. Non-zero (and
# "no free port found" on stderr) when 200 tries find none.
pick_port() {
	"$PYTHON" - "$@" <<'EOF'
import random, socket, sys
kinds = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
wanted = [kinds[k] for k in sys.argv[1:]] or list(kinds.values())
for _ in range(200):
    port = random.randrange(20000, 32000)
    try:
        for kind in wanted:
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", port))
            finally:
                s.close()
    except OSError:
        continue
    print(port)
    break
else:
    raise SystemExit("no free port found")
EOF
}

# ask_version PORT [LIMIT]: sends "version" to 127.0.0.1:PORT over TCP and prints the
# reply line (without its CR) when it is "VERSION ..."; connecting, sending and reading
# may take LIMIT seconds in all (default 3). Returns 0 when the server answered VERSION,
# 1 otherwise (refused, silent, closed, another reply).
# shellcheck disable=SC2016  # $1 expands in the inner shell
ask_version() {
	local line
	line=$(timeout "${2:-3}" bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "version\r\n" >&3
		IFS= read -r line <&3
		printf "%s" "$line"
	' _ "$1" 2>/dev/null) || return 1
	line=${line%$'\r'}
	[[ $line == VERSION* ]] || return 1
	printf '%s\n' "$line"
}

# wait_for_version PID PORT TRIES [LIMIT]: waits for the server PID (started in the
# background) to answer on 127.0.0.1:PORT: up to TRIES times, 0.1 s apart, checks that PID
# still runs and asks ask_version PORT LIMIT. Prints the VERSION line once it answers.
# Returns 0 when it answered, 1 when PID exited first, 2 when it never answered.
wait_for_version() {
	local pid=$1 port=$2 tries=$3 limit=${4:-3} i
	for ((i = 0; i < tries; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		ask_version "$port" "$limit" && return 0
		sleep 0.1
	done
	return 2
}

# stop_pid PID SECONDS: stops the background process PID (a child of this shell): SIGTERM,
# up to SECONDS (whole) for it to exit, then SIGKILL if it still runs; reaps it. Sets
# STOP_KILLED to 1 when SIGKILL was needed, else 0. Returns PID's exit status as `wait`
# reports it (0 for a clean exit, 143 when SIGTERM killed it, 137 after SIGKILL).
# shellcheck disable=SC2034  # STOP_KILLED is the caller's
stop_pid() {
	local pid=$1 seconds=$2 i rc=0
	STOP_KILLED=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < seconds * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		STOP_KILLED=1
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# ---------------------------------------------------------------- nicached as the memif server

# MEMIF_ZC=1 (set by the caller) runs the lab in zero-copy mode (drivers-config/memif-zc.ini):
# nicached (or testpmd in its place) is the memif client lending its own mbufs, the load
# generator the memif server copying frames into and out of them, as a NIC's DMA would; the
# generator must listen before nicached starts. Default: nicached the memif server
# (drivers-config/memif.ini), the generator the client copying nothing.
# MEMIF_PAGES (set by the caller): "huge" runs nicached (--require-hugepages: it refuses to start
# on 4 KiB pages) and testpmd on 2 MiB hugepages, which the caller has reserved; "4k" runs both
# on 4 KiB pages (EAL --no-huge); unset, testpmd runs on 4 KiB pages and nicached on what it
# finds (hugepages when enough are free and it runs as root; in zero-copy mode 4 KiB pages).
# The load generator runs on 4 KiB pages in every case.

# memif_pages WORD: prints the MEMIF_PAGES a bench's --pages WORD means: huge or 4k as given;
# auto: huge when 512 2 MiB pages (1 GiB) are free, else 4k. 1 for any other word.
memif_pages() {
	local free
	case $1 in
	huge | 4k) echo "$1" ;;
	auto)
		free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
		if ((free >= 512)); then echo huge; else echo 4k; fi ;;
	*) return 1 ;;
	esac
}

# memif_pages_name PAGES: "2 MiB hugepages" or "4 KiB pages", for a bench's output.
memif_pages_name() {
	if [[ $1 == huge ]]; then echo "2 MiB hugepages"; else echo "4 KiB pages"; fi
}

# poll_while PID SECONDS CMD...: runs CMD every 50 ms until it succeeds, while PID lives, for
# at most SECONDS (tenths are fine). 0 once CMD succeeded; 1 when PID exited or the time ran
# out (CMD is tried once more at the end).
poll_while() {
	local pid=$1 i n
	n=$(awk -v s="$2" 'BEGIN { printf "%d", s * 20 }')
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	"$@"
}

# log_wait FILE PATTERN PID SECONDS: waits until a line of FILE matches the grep PATTERN, while
# PID lives, for at most SECONDS. 0 once it matches; 1 when PID exited or the time ran out.
log_wait() {
	poll_while "$3" "$4" grep -q -- "$2" "$1" 2>/dev/null
}

# memif_lab IFACE: sets MEMIF_SOCKET (/run/nicached-IFACE.memif) and two arrays of EAL
# arguments (no hugepages; the rings of the profiles: rsize=10, bsize=2048): MEMIF_PEER_EAL,
# the load generator's on the other end (the memif client, or with MEMIF_ZC=1 the server), and
# MEMIF_OWN_EAL, a DPDK application's standing in nicached's place (testpmd for the floor: the
# server, or with MEMIF_ZC=1 the zero-copy client, which needs EAL's multi-process channel).
memif_lab() {
	MEMIF_SOCKET=/run/nicached-$1.memif
	local rings="id=0,socket=$MEMIF_SOCKET,rsize=10,bsize=2048"
	# shellcheck disable=SC2034  # the caller's
	# The stand-in's pages: hugepages without shared files (--in-memory implies --no-shconf);
	# on 4 KiB pages the zero-copy client keeps EAL's multi-process channel.
	local pages=(--no-huge --no-shconf)
	if [[ ${MEMIF_PAGES:-} == huge ]]; then
		pages=(--in-memory)
	elif [[ ${MEMIF_ZC:-0} == 1 ]]; then
		pages=(--no-huge)
	fi
	if [[ ${MEMIF_ZC:-0} == 1 ]]; then
		MEMIF_PEER_EAL=(--no-huge --no-shconf --no-pci "--vdev=net_memif0,role=server,$rings")
		MEMIF_OWN_EAL=("${pages[@]}" --single-file-segments --no-pci
			"--vdev=net_memif0,role=client,$rings,zero-copy=yes")
	else
		MEMIF_PEER_EAL=(--no-huge --no-shconf --no-pci "--vdev=net_memif0,role=client,$rings")
		MEMIF_OWN_EAL=("${pages[@]}" --no-pci "--vdev=net_memif0,role=server,$rings")
	fi
}

# memif_peer_first LOG CMD...: in zero-copy mode (MEMIF_ZC=1) the generator, the memif server,
# must listen before nicached starts: runs CMD (its command line) in the background with its
# output in LOG, sets MEMIF_PEER_PID and waits up to 10 s for it to listen on MEMIF_SOCKET
# (DPDK's memif binds it in the abstract namespace: no file, @PATH in /proc/net/unix). Else
# does nothing (MEMIF_PEER_PID empty: run CMD after the server starts). 1, with the end of LOG
# on stderr, when it did not listen.
memif_peer_first() {
	local log=$1
	shift
	MEMIF_PEER_PID=""
	[[ ${MEMIF_ZC:-0} == 1 ]] || return 0
	"$@" >"$log" 2>&1 &
	MEMIF_PEER_PID=$!
	# shellcheck disable=SC2016  # awk's program, not the shell's
	poll_while "$MEMIF_PEER_PID" 10 awk -v s="@$MEMIF_SOCKET" '$NF == s { f = 1 } END { exit !f }' \
		/proc/net/unix && return 0
	grep -v '^EAL' "$log" | tail -n 20 >&2
	echo "the load generator is not listening on $MEMIF_SOCKET" >&2
	return 1
}

# memif_server_start IFACE LOG NICACHED [ARG...]: starts NICACHED --backend dpdk on the memif lab
# with no kernel on the path: the memif server (drivers-config/memif.ini: the client connects to
# MEMIF_SOCKET, /run/nicached-IFACE.memif), or with MEMIF_ZC=1 the zero-copy client of the
# generator already listening there (memif-zc.ini, EAL --single-file-segments); address
# $MEMIF_SERVER_IP/24 (10.88.0.1), ARG... (workers, ports, memory), EAL --file-prefix IFACE plus
# $MEMIF_EAL (e.g. --no-huge). Its site file is LOG.site.ini, its output LOG. The array
# MEMIF_WRAP, when set, goes in front (taskset, valgrind). Waits up to MEMIF_START_WAIT seconds
# (30) for "nicached: serving". Sets MEMIF_PID (the server, a child of this shell). Returns 0
# when it serves; 1 when it exited or never served (then it is stopped and "nicached did not
# start" is appended to LOG). Sets MEMIF_SOCKET and MEMIF_PEER_EAL (memif_lab): the
# generator's EAL arguments (mcgen after --), to which it adds its own -l and --file-prefix.
# shellcheck disable=SC2034  # the callers read them
MEMIF_SERVER_IP=10.88.0.1 MEMIF_CLIENT_IP=10.88.0.2
MEMIF_PID=""
MEMIF_SOCKET=""
MEMIF_STOP=""
MEMIF_PREFIX=""
# shellcheck disable=SC2034  # the callers read them (memif_lab, memif_peer_first)
MEMIF_PEER_EAL=() MEMIF_OWN_EAL=() MEMIF_PEER_PID=""
memif_server_start() {
	local iface=$1 log=$2 nicached=$3 profile=memif eal="--file-prefix $1"
	shift 3
	local wrap=() pages=()
	[[ -z ${MEMIF_WRAP+x} ]] || wrap=("${MEMIF_WRAP[@]}")
	memif_lab "$iface"
	case ${MEMIF_PAGES:-} in
	huge) pages=(--require-hugepages) ;;
	4k) [[ ${MEMIF_ZC:-0} == 1 ]] || eal+=" --no-huge" ;;
	esac
	if [[ ${MEMIF_ZC:-0} == 1 ]]; then
		# The generator listens on the socket; the memory nicached lends it is shared as
		# files, one per memory segment list. On 4 KiB pages EAL's multi-process channel
		# stays (memif's zero-copy client registers with it: no --no-shconf); on hugepages
		# nicached's own choice (--in-memory) serves.
		profile=memif-zc
		[[ ${MEMIF_PAGES:-} == huge ]] || eal+=" --no-huge"
		eal+=" --single-file-segments"
		MEMIF_PREFIX=$iface
	fi
	printf '[port]\nprofile = %s\niface = %s\n[ipv4]\naddress = %s/24\n' "$profile" "$iface" \
		"$MEMIF_SERVER_IP" >"$log.site.ini"
	"${wrap[@]}" "$nicached" --backend dpdk --site "$log.site.ini" "${pages[@]}" "$@" \
		--eal "$eal${MEMIF_EAL:+ $MEMIF_EAL}" </dev/null >"$log" 2>&1 &
	MEMIF_PID=$!
	log_wait "$log" '^nicached: serving' "$MEMIF_PID" "${MEMIF_START_WAIT:-30}" && return 0
	memif_server_stop 5 || true
	echo "nicached did not start" >>"$log"
	return 1
}

# memif_server_stop [SECONDS]: stops the server memif_server_start started (SIGTERM, SIGKILL
# after SECONDS, default 5). Sets MEMIF_STOP to "ok" after a clean exit
# (status 0), else to what went wrong ("did not stop within N s of SIGTERM (killed)", "exited
# with status N": a crash on the way out). Returns 0 when it was ok or nothing ran, 1 otherwise.
memif_server_stop() {
	local rc=0
	MEMIF_STOP=ok
	if [[ -n $MEMIF_PID ]]; then
		stop_pid "$MEMIF_PID" "${1:-5}" || rc=$?
		if ((STOP_KILLED)); then
			MEMIF_STOP="did not stop within ${1:-5} s of SIGTERM (killed)"
		elif ((rc != 0)); then
			MEMIF_STOP="exited with status $rc"
		fi
		MEMIF_PID=""
	fi
	# (zero-copy mode: EAL's runtime folder of the multi-process channel; the memif socket is
	# in the abstract namespace and goes with its process)
	[[ -z $MEMIF_PREFIX ]] || rm -rf "/var/run/dpdk/$MEMIF_PREFIX"
	MEMIF_PREFIX=""
	[[ $MEMIF_STOP == ok ]]
}
