#!/usr/bin/env python3
"""Snapshot and restore throughput, and GET latency while a snapshot is written.

    scripts/bench-snapshot.py --server build/app/nicached/nicached [--gb 1.0] [--runs 3]
                              [--value-size 10000] [--threads 1] [--encrypt]
                              [--latency-gets 30000] [--smoke] [--load-conns N]
                              [--mcgen build/app/mcgen/mcgen]

One nicached (socket backend, -t --threads, -m sized for the data) on 127.0.0.1 at a free
port, its files in a scratch folder under /var/tmp (on disk: fsync is real):
  fill       --gb of items (--value-size values, 16-byte keys) stored with pymemcache (noreply).
  latency    --runs times: --latency-gets sequential text gets of random keys over one
             loopback connection (a Python client: its own cost is in every figure) without
             a snapshot, then as many while snapshots are written (a new one is started
             whenever the last one ended); p50/p99/p99.9 of each. With --load-conns N, an
             mcgen closed-loop load of N connections runs through both phases, so the
             worker is busy in both (an idle worker sleeps in epoll between one client's
             requests, which makes the quiet phase look slower than a loaded one).
  snapshot   `snapshot` --runs times: the server's own figures (stats snapshot_last_*): file
             bytes / duration, items / duration.
  restore    the file restored --runs times by a server started with --restore: stats
             restore_duration_us (both passes: the check and the load) over the file's bytes
             and items. The file is in the page cache (warm): the figures are the server's
             cost, not the disk's.
Medians of the runs are printed last. --encrypt writes and reads with --snapshot-key (a random
key). --smoke: 20 MB, one run, 2,000 gets (a quick check that it all works).
Every load is bounded (counts); only servers it starts are stopped, by pid.
"""
import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from pymemcache.client.base import Client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import harness  # noqa: E402
from harness import HOST, Proc, free_port, log_path  # noqa: E402


def request(port, line, end=b"\r\n"):
    """harness.request with room for a server busy writing a large snapshot."""
    return harness.request(port, line, end, timeout=60)


def stats(port):
    return harness.stats(port, timeout=60)

class Server(Proc):
    def __init__(self, a, folder, *extra):
        port = free_port()
        super().__init__([a.server, "-p", str(port), "-U", "0", "-l", HOST, "-t", str(a.threads),
                          "-m", str(a.mb)] + list(extra), log_path(folder, "server", port), port)
        if not self.wait_up(300):
            raise SystemExit("server exited: " + self.output()[-800:])

    def stop(self):
        """Its output (a snapshot of a large cache may take minutes to write at the stop)."""
        super().stop(600)
        return self.output()


def key(i):
    return "key:%012d" % i


