#!/usr/bin/env python3
"""Soak test: a steady paced load for minutes, checking server memory growth and tail latency.

Usage:
  soak.py --host 127.0.0.1 --port PORT [--pid SERVER_PID] [--duration 180] [--rate 1200]
          [--keys 100000] [--max-size 10240] [--conns 4] [--settle 60] [--sample 5]
          [--max-slope-kb-min 64] [--max-latency-ms 50] [--no-prefill] [--trace FILE]

It starts nothing: the server (nicached, memcached, any memcached-compatible one) must be
listening on --host/--port.  tests/integration/soak.sh starts one and runs this.

What it does:
  * pre-fills: one `set` for every key (pipelined, bounded by --prefill-timeout), so the
    key set (100,000 keys x 5 KB on average = 500 MB) overflows the server's memory limit
    and eviction is in its steady state before the timed part;
  * the timed part: --duration seconds at --rate requests/s, paced on a fixed schedule
    (request i is due at start + i/rate, never sent early; not bursts), 90% `get` / 10%
    `set` of uniformly drawn keys, values uniformly 1..--max-size bytes, over --conns TCP
    connections (round robin, one request in flight on each);
  * every value carries its own check (flags = offset into a fixed random buffer, value = that
    slice), so every hit is verified;
  * every --sample seconds (in a pause with no request in flight, so sampling never shows as
    request latency): the server's memory from /proc/PID/smaps (Rss + Private_Hugetlb +
    Shared_Hugetlb: hugepages are not counted in Rss) and its `stats` counters.

What it prints: per minute the memory, its change, requests, worst latency, slow requests and
the change of `stats` counters (evictions, slab_reassigns, alloc_retries, ...); at the end the
memory slope (KB/min, least squares over the samples after --settle seconds), latency
p50/p99/p999/worst (request sent -> whole reply read), the slowest requests with their time,
and the client's own worst stall (time the client loop woke late: a client-side hiccup shows
there and not as a server problem).

Thresholds (exit 1 when exceeded): memory slope after --settle above --max-slope-kb-min
(default 64 KB/min; needs --pid), worst request latency above --max-latency-ms (default 50
ms), any wrong value or protocol error, a request unanswered for --request-timeout (10 s),
or more than --max-refused-pct (1%) of the sets answered SERVER_ERROR.  Exit 2: bad usage,
cannot connect.  Python 3 standard library only.

Reading a latency failure: every minute line (and the line after the slowest requests) also
says how long the server's threads and the client waited for a CPU (schedstat run-queue time)
and the hypervisor's steal time. On a small shared machine a stall that hits memcached too
shows there; a server-side cause shows as slow requests while the server did not wait.
"""
import argparse
import gc
import json
import os
import random
import selectors
import socket
import sys
import time

# `stats` counters shown per minute (those a server does not have are skipped).
STAT_KEYS = (
    "evictions",
    "slab_reassigns",
    "alloc_retries",
    "curr_items",
    "bytes",
    "expired_unfetched",
    "evicted_unfetched",
    "slab_reassign_evictions_nomem",
    "slabs_moved",
)
SLOW_KEEP = 40  # slowest requests kept for the report


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, default=0, help="server pid, for its memory (smaps)")
    p.add_argument("--duration", type=float, default=180.0, help="timed part, seconds")
    p.add_argument("--rate", type=float, default=1200.0, help="requests per second")
    p.add_argument("--keys", type=int, default=100000)
    p.add_argument("--max-size", type=int, default=10240, help="largest value (bytes)")
    p.add_argument("--set-ratio", type=float, default=0.10)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--settle", type=float, default=60.0,
                   help="seconds of the timed part left out of the memory slope")
    p.add_argument("--sample", type=float, default=5.0, help="memory/stats sample interval (s)")
    p.add_argument("--max-slope-kb-min", type=float, default=64.0)
    p.add_argument("--max-latency-ms", type=float, default=50.0)
    p.add_argument("--slow-ms", type=float, default=10.0,
                   help="requests slower than this are counted per minute")
    p.add_argument("--no-prefill", action="store_true")
    p.add_argument("--prefill-timeout", type=float, default=180.0)
    p.add_argument("--request-timeout", type=float, default=10.0,
                   help="a request unanswered this long (s) ends the soak as a failure")
    p.add_argument("--max-refused-pct", type=float, default=1.0,
                   help="sets answered SERVER_ERROR allowed, percent of sets")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--trace", default="", help="write samples and slow requests (JSON lines)")
    a = p.parse_args(argv)
    if a.rate <= 0 or a.duration <= 0 or a.keys <= 0 or not 1 <= a.max_size <= 1 << 20:
        p.error("--rate, --duration, --keys must be > 0 and --max-size in 1..1048576")
    if not 1 <= a.conns <= 64 or a.sample <= 0:
        p.error("--conns must be 1..64 and --sample > 0")
    return a


