#!/usr/bin/env bash
# mcgen against real servers: memcached (/usr/bin/memcached) and nicached's socket backend,
# each started here on a free loopback port and stopped by pid.
#
#   tests/integration/mcgen.sh [--mcgen PATH] [--nicached PATH] [--memcached PATH]
#
# For each server: TCP and UDP x text, meta and binary, closed loop with a warm-up and a mix of
# get, set, delete and multiget over ranges of key and value sizes; an open-loop run (Poisson
# arrivals) per transport; every run must exit 0 with no error, answer requests, and write JSON
# that parses with errors 0. Then a --sweep with --plot (a PNG must come out), and the negative
# check: a fake server (mcgen_fake.py) that changes one byte of every 50th value must make mcgen
# fail, with the wrong values counted in its JSON; a set refused (quoted), result paths that
# cannot be written (refused before the load), nothing listening on TCP (the run stops at once)
# and on UDP (the warm-up gives up after 3 s), and a UDP server that drops every 7th set (the
# warm-up sends them again, every get hits); Ctrl-C in a long run (the results so far, status
# 130) and SIGTERM in a connect that gets no answer (143 at once); memcached turning
# connections away over its -c (quoted, the run stops); an open loop over what the window
# carries (the arrivals never sent counted); -j into a pipe and through a symlink; keys drawn
# Zipf (s 0.99, warmed: errors 0, gets hit); the plot script installed elsewhere (a copy named
# by MCGEN_PLOT_SCRIPT draws the PNG); a fake server that stalls 300 ms once under an open loop
# (p90 shows the queued arrivals' wait: latency counts from the scheduled send). About 60 s.
# Prints PASS/FAIL per check and "N passed, M failed" for scripts/test.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
MCGEN=$ROOT/build/app/mcgen/mcgen
NICACHED=$ROOT/build/app/nicached/nicached
MEMCACHED=/usr/bin/memcached
while (($# > 0)); do
	case $1 in
	--mcgen) MCGEN=${2:?}; shift 2 ;;
	--nicached) NICACHED=${2:?}; shift 2 ;;
	--memcached) MEMCACHED=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--mcgen PATH] [--nicached PATH] [--memcached PATH]" >&2; exit 2 ;;
	esac
done
for exe in "$MCGEN" "$NICACHED" "$MEMCACHED"; do
	[[ -x $exe ]] || { echo "mcgen.sh: $exe is not an executable" >&2; exit 2; }
done

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nc-mcgen.XXXXXX")
PASSED=0 FAILED=0 TIMES=()
T0=$SECONDS
SERVER_PID=""

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	[[ -n $SERVER_PID ]] && stop_pid "$SERVER_PID" 5 >/dev/null 2>&1 || true
	keep_or_remove_logs "${KEEP_LOGS:-0}" "$LOGDIR" mcgen.sh
}
trap cleanup EXIT

# start NAME CMD...: starts a server on PORT (chosen here), waits for `version`.
start() {
	local name=$1
	shift
	PORT=$(pick_port tcp udp)
	local cmd=("$@")
	cmd=("${cmd[@]//@PORT@/$PORT}")
	"${cmd[@]}" </dev/null >"$LOGDIR/$name.server.log" 2>&1 &
	SERVER_PID=$!
	wait_for_version "$SERVER_PID" "$PORT" 150 >/dev/null ||
		{ echo "mcgen.sh: $name did not start"; cat "$LOGDIR/$name.server.log"; return 1; }
}

stop() {
	stop_pid "$SERVER_PID" 5 >/dev/null 2>&1 || true
	SERVER_PID=""
}

# json_ok FILE WANT_ERRORS: the JSON parses, has replies, and its errors are 0 (WANT_ERRORS=0)
# or more than 0 with wrong values counted (WANT_ERRORS=1).
json_ok() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want_errors = sys.argv[2] == "1"
steps = r["steps"]
assert steps, "no steps"
replies = sum(s["counters"]["replies"] for s in steps)
assert replies > 0, "no replies"
for s in steps:
    assert s["per_second"], "no per-second records"
    assert s["latency_us"]["p99"] >= s["latency_us"]["p50"] > 0, "latency"
