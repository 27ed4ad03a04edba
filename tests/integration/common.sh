# shellcheck shell=bash
# Pieces both integration runners use (tests/integration/run.sh on loopback and
# tests/integration/lab/run.sh in the netns lab). Sourced, not run.
#
# The caller sets PASSED=0 FAILED=0 TIMES=() before running checks.

# PYTHON: the Debian interpreter that has pymemcache and pytest (NC_PYTHON overrides).
if [[ -x /usr/bin/python3 ]]; then
	PYTHON=${NC_PYTHON:-/usr/bin/python3}
else
	PYTHON=${NC_PYTHON:-python3}
fi
export PYTHONDONTWRITEBYTECODE=1

# show_log FILE TITLE LINES: the end of a log, framed.
show_log() {
	printf -- '---- %s (last %d lines) ----\n' "$2" "$3"
	tail -n "$3" "$1" 2>/dev/null || true
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

# report_check NAME OK T0 OUT SLOG LINES [NOTE]: count the check, print PASS/FAIL
# (NOTE in parentheses after PASS), and on failure the ends of both logs.
report_check() {
	local name=$1 ok=$2 t0=$3 out=$4 slog=$5 lines=$6 note=${7:-}
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
