#!/usr/bin/env python3
# Memory efficiency, nicached vs memcached: how much of -m each server turns into cached items,
# whether it keeps what was touched last, and what the process costs the machine.
#
#   scripts/bench-memory.py measure --mix MIX -m MB --seed N --run R --out FILE.jsonl
#                                   --server NAME:PORT:PID [--server NAME:PORT:PID ...]
#   scripts/bench-memory.py report --results FILE.jsonl -m MB --runs N --mixes "..."
#                                  [--json FILE] [--check]
#
# Normally run by scripts/bench-memory.sh, which starts a fresh pair of servers (memcached and
# nicached, -t 1, the same -m) for every mix and run, calls "measure" against both (one after
# the other, memcached first on odd runs), stops them, and calls "report" at the end.
# Python 3 standard library only; raw TCP sockets on loopback, memcached text protocol.
#
# measure: one mix against each --server in turn, on one connection, appending one JSON line
# per server to --out. Keys are "k<seq>", each used once, so every set stores a new item.
# Value sizes are uniform in the mix's range (same seed: the same sequence for both servers):
#   tiny   10..100 B          mixed  100..10240 B          large  102400..1000000 B
#   shift  1.5 x -m of values 10..2048 B, then 1.5 x -m of values 102400..1000000 B
# In all 3 x -m bytes of values are written with "set", in batches of about -m/200 bytes, at
# most --pace x -m bytes per second (default 0.5: the servers then hold more than the last
# second's writes, which the recency rule below needs; the tiny mix is slower than that anyway:
# the servers' set rate bounds it). The client builds the next batch while the server works on
# the current one. Each batch is one pipelined write of
#   the sets (normal replies; STORED counted, SERVER_ERROR out of memory and other errors
#     counted apart, never fatal),
#   large and shift only: the appender of the bug report, key "hot": set to 200 KiB before the
#     first batch, then "append" 1 KiB per batch until it would pass 900 KiB, then set to
#     200 KiB again; every append other than STORED (NOT_STORED: the key had vanished) and
#     every failed re-set is an append failure,
#   get of the keys sampled by the previous batch that hit then (the re-check),
#   get of a new sample: up to 20 keys (at most 2 MiB of values) written 0.2 to 0.9 s ago,
#     which touches them,
#   "mg KEY u" of 10 keys written 1 to 3 s ago and not touched since (HD/EN; "u": not an
#     access, in memcached and in nicached), to see whether older items are still held,
#   stats.
# Recency rule "no eviction of an item touched in the last second while older ones exist": a
# sampled key that misses at its first get (written < 1 s ago) or at its re-check (touched
# < 1 s ago) is a recent miss when, in that batch, an older key answered the mg probe or the
# server's curr_items exceeded the items stored or touched in the last second (either way it
# held an item it should have evicted first; keys are never re-stored, so an old key held now
# was held when the recent one went). Other misses (the server held nothing older) are
# reported apart (recent_misses_unavoidable, JSON only). A key counts once: one seen missing
# is not sampled again. memcached keeps one LRU per slab class, so it breaks this rule too
# when one class runs short (its figure is shown alike; --check looks at nicached's only).
# First eviction: the first batch whose stats show evictions > 0 gives bytes, curr_items
# (and bytes / -m) at that moment. After 3 x -m: bytes, curr_items, evictions again, then the
# footprint: VmRSS of /proc/PID/status plus the hugepages it maps (Private_Hugetlb +
# Shared_Hugetlb summed over /proc/PID/smaps), in MB and as a multiple of -m; then "stats
# slabs" / "stats items" (kept in the JSON), then a client-side scan: get of every key written
# (every s-th key when more than 200000, scaled up by s), which counts the items and key +
# value bytes really held, independent of how each server defines its "bytes" stat
# (nicached: 72-byte header + key + value; memcached: its header + key + value + CRLF).
# Every receive has a timeout (--timeout, 20 s) and a measurement has a cap (--max-seconds,
# 90 s): a server that hangs or closes the connection fails its cell, not the bench.
#
# report: medians over the runs of each figure, one markdown table (rows per mix and server),
# a line per mix "nicached/memcached bytes after 3x: X.XXx, at first eviction: Y.YYx", the
# client-side scan and the slab use of the last run. --json FILE dumps every raw record and
# the medians. --check-floor F (0.98) and --check-end-only (compare only the bytes after 3x,
# no recency or append check: the regression guard in scripts/test.sh) adjust --check.
# --check: exit 1 unless, for every mix, nicached's bytes at first eviction and
# after 3x are >= 0.98 x memcached's and nicached has no recent miss and no append failure
# (each failing condition is printed). Exit 1 too when a cell failed.
import argparse
import array
import base64
import bisect
import collections
import itertools
import json
import random
import select
import socket
import statistics
import sys
import time

