#!/usr/bin/python3
"""memcached's operator flags on nicached, each answer compared with memcached's own where
memcached has one (/usr/bin/memcached, started side by side on another loopback port).

  tests/integration/operator.py --server PATH [--memcached /usr/bin/memcached]

Checks (PASS/FAIL each, then "N passed, M failed"; exit status 1 on any failure):
  disable-flush   -F: text flush_all (with and without delay) and binary flush / flushq get
                  memcached's answers; nothing is flushed; stats settings flush_enabled no
  shutdown        without -A: `shutdown` gets memcached's error and the server goes on;
                  with -A: `shutdown x` gets memcached's error, `shutdown` closes the
                  connection and the server stops cleanly (exit 0, final figures)
  pidfile         -P: the file holds the pid while serving and is gone after SIGTERM
  verbosity-live  `verbosity 2` then `stats settings` shows verbosity 2 (memcached does)
  listen-name     -l localhost: served on 127.0.0.1
  o-ignored       -o hashpower=20,modern: starts, says in its log that they have no effect
  stats-items     after evictions: memcached's per-class evicted_nonzero, evicted_time,
                  evicted_active, outofmemory, mem_requested (summing to `bytes`); `me` cls=
  slab-hits       after set/get/gets/cas/incr/decr/touch/gat/add/delete, meta and binary
                  requests on keys of three sizes: `stats slabs` per-class get_hits, cmd_set,
                  delete_hits, incr_hits, decr_hits, cas_hits, cas_badval, touch_hits equal
                  memcached's (classes matched by `me` cls=) and add up to `stats`; `stats
                  items` age is there and grows while the class's items are left alone;
                  `stats reset` zeroes the per-class counters
  no-evictions    -M: full memory gives memcached's out-of-memory answer (compared), no
                  eviction, every stored item readable
  unix-socket     -s PATH -a MODE: served instead of TCP, as memcached (writes of every
                  shard), its mode, a plain file in the way refused, removed at the stop
  user            (root only) -u nobody: the process runs as nobody after setup, serves, and
                  stops cleanly (its pidfile removed)
Only processes this script started are stopped, by pid.
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import harness
from harness import RESULTS, UNCLEAN, check, free_port

class Proc(harness.Proc):
    """A server (nicached or memcached) on a free loopback port; up once it accepts."""

    def __init__(self, argv, tmp, name):
        port = free_port()
        super().__init__(argv + ["-p", str(port), "-U", "0"], os.path.join(tmp, name + ".log"),
                         port, probe="connect", name=name)
        self.up()

    def stop(self):
        """Its exit status."""
        super().stop(15)
        return self.proc.returncode


def talk(port, data, wait=0.3):
    """Send @data, read until the peer goes quiet for @wait seconds or closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    s.settimeout(wait)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out


def binary(opcode):
    return struct.pack(">BBHBBHIIQ", 0x80, opcode, 0, 0, 0, 0, 0, 7, 0)


def binary_replies(data):
    out = []
    while len(data) >= 24:
        h = struct.unpack(">BBHBBHIIQ", data[:24])
        out.append((h[1], h[5], data[24:24 + h[6]]))
        data = data[24 + h[6]:]
    return out


def both(ctx, flags, fn):
    """Run fn(port) on nicached and on memcached started with the same flags."""
    n = Proc([ctx.server, "-l", "127.0.0.1", "-t", "2"] + flags, ctx.tmp, "nicached")
    m = Proc([ctx.memcached, "-l", "127.0.0.1", "-u", "nobody"] + flags, ctx.tmp, "memcached")
    try:
        return fn(n), fn(m), n, m
    finally:
        n.stop()
        m.stop()


@check("disable-flush")
def check_disable_flush(ctx):
    def run(p):
        text = talk(p.port, b"set k 0 0 1\r\nx\r\nflush_all noreply\r\nflush_all\r\n"
                            b"flush_all 10\r\nget k\r\n")
        bin_ = binary_replies(talk(p.port, binary(0x08) + binary(0x18)))
        settings = talk(p.port, b"stats settings\r\n")
        flushes = [l for l in talk(p.port, b"stats\r\n").split(b"\r\n")
                   if l.startswith(b"STAT cmd_flush ")]
        return text + b"|" + b"".join(flushes), bin_, b"STAT flush_enabled no" in settings
    (nt, nb, ns), (mt, mb, ms), _, _ = both(ctx, ["-F"], run)
    assert nt == mt, (nt, mt)
    assert b"VALUE k 0 1" in nt, nt
    assert nb == mb, (nb, mb)
    assert ns and ms, (ns, ms)


