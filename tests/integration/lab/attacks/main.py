"""Run one attack scenario against a server, from inside the lab's namespace, and print
its result as one JSON object on stdout (progress on stderr).

  ip netns exec NS python3 main.py --kind nicached|memcached --pid PID --scenario NAME
                                   [--server 10.77.0.1] [--port 11211] [--quick]
  python3 main.py --list        (name, title and server flags of every scenario, JSON)

Around the scenario: the normal client (probe.py) runs throughout; a quiet baseline of
its latency first; the server's counters and memory before; the scenario; a settle;
counters and memory after. The result holds the baseline and during-scenario windows,
counter deltas (gauges as before/after values), memory, the scenario's figures and
checks, and "ok" (every check held). Exit status 0 when ok (always for memcached, the
reference), 1 when a check failed, 2 on usage errors."""
import argparse
import json
import os
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# attacks/, the lab's helpers (tcputil) and tests/integration's (mc).
sys.path[:0] = [HERE, os.path.dirname(HERE), os.path.dirname(os.path.dirname(HERE))]

from probe import Probe  # noqa: E402
from scenario import SCENARIOS, Ctx, Failed  # noqa: E402
from target import Target  # noqa: E402
import linux_peers  # noqa: E402,F401  (registers its scenarios)

try:
    import raw_peers  # noqa: F401
except ImportError as e:  # not written yet
    if e.name != "raw_peers":
        raise

GAUGES = ("tcp_conns", "tcp_syn_rcvd", "tcp_time_wait", "tcp_mbufs", "tcp_queues",
          "curr_connections")
BASELINE_S = 3.0
SETTLE_S = 1.0


def log(msg):
    print("[attacks] %s" % msg, file=sys.stderr, flush=True)


def counter_view(names, before, after):
    """{name: delta} for counters, {name: "before -> after"} for gauges."""
    out = {}
    for n in names:
        if n not in before or n not in after:
            out[n] = None
        elif n in GAUGES:
            out[n] = "%d -> %d" % (before[n], after[n])
        else:
            out[n] = after[n] - before[n]
    return out


def run(args):
    sc = SCENARIOS[args.scenario]
    target = Target(args.kind, args.server, args.port, args.port, args.pid)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    probe = Probe(target.addr())
    probe.start()
    ctx = Ctx(target, probe, args.quick, args.iface, args.client_ip, args.server_mac)
    time.sleep(0.2)
    t_base = probe.mark()
    time.sleep(BASELINE_S * (0.67 if args.quick else 1))
    before, mem0 = target.counters(), target.memory()
    t0 = probe.mark()
    log("%s against %s (pid %d)" % (sc.name, args.kind, args.pid))
    try:
        sc.fn(ctx)
    except Failed as e:
        ctx.check("scenario ran", False, e)
    except Exception as e:  # noqa: BLE001  (any failure is a result, with its trace)
        traceback.print_exc()
        ctx.check("scenario ran", False, "%s: %s" % (type(e).__name__, e))
    t1 = probe.mark()
    time.sleep(SETTLE_S)
    probe.stop()  # joined: an operation that started in the scenario is recorded now
    alive = target.alive()
    ctx.check("server still running", alive)
    after, mem1 = (target.counters(), target.memory()) if alive else ({}, {})
    during, base = probe.window(t0, t1), probe.window(t_base, t0)
    ctx.check("normal client: no errors during the scenario", during["errors"] == 0,
              during["first_error"] or "")
    names = sc.counters if args.kind == "nicached" else sc.kernel
    result = {
        "scenario": sc.name, "title": sc.title, "server": args.kind, "quick": args.quick,
        "sent": "; ".join(ctx.what), "baseline": base, "during": during,
        "seconds": round(t1 - t0, 1), "memory_before": mem0, "memory_after": mem1,
        "counters": counter_view(names, before, after), "figures": ctx.figures,
        "checks": ctx.checks, "ok": all(c["ok"] for c in ctx.checks),
    }
    for c in ctx.checks:
        log("%s %s %s" % ("ok  " if c["ok"] else "FAIL", c["name"], c["detail"]))
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] or args.kind != "nicached" else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--kind", choices=("nicached", "memcached"))
    ap.add_argument("--pid", type=int)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--server", default="10.77.0.1")
    ap.add_argument("--port", type=int, default=11211, help="TCP and UDP port")
    ap.add_argument("--iface", default=os.environ.get("NC_LAB_NS", "nclab") + "1")
    ap.add_argument("--client-ip", default="10.77.0.2")
    ap.add_argument("--server-mac", default="")
    ap.add_argument("--quick", action="store_true", help="shorter runs (the test suite)")
    args = ap.parse_args()
    if args.list:
        print(json.dumps([{"name": s.name, "title": s.title, "nicached": s.nicached_flags,
                           "memcached": s.memcached_flags} for s in SCENARIOS.values()]))
        return 0
    if not (args.kind and args.pid and args.scenario):
        ap.error("--kind, --pid and --scenario are needed")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
