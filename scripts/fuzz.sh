#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and run each for a bounded
# time over a scratch copy of its seed corpus (the tree's corpus is never modified).
#   scripts/fuzz.sh [seconds-per-target]      default: NC_FUZZ_SECONDS or 60
# A crash leaves crash-* in build-fuzz/findings/<target>/ and fails the run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS_PER=${1:-${NC_FUZZ_SECONDS:-60}}

if [ -d build-fuzz ]; then
	CC=clang meson setup --reconfigure build-fuzz -Dfuzz=true -Dtests=false -Dbench=false \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
else
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Dbench=false \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz >/dev/null

status=0
ran=0
for corpus in tests/fuzz/corpus/*/; do
	name=$(basename "$corpus")
	bin=build-fuzz/tests/fuzz/fuzz_$name
	[ -x "$bin" ] || continue
	work=build-fuzz/findings/$name
	rm -rf "$work"
	mkdir -p "$work/corpus"
	cp "$corpus"* "$work/corpus/"
	echo "fuzz: $name for ${SECONDS_PER}s"
	if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=1 \
		"$ROOT/$bin" -max_total_time="$SECONDS_PER" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 corpus >fuzz.log 2>&1); then
		echo "fuzz: $name FAILED; see $work/fuzz.log and crash-* there" >&2
		tail -30 "$work/fuzz.log" >&2
		status=1
	else
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/fuzz.log" |
			sed "s/^/fuzz: $name: /"
	fi
	ran=$((ran + 1))
done
echo "fuzz: $ran targets run"
exit $status
