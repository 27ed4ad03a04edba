#!/usr/bin/env bash
# nicached's own cost per request on the DPDK path, with no kernel anywhere in the path: a thin
# wrapper around mcgen over net_memif.
#
#   scripts/bench-memif.sh [--runs 3] [--duration 8] [--window 32] [--get-ratio 0.9]
#                          [--value-size 32] [--multiget 1]
#                          [--proto udp|tcp | --compare] [--conns 1]
#                          [--nicached PATH] [--baseline PATH] [--mcgen PATH] [--logs DIR]
#                          [--floor] [--zero-copy] [--pages auto|huge|4k]
#                          [--baseline-pages auto|huge|4k]
#
# Root only. Two DPDK processes on this machine joined by net_memif (shared-memory rings):
#   nicached   --backend dpdk -t 1 on the memif profile (the memif server, 10.88.0.1, UDP and
#              TCP on port 11211; tests/integration/common.sh memif_server_start), its control
#              lcore on CPU 0 and its worker on CPU 1
#   mcgen      (app/mcgen) the memif client on CPU 0: memcached text over UDP (-x dpdk-udp,
#              --proto udp, the default: one source port, --window requests in flight) or over
#              TCP through the project's lib/tcp (-x dpdk-tcp, --proto tcp: --conns
#              connections sharing the window, each with --window / --conns requests
#              pipelined), 10,000 16-byte keys, --value-size byte values, --get-ratio gets
#              (the rest sets; 1 for a pure GET load; --multiget N: each get asks for N keys
#              and cycles/request is per key), every key set first (-w) so every get must hit,
#              every reply checked
# --compare: each run is a UDP run and a TCP run of the same load, in turn (the order swaps
# every run), and the summary gives the TCP/UDP ratio of the medians.
# --baseline PATH: each run is also run against the nicached at PATH (e.g. the previous
# commit's binary), alternating with --nicached (the order swaps every run), and the summary
# gives new/baseline of the medians and of every pair: a gain shown side by side in one run.
# --floor (UDP, --get-ratio 1, single-key gets): each run is also a run of
# scripts/memif-floor.sh, DPDK's testpmd echoing the same GETs on the same rings (the driver's
# cost and a header swap, the least a server can do), in the alternating order, and the
# summary gives its median and each server's median minus it: what nicached itself adds per
# request over the lab's floor.
# --zero-copy: the lab's zero-copy mode (drivers-config/memif-zc.ini; common.sh MEMIF_ZC):
# nicached is the memif client lending its own mbufs and mcgen the memif server, copying each
# frame into nicached's buffers and out of them as a NIC's DMA would, so nicached's driver calls
# copy nothing; mcgen starts first and nicached connects to it (the floor runs so too). Both
# ends run on 4 KiB pages in this mode (memif's zero-copy client needs EAL's multi-process
# channel, so not --in-memory): compare it with a default-mode run on the same pages. The
# cycles are read by mcgen around its measured phase as in the default mode; the "before"
# readings of the server's Prometheus page and of the worker's schedstat (rx/burst, drops,
# on-CPU%) are taken once nicached serves, with mcgen's warm-up already running.
# --pages: the memory nicached (and testpmd for --floor) runs on: huge, 2 MiB hugepages, as a
# deployment does (reserve them first: echo 512 > /proc/sys/vm/nr_hugepages; nicached is given
# --require-hugepages), or 4k, 4 KiB pages (EAL --no-huge, as the quick start); auto, the
# default: huge when 512 2 MiB pages are free, else 4k. mcgen always runs on 4 KiB pages.
# --baseline-pages: the same for --baseline (default: as --pages), so that a run with
# --baseline set to the same binary compares the pages side by side.
# A fresh server per run. Per run: mcgen's achieved rate, and the server's CPU cost per
# request in TSC cycles from its own `stats`, read by mcgen before and after the measured
# phase (busy_cycles / requests, and without busy_driver_cycles: the cycles inside the memif
# rx/tx calls), its busy share of the worker's time, requests per TCP segment the server
# received, frames per receive burst (rx/burst: rx_frames / rx_bursts; the fewer, the less the
# driver's per-burst cost is shared) and the non-zero drop and error counters of its `stats
# nic` (all three from its Prometheus page, --metrics, warm-up included). On a shared machine
# the busy cycles include the time the worker thread was preempted: on-CPU% is the share of the
# time it could run that it did run (its /proc schedstat over mcgen's run), and adj. cycles is
# cycles/request x on-CPU%, an estimate of the cost without preemption (it assumes preemption
# hits busy and idle loop iterations alike). Under each UDP run, the busy cycles per request by
# stage of the worker loop (its `stats` busy_*_cycles, from the Prometheus page, warm-up
# included, so they need not add up to the cycles column): poll (receive: the driver's rx call
# and the frames' checks; the previous burst's TX drain; timers), prefetch (datagrams taken,
# keys scanned, digested, looked up in bulk), requests (read and reply written and queued; a
# full TX batch of 32 is sent from here, its driver call too), flush (the burst's other
# replies sent) and the rest of the busy loop (RCU, TTL wheel, counters). Prints every run, the
# medians, and the mcgen command of a run.
# Defaults: build/app/nicached/nicached and build/app/mcgen/mcgen. NC_MEMIF_TAG (default nc)
# starts the names of the memif interface and the EAL file prefixes.
# Exit 1 when a run fails: server not up, a server that crashed or hung on SIGTERM, mcgen's
# exit status (any wrong reply), over TCP any timeout, over UDP timeouts above 0.1%.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/common.sh
. "$ROOT/tests/integration/common.sh"
RUNS=3
DURATION=8
WINDOW=32
GET_RATIO=0.9
VALUE_SIZE=32
MULTIGET=1
PROTOS=udp
CONNS=1
NICACHED=$ROOT/build/app/nicached/nicached
BASELINE=
MCGEN=$ROOT/build/app/mcgen/mcgen
LOGS=
FLOOR=0
MEMIF_ZC=0
PAGES=auto
BASE_PAGES=
PORT=11211
TAG=${NC_MEMIF_TAG:-nc}

