"""Values stored compressed in the server (-o compression=lzf; run.sh check pytest-compression:
compression_min=256, -I 8m, UDP on): clients see exactly the bytes and flags they wrote over
text, meta, binary and UDP, in multi-gets and pipelines, for compressible (JSON-like) and
incompressible values, below and above the threshold, chained ones (larger than a 512 KB
chunk) included; append/prepend and incr/decr on compressed items; `stats` counts what was
compressed; pylibmc and pymemcache (their own compression off) read back what they wrote."""
import json
import os
import random

import pytest

from mc import (BinConn, OP_APPEND, OP_GET, OP_GETK, OP_GETKQ, OP_NOOP, OP_SET, ST_OK,
                TextConn, Udp, bin_request)
import struct

pytestmark = pytest.mark.compression

MIN = 256


def tag(name):
    return b"%s:%s:" % (name.encode(), os.urandom(4).hex().encode())


def doc(n, seed):
    """A JSON document of about n bytes (compresses to well under half), deterministic."""
    rng = random.Random(seed)
    out, size = [], 2
    while size < n:
        rec = {"id": rng.randrange(10**6), "user": "user%d" % rng.randrange(500),
               "tags": rng.sample(["red", "green", "blue", "cache", "json", "lzf"], 3),
               "score": round(rng.random(), 3), "active": rng.random() < 0.5}
        s = json.dumps(rec)
        out.append(s)
        size += len(s) + 1
    return ("[" + ",".join(out) + "]").encode()[:n]


def noise(n, seed):
    return random.Random(seed).randbytes(n)


@pytest.fixture(scope="module", autouse=True)
def needs_compression(server):
    with TextConn(server.host, server.port) as c:
        st = c.stats(b"settings")
    if st.get("compression") != "lzf":
        pytest.skip("needs a server started with -o compression=lzf (run.sh check "
                    "pytest-compression)")


@pytest.fixture
def conn(server):
    c = TextConn(server.host, server.port, timeout=30)
    yield c
    c.close()


def stats(c):
    return {k: int(v) for k, v in c.stats().items() if v.isdigit()}


def values():
    """(name, bytes): around the threshold, documents of 1-10 KB, incompressible ones."""
    return [("below", doc(MIN - 1, 1)), ("at", doc(MIN, 2)), ("doc1k", doc(1000, 3)),
            ("doc10k", doc(10000, 4)), ("noise4k", noise(4000, 5)), ("tiny", b"x"),
            ("empty", b""), ("nul", b"\0" * 5000)]


def test_text_roundtrip_and_stats(conn):
    t = tag("text")
    before = stats(conn)
    for i, (name, v) in enumerate(values()):
        assert conn.set(t + name.encode(), v, flags=0xFFFF0000 + i) == b"STORED"
    got = conn.get_many([t + name.encode() for name, _ in values()])
    for i, (name, v) in enumerate(values()):
        assert got[t + name.encode()] == (0xFFFF0000 + i, v), name
    # gets: the same bytes, a cas
    conn.send(b"gets %s\r\n" % (t + b"doc10k"))
    head = conn.readline().split()
    assert head[0] == b"VALUE" and int(head[2]) == 0xFFFF0003 and int(head[3]) == 10000
    assert conn.read_exact(10002)[:10000] == doc(10000, 4)
    assert conn.readline() == b"END"
    after = stats(conn)
    # at, doc1k, doc10k and the zeros are compressed; below, noise and tiny are not
    assert after["compressed_items"] - before["compressed_items"] >= 4
    assert after["compressed_bytes_after"] < after["compressed_bytes_before"]
    assert after["compress_skipped"] > before["compress_skipped"]  # the noise
    assert after["decompressions"] >= before["decompressions"] + 5
    assert after["decompress_cycles"] > before["decompress_cycles"]
    assert after["compress_cycles"] > before["compress_cycles"]


