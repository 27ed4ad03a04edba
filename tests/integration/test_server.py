"""Integration tests against a running memcached-compatible server, over plain
sockets (no client library).  tests/integration/run.sh starts the server and
passes --port/--udp-port and the flags it used; see conftest.py.

Tests marked maxconns / eviction need a server started with a small -c / -m;
run.sh runs them in checks of their own.
"""
import base64
import os
import random
import socket
import struct
import time

import pytest

import mc
from mc import BinConn, TextConn, Udp, bin_request

N_KEYS = 200


def tag(name):
    """A key prefix of its own for each test run, so tests never share keys."""
    return b"%s:%s:" % (name.encode(), os.urandom(4).hex().encode())


def text(server):
    return TextConn(server.host, server.port)


def binary(server):
    return BinConn(server.host, server.port)


def assert_alive(server):
    """A new connection is served: version, set, get."""
    with text(server) as c:
        assert c.cmd(b"version").startswith(b"VERSION ")
        key = tag("alive") + b"k"
        assert c.set(key, b"still-here") == b"STORED"
        assert c.get(key) == b"still-here"


# ------------------------------------------------------------------ pipelining

def is_counter(entry):
    return entry is not None and entry[0] == "n"


def build_text_ops(keys, rng):
    """A random sequence of text commands over keys and, for each, what must
    come back, computed from a model of the cache.

    Returns (request bytes, [(kind, expected)]): kind "line" expects one reply
    line (expected is the exact line, or a prefix ending in b" " for errors
    whose wording may differ), kind "get" expects VALUE blocks + END
    (expected is {key: value}), kind "none" expects nothing (noreply).
    """
    model = {}
    req = []
    exp = []

    def op(cmd, kind, expected):
        req.append(cmd)
        exp.append((kind, expected))

    def storage(verb, k, v, noreply=False):
        op(b"%s %s 0 0 %d%s\r\n%s\r\n" % (verb, k, len(v), b" noreply" if noreply else b"", v),
           "none" if noreply else "line", None)

    for rnd in range(4):
        order = list(keys)
        rng.shuffle(order)
        for k in order:
            cur = model.get(k)
            act = rng.choice(["set", "set", "get", "get", "add", "replace", "append",
                              "prepend", "incr", "decr", "delete", "touch", "mget"])
            if act == "set":
                if rng.random() < 0.4:
                    n = rng.randrange(0, 1000)
                    v = b"%d" % n
                    model[k] = ("n", n)
                else:
                    v = b"v%d-%s" % (rnd, os.urandom(rng.randrange(1, 40)).hex().encode())
                    model[k] = ("t", v)
                noreply = rng.random() < 0.2
                storage(b"set", k, v, noreply)
                if not noreply:
                    exp[-1] = ("line", b"STORED")
            elif act in ("add", "replace"):
                v = b"a%d" % rnd
                ok = (cur is None) == (act == "add")
                storage(act.encode(), k, v)
                exp[-1] = ("line", b"STORED" if ok else b"NOT_STORED")
                if ok:
                    model[k] = ("t", v)
            elif act in ("append", "prepend"):
                if is_counter(cur):
                    continue
                v = b"p%d" % rnd
                storage(act.encode(), k, v)
                if cur is None:
                    exp[-1] = ("line", b"NOT_STORED")
                else:
                    exp[-1] = ("line", b"STORED")
                    model[k] = ("t", cur[1] + v if act == "append" else v + cur[1])
            elif act in ("incr", "decr"):
                if cur is not None and not is_counter(cur):
                    continue
                d = rng.randrange(1, 50)
                if cur is None:
                    op(b"%s %s %d\r\n" % (act.encode(), k, d), "line", b"NOT_FOUND")
                else:
                    n = cur[1] + d if act == "incr" else max(0, cur[1] - d)
                    n %= 1 << 64
                    model[k] = ("n", n)
                    op(b"%s %s %d\r\n" % (act.encode(), k, d), "line", b"%d" % n)
            elif act == "delete":
                op(b"delete %s\r\n" % k, "line", b"NOT_FOUND" if cur is None else b"DELETED")
                model.pop(k, None)
            elif act == "touch":
                op(b"touch %s 0\r\n" % k, "line", b"NOT_FOUND" if cur is None else b"TOUCHED")
            elif act == "get":
                op(b"get %s\r\n" % k, "get", {} if cur is None else {k: cur})
            else:
                some = rng.sample(keys, 3)
                op(b"get %s\r\n" % b" ".join(some), "get",
                   {x: model[x] for x in some if x in model})
    # Finally read every key back.
    for k in keys:
        cur = model.get(k)
        op(b"get %s\r\n" % k, "get", {} if cur is None else {k: cur})
    return b"".join(req), exp