MIB = 1 << 20
KIB = 1 << 10
HOT_KEY = b"hot"
HOT_START = 200 * KIB
HOT_STEP = 1 * KIB
HOT_MAX = 900 * KIB
SMALL = (10, 2048)
LARGE = (100 * KIB, 1_000_000)
MIXES = {
    "tiny": [(3.0, (10, 100))],
    "mixed": [(3.0, (100, 10 * KIB))],
    "large": [(3.0, LARGE)],
    "shift": [(1.5, SMALL), (1.5, LARGE)],
}
APPENDER_MIXES = ("large", "shift")
SERVERS = ("memcached", "nicached")
SCAN_MAX_KEYS = 200_000


class BenchError(Exception):
    """The server misbehaved (closed, timed out, answered out of protocol)."""


class Conn:
    """One TCP connection with a receive buffer; every wait is bounded."""

    def __init__(self, host, port, timeout, deadline):
        self.timeout = timeout
        self.deadline = deadline
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise BenchError(f"connect {host}:{port}: {e}") from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.scratch = bytearray(4 * MIB)
        self.view = memoryview(self.scratch)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _wait(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BenchError("measurement cap (--max-seconds) reached")
        return min(self.timeout, left)

    def _recv_into_buf(self):
        """One recv into the buffer; the socket's mode (blocking with timeout) decides waits."""
        try:
            n = self.sock.recv_into(self.view)
        except socket.timeout as e:
            raise BenchError(f"no reply within {self.timeout} s") from e
        except BlockingIOError:
            return
        except OSError as e:
            raise BenchError(f"recv: {e}") from e
        if n == 0:
            raise BenchError("server closed the connection")
        if self.pos > 0 and self.pos >= len(self.buf) // 2:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += self.view[:n]

    def _fill(self):
        self.sock.settimeout(self._wait())
        self._recv_into_buf()

    def send(self, data):
        """Send everything, reading replies meanwhile so neither side can block the other."""
        mv = memoryview(data)
        off = 0
        self.sock.setblocking(False)
        try:
            while off < len(mv):
                r, w, _ = select.select([self.sock], [self.sock], [], self._wait())
                if not r and not w:
                    raise BenchError(f"could not send within {self.timeout} s")
                if r:
                    self._recv_into_buf()
                if w:
                    try:
                        off += self.sock.send(mv[off : off + 4 * MIB])
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        raise BenchError(f"send: {e}") from e
        finally:
            self.sock.settimeout(self.timeout)

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos : i])
                self.pos = i + 2
                return line
            if len(self.buf) - self.pos > 64 * KIB:
                raise BenchError("reply line longer than 64 KiB (out of protocol)")
            self._fill()

    def skip(self, n):
        """Consume n bytes without keeping them (values of get replies)."""
        avail = len(self.buf) - self.pos
        if avail >= n:
            self.pos += n
            return
        n -= avail
        self.buf.clear()
        self.pos = 0
        while n > 0:
            self.sock.settimeout(self._wait())
            try:
                k = self.sock.recv_into(self.view)
            except socket.timeout as e:
                raise BenchError(f"no reply within {self.timeout} s") from e
            except OSError as e:
                raise BenchError(f"recv: {e}") from e
            if k == 0:
                raise BenchError("server closed the connection")
            if k > n:
                self.buf += self.view[n:k]
                n = 0
            else:
                n -= k

    def read_store_replies(self, n, counts):
        """n one-line storage replies: counts STORED, out of memory and other errors."""
        need = 8 * n
        while n > 4 and len(self.buf) - self.pos < need:
            # A non-STORED reply of another length shows up as a mismatch below; the replies
            # that follow in the pipeline (stats) always supply enough bytes.
            self._fill()
        if n > 4 and self.buf[self.pos : self.pos + need] == b"STORED\r\n" * n:
            self.pos += need
            counts["stored"] += n
            return []
        failed = []
        for i in range(n):
            line = self.readline()
            if line == b"STORED":
                counts["stored"] += 1
                continue
            failed.append(i)
            if line.startswith(b"SERVER_ERROR") and b"memory" in line:
                counts["oom"] += 1
            else:
                counts["other_err"] += 1
            msgs = counts.setdefault("messages", {})
            key = line.decode("latin-1")[:80]
            if key in msgs or len(msgs) < 8:
                msgs[key] = msgs.get(key, 0) + 1
        return failed

    def read_get(self):
        """One get reply: {key: value length} of the hits."""
        hits = {}
        while True:
            line = self.readline()
            if line == b"END":
                return hits
            if not line.startswith(b"VALUE "):
                raise BenchError(f"unexpected get reply: {line[:80]!r}")
            parts = line.split()
            try:
                n = int(parts[3])
            except (IndexError, ValueError) as e:
                raise BenchError(f"bad VALUE line: {line[:80]!r}") from e
            self.skip(n)
            if self.readline() != b"":
                raise BenchError("value not followed by CRLF")
            hits[parts[1]] = n

    def read_stats(self):
        out = {}
        for _ in range(100000):
            line = self.readline()
            if line == b"END":
                return out
            parts = line.split(b" ", 2)
            if len(parts) < 3 or parts[0] != b"STAT":
                raise BenchError(f"unexpected stats reply: {line[:80]!r}")
            out[parts[1].decode("latin-1")] = parts[2].decode("latin-1")
        raise BenchError("stats reply without END")

    def stats(self, sub=""):
        self.send(b"stats" + (b" " + sub.encode() if sub else b"") + b"\r\n")
        return self.read_stats()