if want_errors:
    assert r["errors"] > 0 and sum(s["counters"]["wrong"] for s in steps) > 0, "no wrong values counted"
else:
    assert r["errors"] == 0, "errors %d" % r["errors"]
print("json ok: %d replies, errors %d" % (replies, r["errors"]))
PY
}

# check NAME WANT_RC WANT_ERRORS MCGEN-ARGS...: one mcgen run against 127.0.0.1:PORT.
check() {
	local name=$1 want_rc=$2 want_errors=$3 t0=$SECONDS rc=0 ok=1
	shift 3
	local out=$LOGDIR/$name.out json=$LOGDIR/$name.json
	timeout 60 "$MCGEN" -s "127.0.0.1:$PORT" -j "$json" "$@" >"$out" 2>&1 || rc=$?
	if ((rc != want_rc)); then
		printf 'exit status %d, want %d\n' "$rc" "$want_rc" >>"$out"
		ok=0
	elif ! json_ok "$json" "$want_errors" >>"$out" 2>&1; then
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$LOGDIR/$SERVER_NAME.server.log" 30
}

# expect NAME WANT_RC PATTERN MAX_S POST MCGEN-ARGS...: one mcgen run against 127.0.0.1:PORT
# that must exit WANT_RC within MAX_S seconds and say PATTERN (grep -E) on stdout or stderr;
# POST, unless -, is a function run after it with the run's output file (what it prints goes
# there), which must return 0. One check, counted once.
expect() {
	local name=$1 want_rc=$2 pattern=$3 max=$4 post=$5 t0=$SECONDS rc=0 ok=1
	shift 5
	local out=$LOGDIR/$name.out
	timeout 60 "$MCGEN" -s "127.0.0.1:$PORT" "$@" >"$out" 2>&1 || rc=$?
	if ((rc != want_rc)); then
		printf 'exit status %d, want %d\n' "$rc" "$want_rc" >>"$out"
		ok=0
	fi
	grep -Eq -- "$pattern" "$out" || { echo "no '$pattern' in the output" >>"$out"; ok=0; }
	if ((SECONDS - t0 > max)); then
		echo "took $((SECONDS - t0)) s, more than $max" >>"$out"
		ok=0
	fi
	if [[ $post != - ]] && ! "$post" "$out" >>"$out" 2>&1; then
		echo "$post failed" >>"$out"
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$LOGDIR/$SERVER_NAME.server.log" 30
}

# interrupt NAME SIGNAL AFTER_S WANT_RC POST MCGEN-ARGS...: one mcgen run against
# 127.0.0.1:PORT, with -j LOGDIR/NAME.json, sent SIGNAL after AFTER_S seconds; it must end
# within a second with WANT_RC and say why in its JSON ("interrupted by SIG..."); POST as
# expect's. mcgen runs as its own job (set -m): a script's background job ignores SIGINT, and
# mcgen leaves a SIGINT it was started ignoring ignored.
interrupt() {
	local name=$1 sig=$2 after=$3 want_rc=$4 post=$5 t0=$SECONDS rc=0 ok=1 gen t1
	shift 5
	local out=$LOGDIR/$name.out json=$LOGDIR/$name.json
	set -m
	"$MCGEN" -s "127.0.0.1:$PORT" -j "$json" "$@" >"$out" 2>&1 &
	gen=$!
	set +m
	sleep "$after"
	kill "-$sig" "$gen"
	t1=$(date +%s%N)
	for _ in $(seq 100); do kill -0 "$gen" 2>/dev/null || break; sleep 0.01; done
	if kill -0 "$gen" 2>/dev/null; then
		echo "still running 1 s after SIG$sig" >>"$out"
		kill -KILL "$gen"
		ok=0
	fi
	wait "$gen" || rc=$?
	echo "ended $((($(date +%s%N) - t1) / 1000000)) ms after SIG$sig" >>"$out"
	((rc == want_rc)) || { echo "exit status $rc, want $want_rc" >>"$out"; ok=0; }
	"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))
assert r["failed"].startswith("interrupted by SIG" + sys.argv[2]), r["failed"]' \
		"$json" "$sig" >>"$out" 2>&1 || ok=0
	if [[ $post != - ]] && ! "$post" "$out" "$json" >>"$out" 2>&1; then
		echo "$post failed" >>"$out"
		ok=0
	fi
	report_check "$name" "$ok" "$t0" "$out" "$LOGDIR/$SERVER_NAME.server.log" 30
}