def value_matches(entry, got):
    kind, v = entry
    if kind == "n":
        # memcached may leave trailing spaces after an in-place decr.
        return got.rstrip(b" ") == b"%d" % v
    return got == v


def test_text_pipeline_many_keys(server):
    rng = random.Random(20240611)
    keys = [tag("tpipe") + b"%d" % i for i in range(N_KEYS)]
    data, expected = build_text_ops(keys, rng)
    assert len(expected) > 3 * N_KEYS
    with text(server) as c:
        sender = c.send_async(data)
        for i, (kind, want) in enumerate(expected):
            if kind == "none":
                continue
            if kind == "line":
                got = c.readline()
                assert got == want, "reply %d: got %r, want %r" % (i, got, want)
            else:
                got = {}
                while True:
                    line = c.readline()
                    if line == b"END":
                        break
                    parts = line.split()
                    assert parts[0] == b"VALUE", "reply %d: %r" % (i, line)
                    body = c.read_exact(int(parts[3]) + 2)
                    got[parts[1]] = body[:-2]
                assert set(got) == set(want), "reply %d: keys %r, want %r" % (i, got, want)
                for k, entry in want.items():
                    assert value_matches(entry, got[k]), "reply %d: %r=%r want %r" % (
                        i, k, got[k], entry)
        sender.join(mc.TIMEOUT)
        # Nothing extra was sent back.
        assert c.cmd(b"version").startswith(b"VERSION ")


def test_binary_pipeline_many_keys(server):
    rng = random.Random(77)
    keys = [tag("bpipe") + b"%d" % i for i in range(N_KEYS)]
    model = {}   # key -> (flags, value bytes) or ("n", int) for counters
    req = []
    exp = []     # (opaque, opcode, status, value or None, key or None)
    opaque = 0

    def op(opcode, status, want=None, rkey=None, silent=False, **kw):
        """Queue one request (kw: bin_request's key/value/extras) and, unless
        silent, the reply it must get (status, value want, key rkey)."""
        nonlocal opaque
        opaque += 1
        req.append(bin_request(opcode, opaque=opaque, **kw))
        if not silent:
            exp.append((opaque, opcode, status, want, rkey))

    def stored_value(cur):
        return b"%d" % cur[1] if cur[0] == "n" else cur[1]

    for rnd in range(4):
        order = list(keys)
        rng.shuffle(order)
        for k in order:
            cur = model.get(k)
            act = rng.choice(["set", "setq", "get", "getk", "getq", "getkq", "add",
                              "replace", "append", "prepend", "incr", "decr", "delete"])
            if act in ("set", "setq"):
                flags = rng.randrange(0, 1 << 32)
                if rng.random() < 0.4:
                    n = rng.randrange(0, 1000)
                    v = b"%d" % n
                    model[k] = ("n", n)
                else:
                    v = b"b%d-%s" % (rnd, os.urandom(rng.randrange(1, 40)).hex().encode())
                    model[k] = (flags, v)
                op(mc.OP_SET if act == "set" else mc.OP_SETQ, mc.ST_OK, key=k, value=v,
                   extras=struct.pack("!II", flags, 0), silent=act == "setq")
            elif act in ("get", "getk", "getq", "getkq"):
                code = {"get": mc.OP_GET, "getk": mc.OP_GETK, "getq": mc.OP_GETQ,
                        "getkq": mc.OP_GETKQ}[act]
                withkey = act in ("getk", "getkq")
                if cur is None:
                    op(code, mc.ST_NOT_FOUND, key=k, silent=act in ("getq", "getkq"))
                else:
                    op(code, mc.ST_OK, want=stored_value(cur), rkey=k if withkey else None, key=k)
            elif act in ("add", "replace"):
                v = b"a%d" % rnd
                ok = (cur is None) == (act == "add")
                fail = mc.ST_EXISTS if act == "add" else mc.ST_NOT_FOUND
                op(mc.OP_ADD if act == "add" else mc.OP_REPLACE, mc.ST_OK if ok else fail,
                   key=k, value=v, extras=struct.pack("!II", 7, 0))
                if ok:
                    model[k] = (7, v)
            elif act in ("append", "prepend"):
                if cur is not None and cur[0] == "n":
                    continue
                v = b"p%d" % rnd
                op(mc.OP_APPEND if act == "append" else mc.OP_PREPEND,
                   mc.ST_NOT_STORED if cur is None else mc.ST_OK, key=k, value=v)
                if cur is not None:
                    model[k] = (cur[0], cur[1] + v if act == "append" else v + cur[1])
            elif act in ("incr", "decr"):
                if cur is not None and cur[0] != "n":
                    continue
                d = rng.randrange(1, 50)
                extras = struct.pack("!QQI", d, 0, 0xFFFFFFFF)  # no auto-create
                code = mc.OP_INCR if act == "incr" else mc.OP_DECR
                if cur is None:
                    op(code, mc.ST_NOT_FOUND, key=k, extras=extras)
                else:
                    n = (cur[1] + d if act == "incr" else max(0, cur[1] - d)) % (1 << 64)
                    model[k] = ("n", n)
                    op(code, mc.ST_OK, want=struct.pack("!Q", n), key=k, extras=extras)
            else:
                op(mc.OP_DELETE, mc.ST_NOT_FOUND if cur is None else mc.ST_OK, key=k)
                model.pop(k, None)
    for k in keys:
        cur = model.get(k)
        if cur is None:
            op(mc.OP_GETK, mc.ST_NOT_FOUND, key=k, rkey=k)
        else:
            op(mc.OP_GETK, mc.ST_OK, want=stored_value(cur), rkey=k, key=k)
    op(mc.OP_NOOP, mc.ST_OK, want=b"")

    with binary(server) as c:
        sender = c.send_async(b"".join(req))
        for i, (opq, code, status, value, rkey) in enumerate(exp):
            r = c.read_response()
            assert (r.opaque, r.opcode) == (opq, code), "reply %d: %r, want opaque %d op 0x%02x" % (
                i, r, opq, code)
            assert r.status == status, "reply %d: %r, want status %d" % (i, r, status)
            if status == mc.ST_OK and value is not None:
                if code in (mc.OP_GET, mc.OP_GETK, mc.OP_GETQ, mc.OP_GETKQ):
                    # counters may carry trailing spaces after an in-place decr
                    got = r.value.rstrip(b" ") if value.isdigit() else r.value
                    assert got == value, "reply %d: %r, want value %r" % (i, r, value)
                    assert len(r.extras) == 4
                else:
                    assert r.value == value, "reply %d: %r, want value %r" % (i, r, value)
            if rkey is not None:
                assert r.key == rkey, "reply %d: %r, want key %r" % (i, r, rkey)
        sender.join(mc.TIMEOUT)
        assert c.call(mc.OP_NOOP, opaque=999).opaque == 999


