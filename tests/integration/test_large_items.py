"""Items far above the default 1 MB limit: a server started with a large -I (run.sh check
pytest-large: -I 128m -m 512; lab/run.sh check tcp-large: -I 64m -m 256 on the DPDK path)
stores and returns values of several megabytes up to -I, byte-exact, over text, meta and
binary, pipelined and on several connections at once; a value over -I is refused as
memcached refuses it and the server keeps serving. The values are chained over 512 KB chunks
(README: the shard engine)."""
import os
import random
import struct
import threading

import pytest

import mc
from mc import BinConn, TextConn

pytestmark = pytest.mark.large

MB = 1 << 20


def tag(name):
    return b"%s:%s:" % (name.encode(), os.urandom(4).hex().encode())


def value(n, seed):
    """n bytes that differ everywhere (a misplaced chunk shows), quickly."""
    rng = random.Random(seed)
    block = rng.randbytes(MB + 7)
    reps = n // len(block) + 1
    return (block * reps)[:n]


@pytest.fixture(autouse=True)
def needs_large_item_max(server):
    if server.item_max < 48 * MB:
        pytest.skip("needs a server started with -I 48m or more (run.sh check pytest-large)")


def sizes(server):
    return [3 * MB + 1, 20 * MB + 12345, server.item_max - 4096]


def test_text_set_get(server):
    t = tag("big_text")
    with TextConn(server.host, server.port, timeout=60) as c:
        for i, n in enumerate(sizes(server)):
            k = t + b"%d" % i
            v = value(n, i)
            assert c.set(k, v) == b"STORED", n
            got = c.get(k)
            assert got is not None and len(got) == n, n
            assert got == v, "value of %d bytes read back wrong" % n
            # gets, append and a second read on the same connection
            c.send(b"gets %s\r\n" % k)
            head = c.readline().split()
            assert head[0] == b"VALUE" and int(head[3]) == n
            assert c.read_exact(n + 2)[:n] == v
            assert c.readline() == b"END"
        k = t + b"app"
        v = value(5 * MB, 9)
        assert c.set(k, v) == b"STORED"
        assert c.set(k, b"tail", verb=b"append") == b"STORED"
        assert c.get(k) == v + b"tail"
        assert c.cmd(b"delete %s" % k) == b"DELETED"


def test_meta_set_get(server):
    t = tag("big_meta")
    n = 30 * MB + 3
    v = value(n, 30)
    with TextConn(server.host, server.port, timeout=60) as c:
        c.send(b"ms %sk %d T0 F7\r\n%s\r\n" % (t, n, v))
        assert c.readline() == b"HD"
        c.send(b"mg %sk s v f\r\n" % t)
        head = c.readline().split()
        assert head[0] == b"VA" and int(head[1]) == n and b"f7" in head and b"s%d" % n in head
        assert c.read_exact(n + 2) == v + b"\r\n"


def test_binary_set_get(server):
    t = tag("big_bin")
    n = 25 * MB + 1
    v = value(n, 25)
    with BinConn(server.host, server.port, timeout=60) as c:
        r = c.call(mc.OP_SET, key=t + b"k", value=v, extras=struct.pack("!II", 5, 0))
        assert r.status == 0, r
        r = c.call(mc.OP_GET, key=t + b"k")
        assert r.status == 0 and r.value == v


def test_pipelined_and_concurrent_readers(server):
    """Several gets of a 40 MB value in one write, and four connections reading it at once."""
    t = tag("big_pipe")
    n = min(40 * MB + 17, server.item_max - 4096)
    v = value(n, 40)
    with TextConn(server.host, server.port, timeout=60) as c:
        assert c.set(t + b"k", v) == b"STORED"
        c.send(b"get %sk\r\n" % t * 3)
        for _ in range(3):
            head = c.readline().split()
            assert head[:2] == [b"VALUE", t + b"k"] and int(head[3]) == n
            assert c.read_exact(n + 2)[:n] == v
            assert c.readline() == b"END"
    errors = []

    def reader(i):
        try:
            with TextConn(server.host, server.port, timeout=60) as r:
                for _ in range(2):
                    if r.get(t + b"k") != v:
                        errors.append("reader %d: wrong value" % i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("reader %d: %r" % (i, e))

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
        assert not th.is_alive(), "a reader still runs after 120 s"
    assert not errors, errors


def test_over_limit_refused_and_old_value_gone(server):
    """memcached: SERVER_ERROR object too large for cache, the data swallowed, the key
    unlinked; the connection and the server go on."""
    t = tag("big_over")
    n = server.item_max + 1
    with TextConn(server.host, server.port, timeout=60) as c:
        assert c.set(t + b"k", b"small") == b"STORED"
        c.send(b"set %sk 0 0 %d\r\n" % (t, n) + b"x" * n + b"\r\n")
        assert c.readline() == b"SERVER_ERROR object too large for cache"
        assert c.get(t + b"k") is None
        assert c.set(t + b"after", b"ok") == b"STORED"
        assert c.get(t + b"after") == b"ok"