usage() {
	sed -n '2,70s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--runs) RUNS=${2:?}; shift 2 ;;
	--duration) DURATION=${2:?}; shift 2 ;;
	--window) WINDOW=${2:?}; shift 2 ;;
	--get-ratio) GET_RATIO=${2:?}; shift 2 ;;
	--value-size) VALUE_SIZE=${2:?}; shift 2 ;;
	--multiget) MULTIGET=${2:?}; shift 2 ;;
	--proto)
		[[ ${2:-} == udp || ${2:-} == tcp ]] || { echo "bench-memif: --proto udp or tcp" >&2; usage; }
		PROTOS=$2; shift 2 ;;
	--compare) PROTOS="udp tcp"; shift ;;
	--conns) CONNS=${2:?}; shift 2 ;;
	--nicached) NICACHED=$(realpath "${2:?}"); shift 2 ;;
	--baseline) BASELINE=$(realpath "${2:?}"); shift 2 ;;
	--mcgen) MCGEN=$(realpath "${2:?}"); shift 2 ;;
	--logs) LOGS=${2:?}; shift 2 ;;
	--floor) FLOOR=1; shift ;;
	--zero-copy) MEMIF_ZC=1; shift ;;
	--pages) PAGES=${2:?}; shift 2 ;;
	--baseline-pages) BASE_PAGES=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "bench-memif: unknown argument $1" >&2; usage ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ && $DURATION =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench-memif: --runs and --duration want positive integers" >&2; usage; }