# ------------------------------------------------------------------ multi-get

def test_multi_get_many_keys(server):
    t = tag("mget")
    present = [t + b"%03d" % i for i in range(300)]
    missing = [t + b"miss%03d" % i for i in range(100)]
    with text(server) as c:
        c.send(b"".join(b"set %s %d 0 %d\r\n%s\r\n" % (k, i, len(k), k)
                        for i, k in enumerate(present)))
        for _ in present:
            assert c.readline() == b"STORED"
        asked = present + missing
        random.Random(5).shuffle(asked)
        # The request line is far longer than 2048 bytes, as memcached allows
        # for get and gets.
        assert len(b" ".join(asked)) > 4096
        hits = c.get_many(asked)
        assert hits == {k: (i, k) for i, k in enumerate(present)}
        hits = c.get_many(asked, verb=b"gets")
        assert set(hits) == set(present)
    # The same through binary getkq... + noop.
    with binary(server) as c:
        c.send(b"".join(bin_request(mc.OP_GETKQ, key=k, opaque=n) for n, k in enumerate(asked))
               + bin_request(mc.OP_NOOP, opaque=1 << 20))
        got = {}
        while True:
            r = c.read_response()
            if r.opcode == mc.OP_NOOP:
                assert r.opaque == 1 << 20
                break
            assert r.status == mc.ST_OK and asked[r.opaque] == r.key
            got[r.key] = (struct.unpack("!I", r.extras)[0], r.value)
        assert got == {k: (i, k) for i, k in enumerate(present)}


# ------------------------------------------------------------------ stats

GENERAL_STATS = """pid uptime time version curr_connections total_connections cmd_get cmd_set
cmd_touch cmd_flush get_hits get_misses get_expired delete_hits delete_misses incr_hits
incr_misses decr_hits decr_misses cas_hits cas_misses cas_badval touch_hits touch_misses
bytes_read bytes_written limit_maxbytes threads bytes curr_items total_items evictions
reclaimed expired_unfetched""".split()