# interrupted_json_ok OUT JSON: the summary printed; 2.5 s measured, 2 whole seconds and a half.
interrupted_json_ok() {
	grep -q "requests .* sent, .* answered" "$1" || { echo "no summary"; return 1; }
	"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))
s = r["steps"][0]
lens = [p["seconds"] for p in s["per_second"]]
assert 2 < s["seconds"] < 4 and len(lens) == 3 and lens[:2] == [1, 1] and lens[2] < 1, \
    (s["seconds"], lens)
assert s["counters"]["replies"] > 0 and r["errors"] == 0, s["counters"]' "$2"
}

# unsent_json_ok OUT: an open loop far over what one request in flight can carry: every
# arrival due is either sent or counted unsent (400k in 1 s), and the summary says so.
unsent_json_ok() {
	grep -q "unsent [1-9]" "$1" &&
		"$PYTHON" -c 'import json, sys; c = json.load(open(sys.argv[1]))["steps"][0]["counters"]
assert c["unsent"] > 0 and abs(c["sent"] + c["unsent"] - 400000) <= 1, c' "$LOGDIR/unsent.json"
}

# refused_json_ok OUT: no line per second in OUT; the JSON says why the run failed.
refused_json_ok() {
	! grep -q "offered closed" "$1" &&
		"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))
s = r["steps"][0]
assert r["failed"] and "refused" in r["failed"], r["failed"]
assert s["per_second"] == [] and s["seconds"] == 0, s' "$LOGDIR/refused.json"
}

# silent_json_ok OUT: the JSON of a warm-up that heard nothing says so (no stale file left).
silent_json_ok() {
	"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))
assert "no reply" in r["failed"] and r["warm_up"]["failed"] and r["steps"] == [], r' \
		"$LOGDIR/silent.json"
}

# zipf_json_ok OUT: the Zipf run's JSON ($LOGDIR/zipf.json; OUT, the run's output, unused):
# errors 0, the draw recorded, and its gets hit (> 90%; the warm-up set every key and nothing
# deletes).
zipf_json_ok() {
	json_ok "$LOGDIR/zipf.json" 0 && "$PYTHON" -c 'import json, sys
r = json.load(open(sys.argv[1]))
o, c = r["options"], r["steps"][0]["counters"]
assert o["key_dist"] == "zipf" and o["zipf_s"] == 0.99, o
assert c["hits"] > 0.9 * (c["hits"] + c["misses"]) and c["timeouts"] == 0, c' "$LOGDIR/zipf.json"
}

# stall_json_ok OUT: the stall run's JSON ($LOGDIR/stall.json; OUT unused): 2,000 arrivals in
# 1 s, one 300 ms stall: the ~600 due meanwhile count their wait from their scheduled send, so
# p90 is ~200 ms (>= 100 ms asserted), not the ~0.2 ms a count from the actual send would give
# (one slow request of 2,000 moves no p90 or p99); p50 stays normal (< 50 ms: one stall, not a
# slow server); every reply answered, no timeout or error; arrivals still queued when the
# second ends (a slow drain on a busy machine) count as unsent, not as a failure.
stall_json_ok() {
	json_ok "$LOGDIR/stall.json" 0 && "$PYTHON" -c 'import json, sys
r = json.load(open(sys.argv[1]))
s = r["steps"][0]
c, l = s["counters"], s["latency_us"]
assert c["sent"] + c["unsent"] == 2000 and c["replies"] == c["sent"] >= 1000, c
assert c["timeouts"] == 0 and c["wrong"] == 0 and c["late"] == 0, c
assert l["p90"] >= 100000 and l["p50"] < 50000 and l["max"] >= 290000, l
print("latency ok: p50 %(p50).0f us, p90 %(p90).0f us, p99 %(p99).0f us" % l)' "$LOGDIR/stall.json"
}

