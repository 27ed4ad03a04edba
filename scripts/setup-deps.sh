#!/usr/bin/env bash
# Install the Debian 12 packages nicached needs to build and run its tests.
#
# Idempotent: packages already installed are left alone, and when every one
# of them is present the install step is skipped.  `apt-get update` always
# runs first (a fresh machine has no package lists); set NC_SKIP_APT_UPDATE=1
# to skip it.
#
# Runs as root; as another user it goes through sudo when sudo exists.
set -euo pipefail

# Everything the build (meson.build) and the test run (scripts/test.sh) use.
# libdpdk-dev brings DPDK's own -dev dependencies with it; meson brings python3;
# clang and libclang-rt-14-dev build and run the libFuzzer targets.
# The integration suite (tests/integration/run.sh) runs real clients against a
# server: memcached is the reference server, libmemcached-tools brings
# memccapable and memcaslap, python3-pymemcache and python3-pytest run the
# Python checks; dpdk-dev brings dpdk-telemetry.py and dpdk-dumpcap (the lab's pdump check).
# The DPDK lab (scripts/lab.sh) needs iproute2 (ip netns, veth), ethtool,
# iputils-ping and procps (sysctl); DPDK's af_xdp and af_packet drivers come
# with libdpdk-dev. tcpdump records the lab's traffic (NC_LAB_CAPTURE) for the
# TCP fuzzer's seeds.
# lib/cluster hashes ketama points with libmd's MD5 (libmd-dev); its unit suite
# checks placements against libmemcached itself through python3-pylibmc
# (libmemcached11).
# lib/cluster keeps membership in etcd through its v3 JSON gateway over HTTP
# (libcurl4-openssl-dev, libjansson-dev); the cluster suite runs clients against
# a real etcd (etcd-server; the test skips without it), and etcd-client brings
# etcdctl to look at the member keys by hand.
# Profiling (README) also wants valgrind, which the tests do not need.
# Compression in the server uses LZF (liblzf-dev); encrypted snapshots use
# libsodium's secretstream (libsodium-dev); sasl2-bin brings saslpasswd2 for
# SASL clients' tests, libsasl2-modules the PLAIN mechanism (libmemcached's SASL client,
# and memcached -S as the reference in tests/integration/auth.py).
# The Prometheus endpoint is served with libmicrohttpd (libmicrohttpd-dev); its
# test parses the page with python3-prometheus-client.
# debhelper builds the Debian package (scripts/build-deb.sh); dpdk brings
# dpdk-devbind.py and dpdk-hugepages.py, which the README's NIC set-up uses, and dpdk-testpmd
# (the lab's floor: scripts/memif-floor.sh).
PACKAGES=(
	gcc
	libc6-dev
	pkg-config
	meson
	ninja-build
	libdpdk-dev
	liburcu-dev
	libcmocka-dev
	libmd-dev
	clang
	libclang-rt-14-dev
	memcached
	libmemcached-tools
	python3-pymemcache
	python3-pytest
	python3-pylibmc
	libmemcached11
	libcurl4-openssl-dev
	libmicrohttpd-dev
	python3-prometheus-client
	libjansson-dev
	etcd-server
	etcd-client
	dpdk-dev
	iproute2
	ethtool
	iputils-ping
	procps
	tcpdump
	liblzf-dev
	libsodium-dev
	sasl2-bin
	debhelper
	dpdk
	libsasl2-modules
	# mcgen --plot: the throughput-vs-p99 PNG of a --sweep (app/mcgen/mcgen-plot.py).
	python3-matplotlib
)

log() { printf 'setup-deps: %s\n' "$*"; }
die() { printf 'setup-deps: error: %s\n' "$*" >&2; exit 1; }

# How to run commands as root.
AS_ROOT=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		AS_ROOT=(sudo)
		log "not root: using sudo"
	else
		die "must run as root (or as a user with sudo); sudo is not installed"
	fi
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script expects Debian 12"
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian 12"

apt_get() {
	"${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 "$@"
}

is_installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ $status == "install ok installed" ]]
}

# 1. Refresh the package lists.
if [[ ${NC_SKIP_APT_UPDATE:-0} == 1 ]]; then
	log "skipping apt-get update (NC_SKIP_APT_UPDATE=1)"
else
	log "apt-get update"
	apt_get update
fi

# 2. See what is missing.
missing=()
for pkg in "${PACKAGES[@]}"; do
	if is_installed "$pkg"; then
		log "  ok       $pkg ($(dpkg-query -W -f='${Version}' "$pkg"))"
	else
		log "  missing  $pkg"
		missing+=("$pkg")
	fi
done

# 3. Install only when something is missing.
if ((${#missing[@]} == 0)); then
	log "all ${#PACKAGES[@]} packages already installed: nothing to install"
else
	log "installing: ${missing[*]}"
	apt_get install -y --no-install-recommends "${missing[@]}"
	for pkg in "${missing[@]}"; do
		is_installed "$pkg" || die "$pkg is still not installed after apt-get install"
	done
fi

log "done: ${#PACKAGES[@]} packages checked, ${#missing[@]} newly installed"
