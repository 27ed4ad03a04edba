#!/usr/bin/python3
"""nicached's Prometheus endpoint (--metrics), scraped as Prometheus would, and parsed with the
Python prometheus_client parser (Debian's python3-prometheus-client).

  tests/integration/metrics.py --server PATH

Checks (each prints PASS/FAIL, then "N passed, M failed"; exit status 1 on any failure):
  format       every family has HELP and TYPE; counters end in _total; histogram buckets
               ascend, never decrease, and +Inf equals _count
  vs-stats     after a known load (text, binary and UDP clients), the per-worker series summed
               equal `stats` (commands, hits, misses, items), `stats slabs` / `stats items`
               per class, `stats settings`
  latency      the request histograms count what ran: gets (over UDP too), sets, deletes,
               incr/decr, touches
  http         another path answers 404, a POST 405; 200 scrapes while a client keeps getting
               (the client sees no error, every scrape parses)
  bad-listen   --metrics on a port already taken, or not an address: the server refuses to
               start with a message naming --metrics
Only processes this script started are stopped, by pid.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from pymemcache.client.base import Client

from harness import HOST, RESULTS, UNCLEAN, Proc, check, free_port, free_ports
from mc import Udp

class Server(Proc):
    """nicached on loopback with --metrics on a port of its own; up once it accepts."""

    def __init__(self, path, extra, log):
        port, self.mport = free_ports(2)
        super().__init__([path, "-p", str(port), "-U", str(port), "-l", HOST, "-t", "2", "-m", "64",
                          "--metrics", "%s:%d" % (HOST, self.mport)] + extra, log, port,
                         probe="connect")
        self.up()

    def scrape(self, path="/metrics"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.mport, path), timeout=5) as r:
            assert r.status == 200, r.status
            ctype = r.headers.get("Content-Type", "")
            assert ctype.startswith("text/plain; version=0.0.4"), ctype
            return r.read().decode()

    def stats(self, group=""):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(("stats %s\r\n" % group).encode())
        data = b""
        while not data.endswith(b"END\r\n"):
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        out = {}
        for line in data.decode().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        return out


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def summed(fams, name):
    """Sum of every sample called `name` (over the worker label)."""
    for f in fams.values():
        total, seen = 0, False
        for s in f.samples:
            if s.name == name:
                total += s.value
                seen = True
        if seen:
            return total
    raise AssertionError("no series %s" % name)


def load(ctx):
    """A known load: text sets/gets (multi-get too), misses, deletes, incr, touch; binary."""
    c = Client(("127.0.0.1", ctx.srv.port))
    for i in range(500):
        c.set("m%d" % i, "v" * (i % 300 + 1))
    for i in range(0, 500, 10):
        c.get_many(["m%d" % j for j in range(i, i + 10)])
    for i in range(100):
        c.get("missing%d" % i)
    c.set("n", "5")
    c.incr("n", 3)
    c.decr("n", 1)
    c.delete("m0")
    c.delete("m0")
    c.touch("m1", 100)
    c.close()
    # UDP gets, whose latency the fast path notes a batch of datagrams at a time: one key and
    # three, hits and misses, 40 sent before any reply is read (several to a batch).
    u = Udp("127.0.0.1", ctx.srv.port)
    for rid in range(40):
        keys = ["m%d" % (rid + 1)] if rid % 2 else ["m%d" % (rid + 1), "udpmiss%d" % rid, "m2"]
        u.send(("get %s\r\n" % " ".join(keys)).encode(), rid)
    replies = set()
    while len(replies) < 40:
        r = u.recv()
        assert r is not None, "UDP gets answered: %d of 40" % len(replies)
        replies.add(r[0])
    u.close()
    try:
        import pylibmc
        b = pylibmc.Client(["127.0.0.1:%d" % ctx.srv.port], binary=True)
        b.set("bin", "x")
        assert b.get("bin") == "x"
        b.disconnect_all()
    except ImportError:
        pass


@check("format")
def check_format(ctx):
    text = ctx.srv.scrape()
    fams = families(text)
    assert len(fams) > 50, len(fams)
    helps = {l.split(" ")[2] for l in text.splitlines() if l.startswith("# HELP ")}
    types = {l.split(" ")[2]: l.split(" ")[3] for l in text.splitlines() if l.startswith("# TYPE ")}
    names = {l.split("{")[0].split(" ")[0] for l in text.splitlines() if l and not l.startswith("#")}
    for n in names:
        base = n
        for suffix in ("_bucket", "_sum", "_count"):
            if n.endswith(suffix) and n[: -len(suffix)] in types:
                base = n[: -len(suffix)]
        assert base in types, "%s has no TYPE" % n
        assert base in helps, "%s has no HELP" % n
        if types[base] == "counter":
            assert base.endswith("_total"), "counter %s does not end in _total" % base
    hist = fams["nicached_request_duration_seconds"]
    assert hist.type == "histogram"
    series = {}
    for s in hist.samples:
        key = (s.labels["worker"], s.labels["class"])
        series.setdefault(key, {"b": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["b"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    assert len(series) == 2 * 6, sorted(series)
    for key, v in series.items():
        b = v["b"]
        assert [le for le, _ in b] == sorted(le for le, _ in b), key
        assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), (key, b)
        assert b[-1][0] == float("inf") and b[-1][1] == v["count"], (key, b[-1], v["count"])


@check("vs-stats")
def check_vs_stats(ctx):
    st = ctx.srv.stats()
    fams = families(ctx.srv.scrape())
    for name in ("cmd_get", "cmd_set", "get_hits", "get_misses", "delete_hits", "delete_misses",
                 "incr_hits", "decr_hits", "touch_hits", "total_connections", "cmd_touch"):
        got = summed(fams, "nicached_%s_total" % name)
        assert got == int(st[name]), "%s: metrics %d, stats %s" % (name, got, st[name])
    for name in ("curr_items", "bytes"):
        got = summed(fams, "nicached_%s" % name)
        assert got == int(st[name]), "%s: metrics %d, stats %s" % (name, got, st[name])
    assert summed(fams, "nicached_total_items_total") == int(st["total_items"])
    assert summed(fams, "nicached_limit_maxbytes") == int(st["limit_maxbytes"])
    assert summed(fams, "nicached_threads") == int(st["threads"])
    slabs = ctx.srv.stats("slabs")
    items = ctx.srv.stats("items")
    sizes = {s.labels["class"]: s.value for s in fams["nicached_slab_chunk_size_bytes"].samples}
    number = {s.labels["class"]: s.value for s in fams["nicached_items_number"].samples}
    assert sizes, "no slab class"
    for cls, size in sizes.items():
        assert int(slabs["%s:chunk_size" % cls]) == size, cls
        assert int(items["items:%s:number" % cls]) == number[cls], cls
    settings = ctx.srv.stats("settings")
    exported = {s.labels["name"]: s.labels["value"] for s in fams["nicached_setting"].samples}
    for k in ("maxbytes", "maxconns", "tcpport", "num_threads", "metrics", "item_size_max"):
        assert exported[k] == settings[k], (k, exported[k], settings[k])


@check("latency")
def check_latency(ctx):
    st = ctx.srv.stats()
    fams = families(ctx.srv.scrape())
    counts = {}
    for s in fams["nicached_request_duration_seconds"].samples:
        if s.name.endswith("_count"):
            counts[s.labels["class"]] = counts.get(s.labels["class"], 0) + s.value
    assert counts["get"] == int(st["cmd_get"]), (counts, st["cmd_get"])
    assert counts["set"] == int(st["cmd_set"]), (counts, st["cmd_set"])
    assert counts["delete"] == int(st["delete_hits"]) + int(st["delete_misses"]), counts
    assert counts["arith"] == sum(int(st[k]) for k in ("incr_hits", "incr_misses",
                                                        "decr_hits", "decr_misses")), counts
    assert counts["touch"] == int(st["touch_hits"]) + int(st["touch_misses"]), counts
    assert counts["other"] >= 1, counts  # the stats requests
    sums = [s.value for s in fams["nicached_request_duration_seconds"].samples
            if s.name.endswith("_sum") and s.labels["class"] == "get"]
    assert sum(sums) > 0, sums


@check("http")
def check_http(ctx):
    for path, method, want in (("/", "GET", 404), ("/metricsx", "GET", 404),
                               ("/metrics", "POST", 405)):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (ctx.srv.mport, path),
                                     method=method, data=b"x" if method == "POST" else None)
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("%s %s answered 200" % (method, path))
        except urllib.error.HTTPError as e:
            assert e.code == want, (method, path, e.code)
    errors = []
    stop = threading.Event()

    def getter():
        c = Client(("127.0.0.1", ctx.srv.port), timeout=5)
        n = 0
        while not stop.is_set() and n < 200000:
            try:
                if c.get("m5") is None:
                    errors.append("m5 missing")
            except Exception as e:
                errors.append(repr(e))
            n += 1
        c.close()

    t = threading.Thread(target=getter)
    t.start()
    try:
        deadline = time.time() + 60
        for _ in range(200):
            assert time.time() < deadline, "200 scrapes took more than 60 s"
            families(ctx.srv.scrape())
    finally:
        stop.set()
        t.join(30)
    assert not errors, errors[:3]
    assert ctx.srv.proc.poll() is None, "the server died"


@check("bad-listen")
def check_bad_listen(ctx):
    for value in ("127.0.0.1:%d" % ctx.srv.mport, "nohost:99999", "localhost:9150"):
        out = subprocess.run(
            [ctx.path, "-p", str(free_port()), "-l", "127.0.0.1", "-t", "1",
             "--metrics", value], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0, "started with --metrics %s" % value
        assert "--metrics" in out.stdout + out.stderr, (value, out.stderr[-300:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()

    class Ctx:
        pass
    ctx = Ctx()
    ctx.path = args.server
    tmp = tempfile.mkdtemp(prefix="nc-metrics.")
    ctx.srv = Server(args.server, [], os.path.join(tmp, "server.log"))
    try:
        load(ctx)
        for fn in (check_format, check_vs_stats, check_latency, check_http, check_bad_listen):
            fn(ctx)
    finally:
        ctx.srv.stop()
        for u in UNCLEAN:
            print("FAIL clean exit: %s" % u, flush=True)
            RESULTS.append(False)
        if not all(RESULTS):
            with open(os.path.join(tmp, "server.log")) as f:
                print(f.read()[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(RESULTS)
    print("%d passed, %d failed" % (passed, len(RESULTS) - passed))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