# fake_udp_hits_ok OUT: after the warm-up every get hit, and the lost sets were counted.
fake_udp_hits_ok() {
	"$PYTHON" -c 'import json, sys; s = json.load(open(sys.argv[1]))["steps"][0]["counters"]
assert s["misses"] == 0 and s["hits"] > 0, s' "$LOGDIR/fake-udp.json"
}

MIX=(-w -k 5000 -m get=60,set=20,delete=5,multiget=15 --mget-keys 5 --key-size 12-60
	--value-size 1-3000 -T 1.5 -q -t 2 -c 4 -d 8)

run_matrix() {
	local t p
	for t in tcp udp; do
		for p in text meta binary; do
			check "$SERVER_NAME-$t-$p" 0 0 -x "$t" -P "$p" "${MIX[@]}"
		done
		check "$SERVER_NAME-$t-open" 0 0 -x "$t" -P text -r 20k --arrivals poisson "${MIX[@]}"
	done
}

MC_USER=()
(($(id -u) == 0)) && MC_USER=(-u nobody)
SERVER_NAME=memcached
start memcached "$MEMCACHED" "${MC_USER[@]}" -p @PORT@ -U @PORT@ -l 127.0.0.1 -t 1 -m 64
run_matrix
stop

# A server that turns connections away (memcached over its -c): its words quoted, the run
# stopped as for a connection refused (it used to count each as wrong and reconnect forever).
SERVER_NAME=memcached-c40
start memcached-c40 "$MEMCACHED" "${MC_USER[@]}" -p @PORT@ -U 0 -l 127.0.0.1 -t 1 -c 40
expect memcached-turned-away 1 "turned a connection away: 'ERROR Too many open connections'" 10 \
	- -c 80 -d 1 -T 5 -q
stop

SERVER_NAME=nicached
start nicached "$NICACHED" -p @PORT@ -U @PORT@ -l 127.0.0.1 -t 1
run_matrix
# Keys drawn Zipf (s 0.99: a few hot keys take most requests) end to end, a mix over them.
expect nicached-zipf 0 "errors 0 \(wrong 0, server 0\)" 10 zipf_json_ok -w -k 5000 \
	--key-dist zipf --zipf-s 0.99 -m get=70,set=20,multiget=10 --value-size 1-1000 -T 1 -q \
	-t 2 -c 4 -d 8 -j "$LOGDIR/zipf.json"
# A sweep with its table and plot.
t0=$SECONDS
out=$LOGDIR/sweep.out
ok=1
timeout 60 "$MCGEN" -s "127.0.0.1:$PORT" -q -T 1 -k 2000 -w --sweep 5k,10k,20k \
	--plot "$LOGDIR/sweep.png" -j "$LOGDIR/sweep.json" >"$out" 2>&1 || ok=0