def stat_int(st, name):
    try:
        return int(st.get(name, "0"))
    except ValueError:
        return 0


def footprint_kb(pid):
    """VmRSS plus hugetlb pages mapped, in kB; None when the process is not readable."""
    try:
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        huge = 0
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if line.startswith(("Private_Hugetlb:", "Shared_Hugetlb:")):
                    huge += int(line.split()[1])
        return {"rss_kb": rss, "hugetlb_kb": huge, "total_kb": rss + huge}
    except (OSError, ValueError, IndexError):
        return None


class Workload:
    """The value sizes of one mix, from a seed: the same sequence for every server."""

    def __init__(self, mix, mem_bytes, seed, vbuf):
        self.rng = random.Random(seed)
        self.phases = [(int(f * mem_bytes), r) for f, r in MIXES[mix]]
        self.phase = 0
        self.phase_written = 0
        self.pool = []  # sizes drawn for the current phase, not used yet
        self.done = False
        self.vbuf = vbuf
        self.vstr = vbuf.decode("ascii")
        self.seq = 0
        self.sizes = array.array("I")
        # " 0 0 <n>\r\n<value>\r\n" for every size of the small ranges (most sets, most time)
        self.tmpl = {}
        for _, (lo, hi) in self.phases:
            if hi - lo <= 4096:
                for n in range(lo, hi + 1):
                    off = (n * 7919) % (len(vbuf) - n)
                    self.tmpl[n] = " 0 0 %d\r\n%s\r\n" % (n, self.vstr[off : off + n])

    def _sizes(self, budget):
        """Sizes for about budget bytes (the last one crosses it), within the phase limits."""
        ns = []
        bb = 0
        while bb < budget and not self.done:
            limit, (lo, hi) = self.phases[self.phase]
            room = limit - self.phase_written
            if room <= 0:
                if self.phase + 1 >= len(self.phases):
                    self.done = True
                    break
                self.phase += 1
                self.phase_written = 0
                self.pool = []
                continue
            if not self.pool:
                k = max(16, int(2 * budget / ((lo + hi) / 2)))
                self.pool = self.rng.choices(range(lo, hi + 1), k=k)
            need = min(budget - bb, room)
            cs = list(itertools.accumulate(self.pool))
            j = bisect.bisect_left(cs, need)
            take = self.pool[: j + 1]
            del self.pool[: j + 1]
            got = sum(take)
            ns += take
            bb += got
            self.phase_written += got
        return ns, bb

    def batch(self, budget):
        """The next sets, about budget bytes of values: (command bytes, first seq, value bytes)."""
        ns, bb = self._sizes(budget)
        first = self.seq
        self.seq += len(ns)
        self.sizes.extend(ns)
        tmpl = self.tmpl
        if all(n in tmpl for n in ns):
            keys = map(str, range(first, self.seq))
            text = "".join(itertools.chain.from_iterable(
                zip(itertools.repeat("set k"), keys, map(tmpl.__getitem__, ns))))
            return text.encode("ascii"), first, bb
        vbuf, L = self.vbuf, len(self.vbuf)
        cmds = []
        for s, n in zip(range(first, self.seq), ns):
            t = tmpl.get(n)
            if t is not None:
                cmds.append(b"set k%d%s" % (s, t.encode("ascii")))
            else:
                off = (s * 7919) % (L - n)
                cmds.append(b"set k%d 0 0 %d\r\n%s\r\n" % (s, n, vbuf[off : off + n]))
        return b"".join(cmds), first, bb