@check("shutdown")
def check_shutdown(ctx):
    def run(p):
        return talk(p.port, b"shutdown\r\nshutdown graceful\r\nversion\r\n")
    n, m, _, _ = both(ctx, [], run)
    n_lines = n.split(b"\r\n")[:2]
    assert n_lines == m.split(b"\r\n")[:2] == [b"ERROR: shutdown not enabled"] * 2, (n, m)
    assert b"VERSION" in n
    # With -A.
    s = Proc([ctx.server, "-l", "127.0.0.1", "-t", "2", "-A"], ctx.tmp, "nicached-A")
    try:
        got = talk(s.port, b"shutdown x\r\nversion\r\n")
        assert got.startswith(b"CLIENT_ERROR invalid shutdown mode\r\nVERSION"), got
        assert s.proc.poll() is None, "stopped on a bad mode"
        got = talk(s.port, b"shutdown\r\nversion\r\n", wait=5)
        assert got == b"", got  # closed without a reply, as memcached
        s.proc.wait(30)
        assert s.proc.returncode == 0, s.proc.returncode
        assert "nicached: stopped" in s.output(), s.output()[-300:]
        assert "shutdown command from 127.0.0.1" in s.output(), s.output()[-300:]
    finally:
        s.stop()


@check("pidfile")
def check_pidfile(ctx):
    path = os.path.join(ctx.tmp, "nc.pid")
    s = Proc([ctx.server, "-l", "127.0.0.1", "-t", "1", "-P", path], ctx.tmp, "nicached-P")
    try:
        with open(path) as f:
            assert int(f.read().strip()) == s.proc.pid
    finally:
        rc = s.stop()
    assert rc == 0, rc
    assert not os.path.exists(path), "the pidfile is left after the stop"


@check("verbosity-live")
def check_verbosity(ctx):
    def run(p):
        return [l for l in talk(p.port, b"verbosity 2\r\nstats settings\r\n").split(b"\r\n")
                if l.startswith(b"STAT verbosity ") or l == b"OK"]
    n, m, _, _ = both(ctx, [], run)
    assert n == m == [b"OK", b"STAT verbosity 2"], (n, m)


@check("listen-name")
def check_listen_name(ctx):
    s = Proc([ctx.server, "-l", "localhost", "-t", "1"], ctx.tmp, "nicached-l")
    try:
        assert talk(s.port, b"version\r\n").startswith(b"VERSION "), "no answer on 127.0.0.1"
    finally:
        s.stop()


@check("o-ignored")
def check_o_ignored(ctx):
    s = Proc([ctx.server, "-l", "127.0.0.1", "-t", "1", "-o", "hashpower=20,modern,idle_timeout=30"],
             ctx.tmp, "nicached-o")
    try:
        settings = talk(s.port, b"stats settings\r\n")
        assert b"STAT idle_timeout 30" in settings, settings
        deadline = time.time() + 5
        while "hashpower, modern: memcached's, accepted, no effect here" not in s.output():
            assert time.time() < deadline, s.output()[-400:]
            time.sleep(0.1)
    finally:
        s.stop()
    bad = subprocess.run([ctx.server, "-o", "no_such_option"], capture_output=True, text=True)
    assert bad.returncode == 64 and "unknown suboption 'no_such_option'" in bad.stderr, bad


@check("stats-items")
def check_stats_items(ctx):
    """memcached's per-class names after evictions: evicted_nonzero, evicted_time, mem_requested
    (their sum is `bytes`), outofmemory; `me` reports the class `stats items` counts it in."""
    s = Proc([ctx.server, "-l", "127.0.0.1", "-t", "1", "-m", "8"], ctx.tmp, "nicached-items")
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        value = b"v" * 1000
        batch = b"".join(b"set k%d 0 3600 1000 noreply\r\n%s\r\n" % (i, value)
                         for i in range(20000))
        sock.sendall(batch)
        sock.sendall(b"set last 0 0 1000\r\n%s\r\n" % value)
        got = b""
        while not got.endswith(b"STORED\r\n"):
            got += sock.recv(4096)
        sock.close()
        items = talk(s.port, b"stats items\r\n", wait=1).decode()
        general = talk(s.port, b"stats\r\n", wait=1).decode()
        me = talk(s.port, b"me last\r\n").decode()

        def stats(text):
            return {l.split()[1]: l.split()[2] for l in text.splitlines() if l.startswith("STAT ")}
        it, gen = stats(items), stats(general)
        cls = me.split(" cls=")[1].split()[0]
        assert int(it["items:%s:evicted" % cls]) > 0, items
        assert it["items:%s:evicted_nonzero" % cls] == it["items:%s:evicted" % cls], items
        assert int(it["items:%s:evicted_time" % cls]) < 60, items
        assert "items:%s:outofmemory" % cls in it and "items:%s:evicted_active" % cls in it
        requested = sum(int(v) for k, v in it.items() if k.endswith(":mem_requested"))
        assert requested == int(gen["bytes"]), (requested, gen["bytes"])
        assert int(gen["evictions"]) == sum(int(v) for k, v in it.items() if k.endswith(":evicted"))
    finally:
        s.stop()