def fill(port, n, size):
    c = Client((HOST, port), timeout=60)
    val = bytes(random.getrandbits(8) for _ in range(256)) * (size // 256 + 1)
    batch = {}
    for i in range(n):
        batch[key(i)] = val[i % 256:i % 256 + size]
        if len(batch) == 200:
            c.set_many(batch, noreply=True)
            batch = {}
    if batch:
        c.set_many(batch, noreply=True)
    assert c.get(key(n - 1)) is not None
    c.close()


def get_latencies(port, n, nkeys, until=None):
    """n sequential gets; `until()` is called every 500 gets and may start more snapshots."""
    lat = []
    s = socket.create_connection((HOST, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rnd = random.Random(7)
    for j in range(n):
        req = b"get %s\r\n" % key(rnd.randrange(nkeys)).encode()
        t0 = time.perf_counter_ns()
        s.sendall(req)
        got = b""
        while not got.endswith(b"END\r\n"):
            got += s.recv(1 << 16)
        lat.append(time.perf_counter_ns() - t0)
        if until is not None and j % 500 == 0:
            until()
    s.close()
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0  # noqa: E731
    return pick(0.5), pick(0.99), pick(0.999)


class Load:
    """A background load during a latency phase (--load-conns): mcgen against the server,
    closed loop (4 in flight per connection, keys of its own), bounded by -T; stopped by pid
    when the phase ends."""

    def __init__(self, a, port):
        self.proc = None
        if a.load_conns > 0:
            self.proc = subprocess.Popen(
                [a.mcgen, "-s", "%s:%d" % (HOST, port), "-c", str(a.load_conns), "-d", "4",
                 "-k", "20000", "--value-size", "32", "-m", "get=90,set=10", "-T", "120",
                 "--seed", "3", "-q"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def wait_written(port, count, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = stats(port)
        if int(st["snapshots_written"]) + int(st["snapshots_failed"]) >= count:
            if int(st["snapshots_failed"]):
                raise SystemExit("a snapshot failed")
            return st
        time.sleep(0.02)
    raise SystemExit("snapshot did not finish")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--value-size", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--latency-gets", type=int, default=30000)
    ap.add_argument("--encrypt", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--load-conns", type=int, default=0,
                    help="keep the worker busy during both latency phases: mcgen with "
                         "this many connections (closed loop, gets of its own keys)")
    ap.add_argument("--mcgen", default="build/app/mcgen/mcgen")
    a = ap.parse_args()
    if a.smoke:
        a.gb, a.runs, a.latency_gets = 0.02, 1, 2000
    nitems = int(a.gb * 1e9 / a.value_size)
    a.mb = int(nitems * (a.value_size + 200) * 1.15 / 1e6) + 64
    folder = tempfile.mkdtemp(prefix="nc-bench-snapshot.", dir="/var/tmp")
    path = os.path.join(folder, "bench.snap")
    extra = []
    if a.encrypt:
        with open(os.path.join(folder, "key"), "wb") as f:
            f.write(os.urandom(32))
        extra = ["--snapshot-key", os.path.join(folder, "key")]
    res = {"snap_gbs": [], "snap_items": [], "rest_gbs": [], "rest_items": [],
           "quiet_p99": [], "busy_p99": []}
    try:
        srv = Server(a, folder, "--snapshot-file", path, *extra)
        try:
            t0 = time.monotonic()
            fill(srv.port, nitems, a.value_size)
            st = stats(srv.port)
            print("filled %s items, %.2f GB of values, in %.1f s (-t %d -m %d)" % (
                st["curr_items"], nitems * a.value_size / 1e9, time.monotonic() - t0,
                a.threads, a.mb), flush=True)
            done = 0
            for r in range(a.runs):
                assert request(srv.port, b"snapshot\r\n") == b"OK\r\n"
                done += 1
                st = wait_written(srv.port, done)
                us = int(st["snapshot_last_duration_us"])
                b, n = int(st["snapshot_last_bytes"]), int(st["snapshot_last_items"])
                res["snap_gbs"].append(b / 1e3 / us)
                res["snap_items"].append(n * 1e6 / us)
                print("snapshot %d: %d items, %d bytes in %.3f s: %.2f GB/s, %.0f items/s" % (
                    r + 1, n, b, us / 1e6, b / 1e3 / us, n * 1e6 / us), flush=True)
            state = {"done": done}

            def keep_writing():
                st = stats(srv.port)
                if st["snapshot_in_progress"] == "0":
                    if request(srv.port, b"snapshot\r\n") == b"OK\r\n":
                        state["done"] += 1

            for r in range(a.runs):
                load = Load(a, srv.port)
                try:
                    quiet = get_latencies(srv.port, a.latency_gets, nitems)
                finally:
                    load.stop()
                res["quiet_p99"].append(quiet[1])
                before = state["done"]
                assert request(srv.port, b"snapshot\r\n") == b"OK\r\n"
                state["done"] += 1
                load = Load(a, srv.port)
                try:
                    busy = get_latencies(srv.port, a.latency_gets, nitems, keep_writing)
                finally:
                    load.stop()
                st = stats(srv.port)
                covered = st["snapshot_in_progress"] == "1"
                wait_written(srv.port, state["done"])
                res["busy_p99"].append(busy[1])
                print("GET latency (us) %d: without a snapshot p50 %.1f p99 %.1f p99.9 %.1f; "
                      "while snapshots are written (%d started, %s at the end) p50 %.1f "
                      "p99 %.1f p99.9 %.1f" % ((r + 1,) + quiet + (
                          state["done"] - before,
                          "one still running" if covered else "none running") + busy),
                      flush=True)
        finally:
            out = srv.stop()
        for ln in out.splitlines():
            if "stop snapshot" in ln:
                print(ln)
        size = os.path.getsize(path)
        for r in range(a.runs):
            srv = Server(a, folder, "--restore", path, *extra)
            st = stats(srv.port)
            srv.stop()
            us = int(st["restore_duration_us"])
            n = int(st["restore_items_loaded"])
            res["rest_gbs"].append(size / 1e3 / us)
            res["rest_items"].append(n * 1e6 / us)
            print("restore %d: %d items, %d bytes in %.3f s: %.2f GB/s, %.0f items/s "
                  "(dropped %s)" % (r + 1, n, size, us / 1e6, size / 1e3 / us, n * 1e6 / us,
                                   st["restore_items_dropped"]), flush=True)
        med = {k: statistics.median(v) for k, v in res.items()}
        print("median of %d: snapshot %.2f GB/s %.0f items/s; restore %.2f GB/s %.0f items/s; "
              "GET p99 %.1f us without a snapshot, %.1f us while one is written%s" % (
                  a.runs, med["snap_gbs"], med["snap_items"], med["rest_gbs"],
                  med["rest_items"], med["quiet_p99"], med["busy_p99"],
                  " (encrypted)" if a.encrypt else ""))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
