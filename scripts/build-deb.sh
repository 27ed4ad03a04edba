#!/usr/bin/env bash
# Build the Debian package (debian/, dpkg-buildpackage) from this tree.
#
#   scripts/build-deb.sh [OUTDIR]      (default: ./deb-out)
#
# Copies the tree's files (git's tracked and untracked-not-ignored files when this is a git
# checkout, else everything but build folders) to a scratch folder, builds the binary package
# there without running tests (scripts/test.sh runs them), and leaves nicached_<version>_<arch>.deb
# in OUTDIR. Needs the build dependencies (debian/control; scripts/setup-deps.sh installs them)
# and debhelper. Then, as root:  apt-get install ./deb-out/nicached_*.deb
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/deb-out}" && cd "${1:-$ROOT/deb-out}" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nc-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/nicached"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r tar -cf - --no-recursion) | tar -xf - -C "$WORK/nicached"
else
	tar -C "$ROOT" --exclude='./build*' --exclude='./deb-out' -cf - . | tar -xf - -C "$WORK/nicached"
fi
cd "$WORK/nicached"
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1 || {
	tail -40 "$WORK/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
cp "$WORK"/nicached_*.deb "$OUT/"
ls "$OUT"/nicached_*.deb