def test_stats_general_names(server):
    with text(server) as c:
        st = c.stats()
    missing = [n for n in GENERAL_STATS if n not in st]
    assert not missing, "stats lacks %s" % missing
    assert int(st["pid"]) > 0
    assert int(st["threads"]) == server.threads
    assert int(st["limit_maxbytes"]) == server.memory_mb << 20
    assert abs(int(st["time"]) - time.time()) < 5
    with text(server) as c:
        assert st["version"] == c.cmd(b"version").split(b" ", 1)[1].decode()


def settled_stats(c):
    """`stats` once curr_connections holds still: the connections of earlier tests are closed
    by the server when it reads their EOF, which can come just after the test moved on."""
    st = c.stats()
    deadline = time.time() + 2
    steady = 0
    while steady < 3 and time.time() < deadline:
        time.sleep(0.02)
        nxt = c.stats()
        steady = steady + 1 if nxt["curr_connections"] == st["curr_connections"] else 0
        st = nxt
    return st


def test_stats_counters_move(server):
    t = tag("ctr")
    with text(server) as c:
        before = settled_stats(c)
        with text(server) as other:
            other.cmd(b"version")
            mid = c.stats()
            assert int(mid["curr_connections"]) == int(before["curr_connections"]) + 1
        assert int(mid["total_connections"]) == int(before["total_connections"]) + 1
        sent = 0
        cmds = [
            (b"set %sa 0 0 1\r\n1\r\n" % t, b"STORED"),
            (b"set %sb 0 0 1\r\nx\r\n" % t, b"STORED"),
            (b"set %sc 0 0 1\r\nx\r\n" % t, b"STORED"),
            (b"delete %sc\r\n" % t, b"DELETED"),
            (b"delete %sc\r\n" % t, b"NOT_FOUND"),
            (b"incr %sa 5\r\n" % t, b"6"),
            (b"incr %snone 5\r\n" % t, b"NOT_FOUND"),
            (b"decr %sa 2\r\n" % t, b"4"),
            (b"decr %snone 2\r\n" % t, b"NOT_FOUND"),
            (b"touch %sb 100\r\n" % t, b"TOUCHED"),
            (b"touch %snone 100\r\n" % t, b"NOT_FOUND"),
            (b"cas %snone 0 0 1 1\r\nx\r\n" % t, b"NOT_FOUND"),
            (b"cas %sb 0 0 1 999999999999\r\nx\r\n" % t, b"EXISTS"),
        ]
        for req, want in cmds:
            c.send(req)
            sent += len(req)
            assert c.readline() == want, req
        # get: 1 hit + 1 miss + (multi) 1 hit 1 miss
        hits = c.get_many([t + b"a", t + b"none", t + b"b", t + b"none2"])
        assert set(hits) == {t + b"a", t + b"b"}
        c.send(b"gets %sb\r\n" % t)
        assert c.readline().split()[:2] == [b"VALUE", t + b"b"]
        c.read_exact(3)
        assert c.readline() == b"END"
        assert c.set(t + b"b", b"y") == b"STORED"
        c.send(b"gets %sb\r\n" % t)
        cas = int(c.readline().split()[4])
        c.read_exact(3)
        assert c.readline() == b"END"
        assert c.cmd(b"cas %sb 0 0 1 %d\r\nz" % (t, cas)) == b"STORED"
        after = c.stats()

    def d(name):
        return int(after[name]) - int(mid[name])

    assert d("cmd_set") == 3 + 2 + 1 + 1      # 3 sets, 2 cas misses/badval, set, cas
    assert d("get_hits") == 2 + 2             # get a, b; gets b twice
    assert d("get_misses") == 2
    assert d("cmd_get") == 4 + 2
    assert d("delete_hits") == 1 and d("delete_misses") == 1
    assert d("incr_hits") == 1 and d("incr_misses") == 1
    assert d("decr_hits") == 1 and d("decr_misses") == 1
    assert d("touch_hits") == 1 and d("touch_misses") == 1
    assert d("cmd_touch") == 2
    assert d("cas_misses") == 1 and d("cas_badval") == 1 and d("cas_hits") == 1
    assert d("curr_items") == 2
    assert d("total_items") >= 4
    assert d("bytes_read") >= sent
    assert d("bytes_written") > 0


def test_stats_settings_slabs_items_conns(server):
    with text(server) as c:
        assert c.set(tag("st") + b"x", b"hello") == b"STORED"
        st = c.stats(b"settings")
        assert int(st["maxbytes"]) == server.memory_mb << 20
        assert int(st["maxconns"]) == server.max_conns
        assert int(st["tcpport"]) == server.port
        assert int(st["item_size_max"]) == server.item_max
        for arg in (b"slabs", b"items"):
            st = c.stats(arg)
            assert st, "stats %s gave no STAT line" % arg.decode()
        conns = c.stats(b"conns")
        me = "%s:%d" % c.sock.getsockname()[:2]   # as the server sees us
        assert any(me in v for v in conns.values()), "stats conns does not list %s: %r" % (
            me, conns)