def now():
    return time.perf_counter()


class ProtocolError(Exception):
    pass


class Conn:
    """One connection, one request in flight, replies parsed incrementally."""

    def __init__(self, host, port, idx):
        self.idx = idx
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.op = None  # (kind, key, size, sent_at, due_at) while a request is in flight
        self.out = b""

    def send(self, data, op):
        self.op = op
        self.out = data
        self.flush()

    def flush(self):
        while self.out:
            try:
                n = self.sock.send(self.out)
            except BlockingIOError:
                return False
            self.out = self.out[n:]
        return True

    def read(self):
        try:
            d = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        if not d:
            raise ProtocolError("connection %d closed by the server" % self.idx)
        self.buf += d

    def reply(self):
        """A complete reply to the request in flight: ('hit', flags, data), ('miss',),
        ('stored',), ('error', line); None while incomplete."""
        kind = self.op[0]
        buf = self.buf
        nl = buf.find(b"\r\n")
        if nl < 0:
            return None
        line = bytes(buf[:nl])
        if kind == "set":
            del buf[:nl + 2]
            if line == b"STORED":
                return ("stored",)
            if line.startswith(b"SERVER_ERROR"):
                return ("error", line)
            raise ProtocolError("set %s: unexpected reply %r" % (self.op[1], line))
        if line == b"END":
            del buf[:nl + 2]
            return ("miss",)
        parts = line.split()
        if len(parts) != 4 or parts[0] != b"VALUE":
            raise ProtocolError("get %s: unexpected reply %r" % (self.op[1], line))
        if parts[1] != self.op[1]:
            raise ProtocolError("get %s: reply for key %r" % (self.op[1], parts[1]))
        flags, n = int(parts[2]), int(parts[3])
        end = nl + 2 + n + 2 + 5
        if len(buf) < end:
            return None
        if buf[nl + 2 + n:end] != b"\r\nEND\r\n":
            raise ProtocolError("get %s: bad value framing" % self.op[1])
        data = bytes(buf[nl + 2:nl + 2 + n])
        del buf[:end]
        return ("hit", flags, data)


class Stats:
    """A separate connection for `stats` (used only while no request is in flight)."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)

    def get(self):
        self.sock.sendall(b"stats\r\n")
        buf = b""
        while not buf.endswith(b"END\r\n"):
            d = self.sock.recv(1 << 16)
            if not d:
                raise ProtocolError("stats connection closed")
            buf += d
        out = {}
        for line in buf.decode("ascii", "replace").split("\r\n"):
            f = line.split(" ", 2)
            if len(f) == 3 and f[0] == "STAT":
                try:
                    out[f[1]] = int(f[2])
                except ValueError:
                    pass
        return out


def server_memory_kb(pid):
    """Rss, Private_Hugetlb + Shared_Hugetlb (KB) of pid from /proc/PID/smaps, or None."""
    rss = huge = 0
    try:
        with open("/proc/%d/smaps" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith(b"Private_Hugetlb:") or line.startswith(b"Shared_Hugetlb:"):
                    huge += int(line.split()[1])
    except (OSError, ValueError):
        return None
    return rss, huge


def server_sched(pid):
    """{thread name: (cpu ns, run-queue wait ns)} of pid's threads from schedstat, or {}."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                cpu, wait = (int(x) for x in f.read().split()[:2])
        except (OSError, ValueError):
            continue
        name = "%s/%s" % (name, tid)
        out[name] = (cpu, wait)
    return out