SLAB_HITS = ("get_hits", "cmd_set", "delete_hits", "incr_hits", "decr_hits", "cas_hits",
             "cas_badval", "touch_hits")


def stat_lines(text):
    return {l.split()[1]: l.split()[2] for l in text.splitlines() if l.startswith("STAT ")}


def slab_hits_run(p):
    """The slab-hits sequence on one server: {keys of a class: its counters}, the general
    counters, and the server's classes of the keys."""
    def one(sock, data, until):
        sock.sendall(data)
        got = b""
        while not until(got):
            b = sock.recv(65536)
            if not b:
                raise RuntimeError("closed after %r: %r" % (data[:40], got))
            got += b
        return got
    line = lambda g: g.endswith(b"\r\n")
    end = lambda g: g.endswith(b"END\r\n")
    sock = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    big = b"B" * 3000
    for data in (b"set small 0 0 5\r\nhello\r\n", b"set num 0 0 2\r\n10\r\n",
                 b"set big 0 0 3000\r\n%s\r\n" % big, b"set gone 0 0 3000\r\n%s\r\n" % big,
                 b"add small 0 0 5\r\nagain\r\n", b"incr num 5\r\n", b"decr num 2\r\n",
                 b"incr num 1\r\n", b"incr nothere 1\r\n", b"touch small 100\r\n",
                 b"touch nothere 100\r\n", b"delete gone\r\n", b"delete nothere\r\n",
                 b"ms meta 4\r\nmeta\r\n", b"ma num\r\n", b"md nothere\r\n"):
        one(sock, data, line)
    for data in (b"get small big nothere\r\n", b"get small\r\n", b"gat 200 big\r\n",
                 b"gats 200 nothere\r\n"):
        one(sock, data, end)
    cas = one(sock, b"gets big\r\n", end).split(b"\r\n")[0].split()[4]
    one(sock, b"cas big 0 0 3000 %s\r\n%s\r\n" % (cas, big), line)        # cas_hits
    one(sock, b"cas big 0 0 3000 %s\r\n%s\r\n" % (cas, big), line)        # cas_badval
    one(sock, b"cas nothere 0 0 1 1\r\nx\r\n", line)
    for _ in range(2):
        one(sock, b"mg meta v\r\n", lambda g: g.endswith(b"meta\r\n"))
    one(sock, b"mg meta T30\r\n", line)
    one(sock, b"md meta\r\n", line)
    # binary get of small, a hit (on a connection of its own: a connection's first byte
    # decides its protocol)
    bsock = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    bsock.sendall(struct.pack(">BBHBBHIIQ", 0x80, 0x00, 5, 0, 0, 0, 5, 0, 0) + b"small")
    got = b""
    while len(got) < 24 or len(got) < 24 + struct.unpack(">I", got[8:12])[0]:
        got += bsock.recv(4096)
    assert struct.unpack(">H", got[6:8])[0] == 0, got
    # binary incr of a missing key with an initial value: created, neither a hit nor a miss
    extras = struct.pack(">QQI", 1, 42, 0)
    bsock.sendall(struct.pack(">BBHBBHIIQ", 0x80, 0x05, 4, len(extras), 0, 0, 4 + len(extras),
                              0, 0) + extras + b"bnew")
    got = b""
    while len(got) < 24 or len(got) < 24 + struct.unpack(">I", got[8:12])[0]:
        got += bsock.recv(4096)
    bsock.close()
    assert struct.unpack(">H", got[6:8])[0] == 0 and got[24:32] == struct.pack(">Q", 42), got
    classes = {}
    for key in (b"small", b"num", b"big"):
        me = one(sock, b"me %s\r\n" % key, line).decode()
        classes[key.decode()] = me.split(" cls=")[1].split()[0]
    sock.close()
    # `gone` and `meta` were deleted: their classes are those of big and small's sizes
    slabs = stat_lines(talk(p.port, b"stats slabs\r\n", wait=0.5).decode())
    general = stat_lines(talk(p.port, b"stats\r\n", wait=0.5).decode())
    by_class = {}
    for name, v in slabs.items():
        cls, _, field = name.partition(":")
        if field in SLAB_HITS:
            by_class.setdefault(cls, {})[field] = int(v)
    labelled = {}
    for cls, counters in by_class.items():
        if not any(counters.values()):
            continue
        label = ",".join(sorted(k for k, c in classes.items() if c == cls)) or "class " + cls
        labelled[label] = counters
    return labelled, general, classes, by_class