[[ $WINDOW =~ ^[1-9][0-9]*$ && $CONNS =~ ^[1-9][0-9]*$ && $MULTIGET =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench-memif: --window, --conns and --multiget want positive integers" >&2; usage; }
((WINDOW % CONNS == 0)) ||
	{ echo "bench-memif: --window $WINDOW does not split over --conns $CONNS" >&2; usage; }
((FLOOR == 0)) || { [[ $PROTOS == udp && $MULTIGET -eq 1 ]] &&
	awk -v r="$GET_RATIO" 'BEGIN { exit !(r == 1) }'; } ||
	{ echo "bench-memif: --floor is for --proto udp --get-ratio 1 --multiget 1" >&2; usage; }
[[ $CONNS -eq 1 || $PROTOS != udp ]] ||
	{ echo "bench-memif: --conns wants --proto tcp or --compare" >&2; usage; }
awk -v r="$GET_RATIO" 'BEGIN { exit !(r ~ /^[0-9.]+$/ && r >= 0 && r <= 1) }' ||
	{ echo "bench-memif: --get-ratio wants a number in [0, 1]" >&2; usage; }
[[ $(id -u) -eq 0 ]] || { echo "bench-memif: needs root (memif socket in /run)" >&2; exit 1; }
if ! PAGES=$(memif_pages "$PAGES") || ! BASE_PAGES=$(memif_pages "${BASE_PAGES:-$PAGES}"); then
	echo "bench-memif: --pages and --baseline-pages want auto, huge or 4k" >&2
	usage
fi
for exe in "$NICACHED" "$MCGEN" ${BASELINE:+"$BASELINE"}; do
	[[ -x $exe ]] || { echo "bench-memif: $exe not built (ninja -C build)" >&2; exit 1; }
done

TMP=${LOGS:-$(mktemp -d /tmp/nc-bench-memif.XXXXXX)}
mkdir -p "$TMP"
IFACE=${TAG}bench$$
MEMIF_WRAP=(taskset -c "0,1")
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	[[ -z $MEMIF_PEER_PID ]] || stop_pid "$MEMIF_PEER_PID" 5 || true
	memif_server_stop 5 || true
	[[ -n $LOGS ]] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The mix: --get-ratio in thousandths; gets are multigets of --multiget keys when above 1.
GETS=$(awk -v r="$GET_RATIO" 'BEGIN { printf "%d", r * 1000 + 0.5 }')
GET_OP="get"
((MULTIGET == 1)) || GET_OP=multiget
MIX="$GET_OP=$GETS"
((GETS == 1000)) || MIX+=",set=$((1000 - GETS))"
((GETS > 0)) || MIX="set=1000"
LOAD=(-k 10000 --key-size 16 --value-size "$VALUE_SIZE" -m "$MIX")
((MULTIGET == 1)) || LOAD+=(--mget-keys "$MULTIGET")
LOAD+=(-w -q -T "$DURATION")

# mcgen_args PROTO: the transport and the shape of the load.
mcgen_args() {
	if [[ $1 == udp ]]; then
		echo -x dpdk-udp -c 1 -d "$WINDOW"
	else
		echo -x dpdk-tcp -c "$CONNS" -d $((WINDOW / CONNS))
	fi
}

# worker_sched: "run wait" nanoseconds of the server's worker thread so far (schedstat).
worker_sched() {
	local t
	for t in /proc/"$MEMIF_PID"/task/*; do
		[[ $(cat "$t/comm" 2>/dev/null) == rte-worker-* ]] || continue
		awk '{ print $1, $2 }' "$t/schedstat" 2>/dev/null && return 0
	done
	echo "0 0"
}

# metrics PORT: the server's Prometheus page as "name value" lines: the series without labels,
# and the per-worker ones summed over the workers.
metrics() {
	"$PYTHON" - "$1" <<'PY'
import collections, re, sys, urllib.request
page = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read()
sums = collections.Counter()
for line in page.decode().splitlines():
    m = re.fullmatch(r'(\w+)(\{worker="\d+"\})? (\S+)', line)
    if m:
        sums[m.group(1)] += float(m.group(3))
for name, v in sums.items():
    print(name, "%.0f" % v)
PY
}

# run_once N SERVER PROTO: one run against BIN[SERVER] (new: --nicached, base: --baseline);
# leaves in $TMP/run.N.SERVER.PROTO: .json mcgen's result, .extra the worker's on-CPU share,
# .m0 and .m1 the server's metrics before and after.
declare -A BIN=([new]=$NICACHED [base]=$BASELINE) PAGES_OF=([new]=$PAGES [base]=$BASE_PAGES)
run_once() {
	local log=$TMP/run.$1.$2.$3 rc=0 mport run0 wait0 run1 wait1 args gen
	read -ra args < <(mcgen_args "$3")
	MEMIF_PAGES=${PAGES_OF[$2]}
	mport=$(pick_port tcp)
	memif_lab "$IFACE" # MEMIF_SOCKET, MEMIF_PEER_EAL
	gen=(timeout $((DURATION + 200)) taskset -c 0 "$MCGEN" "${args[@]}" -s "$MEMIF_SERVER_IP:$PORT"
		--src-ip "$MEMIF_CLIENT_IP" "${LOAD[@]}" -j "$log.json" -- -l 0
		--file-prefix "${TAG}gen$$" --log-level=4 "${MEMIF_PEER_EAL[@]}")
	# (zero-copy mode: mcgen is the memif server and listens first, waiting 10 s for the link)
	memif_peer_first "$log.gen" "${gen[@]}" ||
		{ echo "bench-memif: run $1 ($2 $3): mcgen did not start" >&2; return 1; }
	if ! memif_server_start "$IFACE" "$log.server" "${BIN[$2]}" -U "$PORT" -p "$PORT" -t 1 \
		-m 256 --metrics "127.0.0.1:$mport"; then
		cat "$log.server" >&2
		echo "bench-memif: run $1 ($2 $3): nicached did not start" >&2
		return 1
	fi
	metrics "$mport" >"$log.m0" || true
	read -r run0 wait0 < <(worker_sched)
	if [[ -n $MEMIF_PEER_PID ]]; then
		wait "$MEMIF_PEER_PID" || rc=$?
		MEMIF_PEER_PID=""
	else
		"${gen[@]}" >"$log.gen" 2>&1 || rc=$?
	fi
	read -r run1 wait1 < <(worker_sched)
	metrics "$mport" >"$log.m1" || true
	if ! memif_server_stop 5; then
		tail -n 20 "$log.server" >&2
		echo "bench-memif: run $1 ($2 $3): nicached $MEMIF_STOP" >&2
		return 1
	fi
	if ((rc != 0)) || [[ ! -s $log.json ]]; then
		grep -v '^EAL:' "$log.gen" >&2
		echo "bench-memif: run $1 ($2 $3): mcgen exit status $rc" >&2
		return 1
	fi
	awk -v r=$((run1 - run0)) -v w=$((wait1 - wait0)) \
		'BEGIN { print (r > 0 ? sprintf("%.3f", r / (r + w)) : "-") }' >"$log.extra"
}

# summary N SERVER PROTO: "tps cycles app busy timeouts bad oncpu adj req/seg rx/burst stages
# nic" of a run (stages: poll/prefetch/requests/flush/rest cycles per request, or -),
# or exit status 1 (and why on stderr) when its replies fail the bar.
summary() {
	local log=$TMP/run.$1.$2.$3
	"$PYTHON" - "$log.json" "$(cat "$log.extra")" "$log.m0" "$log.m1" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
oncpu, proto = sys.argv[2], sys.argv[5]
s = r["steps"][0]
c, srv = s["counters"], s.get("server")
if not srv:
    sys.exit("no server figures in mcgen's result (its stats reads failed)")
def scrape(path):
    try:
        return {k: float(v) for k, v in (l.split() for l in open(path))}
    except (OSError, ValueError):
        return {}
m0, m1 = scrape(sys.argv[3]), scrape(sys.argv[4])
segs = m1.get("nicached_tcp_segs_in", 0) - m0.get("nicached_tcp_segs_in", 0)
reqs = m1.get("nicached_requests_total", 0) - m0.get("nicached_requests_total", 0)
frames = m1.get("nicached_nic_rx_frames", 0) - m0.get("nicached_nic_rx_frames", 0)
bursts = m1.get("nicached_nic_rx_bursts", 0) - m0.get("nicached_nic_rx_bursts", 0)
alarm = ("drop", "missed", "nombuf", "error", "full")
nic = " ".join("%s=%d" % (k[len("nicached_nic_"):], v) for k, v in m1.items()
               if k.startswith("nicached_nic_") and v and any(w in k for w in alarm))
if not m1:
    nic = "(no metrics)"
adj = srv["cycles_per_request"] * float(oncpu) if oncpu != "-" else srv["cycles_per_request"]
def delta(name):
    return m1.get("nicached_%s_total" % name, 0) - m0.get("nicached_%s_total" % name, 0)
stages = "-"
if proto == "udp" and reqs > 0 and "nicached_busy_poll_cycles_total" in m1:
    parts = [delta(n) for n in ("busy_poll_cycles", "busy_udp_prefetch_cycles",
                                "busy_udp_request_cycles", "busy_udp_flush_cycles")]
    parts.append(delta("busy_cycles") - sum(parts))
    stages = "/".join("%.0f" % (p / reqs) for p in parts)
print("%.0f %.0f %.0f %.1f %d %d %s %.0f %s %s %s %s" % (
    s["achieved_rate"], srv["cycles_per_request"], srv["app_cycles_per_request"],
    srv["busy_percent"], c["timeouts"], s["errors"],
    "-" if oncpu == "-" else "%.1f" % (float(oncpu) * 100), adj,
    "%.2f" % (reqs / segs) if proto == "tcp" and segs > 0 else "-",
    "%.1f" % (frames / bursts) if bursts > 0 else "-", stages, nic or "none"))
if proto == "tcp" and c["timeouts"]:
    sys.exit("%d timeouts over TCP" % c["timeouts"])
if c["timeouts"] * 1000 > max(c["sent"], 1):
    sys.exit("%d timeouts, over 0.1%% of %d requests" % (c["timeouts"], c["sent"]))
PY
}

diff_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

SERVERS=new
[[ -z $BASELINE ]] || SERVERS="base new"
VARIANTS=()
for srv in $SERVERS; do
	for proto in $PROTOS; do VARIANTS+=("$srv:$proto"); done
done
((FLOOR == 0)) || VARIANTS+=("floor:udp")
tcp_shape="TCP $CONNS x $((WINDOW / CONNS)) pipelined"
shape=
[[ $PROTOS == udp ]] || shape=" ($tcp_shape)"
echo "bench-memif: $RUNS runs x ${DURATION} s, mcgen over net_memif ($PROTOS)," \
	"$WINDOW in flight$shape, get ratio $GET_RATIO ($MULTIGET keys a get), 16 B keys, $VALUE_SIZE B values, warmed"
echo "nicached: $NICACHED${BASELINE:+ (new), baseline: $BASELINE}"
echo "memory: nicached on $(memif_pages_name "$PAGES")${BASELINE:+, the baseline on $(memif_pages_name "$BASE_PAGES")}$( ((FLOOR == 0)) || echo ", testpmd on $(memif_pages_name "$PAGES")"); mcgen on 4 KiB pages"
memif_lab IFACE
((MEMIF_ZC == 0)) ||
	echo "zero-copy: nicached the memif client (drivers-config/memif-zc.ini), mcgen the server"
for proto in $PROTOS; do
	echo "mcgen ($proto): $MCGEN $(mcgen_args "$proto") -s $MEMIF_SERVER_IP:$PORT --src-ip" \
		"$MEMIF_CLIENT_IP ${LOAD[*]} -- -l 0 --file-prefix GEN ${MEMIF_PEER_EAL[*]}"
done
ROW='%-4s %-5s %-5s %9s %11s %17s %6s %7s %11s %8s %4s %7s %8s  %s\n'
# shellcheck disable=SC2059  # the format is ROW
printf "$ROW" run srv proto TPS cycles/req "(app, no driver)" busy% on-CPU% "adj. cycles" \
	timeouts bad req/seg rx/burst "nic drops/errors"
declare -A TPS CYC APP ADJ MED_TPS MED_CYC MED_APP MED_ADJ LAST_CYC LAST_APP LAST_ADJ PAIRS STG
STAGE_NAMES=(poll prefetch requests flush rest)
# stage_line P/F/R/T/O: the stages' words.
stage_line() {
	local -a v
	IFS=/ read -ra v <<<"$1"
	for i in "${!STAGE_NAMES[@]}"; do printf '%s %s%s' "${STAGE_NAMES[$i]}" "${v[$i]}" "$([[ $i -lt 4 ]] && echo ", ")"; done
}
for run in $(seq 1 "$RUNS"); do
	order=("${VARIANTS[@]}")
	# The order swaps every run, so a drift of the machine favours no variant.
	((run % 2 == 1)) || mapfile -t order < <(printf '%s\n' "${VARIANTS[@]}" | tac)
	for v in "${order[@]}"; do
		srv=${v%%:*} proto=${v#*:}
		if [[ $srv == floor ]]; then
			# "floor: C cycles/packet, P packets/s (...)"
			zc=()
			((MEMIF_ZC == 0)) || zc=(--zero-copy)
			line=$(NC_MEMIF_TAG=$TAG "$ROOT/scripts/memif-floor.sh" --duration "$DURATION" \
				--window "$WINDOW" --mcgen "$MCGEN" --pages "$PAGES" "${zc[@]}") ||
				{ echo "bench-memif: run $run (floor): memif-floor.sh failed (above)" >&2; exit 1; }
			read -r _ cyc _ tps _ <<<"$line"
			TPS[$v]+=" $tps" CYC[$v]+=" $cyc" APP[$v]+=" $cyc" ADJ[$v]+=" $cyc"
			LAST_CYC[$v]=$cyc
			# shellcheck disable=SC2059  # the format is ROW
			printf "$ROW" "$run" floor udp "$tps" "$cyc" - - - - - - - - "(testpmd 5tswap)"
			continue
		fi
		run_once "$run" "$srv" "$proto" || exit 1
		line=$(summary "$run" "$srv" "$proto") || {
			echo "bench-memif: run $run ($srv $proto): the replies fail the bar (above)" >&2
			exit 1
		}
		read -r tps cyc app busy tmo bad oncpu adj rps fpb stages nic <<<"$line"
		TPS[$v]+=" $tps" CYC[$v]+=" $cyc" APP[$v]+=" $app" ADJ[$v]+=" $adj"
		LAST_CYC[$v]=$cyc LAST_APP[$v]=$app LAST_ADJ[$v]=$adj
		# shellcheck disable=SC2059  # the format is ROW
		printf "$ROW" "$run" "$([[ -n $BASELINE ]] && echo "$srv" || echo -)" "$proto" "$tps" "$cyc" "$app" "$busy" "$oncpu" "$adj" \
			"$tmo" "$bad" "$rps" "$fpb" "$nic"
		if [[ $stages != - ]]; then
			echo "       busy cycles per request by stage: $(stage_line "$stages")"
			STG[$v]+=" $stages"
		fi
	done
	# Per-run ratios: TCP/UDP (--compare) and new/baseline (--baseline).
	for srv in $SERVERS; do
		[[ $PROTOS == "udp tcp" ]] || break
		PAIRS[tcpudp:$srv]+=" $(ratio "${LAST_CYC[$srv:tcp]}" "${LAST_CYC[$srv:udp]}")"
		PAIRS[tcpudp_app:$srv]+=" $(ratio "${LAST_APP[$srv:tcp]}" "${LAST_APP[$srv:udp]}")"
		PAIRS[tcpudp_adj:$srv]+=" $(ratio "${LAST_ADJ[$srv:tcp]}" "${LAST_ADJ[$srv:udp]}")"
	done
	for srv in $SERVERS; do
		((FLOOR)) || break
		PAIRS[floor:$srv]+=" $(diff_of "${LAST_CYC[$srv:udp]}" "${LAST_CYC[floor:udp]}")"
	done
	for proto in $PROTOS; do
		[[ -n $BASELINE ]] || break
		PAIRS[newbase:$proto]+=" $(ratio "${LAST_CYC[new:$proto]}" "${LAST_CYC[base:$proto]}")"
		PAIRS[newbase_app:$proto]+=" $(ratio "${LAST_APP[new:$proto]}" "${LAST_APP[base:$proto]}")"
		PAIRS[newbase_adj:$proto]+=" $(ratio "${LAST_ADJ[new:$proto]}" "${LAST_ADJ[base:$proto]}")"
	done
done
for v in "${VARIANTS[@]}"; do
	# shellcheck disable=SC2086  # the lists are words
	{
		MED_TPS[$v]=$(median ${TPS[$v]}) MED_CYC[$v]=$(median ${CYC[$v]})
		MED_APP[$v]=$(median ${APP[$v]}) MED_ADJ[$v]=$(median ${ADJ[$v]})
	}
	label=${v#*:}
	[[ -z $BASELINE && $v != floor:* ]] || label="${v%%:*} $label"
	if [[ $v == floor:* ]]; then
		echo "median $label  packets/s ${MED_TPS[$v]}  cycles/packet ${MED_CYC[$v]} (testpmd 5tswap)"
		continue
	fi
	echo "median $label  TPS ${MED_TPS[$v]}  cycles/request ${MED_CYC[$v]}" \
		" (without driver calls: ${MED_APP[$v]}; adjusted: ${MED_ADJ[$v]})"
	if [[ -n ${STG[$v]:-} ]]; then
		meds=()
		for i in "${!STAGE_NAMES[@]}"; do
			# shellcheck disable=SC2046,SC2086  # the lists are words
			meds+=("$(median $(printf '%s\n' ${STG[$v]} | cut -d/ -f$((i + 1))))")
		done
		echo "median $label  busy cycles per request by stage: $(stage_line "$(IFS=/; echo "${meds[*]}")")"
	fi
done
for srv in $SERVERS; do
	((FLOOR)) || break
	label=
	[[ -z $BASELINE ]] || label="$srv "
	echo "${label}udp over the floor: cycles/request $(diff_of "${MED_CYC[$srv:udp]}" "${MED_CYC[floor:udp]}")" \
		"(median minus median); per run${PAIRS[floor:$srv]}"
done
for srv in $SERVERS; do
	[[ $PROTOS == "udp tcp" ]] || break
	label=
	[[ -z $BASELINE ]] || label="$srv "
	echo "${label}TCP/UDP ($tcp_shape vs UDP $WINDOW in flight): cycles/request" \
		"x$(ratio "${MED_CYC[$srv:tcp]}" "${MED_CYC[$srv:udp]}")" \
		" (without driver calls: x$(ratio "${MED_APP[$srv:tcp]}" "${MED_APP[$srv:udp]}");" \
		"adjusted: x$(ratio "${MED_ADJ[$srv:tcp]}" "${MED_ADJ[$srv:udp]}"))"
	echo "${label}per run TCP/UDP: cycles${PAIRS[tcpudp:$srv]}; without driver calls${PAIRS[tcpudp_app:$srv]};" \
		"adjusted${PAIRS[tcpudp_adj:$srv]}"
done
for proto in $PROTOS; do
	[[ -n $BASELINE ]] || break
	echo "$proto new/baseline: cycles/request x$(ratio "${MED_CYC[new:$proto]}" "${MED_CYC[base:$proto]}")" \
		" (without driver calls: x$(ratio "${MED_APP[new:$proto]}" "${MED_APP[base:$proto]}");" \
		"adjusted: x$(ratio "${MED_ADJ[new:$proto]}" "${MED_ADJ[base:$proto]}"))"
	echo "$proto per run new/baseline: cycles${PAIRS[newbase:$proto]};" \
		"without driver calls${PAIRS[newbase_app:$proto]}; adjusted${PAIRS[newbase_adj:$proto]}"
done