def measure_one(name, port, pid, args, mix):
    mem = args.m * MIB
    t_start = time.monotonic()
    deadline = t_start + args.max_seconds
    rec = {
        "server": name,
        "mix": mix,
        "run": args.run,
        "seed": args.seed,
        "m_mb": args.m,
        "ok": False,
    }
    conn = None
    try:
        conn = Conn("127.0.0.1", port, args.timeout, deadline)
        conn.send(b"version\r\n")
        rec["version"] = conn.readline().decode("latin-1")
        vrng = random.Random(args.seed ^ 0x5EED)
        vbuf = base64.b64encode(vrng.randbytes(1_600_000))  # no CR/LF in values
        work = Workload(mix, mem, args.seed, vbuf)
        sizes = work.sizes
        failed_seqs = set()
        counts = {"stored": 0, "oom": 0, "other_err": 0}
        batch_bytes = max(1, mem // 200)
        pace = args.pace * mem  # value bytes per second at most (0: as fast as it goes)
        appender = mix in APPENDER_MIXES
        hot = {"size": 0, "appends": 0, "append_fail": 0, "set_fail": 0, "resets": 0}
        hot_counts = {"stored": 0, "oom": 0, "other_err": 0}
        if appender:
            conn.send(b"set hot 0 0 %d\r\n%s\r\n" % (HOT_START, vbuf[:HOT_START]))
            if conn.read_store_replies(1, hot_counts):
                hot["set_fail"] += 1
            else:
                hot["size"] = HOT_START
        batches = collections.deque()  # (time stored, first seq, last seq + 1)
        touched = {}  # seq -> (write time, last touch time)
        pending = []  # sampled keys that hit: re-checked by the next batch
        gone = set()  # sampled keys seen missing: not sampled again, a miss counts once
        rm = {"recent_misses": 0, "unavoidable": 0, "sampled": 0, "rechecked": 0,
              "old_probes": 0, "old_probe_hits": 0}
        miss_examples = []
        miss_batches = []  # batch of every recent miss (where in the run they happen)
        first = None
        written = 0
        nbatch = 0
        t_write = time.monotonic()
        nxt = work.batch(batch_bytes)
        while nxt[2] > 0:
            if time.monotonic() > deadline:
                raise BenchError("measurement cap (--max-seconds) reached")
            setcmds, lo, bb = nxt
            seq = work.seq
            nsets = seq - lo
            parts = [setcmds]
            written += bb
            # the appender
            hot_cmd = None
            if appender:
                if hot["size"] + HOT_STEP > HOT_MAX or hot["size"] == 0:
                    parts.append(b"set hot 0 0 %d\r\n%s\r\n" % (HOT_START, vbuf[:HOT_START]))
                    hot_cmd = "set"
                else:
                    parts.append(b"append hot 0 0 %d\r\n%s\r\n" % (HOT_STEP, vbuf[:HOT_STEP]))
                    hot_cmd = "append"
            # the re-check of the previous sample, then a new sample
            recheck = pending
            if recheck:
                parts.append(b"get " + b" ".join(b"k%d" % s for s, _, _ in recheck) + b"\r\n")
            now = time.monotonic()
            sample = []
            elig = [b for b in batches if now - 0.9 <= b[0] <= now - 0.2]
            if elig:
                s_lo, s_hi = elig[0][1], elig[-1][2]
                picked = set()
                sbytes = 0
                for _ in range(4 * args.sample):
                    if len(sample) >= args.sample:
                        break
                    s = vrng.randrange(s_lo, s_hi)
                    if s in picked or s in failed_seqs or s in gone:
                        continue
                    if sbytes + sizes[s] > args.sample_bytes and sample:
                        break
                    picked.add(s)
                    sbytes += sizes[s]
                    wt = next(b[0] for b in elig if b[1] <= s < b[2])
                    sample.append((s, wt))
                if sample:
                    parts.append(b"get " + b" ".join(b"k%d" % s for s, _ in sample) + b"\r\n")
            # keys written 1 to 3 s ago and not touched since: does the server hold any? ("mg
            # KEY u" answers HD or EN without counting as an access in either server)
            old = []
            oelig = [b for b in batches if now - 3.0 <= b[0] <= now - 1.0]
            if oelig and args.old_probes > 0:
                o_lo, o_hi = oelig[0][1], oelig[-1][2]
                for _ in range(2 * args.old_probes):
                    s = vrng.randrange(o_lo, o_hi)
                    if s not in touched and s not in failed_seqs and s not in old:
                        old.append(s)
                    if len(old) >= args.old_probes:
                        break
                parts.append(b"".join(b"mg k%d u\r\n" % s for s in old))
            parts.append(b"stats\r\n")
            conn.send(b"".join(parts))
            nxt = work.batch(batch_bytes)  # meanwhile the server works on this one
            for i in conn.read_store_replies(nsets, counts):
                failed_seqs.add(lo + i)
            if hot_cmd == "set":
                if conn.read_store_replies(1, hot_counts):
                    hot["set_fail"] += 1
                    hot["size"] = 0
                else:
                    hot["size"] = HOT_START
                    hot["resets"] += 1
            elif hot_cmd == "append":
                hot["appends"] += 1
                if conn.read_store_replies(1, hot_counts):
                    hot["append_fail"] += 1
                    hot["size"] = 0  # gone (NOT_STORED) or refused: set it again next batch
                else:
                    hot["size"] += HOT_STEP
            rhits = conn.read_get() if recheck else {}
            shits = conn.read_get() if sample else {}
            old_hits = 0
            for _ in old:
                line = conn.readline()
                if line in (b"HD", b"OK"):
                    old_hits += 1
                elif line != b"EN":
                    raise BenchError(f"unexpected mg reply: {line[:80]!r}")
            rm["old_probes"] += len(old)
            rm["old_probe_hits"] += old_hits
            st = conn.read_stats()
            t = time.monotonic()
            batches.append((t, lo, seq))
            while batches and batches[0][0] < t - 3.5:
                batches.popleft()
            nbatch += 1
            curr = stat_int(st, "curr_items")
            ev = stat_int(st, "evictions")
            if first is None and ev > 0:
                first = {
                    "bytes": stat_int(st, "bytes"),
                    "items": curr,
                    "evictions": ev,
                    "written": written,
                    "batch": nbatch,
                    "stats_slabs": conn.stats("slabs"),
                    "stats_items": conn.stats("items"),
                    "stats": st,
                }
            for s, wt in sample:
                touched[s] = (wt, t)
            for s, wt, tt in recheck:
                if b"k%d" % s in rhits:
                    touched[s] = (wt, t)
            for s in [s for s, (wt, tt) in touched.items() if tt < t - 1.0]:
                del touched[s]
            # items stored or touched in the last second, the hot key included
            recent = sum(b[2] - b[1] for b in batches if b[0] > t - 1.0)
            recent += sum(1 for wt, tt in touched.values() if wt <= t - 1.0)
            recent += 1 if appender else 0
            # older items exist: more items than recent ones, or an old key answered
            older_exist = curr > recent or old_hits > 0
            misses = []
            for s, wt, tt in recheck:
                rm["rechecked"] += 1
                if b"k%d" % s not in rhits and t - tt <= 1.0:
                    misses.append((s, "recheck"))
            for s, wt in sample:
                rm["sampled"] += 1
                if b"k%d" % s not in shits:
                    gone.add(s)
                    if t - wt <= 1.0:
                        misses.append((s, "first get"))
            for s, how in misses:
                gone.add(s)
                if older_exist:
                    rm["recent_misses"] += 1
                    if len(miss_batches) < 5000:
                        miss_batches.append(nbatch)
                    if len(miss_examples) < 5:
                        miss_examples.append(
                            {"key": f"k{s}", "size": sizes[s], "at": how, "batch": nbatch,
                             "written": written, "curr_items": curr, "recent_items": recent,
                             "old_probe_hits": old_hits})
                else:
                    rm["unavoidable"] += 1
            pending = [(s, wt, t) for s, wt in sample if b"k%d" % s in shits]
            if pace > 0:
                ahead = written / pace - (time.monotonic() - t_write)
                if ahead > 0:
                    time.sleep(min(ahead, 1.0))
        rec["elapsed_write_s"] = round(time.monotonic() - t_write, 2)
        end = conn.stats()
        rec["sets"] = work.seq
        rec["batches"] = nbatch
        rec["written_bytes"] = written
        rec["set_replies"] = counts
        rec["first_eviction"] = first
        rec["end"] = {
            "bytes": stat_int(end, "bytes"),
            "items": stat_int(end, "curr_items"),
            "evictions": stat_int(end, "evictions"),
            "limit_maxbytes": stat_int(end, "limit_maxbytes"),
        }
        rec["recent_misses"] = rm["recent_misses"]
        rec["recent_misses_unavoidable"] = rm["unavoidable"]
        rec["recency_sampled"] = rm["sampled"]
        rec["recency_rechecked"] = rm["rechecked"]
        rec["old_probes"] = rm["old_probes"]
        rec["old_probe_hits"] = rm["old_probe_hits"]
        rec["recent_miss_examples"] = miss_examples
        rec["recent_miss_batches"] = miss_batches
        if appender:
            hot["replies"] = hot_counts
            rec["appender"] = hot
            rec["append_failures"] = hot["append_fail"] + hot["set_fail"]
        else:
            rec["append_failures"] = None
        rec["footprint"] = footprint_kb(pid) if pid else None
        rec["stats_slabs"] = conn.stats("slabs")
        rec["stats_end"] = conn.stats()
        rec["stats_items"] = conn.stats("items")
        rec["scan"] = scan(conn, work.seq)
        rec["ok"] = True
    except BenchError as e:
        rec["error"] = str(e)
    finally:
        if conn is not None:
            conn.close()
    rec["elapsed_s"] = round(time.monotonic() - t_start, 2)
    return rec


def scan(conn, nkeys):
    """get of every stride-th key written: items and key + value bytes held (scaled up)."""
    stride = max(1, -(-nkeys // SCAN_MAX_KEYS))
    keys = range(0, nkeys, stride)
    items = 0
    kv = 0
    per_get = 100
    per_send = 40  # gets pipelined per write
    cmds = []
    for i in range(0, len(keys), per_get):
        cmds.append(b"get " + b" ".join(b"k%d" % s for s in keys[i : i + per_get]) + b"\r\n")
    for i in range(0, len(cmds), per_send):
        chunk = cmds[i : i + per_send]
        conn.send(b"".join(chunk))
        for _ in chunk:
            hits = conn.read_get()
            items += len(hits)
            kv += sum(len(k) + n for k, n in hits.items())
    return {"stride": stride, "probed": len(keys), "items": items * stride, "kv_bytes": kv * stride}


def cmd_measure(args):
    servers = []
    for spec in args.server:
        try:
            name, port, pid = spec.split(":")
            servers.append((name, int(port), int(pid) if pid else 0))
        except ValueError:
            sys.exit(f"bench-memory.py: --server NAME:PORT:PID, not {spec!r}")
    if args.mix not in MIXES:
        sys.exit(f"bench-memory.py: --mix: one of {' '.join(MIXES)}")
    failed = False
    with open(args.out, "a") as out:
        for name, port, pid in servers:
            rec = measure_one(name, port, pid, args, args.mix)
            out.write(json.dumps(rec) + "\n")
            out.flush()
            if rec["ok"]:
                fe = rec["first_eviction"]
                print(
                    f"run {args.run} {args.mix:6s} {name:9s} bytes after 3x "
                    f"{rec['end']['bytes'] / MIB:7.2f} MB, at first eviction "
                    + (f"{fe['bytes'] / MIB:7.2f} MB" if fe else "   none")
                    + f", recent misses {rec['recent_misses']}, append failures "
                    f"{rec['append_failures'] if rec['append_failures'] is not None else '-'}"
                    f", {rec['elapsed_s']} s",
                    flush=True,
                )
            else:
                failed = True
                print(f"run {args.run} {args.mix:6s} {name:9s} FAILED: {rec['error']}",
                      flush=True)
    return 1 if failed else 0


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def fmt_mb(b, m):
    if b is None:
        return "-"
    return f"{b / MIB:.2f} ({100.0 * b / (m * MIB):.1f}%)"


def fmt_int(x):
    return "-" if x is None else f"{x:.0f}"


def slab_use(rec):
    """Pages, chunk bytes in use and item bytes after 3x, from stats slabs / stats."""
    sl = rec.get("stats_slabs") or {}
    classes = {}
    for k, v in sl.items():
        if ":" in k:
            c, f = k.split(":", 1)
            try:
                classes.setdefault(int(c), {})[f] = int(v)
            except ValueError:
                pass
    pages = sum(c.get("total_pages", 0) for c in classes.values())
    used = sum(c.get("used_chunks", 0) * c.get("chunk_size", 0) for c in classes.values())
    malloced = stat_int(sl, "total_malloced") or pages * MIB
    return {"classes": len(classes), "pages": pages, "malloced": malloced, "chunk_bytes": used}


def cmd_report(args):
    recs = []
    with open(args.results) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    m = args.m
    mixes = args.mixes.split()
    failed_cells = [r for r in recs if not r.get("ok")]
    cells = collections.defaultdict(list)
    for r in recs:
        if r.get("ok"):
            cells[(r["mix"], r["server"])].append(r)

    def fig(rs, fn):
        return med([fn(r) for r in rs])

    medians = {}
    for mix in mixes:
        for s in SERVERS:
            rs = cells.get((mix, s), [])
            fe = lambda r, k: r["first_eviction"][k] if r["first_eviction"] else None  # noqa
            fp = lambda r: r["footprint"]["total_kb"] * 1024 if r.get("footprint") else None  # noqa
            medians[f"{mix}/{s}"] = {
                "runs_ok": len(rs),
                "first_bytes": fig(rs, lambda r: fe(r, "bytes")),
                "first_items": fig(rs, lambda r: fe(r, "items")),
                "first_written": fig(rs, lambda r: fe(r, "written")),
                "runs_with_eviction": sum(1 for r in rs if r["first_eviction"]),
                "end_bytes": fig(rs, lambda r: r["end"]["bytes"]),
                "end_items": fig(rs, lambda r: r["end"]["items"]),
                "evictions": fig(rs, lambda r: r["end"]["evictions"]),
                "recent_misses": fig(rs, lambda r: r["recent_misses"]),
                "recent_misses_max": max((r["recent_misses"] for r in rs), default=None),
                "recent_misses_unavoidable": fig(rs, lambda r: r["recent_misses_unavoidable"]),
                "append_failures": fig(rs, lambda r: r["append_failures"]),
                "append_failures_max": max(
                    (r["append_failures"] for r in rs if r["append_failures"] is not None),
                    default=None),
                "set_oom": fig(rs, lambda r: r["set_replies"]["oom"]),
                "set_other_err": fig(rs, lambda r: r["set_replies"]["other_err"]),
                "footprint": fig(rs, fp),
                "scan_items": fig(rs, lambda r: r["scan"]["items"]),
                "scan_kv_bytes": fig(rs, lambda r: r["scan"]["kv_bytes"]),
            }

    print(f"## Memory efficiency, -m {m} MB, medians of {args.runs} runs "
          f"(3 x -m of values written per cell)")
    print()
    print("| mix | server | bytes at 1st eviction MB (% of -m) | items at 1st eviction "
          "| bytes after 3x MB (% of -m) | items after 3x | evictions | recent_misses "
          "| append failures | footprint MB (x -m) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mix in mixes:
        for s in SERVERS:
            d = medians[f"{mix}/{s}"]
            if d["runs_ok"] == 0:
                print(f"| {mix} | {s} | FAIL | | | | | | | |")
                continue
            first = fmt_mb(d["first_bytes"], m) if d["first_bytes"] is not None else "no eviction"
            fpm = ("-" if d["footprint"] is None else
                   f"{d['footprint'] / MIB:.1f} ({d['footprint'] / (m * MIB):.2f}x)")
            print(f"| {mix} | {s} | {first} | {fmt_int(d['first_items'])} "
                  f"| {fmt_mb(d['end_bytes'], m)} | {fmt_int(d['end_items'])} "
                  f"| {fmt_int(d['evictions'])} | {fmt_int(d['recent_misses'])} "
                  f"| {fmt_int(d['append_failures'])} | {fpm} |")
    print()

    def ratio(a, b):
        return f"{a / b:.2f}x" if a is not None and b else "n/a"

    for mix in mixes:
        n, c = medians[f"{mix}/nicached"], medians[f"{mix}/memcached"]
        print(f"{mix}: nicached/memcached bytes after 3x: {ratio(n['end_bytes'], c['end_bytes'])}"
              f", at first eviction: {ratio(n['first_bytes'], c['first_bytes'])}")
    print()
    print("Client-side scan after 3x (get of the keys written; key + value bytes actually "
          "held, the same measure for both servers), medians:")
    for mix in mixes:
        n, c = medians[f"{mix}/nicached"], medians[f"{mix}/memcached"]
        parts = []
        for s, d in (("memcached", c), ("nicached", n)):
            if d["scan_kv_bytes"] is None:
                parts.append(f"{s} -")
            else:
                parts.append(f"{s} {d['scan_kv_bytes'] / MIB:.2f} MB "
                             f"({100.0 * d['scan_kv_bytes'] / (m * MIB):.1f}%) "
                             f"in {d['scan_items']:.0f} items")
        print(f"  {mix}: " + ", ".join(parts)
              + f"; nicached/memcached {ratio(n['scan_kv_bytes'], c['scan_kv_bytes'])}")
    print()
    print("Slab use after 3x (last run of each cell; chunk bytes = used_chunks x chunk_size "
          "summed over classes, item bytes = stat bytes):")
    for mix in mixes:
        for s in SERVERS:
            rs = cells.get((mix, s), [])
            if not rs:
                continue
            r = rs[-1]
            u = slab_use(r)
            b = r["end"]["bytes"]
            if u["malloced"]:
                print(f"  {mix:6s} {s:9s} {u['classes']:2d} classes, pages "
                      f"{u['malloced'] / MIB:6.1f} MB, chunks in use "
                      f"{u['chunk_bytes'] / MIB:6.1f} MB "
                      f"({100.0 * u['chunk_bytes'] / u['malloced']:.1f}% of pages), items "
                      f"{b / MIB:6.1f} MB ({100.0 * b / u['malloced']:.1f}% of pages)")
    notes = []
    for mix in mixes:
        for s in SERVERS:
            d = medians[f"{mix}/{s}"]
            if d["runs_ok"] and (d["set_oom"] or d["set_other_err"]):
                notes.append(f"{mix}/{s}: sets refused (median) out of memory {d['set_oom']:.0f}"
                             f", other errors {d['set_other_err']:.0f}")
            if d["runs_ok"] and d["runs_with_eviction"] < d["runs_ok"]:
                notes.append(f"{mix}/{s}: no eviction in {d['runs_ok'] - d['runs_with_eviction']}"
                             f" of {d['runs_ok']} runs")
    for r in failed_cells:
        notes.append(f"run {r.get('run')} {r.get('mix')}/{r.get('server')} FAILED: "
                     f"{r.get('error')}")
    if notes:
        print()
        for n in notes:
            print("note: " + n)

    empty = [k for k, d in medians.items() if d["runs_ok"] == 0]
    status = 1 if failed_cells or empty else 0
    if args.check:
        bad = []
        for mix in mixes:
            n, c = medians[f"{mix}/nicached"], medians[f"{mix}/memcached"]
            if n["runs_ok"] == 0 or c["runs_ok"] == 0:
                bad.append(f"{mix}: no successful run for " +
                           ("nicached" if n["runs_ok"] == 0 else "memcached"))
                continue
            floor = args.check_floor
            pairs = (("end_bytes", "bytes after 3x"),) if args.check_end_only else (
                ("first_bytes", "bytes at first eviction"), ("end_bytes", "bytes after 3x"))
            for key, what in pairs:
                a, b = n[key], c[key]
                if b is None:
                    continue  # memcached never evicted: nothing to compare against
                if a is None or a < floor * b:
                    bad.append(f"{mix}: nicached {what} "
                               f"{'-' if a is None else f'{a / MIB:.2f} MB'} < {floor} x "
                               f"memcached's {b / MIB:.2f} MB")
            if args.check_end_only:
                continue
            if n["recent_misses_max"]:
                bad.append(f"{mix}: nicached recent_misses {n['recent_misses']:.0f} (median), "
                           f"{n['recent_misses_max']} (worst run), want 0")
            if n["append_failures_max"]:
                bad.append(f"{mix}: nicached append failures {n['append_failures']:.0f} "
                           f"(median), {n['append_failures_max']} (worst run), want 0")
        print()
        if bad:
            for b in bad:
                print("CHECK FAILED: " + b)
            status = 1
        else:
            if args.check_end_only:
                print(f"check passed: nicached >= {args.check_floor} x memcached after 3x, "
                      "in every mix")
            else:
                print(f"check passed: nicached >= {args.check_floor} x memcached at first "
                      "eviction and after 3x, no recent miss, no append failure, in every mix")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"m_mb": m, "runs": args.runs, "mixes": mixes, "medians": medians,
                       "records": recs}, f, indent=1)
    return status


def main():
    ap = argparse.ArgumentParser(description="memory efficiency bench (see the header)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    me = sub.add_parser("measure")
    me.add_argument("--server", action="append", required=True, help="NAME:PORT:PID")
    me.add_argument("--mix", required=True)
    me.add_argument("-m", type=int, default=64)
    me.add_argument("--seed", type=int, default=1)
    me.add_argument("--run", type=int, default=1)
    me.add_argument("--out", required=True)
    me.add_argument("--sample", type=int, default=20)
    me.add_argument("--sample-bytes", type=int, default=2 * MIB)
    me.add_argument("--old-probes", type=int, default=10)
    me.add_argument("--pace", type=float, default=0.5,
                    help="write at most PACE x -m bytes of values per second (0: no limit)")
    me.add_argument("--timeout", type=float, default=20.0)
    me.add_argument("--max-seconds", type=float, default=90.0)
    rp = sub.add_parser("report")
    rp.add_argument("--results", required=True)
    rp.add_argument("-m", type=int, default=64)
    rp.add_argument("--runs", type=int, default=3)
    rp.add_argument("--mixes", default="tiny mixed large shift")
    rp.add_argument("--json")
    rp.add_argument("--check", action="store_true")
    rp.add_argument("--check-floor", type=float, default=0.98)
    rp.add_argument("--check-end-only", action="store_true")
    args = ap.parse_args()
    if args.cmd == "measure":
        return cmd_measure(args)
    return cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
