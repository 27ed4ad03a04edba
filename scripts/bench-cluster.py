#!/usr/bin/env python3
"""Replication cost and failover time of a three-node cluster (socket backend, loopback).

    scripts/bench-cluster.py [--server build/app/nicached/nicached] [--runs 3] [--sets 50000]
                             [--value 100] [--warmup-mb 0] [--json FILE]

For each run, and in each run for R = 1, R = 2 async and R = 2 quorum side by side (in an
order that rotates from run to run), it starts three nodes (-t 1 -m 64, static --peers,
--replicas R, --replication async or quorum) on free loopback ports and writes --sets new keys of
--value bytes through pylibmc with ketama_weighted (set_multi batches of 100, so each node gets
its primaries' writes pipelined). Replication cost: the busy TSC cycles of the three nodes'
workers (`stats`: busy_cycles, loop iterations that did work, system calls included) over the
client's SETs: what one client SET costs the cluster, the replica's apply included. Then the
failover time (R = 2 async only): node 0 is killed with SIGKILL while a client with libmemcached's
auto-eject (remove_failed 1, connect_timeout 100 ms) reads keys whose primary was node 0, and
the time from the kill to the first read answered from the copy is reported, with how many
reads failed meanwhile. Prints one line per measurement, then the medians over the runs:

    R=1 cycles/SET  R=2 async  ratio  R=2 quorum  ratio  failover ms  failed reads

With --warmup-mb M (once, after the runs): three nodes with --replicas 2 and -m sized for
it; M MB of 10 KB values written through the ketama client; node 0 killed, restarted empty on
the same port, and the time until it holds 99% of the item bytes it held before (`stats`
bytes, polled every 0.2 s, at most 600 s) is its warm-up time: the resync the other members
send it as their links to it come up (its own keys from their replicas, its replicas' keys
from their primaries).

Bounded: every node start waits 20 s at most, every run writes --sets keys and reads at most
for 10 s after the kill; only the processes it started are stopped, by pid.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from cluster import HOST, free_ports, stats  # noqa: E402  (the cluster test's helpers)


def start_nodes(server, replicas, logdir, mem=64, ports=None, only=None, mode="async"):
    ports = ports or free_ports(3)
    names = ["%s:%d" % (HOST, p) for p in ports]
    procs = []
    for i, (p, n) in enumerate(zip(ports, names)):
        if only is not None and i != only:
            continue
        log = open(os.path.join(logdir, "node-%d.log" % p), "a")
        procs.append(subprocess.Popen(
            [server, "-p", str(p), "-U", "0", "-l", HOST, "-t", "1", "-m", str(mem), "--peers",
             ",".join(names), "--advertise", n, "--replicas", str(replicas),
             "--replication", mode],
            stdout=log, stderr=subprocess.STDOUT))
    if only is not None:
        ports = [ports[only]]
    deadline = time.monotonic() + 20
    for p, proc in zip(ports, procs):  # (only: the one node started)
        while True:
            if proc.poll() is not None:
                raise SystemExit("bench-cluster: node %d exited at start" % p)
            try:
                stats(p)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("bench-cluster: node %d did not answer" % p)
                time.sleep(0.1)
    if replicas > 1:  # quorum writes fail until the replication links are up
        for p in ports:
            while True:
                c = stats(p, b"cluster")
                if c.get("repl_links_up") == c.get("repl_links"):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("bench-cluster: node %d: links not up: %r" % (p, c))
                time.sleep(0.05)
    return ports, names, procs


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cost(server, replicas, mode, nsets, value, logdir, run):
    import pylibmc
    ports, names, procs = start_nodes(server, replicas, logdir, mode=mode)
    try:
        mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
        warm = {"w%d:%d" % (run, i): b"w" * value for i in range(2000)}
        mc.set_multi(warm)
        time.sleep(0.3)
        before = [stats(p) for p in ports]
        payload = b"v" * value
        for base in range(0, nsets, 100):
            mc.set_multi({"k%d:%d" % (run, i): payload for i in range(base, min(nsets, base + 100))})
        time.sleep(0.5)  # the replicas' apply finishes
        after = [stats(p) for p in ports]
        busy = sum(int(a["busy_cycles"]) - int(b["busy_cycles"]) for a, b in zip(after, before))
        shipped = sum(int(a["repl_writes"]) - int(b["repl_writes"]) for a, b in zip(after, before))
        dropped = sum(int(a["repl_dropped"]) for a in after)
        return busy / nsets, shipped, dropped, ports, names, procs
    except BaseException:
        stop(procs)
        raise


def failover(ports, names, procs, run):
    """Kill node 0; time until an auto-ejecting client reads node 0's keys from the copies."""
    import pylibmc
    mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
    # Keys whose primary is node 0, found by asking: set through the client, then see which
    # node holds it (stats curr_items would not say which keys).
    keys = []
    for i in range(20000):
        k = "f%d:%d" % (run, i)
        mc.set(k, b"x")
        with socket.create_connection((HOST, ports[0]), timeout=5) as s:
            s.sendall(b"mg %s\r\n" % k.encode())
            if s.recv(64).startswith(b"HD"):
                keys.append(k)
        if len(keys) >= 200:
            break
    time.sleep(0.3)
    client = pylibmc.Client(names, behaviors={
        "ketama_weighted": True, "remove_failed": 1, "retry_timeout": 30,
        "connect_timeout": 100, "receive_timeout": 100000, "send_timeout": 100000})
    assert client.get(keys[0]) == b"x"
    procs[0].kill()
    t0 = time.monotonic()
    failed = 0
    served_ms = None
    i = 0
    while time.monotonic() - t0 < 10:
        k = keys[i % len(keys)]
        i += 1
        try:
            if client.get(k) == b"x":
                served_ms = (time.monotonic() - t0) * 1000
                break
            failed += 1
        except pylibmc.Error:
            failed += 1
    procs[0].wait()
    return served_ms, failed