def test_gat_gats(conn):
    k = tag("gat") + b"k"
    v = doc(5000, 6)
    assert conn.set(k, v, flags=9) == b"STORED"
    for verb in (b"gat", b"gats"):
        conn.send(b"%s 100 %s\r\n" % (verb, k))
        head = conn.readline().split()
        assert head[:4] == [b"VALUE", k, b"9", b"5000"], head
        assert conn.read_exact(5002)[:5000] == v
        assert conn.readline() == b"END"


def test_big_multiget_pipelined(conn):
    """Many compressed values in one reply, and many replies before a read: each value is
    decompressed into the worker's scratch and sent before it is reused."""
    t = tag("multi")
    keys = [t + b"%d" % i for i in range(200)]
    vals = [doc(2000 + 37 * i, 100 + i) for i in range(200)]
    conn.send(b"".join(b"set %s %d 0 %d noreply\r\n%s\r\n" % (k, i, len(v), v)
                       for i, (k, v) in enumerate(zip(keys, vals))))
    assert conn.cmd(b"version").startswith(b"VERSION")
    for rnd in range(3):
        conn.send(b"get " + b" ".join(keys) + b"\r\n" + b"get " + b" ".join(reversed(keys)) + b"\r\n")
        for order in (range(200), reversed(range(200))):
            for i in order:
                head = conn.readline().split()
                assert head[:4] == [b"VALUE", keys[i], b"%d" % i, b"%d" % len(vals[i])], head
                assert conn.read_exact(len(vals[i]) + 2)[:-2] == vals[i]
            assert conn.readline() == b"END"


def test_meta(conn):
    k = tag("meta") + b"k"
    v = doc(6000, 7)
    conn.send(b"ms %s %d F77 T0\r\n%s\r\n" % (k, len(v), v))
    assert conn.readline() == b"HD"
    conn.send(b"mg %s s v f k\r\n" % k)
    head = conn.readline().split()
    assert head[0] == b"VA" and head[1] == b"6000"
    assert b"s6000" in head and b"f77" in head and b"k" + k in head, head
    assert conn.read_exact(6002)[:6000] == v
    # s without v: the client's length
    assert conn.cmd(b"mg %s s f" % k) == b"HD s6000 f77"
    # ms append (MA) onto the compressed value
    conn.send(b"ms %s 3 MA\r\nEND\r\n" % k)
    assert conn.readline() == b"HD"
    conn.send(b"mg %s v\r\n" % k)
    assert conn.readline() == b"VA 6003"
    assert conn.read_exact(6005)[:6003] == v + b"END"


def test_binary(server):
    t = tag("bin")
    vals = [(t + b"%d" % i, doc(1000 * (i + 1), 20 + i)) for i in range(5)]
    vals.append((t + b"noise", noise(3000, 9)))
    with BinConn(server.host, server.port) as b:
        for i, (k, v) in enumerate(vals):
            r = b.call(OP_SET, key=k, value=v, extras=struct.pack("!II", 1000 + i, 0))
            assert r.status == ST_OK
        for i, (k, v) in enumerate(vals):
            r = b.call(OP_GET, key=k)
            assert r.status == ST_OK and r.value == v
            assert struct.unpack("!I", r.extras)[0] == 1000 + i
            r = b.call(OP_GETK, key=k)
            assert r.status == ST_OK and r.key == k and r.value == v
        # quiet gets pipelined, ended by a noop
        b.send(b"".join(bin_request(OP_GETKQ, key=k, opaque=i) for i, (k, _) in enumerate(vals))
               + bin_request(OP_NOOP, opaque=999))
        for i, (k, v) in enumerate(vals):
            r = b.read_response()
            assert r.opaque == i and r.key == k and r.value == v
        assert b.read_response().opcode == OP_NOOP
        r = b.call(OP_APPEND, key=vals[0][0], value=b"++")
        assert r.status == ST_OK
        assert b.call(OP_GET, key=vals[0][0]).value == vals[0][1] + b"++"


