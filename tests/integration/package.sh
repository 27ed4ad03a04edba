#!/usr/bin/env bash
# The Debian package, end to end, as an operator meets it (root only):
#   build it from this tree (scripts/build-deb.sh), install it with apt-get (its dependencies
#   resolved as on a fresh machine), check the files (binary, nicached(8), profiles, /etc
#   examples, unit), start the service — with systemctl where systemd runs, else the unit's own
#   ExecStartPre and ExecStart lines by hand, on a free port — have a memcached client
#   answered, stop it cleanly (SIGTERM: exit 0 and the final figures), then purge the package
#   and check nothing of it is left. Restores the hugepage count the helper may have raised.
#
#   tests/integration/package.sh [--deb FILE]   (--deb: install this package, skip the build)
#
# Prints "PASS package" or "FAIL package: why", then "N passed, M failed" (scripts/test.sh counts
# it), and exits accordingly.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEB=""
while (($#)); do
	case $1 in
	--deb) DEB=$2; shift 2 ;;
	*) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $(id -u) -eq 0 ]] || { echo "SKIP package (needs root)"; exit 0; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nc-pkg.XXXXXX")
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HP_BEFORE=$(cat "$HP" 2>/dev/null || echo "")
SERVER_PID=""
INSTALLED=0
cleanup() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	if ((INSTALLED)) && dpkg -s nicached >/dev/null 2>&1; then
		apt-get purge -y -qq nicached >/dev/null 2>&1 || true
	fi
	[[ -n $HP_BEFORE && -w $HP ]] && echo "$HP_BEFORE" >"$HP" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL package: $*"
	[[ -f $WORK/server.log ]] && tail -20 "$WORK/server.log"
	echo "0 passed, 1 failed"
	exit 1
}

if [[ -z $DEB ]]; then
	"$ROOT/scripts/build-deb.sh" "$WORK/out" >"$WORK/build.out" 2>&1 || {
		cat "$WORK/build.out"
		fail "the package did not build"
	}
	DEB=$(ls "$WORK"/out/nicached_*.deb)
fi
dpkg -s nicached >/dev/null 2>&1 && fail "a nicached package is installed already: not touching it"
INSTALLED=1
apt-get install -y -qq "$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")" >"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log"; fail "apt-get install failed"; }

# What an operator looks for.
for f in /usr/bin/nicached /etc/nicached/nicached.ini /etc/nicached/site.ini \
	/usr/share/nicached/drivers-config/af_xdp.ini /lib/systemd/system/nicached.service \
	/usr/bin/mcgen /usr/share/nicached/mcgen-plot.py; do
	[[ -e $f ]] || fail "$f is not installed"
done
mcgen_help=$(/usr/bin/mcgen --help)
[[ $mcgen_help == *'--sweep'* ]] || fail "mcgen --help lacks the options"
man -w nicached >/dev/null 2>&1 || [[ -e /usr/share/man/man8/nicached.8.gz ]] || fail "no nicached(8)"
# (Outputs captured first: `cmd | grep -q` under pipefail fails when grep stops reading early.)
man_text=$(zcat /usr/share/man/man8/nicached.8.gz)
[[ $man_text == *'memory\-limit'* ]] || fail "nicached(8) lacks the options"
help_text=$(/usr/bin/nicached -h)
[[ $help_text == *'/usr/share/nicached/drivers-config'* ]] ||
	fail "nicached -h does not name the installed profiles: $(grep drivers-dir <<<"$help_text")"
files=$(dpkg -L nicached)
[[ $files != *"$ROOT"* ]] || fail "the package names the build tree"
bin_strings=$(strings /usr/bin/nicached)
[[ $bin_strings != *"$ROOT"* && $bin_strings != *"/nc-deb."* ]] ||
	fail "the installed binary names the build tree"

# The unit's commands.
unit=/lib/systemd/system/nicached.service
pre=$(sed -n 's/^ExecStartPre=-\{0,1\}//p' "$unit")
start=$(sed -n 's/^ExecStart=//p' "$unit")
[[ -n $pre && -n $start ]] || fail "the unit has no ExecStartPre/ExecStart"

port_free() { ! ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }
if [[ -d /run/systemd/system ]]; then
	# The package started its unit (dh_installsystemd): restart it to see a start by systemd.
	PORT=11211
	systemctl restart nicached || { journalctl -u nicached --no-pager | tail -20; fail "systemctl restart failed"; }
	systemctl is-active --quiet nicached || fail "nicached.service is not active"
else
	# No systemd here (a container): run the unit's lines as systemd would, on a free port.
	PORT=0
	for p in $(shuf -i 20000-60000 -n 20); do port_free "$p" && { PORT=$p; break; }; done
	((PORT)) || fail "no free port"
	$pre >"$WORK/pre.log" 2>&1 || fail "ExecStartPre failed: $(cat "$WORK/pre.log")"
	grep -q 'MB needed' "$WORK/pre.log" || fail "the hugepage helper said nothing useful: $(cat "$WORK/pre.log")"
	# shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
	$start -p "$PORT" -vv </dev/null >"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
fi

answered=0
for _ in $(seq 1 100); do
	if out=$(printf 'set pkg 0 0 5\r\nhello\r\nget pkg\r\nquit\r\n' |
		timeout 2 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(sys.stdin.buffer.read())
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
sys.stdout.write(data.decode())
' "$PORT" 2>/dev/null); then
		if [[ $out == *"VALUE pkg 0 5"*"hello"*"END"* ]]; then
			answered=1
			break
		fi
	fi
	sleep 0.2
done
((answered)) || fail "no client was answered on port $PORT"

if [[ -d /run/systemd/system ]]; then
	systemctl stop nicached || fail "systemctl stop failed"
	journal=$(journalctl -u nicached --no-pager)
	[[ $journal == *stopped* ]] || fail "no clean stop in the journal"
else
	kill -TERM "$SERVER_PID"
	rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=""
	((rc == 0)) || fail "the server exited $rc after SIGTERM"
	grep -q 'nicached: stopped (signal 15)' "$WORK/server.log" || fail "no final figures after SIGTERM"
	grep -qE '^[0-9-]+T[0-9:.]+Z nicached\[[0-9]+\]: ' "$WORK/server.log" ||
		fail "log lines lack their time and level"
fi

apt-get purge -y -qq nicached >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "apt-get purge failed"; }
INSTALLED=0
for f in /usr/bin/nicached /etc/nicached/nicached.ini /lib/systemd/system/nicached.service \
	/usr/share/nicached /usr/bin/mcgen; do
	[[ ! -e $f ]] || fail "$f is left after purge"
done
echo "PASS package"
echo "1 passed, 0 failed"