def machine_steal_ms():
    """CPU time the hypervisor took from this machine (all CPUs, /proc/stat steal), ms."""
    try:
        with open("/proc/stat") as f:
            f = f.readline().split()
        return int(f[8]) * 1000 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0


def self_runq_wait_ns():
    """Run-queue wait of this (client) process so far, ns; 0 when unknown."""
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def slope_kb_min(points):
    """Least-squares slope (KB per minute) of [(t_seconds, kb)], or None with < 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    sxx = sum((t - mt) ** 2 for t, _ in points)
    if sxx == 0:
        return None
    sxy = sum((t - mt) * (v - mv) for t, v in points)
    return sxy / sxx * 60.0


def percentile(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


def cpu_wait(s0, s1):
    """What the server's threads and the client waited for a CPU between two samples."""
    parts = []
    if "sched" in s1:
        waits = {k: (v[1] - s0.get("sched", {}).get(k, (0, 0))[1]) / 1e6
                 for k, v in s1["sched"].items()}
        if waits:
            worst = max(waits, key=waits.get)
            parts.append("server threads waited %.0f ms for a CPU (most: %s %.0f ms)"
                         % (sum(waits.values()), worst.split("/")[0], waits[worst]))
    parts.append("client waited %.0f ms"
                 % ((s1.get("client_runq_ns", 0) - s0.get("client_runq_ns", 0)) / 1e6))
    steal = s1.get("steal_ms", 0) - s0.get("steal_ms", 0)
    if steal:
        parts.append("hypervisor steal %d ms" % steal)
    return ", ".join(parts)