# ------------------------------------------------------------------ text vs binary facts

def test_version_and_flush_text_and_binary(server):
    t = tag("flush")
    with text(server) as tc, binary(server) as bc:
        tver = tc.cmd(b"version")
        assert tver.startswith(b"VERSION ")
        r = bc.call(mc.OP_VERSION, opaque=3)
        assert r.status == mc.ST_OK and r.opaque == 3
        assert r.value == tver[len(b"VERSION "):]

        flushes = int(tc.stats()["cmd_flush"])
        assert tc.set(t + b"1", b"one") == b"STORED"
        r = bc.call(mc.OP_FLUSH, opaque=4)
        assert r.status == mc.ST_OK and r.opaque == 4
        assert tc.get(t + b"1") is None

        r = bc.call(mc.OP_SET, key=t + b"2", value=b"two", extras=struct.pack("!II", 0, 0))
        assert r.status == mc.ST_OK
        assert bc.call(mc.OP_GET, key=t + b"2").value == b"two"
        assert tc.cmd(b"flush_all") == b"OK"
        assert bc.call(mc.OP_GET, key=t + b"2").status == mc.ST_NOT_FOUND
        assert int(tc.stats()["cmd_flush"]) == flushes + 2


def test_meta_basics(server):
    t = tag("meta")
    k = t + b"k"
    with text(server) as c:
        assert c.cmd(b"mn") == b"MN"
        c.send(b"ms %s 5 F42 T0\r\nhello\r\n" % k)
        assert c.readline() == b"HD"
        c.send(b"mg %s v f k O123 s\r\n" % k)
        head = c.readline().split()
        assert head[0] == b"VA" and head[1] == b"5"
        assert set(head[2:]) == {b"f42", b"k" + k, b"O123", b"s5"}
        assert c.readline() == b"hello"
        assert c.get_many([k]) == {k: (42, b"hello")}
        assert c.cmd(b"mg %snone v" % t) == b"EN"

        # base64 key: the decoded key is the real one
        raw = t + b"b64"
        b64 = base64.b64encode(raw)
        c.send(b"ms %s 3 b\r\nabc\r\n" % b64)
        assert c.readline() == b"HD"
        assert c.get(raw) == b"abc"
        c.send(b"mg %s b v k\r\n" % b64)
        head = c.readline().split()
        assert head[:2] == [b"VA", b"3"] and b"k" + b64 in head and b"b" in head
        assert c.readline() == b"abc"

        # arithmetic
        ck = t + b"cnt"
        assert c.cmd(b"ma %s" % ck) == b"NF"
        c.send(b"ma %s N0 J10 v\r\n" % ck)
        assert c.readline().split()[0] == b"VA" and c.readline() == b"10"
        c.send(b"ma %s D5 v\r\n" % ck)
        assert c.readline().split()[0] == b"VA" and c.readline() == b"15"
        c.send(b"ma %s MD D3 v\r\n" % ck)
        assert c.readline().split()[0] == b"VA" and c.readline() == b"12"
        assert c.cmd(b"ma %s" % ck) == b"HD"

        # me: debug line for a present key, EN for a missing one
        line = c.cmd(b"me %s" % k)
        assert line.startswith(b"ME %s " % k) and b"=" in line, line
        assert c.cmd(b"me %snone" % t) == b"EN"

        # delete
        assert c.cmd(b"md %s" % k) == b"HD"
        assert c.cmd(b"md %s" % k) == b"NF"
        assert c.get(k) is None

        # quiet mode: only what is not the "normal" answer comes back, mn ends it
        c.send(b"ms %sq1 1 q\r\nx\r\n" % t        # HD suppressed
               + b"mg %snone q v O1\r\n" % t       # EN suppressed
               + b"mg %sq1 q v O2\r\n" % t         # hit shown
               + b"md %sq1 q\r\n" % t              # HD suppressed
               + b"md %sq1 q O3\r\n" % t           # NF shown
               + b"mn\r\n")
        assert c.readline() == b"VA 1 O2"
        assert c.readline() == b"x"
        assert c.readline() == b"NF O3"
        assert c.readline() == b"MN"


# ------------------------------------------------------------------ limits, bad input