@check("slab-hits")
def check_slab_hits(ctx):
    """memcached 1.6's per-class hit counters in `stats slabs`, compared with memcached's
    after the same requests; they sum to `stats`; `stats items` age grows; `stats reset`."""
    nres = {}

    def run(p):
        res = slab_hits_run(p)
        if p.proc.args[0] == ctx.server:
            # age: the class of big (its items last used now) only grows while left alone
            cls = res[2]["big"]
            first = int(stat_lines(talk(p.port, b"stats items\r\n").decode())
                        ["items:%s:age" % cls])
            time.sleep(2.5)
            again = int(stat_lines(talk(p.port, b"stats items\r\n").decode())
                        ["items:%s:age" % cls])
            talk(p.port, b"stats reset\r\n")
            after = stat_lines(talk(p.port, b"stats slabs\r\n").decode())
            nres.update(age=(first, again), after=after)
        return res
    (n, ngen, ncls, nby), (m, mgen, mcls, _), _, _ = both(ctx, [], run)
    assert n == m, ("nicached", n, "memcached", m)
    general = ("cmd_set", "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cas_hits",
               "cas_badval", "cas_misses", "touch_hits", "touch_misses", "delete_hits",
               "delete_misses")
    assert [ngen[f] for f in general] == [mgen[f] for f in general], (
        "nicached", [ngen[f] for f in general], "memcached", [mgen[f] for f in general])
    for field in SLAB_HITS:
        total = sum(c.get(field, 0) for c in nby.values())
        assert total == int(ngen[field]), (field, total, ngen[field])
    first, again = nres["age"]
    assert again >= first + 2, ("age did not grow", first, again)
    stale = {k: v for k, v in nres["after"].items()
             if k.partition(":")[2] in SLAB_HITS and v != "0"}
    assert not stale, ("stats reset left", stale)


@check("no-evictions")
def check_no_evictions(ctx):
    """-M: once memory is full a store gets memcached's out-of-memory error (as memcached -M
    answers it), nothing is evicted, every stored item stays readable, the server serves on."""
    def run(p):
        sock = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        value = b"v" * 1000
        answers = []
        for i in range(12000):
            sock.sendall(b"set k%d 0 0 1000\r\n%s\r\n" % (i, value))
            line = b""
            while not line.endswith(b"\r\n"):
                line += sock.recv(100)
            answers.append(line)
        sock.close()
        stored = [i for i, a in enumerate(answers) if a == b"STORED\r\n"]
        failed = set(a for a in answers if a != b"STORED\r\n")
        st = {}
        for l in talk(p.port, b"stats\r\nstats settings\r\n", wait=1).decode().splitlines():
            parts = l.split(" ", 2)
            if parts[0] == "STAT":
                st.setdefault(parts[1], parts[2] if len(parts) > 2 else "")
        first = talk(p.port, b"get k%d\r\n" % stored[0])
        return stored, failed, st, first
    (ns, nf, nst, nfirst), (ms, mf, mst, mfirst), _, _ = both(ctx, ["-M", "-m", "8"], run)
    assert nf == mf == {b"SERVER_ERROR out of memory storing object\r\n"}, (nf, mf)
    assert nst["evictions"] == "0" and nst["evictions"] == mst["evictions"], (nst["evictions"],)
    assert nst["curr_items"] == str(len(ns)), (nst["curr_items"], len(ns))
    assert nfirst.startswith(b"VALUE k%d 0 1000" % ns[0]), nfirst[:40]
    assert len(ns) == len(ms), ("stored", len(ns), len(ms))  # the same memory accounting


