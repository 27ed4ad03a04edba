#!/usr/bin/env bash
# Memory regression guard next to memcached (a short run of scripts/bench-memory.sh).
#
#   tests/integration/memory.sh --server PATH [--memcached PATH]
#
# Three runs of the mixed (100 B-10 KB) and large (100 KB-1 MB) mixes at -m 64, both servers
# side by side; passes when nicached holds at least 0.9x memcached's `bytes` (medians) after
# writing 3x -m in each (before chained values and page moves, large held 0.27-0.58x). The full
# comparison (four mixes, the first eviction, recent misses, the appender, footprint) is the
# benchmark itself: scripts/bench-memory.sh --runs 3. About 80 s. Prints "N passed, M failed"
# for scripts/test.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
SERVER=""
MEMCACHED=/usr/bin/memcached
while (($# > 0)); do
	case $1 in
	--server) SERVER=${2:?--server needs a path}; shift 2 ;;
	--memcached) MEMCACHED=${2:?--memcached needs a path}; shift 2 ;;
	*) echo "usage: $0 --server PATH [--memcached PATH]" >&2; exit 2 ;;
	esac
done
[[ -n $SERVER ]] || { echo "usage: $0 --server PATH [--memcached PATH]" >&2; exit 2; }

rc=0
"$ROOT/scripts/bench-memory.sh" --nicached "$SERVER" --memcached "$MEMCACHED" --runs 3 \
	--mixes "mixed large" --max-seconds 300 --check --check-end-only --check-floor 0.9 || rc=$?
report_single memory-vs-memcached "$rc"
exit "$rc"