def test_udp(server, conn):
    if not server.udp_port:
        pytest.skip("no --udp-port")
    k = tag("udp") + b"k"
    v = doc(9000, 8)
    assert conn.set(k, v, flags=5) == b"STORED"
    u = Udp(server.host, server.udp_port)
    try:
        got = u.request(b"get %s\r\n" % k, 0x4242)
        assert got, "no UDP reply"
        total = got[0][1]
        assert len(got) == total
        data = b"".join(d for _seq, _tot, d, _n in sorted(got))
        assert data == b"VALUE %s 5 9000\r\n%s\r\nEND\r\n" % (k, v)
    finally:
        u.close()


def test_append_prepend_incr(conn):
    k = tag("ap") + b"k"
    v = doc(3000, 10)
    assert conn.set(k, v, flags=3) == b"STORED"
    assert conn.set(k, b"<<", verb=b"prepend") == b"STORED"
    assert conn.set(k, b">>", verb=b"append") == b"STORED"
    assert conn.get_many([k])[k] == (3, b"<<" + v + b">>")
    # a number padded far past the threshold is stored compressed; incr/decr still work
    n = tag("num") + b"n"
    assert conn.set(n, b"41" + b" " * 3000) == b"STORED"
    assert conn.cmd(b"incr %s 1" % n) == b"42"
    assert conn.cmd(b"decr %s 40" % n) == b"2"
    assert conn.get(n) == b"2" + b" " * 3001


def test_chained(conn, server):
    """Values larger than a 512 KB chunk: compressed into a chained item, or chained as is."""
    if server.item_max < 4 << 20:
        pytest.skip("needs -I 4m or more")
    t = tag("chain")
    # 1,040,000 bytes (the largest compressed is 1 MiB): ~0.7 MB compressed, still chained
    big = noise(600000, 11) + doc(440000, 12)
    rnd = noise(900000, 13)
    huge = doc(3 << 20, 16)  # above 1 MiB: stored as it is
    assert conn.set(t + b"big", big, flags=1) == b"STORED"
    assert conn.set(t + b"rnd", rnd, flags=2) == b"STORED"
    assert conn.set(t + b"huge", huge, flags=3) == b"STORED"
    got = conn.get_many([t + b"big", t + b"rnd", t + b"huge", t + b"big"])
    assert got[t + b"big"] == (1, big)
    assert got[t + b"rnd"] == (2, rnd)
    assert got[t + b"huge"] == (3, huge)


def test_metadump_size_is_memory_held(conn):
    k = tag("dump") + b"k"
    v = doc(8000, 14)
    assert conn.set(k, v) == b"STORED"
    conn.send(b"lru_crawler metadump all\r\n")
    while not conn.buf.endswith(b"END\r\n"):
        conn._fill()
    sizes = {}
    for line in conn.buf[:-5].split(b"\n"):
        if line:
            f = dict(x.split(b"=", 1) for x in line.split())
            sizes[f[b"key"]] = int(f[b"size"])
    conn.buf = b""
    # metadump's size is the memory the item holds (compressed), well under the value
    assert 0 < sizes[k.replace(b":", b"%3A")] < 8000


def test_clients(server):
    """pylibmc and pymemcache with their own compression off: the server's is invisible."""
    pylibmc = pytest.importorskip("pylibmc")
    from pymemcache.client.base import Client
    t = tag("clients").decode()
    v = doc(7000, 15).decode()
    mc = pylibmc.Client(["%s:%d" % (server.host, server.port)], binary=True)
    mc.set(t + "lib", v, min_compress_len=0)
    assert mc.get(t + "lib") == v
    assert mc.get_multi([t + "lib"]) == {t + "lib": v}
    mc.disconnect_all()
    pm = Client((server.host, server.port))
    pm.set(t + "pm", v.encode(), flags=0)
    assert pm.get(t + "pm") == v.encode()
    assert pm.get_many([t + "pm", t + "lib"])[t + "pm"] == v.encode()
    pm.close()