grep -q "offered/s *achieved/s" "$out" || ok=0
png_magic=$(head -c 8 "$LOGDIR/sweep.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
[[ $png_magic == 89504e470d0a1a0a ]] ||
	{ echo "no PNG written" >>"$out"; ok=0; }
json_ok "$LOGDIR/sweep.json" 0 >>"$out" 2>&1 || ok=0
report_check nicached-sweep-plot "$ok" "$t0" "$out" "$LOGDIR/nicached.server.log" 30
# The plot script as a package installs it (away from the source tree, e.g.
# /usr/share/nicached): a copy named by MCGEN_PLOT_SCRIPT draws the sweep's PNG; a missing one
# fails the run before any load (status 2), so the variable, not the source tree, chose it.
t0=$SECONDS
out=$LOGDIR/plot-installed.out
ok=1
note=""
script=$LOGDIR/share/nicached/mcgen-plot.py
mkdir -p "${script%/*}"
install -m 755 "$ROOT/app/mcgen/mcgen-plot.py" "$script"
# (mcgen runs /usr/bin/python3, whatever NC_PYTHON says)
if ! /usr/bin/python3 "$script" --check >"$out" 2>&1; then
	note="skipped: python3-matplotlib is missing"
else
	MCGEN_PLOT_SCRIPT=$script timeout 30 "$MCGEN" -s "127.0.0.1:$PORT" -q -T 0.3 -k 500 -w \
		--sweep 5k,10k --plot "$LOGDIR/installed.png" >>"$out" 2>&1 || ok=0
	png_magic=$(head -c 8 "$LOGDIR/installed.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
	[[ $png_magic == 89504e470d0a1a0a ]] || { echo "no PNG written" >>"$out"; ok=0; }
	rc=0
	MCGEN_PLOT_SCRIPT=$LOGDIR/none/mcgen-plot.py timeout 30 "$MCGEN" -s "127.0.0.1:$PORT" -q \
		-T 0.3 --sweep 5k --plot "$LOGDIR/none.png" >>"$out" 2>&1 || rc=$?
	((rc == 2)) || { echo "MCGEN_PLOT_SCRIPT missing: exit status $rc, want 2" >>"$out"; ok=0; }
	grep -qF -- "--plot: $LOGDIR/none/mcgen-plot.py failed" "$out" ||
		{ echo "MCGEN_PLOT_SCRIPT not used" >>"$out"; ok=0; }
fi
report_check nicached-plot-installed "$ok" "$t0" "$out" "$LOGDIR/nicached.server.log" 30 "$note"
# Ctrl-C in a 30 s run: mcgen stops at once, prints the seconds so far (the last one as long as
# it ran) and the summary, writes its JSON (why it stopped) and exits 130.
interrupt nicached-interrupted INT 2.5 130 interrupted_json_ok -w -k 2000 -T 30
# -j into a pipe gets one JSON document (no placeholder before it); -j through a symlink
# updates the file it names and leaves the link a link.
t0=$SECONDS
out=$LOGDIR/json-targets.out
ok=1
"$MCGEN" -s "127.0.0.1:$PORT" -w -k 500 -T 0.5 -q -j >(cat >"$LOGDIR/piped.json") \
	>"$out" 2>&1 || ok=0
echo '{"stale": true}' >"$LOGDIR/real.json"
ln -sf real.json "$LOGDIR/link.json"
"$MCGEN" -s "127.0.0.1:$PORT" -w -k 500 -T 0.5 -q -j "$LOGDIR/link.json" >>"$out" 2>&1 || ok=0
sleep 0.2 # (the pipe's cat)
json_ok "$LOGDIR/piped.json" 0 >>"$out" 2>&1 || ok=0
json_ok "$LOGDIR/real.json" 0 >>"$out" 2>&1 || ok=0
[[ -L $LOGDIR/link.json ]] || { echo "link.json is no longer a symlink" >>"$out"; ok=0; }
report_check nicached-json-targets "$ok" "$t0" "$out" "$LOGDIR/nicached.server.log" 30
# An offered rate the window cannot carry: the arrivals never sent are counted, not dropped.
expect nicached-open-loop-unsent 0 "unsent [1-9]" 10 unsent_json_ok -w -k 1000 -r 400k -T 1 \
	-c 1 -d 1 -q -j "$LOGDIR/unsent.json"
# A set the server refuses: counted as an error, its words quoted, exit status 1.
expect nicached-refused-set 1 "answered an error: 'SERVER_ERROR object too large" 20 - \
	-k 5 --value-size 1048576 -w -c 1 -d 1 -T 1 -q
# A result file that cannot be written: said before any load (-T 30 would run 30 s), status 2.
expect nicached-bad-json-path 2 "--json /nonexistent/.*No such file" 5 - -T 30 -q \
	-j /nonexistent/mcgen.json
expect nicached-json-path-folder 2 "--json $LOGDIR: Is a directory" 5 - -T 30 -q -j "$LOGDIR"
expect nicached-bad-plot-path 2 "--plot /nonexistent/.*No such file" 5 - -T 30 -q \
	--sweep 1k,2k --plot /nonexistent/mcgen.png
stop

# Nothing listening: a TCP connection refused stops the run at once (no line per second, the
# JSON says why); UDP gives up its warm-up after 3 s without an answer, not a timeout a key.
SERVER_NAME=nothing
PORT=$(pick_port tcp udp)
expect nothing-tcp-refused 1 "connect to 127.0.0.1:[0-9]+: Connection refused" 5 \
	refused_json_ok -T 5 -t 2 -c 2 -j "$LOGDIR/refused.json"
echo '{"stale": true}' >"$LOGDIR/silent.json"
expect nothing-udp-warm-up 1 "no reply for [0-9.]+ s while setting the keys" 10 \
	silent_json_ok -x udp -w -T 1 -q -j "$LOGDIR/silent.json"

# A connect that gets no answer (a listener whose backlog is full) waits 3 timeouts, 15 s
# here; SIGTERM ends that wait at once.
SERVER_NAME=full-backlog
PORT=$(pick_port tcp)
"$PYTHON" "$ROOT/tests/integration/mcgen_fake.py" "$PORT" --full-backlog </dev/null \
	>"$LOGDIR/full-backlog.server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do grep -q ready "$LOGDIR/full-backlog.server.log" && break; sleep 0.1; done
interrupt full-backlog-connect-interrupted TERM 1 143 - -T 3 --timeout 5000
stop

# UDP loses datagrams: a fake server that drops every 7th set must not cost a hit after the
# warm-up (the lost sets are sent again), and the JSON counts them.
SERVER_NAME=fake-udp
PORT=$(pick_port udp)
"$PYTHON" "$ROOT/tests/integration/mcgen_fake.py" "$PORT" --udp-drop 7 </dev/null \
	>"$LOGDIR/fake-udp.server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do grep -q ready "$LOGDIR/fake-udp.server.log" && break; sleep 0.1; done
grep -q ready "$LOGDIR/fake-udp.server.log" || echo "the UDP fake server did not start"
expect fake-udp-warm-retry 0 "warm-up: 500 of 500 keys set .*sent again [1-9]" 20 \
	fake_udp_hits_ok -x udp -w -k 500 -m get=100 -T 1 -q -c 2 -d 4 --timeout 200 \
	-j "$LOGDIR/fake-udp.json"
stop

# The negative check: a server that changes one byte of every 50th value.
SERVER_NAME=fake
PORT=$(pick_port tcp)
"$PYTHON" "$ROOT/tests/integration/mcgen_fake.py" "$PORT" 50 </dev/null \
	>"$LOGDIR/fake.server.log" 2>&1 &
SERVER_PID=$!
wait_for_version "$SERVER_PID" "$PORT" 100 >/dev/null || echo "fake server did not start"
check fake-wrong-byte 1 1 -P text -w -k 500 -m get=80,set=10,multiget=10 -T 1 -q -c 2 -d 4
grep -q "wrong byte at offset 0" "$LOGDIR/fake-wrong-byte.out" ||
	{ echo "FAIL fake-wrong-byte-message (no 'wrong byte at offset 0' shown)";
	  FAILED=$((FAILED + 1)); PASSED=$((PASSED - 1)); }
stop

# Coordinated omission is not hidden: a server that stalls 300 ms once (its 200th get, early in
# the run) under an open loop of 2,000/s on one connection of depth 1 (the stall blocks every
# send after it); the timeout (5 s) is far above the stall.
SERVER_NAME=fake-stall
PORT=$(pick_port tcp)
"$PYTHON" "$ROOT/tests/integration/mcgen_fake.py" "$PORT" --stall 200 300 </dev/null \
	>"$LOGDIR/fake-stall.server.log" 2>&1 &
SERVER_PID=$!
wait_for_version "$SERVER_PID" "$PORT" 100 >/dev/null || echo "fake server did not start"
expect fake-stall-open-loop 0 "errors 0 \(wrong 0, server 0\)" 10 stall_json_ok -w -k 200 \
	-r 2000 --arrivals uniform -T 1 -t 1 -c 1 -d 1 --timeout 5000 -q -j "$LOGDIR/stall.json"
stop

finish_checks 1 "" "$T0"