@check("unix-socket")
def check_unix_socket(ctx):
    """-s PATH -a MODE: memcached's unix socket instead of TCP and UDP (as memcached -s), its
    mode, writes of every shard, a plain file in the way refused, the socket removed at the
    stop; refused on the dpdk backend."""
    path = os.path.join(ctx.tmp, "nc.sock")
    open(path, "w").close()
    bad = subprocess.run([ctx.server, "-s", path, "-t", "1"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode != 0 and "File exists" in bad.stdout + bad.stderr, bad
    os.unlink(path)
    port = free_port()
    log = open(os.path.join(ctx.tmp, "nicached-s.log"), "w")
    proc = subprocess.Popen([ctx.server, "-t", "2", "-s", path, "-a", "0660", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while not os.path.exists(path):
            assert time.time() < deadline and proc.poll() is None, "no socket file"
            time.sleep(0.1)
        assert (os.stat(path).st_mode & 0o777) == 0o660, oct(os.stat(path).st_mode)
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.time() + 20
        while True:
            try:
                u.connect(path)
                break
            except OSError:
                assert time.time() < deadline, "cannot connect to the socket"
                time.sleep(0.1)
        u.settimeout(5)
        out = b""
        for i in range(200):  # keys of both workers: writes forward from worker 0
            u.sendall(b"set u%d 0 0 2\r\nhi\r\n" % i)
            out += u.recv(100)
        assert out == b"STORED\r\n" * 200, out[:100]
        u.sendall(b"get u7\r\nstats settings\r\n")
        got = b""
        while not got.endswith(b"END\r\n") or b"STAT" not in got:
            got += u.recv(65536)
        u.close()
        assert got.startswith(b"VALUE u7 0 2\r\nhi\r\nEND\r\n"), got[:80]
        assert b"STAT domain_socket " + path.encode() + b"\r\n" in got, got
        assert b"STAT umask 0660\r\n" in got, got
        assert b"STAT tcpport 0\r\n" in got, got
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            raise AssertionError("TCP served beside -s (memcached -s disables the network)")
        except ConnectionRefusedError:
            pass
    finally:
        proc.terminate()
        rc = proc.wait(15)
        log.close()
    assert rc == 0, rc
    assert not os.path.exists(path), "the socket file is left after the stop"
    dp = subprocess.run([ctx.server, "--backend", "dpdk", "-s", path], capture_output=True,
                        text=True, timeout=30)
    assert dp.returncode == 64 and "socket backend" in dp.stderr, dp


@check("user")
def check_user(ctx):
    if os.geteuid() != 0:
        print("  (not root: -u has nothing to drop; checked as root in the test run)")
        return
    path = os.path.join(ctx.tmp, "u.pid")
    os.chmod(ctx.tmp, 0o1777)
    s = Proc([ctx.server, "-l", "127.0.0.1", "-t", "1", "-u", "nobody", "-P", path], ctx.tmp,
             "nicached-u")
    try:
        deadline = time.time() + 10
        uid = None
        while time.time() < deadline:
            with open("/proc/%d/status" % s.proc.pid) as f:
                uid = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
            if uid[0] != "0":
                break
            time.sleep(0.1)
        import pwd
        nobody = str(pwd.getpwnam("nobody").pw_uid)
        assert uid == [nobody] * 4, uid
        assert talk(s.port, b"set a 0 0 1\r\nb\r\nget a\r\n").endswith(b"VALUE a 0 1\r\nb\r\nEND\r\n")
    finally:
        rc = s.stop()
    assert rc == 0, (rc, s.output()[-300:])
    assert not os.path.exists(path), "the pidfile is left after the stop"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    args = ap.parse_args()

    class Ctx:
        pass
    ctx = Ctx()
    ctx.server = os.path.abspath(args.server)
    ctx.memcached = args.memcached
    ctx.tmp = tempfile.mkdtemp(prefix="nc-operator.")
    try:
        for fn in (check_disable_flush, check_shutdown, check_pidfile, check_verbosity,
                   check_listen_name, check_o_ignored, check_stats_items, check_slab_hits,
                   check_no_evictions,
                   check_unix_socket,
                   check_user):
            fn(ctx)
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    for u in UNCLEAN:
        print("FAIL clean exit: %s" % u, flush=True)
        RESULTS.append(False)
    passed = sum(RESULTS)
    print("%d passed, %d failed" % (passed, len(RESULTS) - passed))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