def warmup(server, mb, logdir):
    """Seconds until a node restarted empty holds 99% of its item bytes again."""
    import pylibmc
    mem = max(64, int(mb * 0.8) + 64)  # each node holds about 2/3 of the data with R = 2
    ports, names, procs = start_nodes(server, 2, logdir, mem=mem)
    try:
        mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
        value = b"w" * 10240
        n = mb * 1024 * 1024 // len(value)
        t0 = time.monotonic()
        for base in range(0, n, 100):
            mc.set_multi({"warm:%d" % i: value for i in range(base, min(n, base + 100))})
        wrote = time.monotonic() - t0
        time.sleep(1.0)
        before = int(stats(ports[0])["bytes"])
        evictions = sum(int(stats(p)["evictions"]) for p in ports)
        procs[0].kill()
        procs[0].wait()
        _, _, again = start_nodes(server, 2, logdir, mem=mem, ports=ports, only=0)
        procs[0] = again[0]
        t0 = time.monotonic()
        got = 0
        while time.monotonic() - t0 < 600:
            got = int(stats(ports[0])["bytes"])
            if got >= before * 0.99:
                break
            time.sleep(0.2)
        took = time.monotonic() - t0
        print("warm-up: %d MB written in %.1f s (%d evictions); node 0 held %.0f MB, restarted "
              "empty: %.0f MB back in %.1f s (%.0f MB/s)" % (
                  mb, wrote, evictions, before / 1e6, got / 1e6, took, got / 1e6 / took),
              flush=True)
        return {"mb": mb, "node_mb": before / 1e6, "back_mb": got / 1e6, "seconds": took}
    finally:
        stop(procs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default="build/app/nicached/nicached")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sets", type=int, default=50000)
    ap.add_argument("--value", type=int, default=100)
    ap.add_argument("--warmup-mb", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    logdir = tempfile.mkdtemp(prefix="nc-bench-cluster.")
    rows = []
    for run in range(1, a.runs + 1):
        row = {"run": run}
        setups = [(1, "async", "r1"), (2, "async", "r2"), (2, "quorum", "r2q")]
        setups = setups[run % 3:] + setups[:run % 3]
        for r, mode, tag in setups:
            c, shipped, dropped, ports, names, procs = cost(a.server, r, mode, a.sets, a.value,
                                                            logdir, run)
            try:
                row["cycles_" + tag] = c
                row["shipped_" + tag] = shipped
                row["dropped_" + tag] = dropped
                print("run %d R=%d %s: %.0f cycles per client SET (3 nodes), %d commands "
                      "shipped, %d dropped" % (run, r, mode, c, shipped, dropped), flush=True)
                if tag == "r2":
                    ms, failed = failover(ports, names, procs, run)
                    row["failover_ms"] = ms
                    row["failed_reads"] = failed
                    print("run %d failover: node 0 killed, first read from the copy after %s "
                          "ms, %d reads failed before" % (
                              run, "%.0f" % ms if ms is not None else "never", failed),
                          flush=True)
            finally:
                stop(procs)
        rows.append(row)
    med = lambda k: statistics.median(r[k] for r in rows if r.get(k) is not None)  # noqa: E731
    r1, r2, r2q = med("cycles_r1"), med("cycles_r2"), med("cycles_r2q")
    print("\n| R=1 cycles/SET | R=2 async | ratio | R=2 quorum | ratio | failover ms "
          "| failed reads |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("| %.0f | %.0f | %.2fx | %.0f | %.2fx | %.0f | %.0f |" % (
        r1, r2, r2 / r1, r2q, r2q / r1, med("failover_ms"), med("failed_reads")))
    print("(medians of %d runs, %d SETs of %d-byte values each; cycles: the three nodes' busy "
          "worker cycles, system calls included)" % (a.runs, a.sets, a.value))
    warm = warmup(a.server, a.warmup_mb, logdir) if a.warmup_mb > 0 else None
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": rows, "warmup": warm}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