def test_key_length_limit(server):
    k250 = (tag("klen") + b"x" * 250)[:250]
    k251 = k250 + b"y"
    with text(server) as c:
        assert c.set(k250, b"v") == b"STORED"
        assert c.get(k250) == b"v"
        assert c.cmd(b"get %s" % k251).startswith(b"CLIENT_ERROR")
        assert c.sync() == []
    with text(server) as c:
        c.send(b"set %s 0 0 1\r\nv\r\n" % k251)
        assert c.readline().startswith(b"CLIENT_ERROR")
        # memcached then reads "v" as a command (ERROR); swallowing it is fine too
        c.sync()
        assert c.get(k250) == b"v"
    with binary(server) as c:
        assert c.call(mc.OP_GET, key=k250).value == b"v"
    assert_alive(server)


def test_value_over_item_max(server):
    t = tag("big")
    with text(server) as c:
        assert c.set(t + b"k", b"old") == b"STORED"
        big = b"z" * (server.item_max + 1)
        c.send(b"set %sk 0 0 %d\r\n%s\r\nversion\r\n" % (t, len(big), big))
        assert c.readline() == b"SERVER_ERROR object too large for cache"
        # the data was swallowed: the next command is answered at once
        assert c.readline().startswith(b"VERSION ")
        assert c.get(t + b"k") in (None, b"old")
        # the largest value that fits does fit (item header and key included in -I)
        assert c.set(t + b"ok", b"o" * (server.item_max // 2)) == b"STORED"
    assert_alive(server)


def bad_text_reply(c):
    """'closed', an error line, or 'silent'."""
    try:
        line = c.readline()
    except mc.Closed:
        return "closed"
    except socket.timeout:
        return "silent"
    except ConnectionResetError:
        return "closed"
    return line


@pytest.mark.parametrize("name,data", [
    ("negative length", b"set %(k)s 0 0 -1\r\n"),
    ("huge length", b"set %(k)s 0 0 99999999999999999999\r\n"),
    ("length past int", b"set %(k)s 0 0 4294967297\r\n"),
    ("bad data chunk", b"set %(k)s 0 0 3\r\nabcdef\r\n"),
    ("bad number", b"set %(k)s 0 zero 1\r\nx\r\n"),
    ("too few tokens", b"set %(k)s 0\r\n"),
    ("unknown command", b"frobnicate %(k)s\r\n"),
])
def test_bad_text_input(server, name, data):
    k = tag("bad") + b"k"
    with text(server) as c:
        c.sock.settimeout(2)
        c.send(data % {b"k": k})
        r = bad_text_reply(c)
        assert r in ("closed", "silent") or r.split(b" ")[0] in (
            b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR"), "%s: %r" % (name, r)
    with text(server) as c:
        assert c.get(k) is None, name
    assert_alive(server)


def test_long_garbage_line_closes(server):
    with text(server) as c:
        c.send(b"x" * 3000)
        assert c.wait_closed(5), "a 3000-byte line without a newline did not close the connection"
    with text(server) as c:
        c.send(b"x" * 5000 + b"\r\n")
        # memcached answers ERROR when the newline comes in the same read;
        # closing is fine too
        r = bad_text_reply(c)
        assert r == "closed" or r.startswith(b"ERROR") or r.startswith(b"CLIENT_ERROR"), r
    assert_alive(server)


def hdr(op, keylen, extlen, bodylen, magic=mc.REQ_MAGIC):
    return mc.HEADER.pack(magic, op, keylen, extlen, 0, 0, bodylen, 0, 0)


@pytest.mark.parametrize("name,data", [
    ("get with extras", hdr(mc.OP_GET, 3, 4, 7) + b"\0\0\0\0abc"),
    ("set without extras", hdr(mc.OP_SET, 3, 0, 5) + b"abcde"),
    ("huge body length", hdr(mc.OP_GET, 3, 0, 0x7FFFFFFF) + b"abc"),
    ("noop with body", hdr(mc.OP_NOOP, 0, 0, 4) + b"abcd"),
    ("key over 250", hdr(mc.OP_GET, 300, 0, 300) + b"k" * 300),
    ("bad magic after a request", hdr(mc.OP_NOOP, 0, 0, 0) + hdr(mc.OP_NOOP, 0, 0, 0, magic=0x82)),
])
def test_bad_binary_input(server, name, data):
    with binary(server) as c:
        c.sock.settimeout(3)
        c.send(data)
        if name.startswith("bad magic"):
            r = c.read_response()
            assert r.opcode == mc.OP_NOOP and r.status == mc.ST_OK
        try:
            r = c.read_response()
            assert r.status != mc.ST_OK, "%s: %r" % (name, r)
        except (mc.Closed, ConnectionResetError):
            pass
        except socket.timeout:
            pytest.fail("%s: neither an error reply nor a close" % name)
    assert_alive(server)


def test_binary_key_longer_than_body(server):
    """keylen + extlen > bodylen.  memcached neither answers nor closes (it
    waits for more bytes); an error reply or a close is fine too.  What
    matters: the server is unharmed."""
    with binary(server) as c:
        c.sock.settimeout(2)
        c.send(hdr(mc.OP_SET, 10, 8, 5) + b"abcde")
        try:
            r = c.read_response()
            assert r.status != mc.ST_OK, r
        except (mc.Closed, ConnectionResetError, socket.timeout):
            pass
    assert_alive(server)


# ------------------------------------------------------------------ expiry

def test_expiry_and_touch(server):
    t = tag("exp")
    now = int(time.time())
    with text(server) as c:
        assert c.set(t + b"e1", b"1", exptime=1) == b"STORED"
        assert c.set(t + b"e2", b"2", exptime=2) == b"STORED"
        assert c.set(t + b"long", b"L", exptime=100) == b"STORED"
        assert c.set(t + b"abs", b"A", exptime=now + 100) == b"STORED"
        assert c.set(t + b"t1", b"T", exptime=2) == b"STORED"
        assert c.set(t + b"g1", b"G", exptime=2) == b"STORED"
        assert c.set(t + b"neg", b"N", exptime=-1) == b"STORED"
        assert c.set(t + b"past", b"P", exptime=now - 100) == b"STORED"
        assert c.get(t + b"neg") is None
        assert c.get(t + b"past") is None
        for k in (b"e1", b"e2", b"long", b"abs", b"t1", b"g1"):
            assert c.get(t + k) is not None, k
        assert c.cmd(b"touch %st1 100" % t) == b"TOUCHED"
        assert c.cmd(b"touch %snone 100" % t) == b"NOT_FOUND"
        hits = c.get_many([t + b"g1"], verb=b"gat 100")
        assert hits == {t + b"g1": (0, b"G")}
        assert c.get_many([t + b"none"], verb=b"gat 100") == {}
        with binary(server) as bc:   # binary touch: exptime 0 = never expires
            r = bc.call(mc.OP_TOUCH, key=t + b"e2", extras=struct.pack("!I", 0))
            assert r.status == mc.ST_OK
        time.sleep(3.2)
        assert c.get(t + b"e1") is None
        assert c.get(t + b"long") == b"L"
        assert c.get(t + b"abs") == b"A"
        assert c.get(t + b"t1") == b"T"
        assert c.get(t + b"g1") == b"G"
        # e2 was touched with exptime 0: it no longer expires
        assert c.get(t + b"e2") == b"2"


# ------------------------------------------------------------------ UDP

@pytest.fixture
def udp(server):
    if not server.udp_port:
        pytest.skip("no --udp-port: the server was started without UDP")
    u = Udp(server.host, server.udp_port)
    yield u
    u.close()


def test_udp_frame_and_large_value(server, udp):
    got = udp.request(b"version\r\n", 0x1234)
    assert len(got) == 1
    seq, total, data, _n = got[0]
    assert (seq, total) == (0, 1) and data.startswith(b"VERSION ")

    k = tag("udp") + b"big"
    value = os.urandom(5120).hex().encode()  # 10 KiB
    with text(server) as c:
        assert c.set(k, value, flags=9) == b"STORED"
    got = udp.request(b"get %s\r\n" % k, 0xBEEF)
    assert len(got) >= 2, "a 10 KiB value should need several datagrams"
    totals = {total for _s, total, _d, _n in got}
    assert totals == {len(got)}, totals
    assert sorted(s for s, _t, _d, _n in got) == list(range(len(got)))
    for _s, _t, _d, n in got:
        # 1400 bytes of payload per datagram (memcached counts the frame
        # header inside the 1400; allow it outside too)
        assert n <= 1400 + 8, n
    body = b"".join(d for _s, _t, d, _n in sorted(got))
    assert body == b"VALUE %s 9 %d\r\n%s\r\nEND\r\n" % (k, len(value), value)


def test_udp_multi_datagram_request_dropped(server, udp):
    udp.send(b"version\r\n", 0x0101, seq=0, total=2)
    r = udp.recv()
    assert r is None, "a request claiming 2 datagrams was answered: %r" % (r,)
    got = udp.request(b"version\r\n", 0x0202)
    assert len(got) == 1 and got[0][2].startswith(b"VERSION ")
    assert_alive(server)


def test_udp_set_get(server, udp):
    k = tag("udpsg") + b"k"
    got = udp.request(b"set %s 3 0 2\r\nhi\r\n" % k, 7)
    assert [d for _s, _t, d, _n in got] == [b"STORED\r\n"]
    got = udp.request(b"get %s\r\n" % k, 8)
    assert [d for _s, _t, d, _n in got] == [b"VALUE %s 3 2\r\nhi\r\nEND\r\n" % k]


def test_udp_multi_get(server, udp):
    """Multi-key gets over UDP answer as over TCP: hits, misses and repeats in order, a value
    that needs several datagrams, more keys than the server answers without a connection
    (32), and the per-key counters. (memcached 1.6 answers each key in a datagram of its own,
    each numbered 0 of 1, so a client that reads one reply sees only the first key there.)"""
    t = tag("udpmg")
    keys = [t + b"%02d" % i for i in range(40)]
    big = os.urandom(2500).hex().encode()  # 5 KB: the reply needs several datagrams
    with text(server) as c:
        for i, k in enumerate(keys):
            if i % 3 != 2:  # every third key misses
                assert c.set(k, big if i == 7 else b"v%d" % i, flags=i) == b"STORED"
        before = c.stats()
        lines = []
        for n in (2, 5, 10, 31, 32, 33, 40):
            lines.append(b"get " + b" ".join(keys[:n]))
        lines.append(b"get " + b" ".join([keys[0], keys[2], keys[0], keys[1]]))  # repeats
        lines.append(b"get " + b" ".join(k for i, k in enumerate(keys[:20]) if i != 7))
        want = []
        for line in lines:
            c.send(line + b"\r\n")
            body = b""
            while True:
                got = c.readline()
                body += got + b"\r\n"
                if got == b"END":
                    break
                body += c.read_exact(int(got.split()[3]) + 2)
            want.append(body)
        mid = c.stats()
        for rid, (line, body) in enumerate(zip(lines, want), 0x5100):
            got = udp.request(line + b"\r\n", rid)
            assert got, "no reply to %r" % line[:60]
            assert {total for _s, total, _d, _n in got} == {len(got)}
            assert b"".join(d for _s, _t, d, _n in sorted(got)) == body, line[:60]
        after = c.stats()
    nkeys = sum(len(line.split()) - 1 for line in lines)
    for name in ("cmd_get", "get_hits", "get_misses"):
        tcp = int(mid[name]) - int(before[name])
        assert int(after[name]) - int(mid[name]) == tcp, name
    assert int(mid["cmd_get"]) - int(before["cmd_get"]) == nkeys


# ------------------------------------------------------------------ max connections

@pytest.mark.maxconns
def test_max_connections(server):
    limit = server.max_conns
    conns = []
    refused = None
    try:
        for i in range(limit + 8):
            c = text(server)
            c.sock.settimeout(5)
            c.send(b"version\r\n")
            try:
                line = c.readline()
            except (mc.Closed, ConnectionResetError):
                line = b"<closed>"
            if line.startswith(b"VERSION "):
                conns.append(c)
                continue
            refused = i
            assert line == b"ERROR Too many open connections", line
            assert c.wait_closed(5), "the refused connection was not closed"
            c.close()
            break
        assert refused is not None, "%d connections all accepted with -c %d" % (
            len(conns), limit)
        assert refused >= 2, "only %d connections accepted" % refused
        # the earlier connections still work
        for n, c in enumerate(conns):
            k = b"maxc%d" % n
            assert c.set(k, b"v%d" % n) == b"STORED"
            assert c.get(k) == b"v%d" % n
    finally:
        for c in conns:
            c.close()
    # once they are closed, new connections are accepted again
    deadline = time.monotonic() + 5
    while True:
        try:
            assert_alive(server)
            break
        except (mc.Closed, ConnectionResetError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ------------------------------------------------------------------ eviction

@pytest.mark.eviction
def test_eviction_under_memory_limit(server):
    rng = random.Random(3)
    t = tag("evict")
    target = 3 * (server.memory_mb << 20)
    written = 0
    keys = []
    errors = 0
    with text(server) as c:
        before = int(c.stats()["evictions"])
        while written < target:
            size = rng.randrange(10 << 10, 100 << 10)
            k = t + b"%d" % len(keys)
            v = (b"%s-" % k) * (size // (len(k) + 1) + 1)
            v = v[:size]
            r = c.set(k, v)
            if r == b"STORED":
                keys.append((k, v))
            else:
                assert r.startswith(b"SERVER_ERROR"), r
                errors += 1
            written += size
        assert errors < len(keys) // 10, "%d of %d sets failed" % (errors, len(keys) + errors)
        st = c.stats()
        assert int(st["evictions"]) > before
        assert int(st["bytes"]) <= server.memory_mb << 20
        for k, v in keys[-5:]:
            assert c.get(k) == v, k
    assert_alive(server)