class Soak:
    def __init__(self, a):
        self.a = a
        rnd = random.Random(a.seed)
        self.rnd = rnd
        # Values are slices of one random buffer; flags = the slice's offset.
        self.blob = rnd.randbytes(2 * a.max_size)
        self.keys = [b"soak:%07d" % i for i in range(a.keys)]
        self.trace = open(a.trace, "w") if a.trace else None
        self.errors = []  # hard errors (wrong value, protocol)
        self.set_refused = 0

    def log_trace(self, rec):
        if self.trace:
            self.trace.write(json.dumps(rec) + "\n")

    def value_for(self):
        size = self.rnd.randint(1, self.a.max_size)
        off = self.rnd.randrange(0, self.a.max_size)
        return off, self.blob[off:off + size]

    def set_cmd(self, key):
        off, val = self.value_for()
        return b"set %s %d 0 %d\r\n%s\r\n" % (key, off, len(val), val)

    def check_hit(self, key, flags, data):
        if not 1 <= len(data) <= self.a.max_size or flags >= self.a.max_size or \
                self.blob[flags:flags + len(data)] != data:
            self.errors.append("get %s: wrong value (flags %d, %d bytes)"
                               % (key.decode(), flags, len(data)))

    # ------------------------------------------------------------------ prefill
    def prefill(self, conns):
        """One set per key, pipelined in windows on every connection; bounded in time."""
        a = self.a
        t0 = now()
        window = 32
        nxt = 0
        done = 0
        outstanding = {}
        for c in conns:
            c.sock.setblocking(True)
            c.sock.settimeout(10)
        try:
            while done < a.keys:
                if now() - t0 > a.prefill_timeout:
                    print("soak: prefill stopped at the time limit after %d of %d keys"
                          % (done, a.keys))
                    break
                for c in conns:
                    if nxt >= a.keys:
                        break
                    k = min(window, a.keys - nxt)
                    c.sock.sendall(b"".join(self.set_cmd(self.keys[nxt + j]) for j in range(k)))
                    outstanding[c.idx] = k
                    nxt += k
                for c in conns:
                    k = outstanding.pop(c.idx, 0)
                    got = 0
                    while got < k:
                        nl = c.buf.find(b"\r\n")
                        if nl < 0:
                            d = c.sock.recv(1 << 16)
                            if not d:
                                raise ProtocolError("connection closed during prefill")
                            c.buf += d
                            continue
                        line = bytes(c.buf[:nl])
                        del c.buf[:nl + 2]
                        if line.startswith(b"SERVER_ERROR"):
                            self.set_refused += 1
                        elif line != b"STORED":
                            raise ProtocolError("prefill: unexpected reply %r" % line)
                        got += 1
                    done += got
        finally:
            for c in conns:
                c.sock.setblocking(False)
        print("soak: prefill: %d sets in %.1f s (%d refused)" % (done, now() - t0,
                                                                 self.set_refused))

    # ------------------------------------------------------------------ timed part
    def run(self):
        a = self.a
        try:
            conns = [Conn(a.host, a.port, i) for i in range(a.conns)]
            stats = Stats(a.host, a.port)
        except OSError as e:
            print("soak: cannot connect to %s:%d: %s" % (a.host, a.port, e))
            return 2
        if not a.no_prefill:
            try:
                self.prefill(conns)
            except (ProtocolError, OSError) as e:
                print("soak: FAIL: prefill: %s" % e)
                return 1

        sel = selectors.DefaultSelector()
        for c in conns:
            sel.register(c.sock, selectors.EVENT_READ, c)
        lat = []  # seconds, every request of the timed part
        lat_set = []  # ... of the sets alone
        slow = []  # (latency, t, kind, key, size, conn)
        samples = []  # dict per sample
        minute = {"n": 0, "max": 0.0, "slow": 0}
        minutes = []
        idle = list(conns)
        rr = 0
        i = 0
        client_stall = 0.0
        sets = 0
        set_refused0 = self.set_refused
        gc.collect()
        gc.disable()  # no collector pauses in the client during the timed part

        def sample(t_rel):
            mem = server_memory_kb(a.pid) if a.pid else None
            st = stats.get()
            rec = {"t": round(t_rel, 3), "stats": {k: st[k] for k in STAT_KEYS if k in st}}
            if mem is not None:
                rec["rss_kb"], rec["hugetlb_kb"] = mem
                rec["mem_kb"] = mem[0] + mem[1]
            if a.pid:
                rec["sched"] = server_sched(a.pid)
            rec["client_runq_ns"] = self_runq_wait_ns()
            rec["steal_ms"] = machine_steal_ms()
            samples.append(rec)
            self.log_trace(dict(rec, kind="sample"))
            return rec

        start = now()
        end = start + a.duration
        next_sample = start
        next_minute = start + 60.0
        try:
            sample(0.0)
        except (ProtocolError, OSError) as e:
            print("soak: FAIL: stats: %s" % e)
            return 1
        next_sample += a.sample
        last_min_sample = samples[0]
        print("soak: timed part: %.0f s at %.0f req/s, %d connections, %d keys, values 1..%d"
              % (a.duration, a.rate, a.conns, a.keys, a.max_size))
        sys.stdout.flush()

        def report_minute(t_rel):
            nonlocal last_min_sample
            s = samples[-1]
            prev = last_min_sample
            d = {k: s["stats"].get(k, 0) - prev["stats"].get(k, 0)
                 for k in ("evictions", "slab_reassigns", "alloc_retries")
                 if k in s["stats"]}
            mem = ""
            if "mem_kb" in s:
                mem = "mem %d KB (%+d) rss %d hugetlb %d, " % (
                    s["mem_kb"], s["mem_kb"] - prev["mem_kb"], s["rss_kb"], s["hugetlb_kb"])
            print("soak: minute %d: %s%d requests, worst %.1f ms, %d over %.0f ms; %s; %s"
                  % (len(minutes) + 1, mem, minute["n"], minute["max"] * 1e3, minute["slow"],
                     a.slow_ms, " ".join("%s +%d" % kv for kv in d.items()),
                     cpu_wait(prev, s)))
            sys.stdout.flush()
            minutes.append(dict(minute, t=t_rel))
            minute.update(n=0, max=0.0, slow=0)
            last_min_sample = s

        try:
            while True:
                t = now()
                # Sampling: stop sending, let in-flight requests finish, then sample.
                if t >= next_sample or t >= end:
                    if len(idle) == len(conns):
                        if t >= end:
                            break
                        sample(t - start)
                        next_sample += a.sample
                        # The slots missed while sampling are skipped, not sent in a burst.
                        i = max(i, int((now() - start) * a.rate))
                        if t >= next_minute:
                            report_minute(t - start)
                            next_minute += 60.0
                        continue
                    due = None
                else:
                    due = start + i / a.rate
                    while due <= t and idle:
                        c = idle.pop(rr % len(idle))
                        rr += 1
                        key = self.keys[self.rnd.randrange(a.keys)]
                        if self.rnd.random() < a.set_ratio:
                            data = self.set_cmd(key)
                            op = ("set", key, len(data), now(), due)
                            sets += 1
                        else:
                            op = ("get", key, 0, now(), due)
                            data = b"get %s\r\n" % key
                        c.send(data, op)
                        if c.out:
                            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
                        i += 1
                        due = start + i / a.rate
                timeout = 0.05
                if due is not None and idle:
                    timeout = max(0.0, due - now())
                if t < next_sample:
                    timeout = min(timeout, max(0.0, next_sample - now()))
                before = now()
                events = sel.select(timeout)
                after = now()
                if not events:
                    client_stall = max(client_stall, after - before - timeout)
                for key_, mask in events:
                    c = key_.data
                    if mask & selectors.EVENT_WRITE:
                        if c.flush():
                            sel.modify(c.sock, selectors.EVENT_READ, c)
                    if mask & selectors.EVENT_READ:
                        c.read()
                        if c.op is None:
                            if c.buf:
                                raise ProtocolError("data with no request in flight")
                            continue
                        r = c.reply()
                        if r is None:
                            continue
                        done_at = now()
                        kind, key, size, sent, _due = c.op
                        l = done_at - sent
                        lat.append(l)
                        if kind == "set":
                            lat_set.append(l)
                        minute["n"] += 1
                        minute["max"] = max(minute["max"], l)
                        if l * 1e3 > a.slow_ms:
                            minute["slow"] += 1
                        if len(slow) < SLOW_KEEP or l > slow[-1][0]:
                            if r[0] == "hit":
                                size = len(r[2])
                            slow.append((l, sent - start, kind, key.decode(), size, c.idx))
                            slow.sort(reverse=True)
                            del slow[SLOW_KEEP:]
                        if l * 1e3 > a.slow_ms:
                            self.log_trace({"kind": "slow", "t": round(sent - start, 4),
                                            "ms": round(l * 1e3, 3), "op": kind,
                                            "key": key.decode(), "size": size, "conn": c.idx})
                        if r[0] == "hit":
                            self.check_hit(key, r[1], r[2])
                        elif r[0] == "error":
                            self.set_refused += 1
                        if c.buf:
                            raise ProtocolError("extra data after a reply: %r" % bytes(c.buf[:80]))
                        c.op = None
                        idle.append(c)
                if len(self.errors) > 20:
                    break
                for c in conns:
                    if c.op is not None and after - c.op[3] > a.request_timeout:
                        raise ProtocolError("%s %s on connection %d unanswered for %.0f s"
                                            % (c.op[0], c.op[1].decode(), c.idx,
                                               after - c.op[3]))
        except (ProtocolError, OSError) as e:
            self.errors.append("%s" % e)
        finally:
            gc.enable()
        elapsed = now() - start
        if minute["n"]:
            report_minute(elapsed)
        return self.report(lat, lat_set, slow, samples, elapsed, sets,
                           self.set_refused - set_refused0, client_stall)

    def report(self, lat, lat_set, slow, samples, elapsed, sets, refused, client_stall):
        a = self.a
        fails = []
        lat.sort()
        n = len(lat)
        worst = lat[-1] if lat else 0.0
        print("soak: %d requests in %.1f s (%.0f/s, wanted %.0f/s)"
              % (n, elapsed, n / elapsed if elapsed else 0, a.rate))
        print("soak: latency ms: p50 %.3f p99 %.3f p999 %.3f worst %.3f (limit %.0f)"
              % (percentile(lat, 0.5) * 1e3, percentile(lat, 0.99) * 1e3,
                 percentile(lat, 0.999) * 1e3, worst * 1e3, a.max_latency_ms))
        lat_set.sort()
        print("soak: set latency ms: p50 %.3f p99 %.3f p999 %.3f worst %.3f (%d sets)"
              % (percentile(lat_set, 0.5) * 1e3, percentile(lat_set, 0.99) * 1e3,
                 percentile(lat_set, 0.999) * 1e3, (lat_set[-1] if lat_set else 0) * 1e3,
                 len(lat_set)))
        print("soak: client loop worst late wake-up %.1f ms (a client-side stall, not the server)"
              % (client_stall * 1e3))
        for l, t, kind, key, size, ci in slow[:10]:
            print("soak:   slow: %.1f ms at t=%.3f s: %s %s (%d bytes) conn %d"
                  % (l * 1e3, t, kind, key, size, ci))
        if slow and len(samples) > 1:
            t = slow[0][1]
            i = max([j for j, s in enumerate(samples) if s["t"] <= t] or [0])
            if i + 1 < len(samples):
                print("soak: in the %.0f s around the slowest request: %s"
                      % (samples[i + 1]["t"] - samples[i]["t"],
                         cpu_wait(samples[i], samples[i + 1])))
        if n < 0.9 * a.rate * a.duration:
            fails.append("only %d requests done (wanted about %.0f): the server is too slow "
                         "or the client could not keep up" % (n, a.rate * a.duration))
        if worst * 1e3 > a.max_latency_ms:
            fails.append("worst latency %.1f ms is over %.0f ms" % (worst * 1e3, a.max_latency_ms))
        if a.pid:
            pts = [(s["t"], s["mem_kb"]) for s in samples if "mem_kb" in s and s["t"] >= a.settle]
            sl = slope_kb_min(pts)
            first = next((s for s in samples if "mem_kb" in s), None)
            if first is not None:
                print("soak: server memory: %d KB at start, %d KB at the end (rss %d, hugetlb %d)"
                      % (first["mem_kb"], samples[-1]["mem_kb"], samples[-1]["rss_kb"],
                         samples[-1]["hugetlb_kb"]))
            if sl is None:
                fails.append("too few memory samples after --settle %.0f s to fit a slope"
                             % a.settle)
            else:
                print("soak: memory slope after %.0f s: %.1f KB/min over %d samples (limit %.0f)"
                      % (a.settle, sl, len(pts), a.max_slope_kb_min))
                if sl > a.max_slope_kb_min:
                    fails.append("memory grows %.1f KB/min after %.0f s (limit %.0f)"
                                 % (sl, a.settle, a.max_slope_kb_min))
        else:
            print("soak: no --pid: server memory not checked")
        if sets and refused * 100 > sets * a.max_refused_pct:
            fails.append("%d of %d sets refused (SERVER_ERROR)" % (refused, sets))
        elif refused:
            print("soak: %d of %d sets refused (SERVER_ERROR)" % (refused, sets))
        fails.extend(self.errors[:20])
        if samples:
            last = samples[-1]["stats"]
            print("soak: server stats at the end: %s"
                  % " ".join("%s=%d" % kv for kv in sorted(last.items())))
        if self.trace:
            self.trace.close()
        for f in fails:
            print("soak: FAIL: %s" % f)
        print("soak: %s" % ("FAIL" if fails else "PASS"))
        return 1 if fails else 0


def main(argv):
    a = parse_args(argv)
    return Soak(a).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
