#!/usr/bin/env python3
"""Snapshots: backup, restore, warm restart, against real servers on loopback (socket backend).

    tests/integration/snapshot.py --server build/app/nicached/nicached [--only NAME,..]

Each check starts its own servers (on free ports, a scratch folder for files) and stops them
with SIGTERM; every server must exit with status 0. Checks:
  restart     pymemcache stores 3,000 items (flags, half with a TTL of an hour, 200 with a
              TTL of 3 s stored last) and four values of 0.5 to 3 MB (chained items: above the
              largest slab class, in up to six chunks; -I 4m); `snapshot` answers OK and stats count it; a clean stop writes the stop snapshot; a server
              with another -t (3 workers instead of 2) started with the same --snapshot-file
              holds every item with the same value, flags and CAS (gets), its TTL about as
              left (mg t), the 3 s items skipped as expired and counted; a new store gets a
              CAS above every restored one.
  shrink      the same file restored with -m 8 -t 1 (and -I 1m: the two values above 1 MB are
              too large now): what does not fit is dropped and counted (stats and the log), loaded + dropped + expired = the file's items,
              and every item served is intact.
  encrypted   --snapshot-key (a 64-hex-digit key file): the file holds no value in clear; the
              same key restores it; another key is refused ("wrong key") and the server starts
              empty with the bad file kept as <file>.bad; with --restore-strict it refuses to
              start (exit 71); no key: "encrypted, and no key given"; a key for a plaintext
              file: refused.
  corrupt     a byte flipped in the middle of a snapshot: "corrupt ... checksum" naming the
              file and offset, the server starts empty (or refuses with --restore-strict); a
              truncated file: "truncated"; a file that is not a snapshot: "not a nicached
              snapshot". Nothing of a bad file is served.
  sigusr1     SIGUSR1 writes --snapshot-file while serving; its items restore.
  serving     a snapshot of 20,000 items (--snapshot-slice-us 50) while a client stores and
              reads in a bounded loop: every request answered correctly, the snapshot holds
              every item stored before it began.
  crafted     files written by this script (format.h in Python): a key twice in one file (a
              key changed during a walk) restores the copy with the larger CAS in either
              order; an item expired already is skipped; version 2 is refused by name.
  enospc      (root) a snapshot on a 2 MB tmpfs: it fails with "No space left on device" in
              the log and snapshots_failed, leaves no temporary file, the server keeps
              serving, its stop snapshot fails the same way and it exits 0.
  compressed  values stored compressed (-o compression=lzf; a chained one too) are saved as
              the clients wrote them and restored byte for byte with and without compression.
  command     `snapshot name.snap` writes next to --snapshot-file (never through a link at
              its temporary name; a name not ending in .snap is refused); a second `snapshot` while one
              runs answers SERVER_ERROR a snapshot is being written; `snapshot ../x` and
              `snapshot /tmp/x` are refused with SERVER_ERROR; without --snapshot-file
              `snapshot` answers SERVER_ERROR; the server keeps serving.

Prints "PASS name" / "FAIL name: why" per check and "N passed, M failed" last; exits 1 on a
failure.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from pymemcache.client.base import Client

from harness import HOST, UNCLEAN, Proc, free_port, log_path, request, stats

# Values above the largest slab class (half a page): stored as chained items.
BIG_SIZES = [500000, 700000, 1500000, 3000000]
# TTL of the items that must expire between a snapshot and the restart.
SHORT_TTL = 3


class Server(Proc):
    """One nicached; up() waits until it answers, wait_up() is False when it exited (.code)."""

    def __init__(self, ctx, *args):
        port = free_port()
        super().__init__([ctx.server, "-p", str(port), "-U", "0", "-l", HOST] + list(args),
                         log_path(ctx.dir, "server", port), port,
                         name="server %s" % " ".join(args))

    def stop(self):
        super().stop(60)


def client(port):
    return Client((HOST, port), connect_timeout=5, timeout=10)


def value_of(i, big=False):
    if big:  # chained items: one chunk of the largest class and more, up to six
        return ((b"%d:" % i) * 1600000)[:BIG_SIZES[i]]
    return (b"v%d-" % i) * (1 + i % 50)


def fill(port, n=3000, bigs=4):
    """Items k0..k{n-1} and big0..: returns {key: (value, flags, cas)} as gets reports them."""
    c = client(port)
    want = {}
    for i in range(n):
        if i % 15 != 7:
            assert c.set("k%d" % i, value_of(i), expire=3600 if i % 2 else 0, flags=i * 7,
                         noreply=False)
    for i in range(bigs):
        assert c.set("big%d" % i, value_of(i, True), expire=3600, flags=99, noreply=False)
    # The short-lived ones last, just before the snapshot: they expire before the restart.
    for i in range(7, n, 15):
        assert c.set("k%d" % i, value_of(i), expire=SHORT_TTL, flags=i * 7, noreply=False)
    for i in range(n):
        if i % 15 != 7:
            v, cas = c.gets("k%d" % i)
            want["k%d" % i] = (v, i * 7, cas)
    for i in range(bigs):
        v, cas = c.gets("big%d" % i)
        want["big%d" % i] = (v, 99, cas)
    c.close()
    return want


def snapshot_done(port, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = stats(port)
        if int(s["snapshots_written"]) + int(s["snapshots_failed"]) >= count:
            assert int(s["snapshots_failed"]) == 0, "a snapshot failed: %r" % s
            return s
        time.sleep(0.05)
    raise AssertionError("the snapshot did not finish within %.0f s" % timeout)


def check_items(port, want, exact=True):
    """Every item of want is served the same (value, flags, cas); @return how many are."""
    c = client(port)
    found = 0
    for k, (v, flags, cas) in want.items():
        got = c.gets(k)
        if got == (None, None):
            assert not exact, "%s missing" % k
            continue
        assert got == (v, cas), "%s: %r, wanted cas %s" % (k, got[1], cas)
        found += 1
    c.close()
    # flags through meta (pymemcache's gets hides them)
    for k in list(want)[:50]:
        r = request(port, b"mg %s f\r\n" % k.encode())
        if r.startswith(b"HD"):
            assert r == b"HD f%d\r\n" % want[k][1], (k, r)
    return found


def started_with(ctx, shared_file, *args):
    return Server(ctx, "--snapshot-file", shared_file, *args)


def check_restart(ctx):
    path = os.path.join(ctx.dir, "restart.snap")
    a = Server(ctx, "-t", "2", "-m", "64", "-I", "4m", "--snapshot-file", path).up()
    try:
        want = fill(a.port)
        short_stored = time.monotonic()
        assert request(a.port, b"snapshot\r\n") == b"OK\r\n"
        s = snapshot_done(a.port, 1)
        assert int(s["snapshot_last_items"]) == 3004, s
        assert int(s["snapshot_items"]) == 3004, s
    finally:
        a.stop()
    assert "stop snapshot %s written: 3004 items" % path in open(a.logpath).read(), a.output()
    ctx.restart_file = path + ".copy"
    shutil.copy(path, ctx.restart_file)
    time.sleep(max(0.0, short_stored + SHORT_TTL + 1.1 - time.monotonic()))  # they expire
    b = Server(ctx, "-t", "3", "-m", "64", "-I", "4m", "--snapshot-file", path).up()
    try:
        check_items(b.port, want)
        s = stats(b.port)
        assert int(s["restore_items_loaded"]) == len(want), s
        assert int(s["restore_items_expired"]) == 200, s
        assert int(s["restore_items_dropped"]) == 0, s
        assert int(s["curr_items"]) == len(want), s
        # TTL left: about an hour less the seconds since the store
        r = request(b.port, b"mg k1 t f v\r\n", b"\r\n")
        t = int(r.split(b" t")[1].split()[0])
        assert 3570 <= t <= 3600, r
        assert b" f7" in r, r
        assert request(b.port, b"mg k2 t\r\n").startswith(b"HD t-1"), "k2 has no TTL"
        c = client(b.port)
        c.set("fresh", b"x", noreply=False)
        _, cas = c.gets("fresh")
        assert int(cas) > max(int(x[2]) for x in want.values()), cas
        c.close()
    finally:
        b.stop()
    out = open(b.logpath).read()
    assert "restored %s: %d items loaded, 200 expired" % (path, len(want)) in out, out
    ctx.restart_want = want


def check_compressed(ctx):
    """Values stored compressed (-o compression=lzf, 2 KB JSON-like documents, chained ones
    too) are saved as the clients wrote them: restored byte for byte by a server without
    compression, and by one with it (which compresses them again)."""
    path = os.path.join(ctx.dir, "lzf.snap")
    zip_opts = "compression=lzf,compression_min=256"
    a = Server(ctx, "-t", "2", "-m", "64", "-I", "4m", "-o", zip_opts,
               "--snapshot-file", path).up()
    want = {}
    try:
        c = client(a.port)
        for i in range(500):
            doc = (b'{"id": %d, "name": "user%d", "tags": ["a", "b", "c"], "bio": "%s"}'
                   % (i, i, b"lorem ipsum " * (20 + i % 150)))
            c.set("doc%d" % i, doc, flags=i, noreply=False)
            want["doc%d" % i] = doc
        big = (b"0123456789abcdef" * 65536)[:900000]  # above the largest class: chained
        c.set("bigdoc", big, noreply=False)
        want["bigdoc"] = big
        c.close()
        s = stats(a.port)
        assert int(s["compressed_items"]) >= 400, s["compressed_items"]
        assert request(a.port, b"snapshot\r\n") == b"OK\r\n"
        snapshot_done(a.port, 1)
    finally:
        a.stop()
    for opts in ([], ["-o", zip_opts]):
        b = Server(ctx, "-t", "1", "-m", "64", "-I", "4m", "--restore", path, *opts).up()
        try:
            c = client(b.port)
            for k, v in want.items():
                assert c.get(k) == v, "%s differs after a restore %s" % (k, opts)
            c.close()
            s = stats(b.port)
            assert int(s["restore_items_loaded"]) == len(want), s
            assert (int(s["compressed_items"]) > 0) == bool(opts), s["compressed_items"]
        finally:
            b.stop()


def check_shrink(ctx):
    if not hasattr(ctx, "restart_file"):
        raise AssertionError("needs the restart check's file")
    b = Server(ctx, "-t", "1", "-m", "8", "--restore", ctx.restart_file).up()
    try:
        s = stats(b.port)
        loaded = int(s["restore_items_loaded"])
        dropped = int(s["restore_items_dropped"])
        expired = int(s["restore_items_expired"])
        assert dropped > 0 and loaded > 0, s
        assert loaded + dropped + expired == 3004, s
        assert int(s["curr_items"]) == loaded, s
        served = check_items(b.port, ctx.restart_want, exact=False)
        assert served == loaded, (served, loaded)
    finally:
        b.stop()
    assert "%d dropped (memory limit" % dropped in open(b.logpath).read()


def check_encrypted(ctx):
    key = os.path.join(ctx.dir, "snap.key")
    other = os.path.join(ctx.dir, "other.key")
    with open(key, "w") as f:
        f.write("%064x\n" % random.getrandbits(256))
    with open(other, "wb") as f:
        f.write(os.urandom(32))
    path = os.path.join(ctx.dir, "enc.snap")
    a = Server(ctx, "-t", "2", "--snapshot-file", path, "--snapshot-key", key).up()
    try:
        c = client(a.port)
        for i in range(500):
            c.set("e%d" % i, b"secret-value-%d" % i, flags=3, noreply=False)
        want = {"e%d" % i: (b"secret-value-%d" % i, 3, c.gets("e%d" % i)[1]) for i in range(500)}
        c.close()
    finally:
        a.stop()
    data = open(path, "rb").read()
    assert b"secret-value" not in data and b"e499" not in data, "plaintext in the file"
    keep = path + ".orig"
    shutil.copy(path, keep)
    b = Server(ctx, "-t", "2", "--snapshot-file", path, "--snapshot-key", key).up()
    try:
        check_items(b.port, want)
    finally:
        b.stop()
    # another key: refused, started empty, the file moved aside
    shutil.copy(keep, path)
    w = Server(ctx, "-t", "1", "--snapshot-file", path, "--snapshot-key", other).up()
    try:
        assert stats(w.port)["curr_items"] == "0"
        assert "wrong key" in w.output(), w.output()
        assert os.path.exists(path + ".bad"), "bad file not kept"
    finally:
        w.stop()
    # strict: refuses to start
    s = Server(ctx, "-t", "1", "--restore", keep, "--snapshot-key", other, "--restore-strict")
    assert not s.wait_up() and s.code == 71, (s.code, s.output())
    assert "wrong key" in s.output() and keep in s.output(), s.output()
    s.log.close()
    # no key for an encrypted file; a key for a plaintext one
    n = Server(ctx, "-t", "1", "--restore", keep, "--restore-strict")
    assert not n.wait_up() and n.code == 71 and "no key given" in n.output(), n.output()
    n.log.close()
    n = Server(ctx, "-t", "1", "--restore", ctx.restart_file, "--snapshot-key", key,
               "--restore-strict")
    assert not n.wait_up() and n.code == 71 and "not encrypted" in n.output(), n.output()
    n.log.close()


def check_corrupt(ctx):
    src = ctx.restart_file
    data = bytearray(open(src, "rb").read())
    cases = []
    flipped = os.path.join(ctx.dir, "flipped.snap")
    data[len(data) // 2] ^= 0x10
    open(flipped, "wb").write(data)
    data[len(data) // 2] ^= 0x10
    cases.append((flipped, "corrupt"))
    cut = os.path.join(ctx.dir, "cut.snap")
    open(cut, "wb").write(data[:len(data) * 2 // 3])
    cases.append((cut, "truncated"))
    junk = os.path.join(ctx.dir, "junk.snap")
    open(junk, "wb").write(b"VALUE x 0 1\r\nx\r\nEND\r\n" * 10)
    cases.append((junk, "not a nicached snapshot"))
    for path, word in cases:
        s = Server(ctx, "-t", "2", "--restore", path).up()
        try:
            out = s.output()
            assert word in out and path in out, out
            if word == "corrupt":
                assert "offset" in out and "checksum" in out, out
            st = stats(s.port)
            assert st["curr_items"] == "0" and st["restore_items_loaded"] == "0", st
            assert client(s.port).get("k1") is None
        finally:
            s.stop()
        strict = Server(ctx, "-t", "2", "--restore", path, "--restore-strict")
        assert not strict.wait_up() and strict.code == 71, (strict.code, strict.output())
        assert word in strict.output() and "refused" in strict.output(), strict.output()
        strict.log.close()


def check_sigusr1(ctx):
    path = os.path.join(ctx.dir, "usr1.snap")
    a = Server(ctx, "-t", "2", "--snapshot-file", path).up()
    try:
        c = client(a.port)
        for i in range(1000):
            c.set("u%d" % i, b"%d" % i, noreply=False)
        a.proc.send_signal(signal.SIGUSR1)
        snapshot_done(a.port, 1)
        assert os.path.exists(path)
        assert c.get("u5") == b"5"
        c.close()
    finally:
        a.kill()  # no stop snapshot: what is restored is SIGUSR1's
        a.log.close()
    b = Server(ctx, "-t", "2", "--restore", path).up()
    try:
        assert stats(b.port)["restore_items_loaded"] == "1000"
        assert client(b.port).get("u999") == b"999"
    finally:
        b.stop()


def check_serving(ctx):
    path = os.path.join(ctx.dir, "serving.snap")
    a = Server(ctx, "-t", "2", "-m", "128", "--snapshot-file", path,
               "--snapshot-slice-us", "50").up()
    errors = []
    stop = threading.Event()

    def load():
        c = client(a.port)
        i = 0
        deadline = time.monotonic() + 10
        try:
            while not stop.is_set() and time.monotonic() < deadline and i < 200000:
                k = "live%d" % (i % 500)
                c.set(k, b"%d" % i, noreply=False)
                got = c.get(k)
                if got != b"%d" % i:
                    errors.append("%s: %r" % (k, got))
                    return
                i += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            c.close()

    try:
        c = client(a.port)
        blob = b"y" * 400
        for i in range(20000):
            c.set("s%d" % i, blob, noreply=True)
        assert c.get("s19999") == blob
        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.2)
        assert request(a.port, b"snapshot\r\n") == b"OK\r\n"
        s = snapshot_done(a.port, 1)
        stop.set()
        t.join(15)
        assert not errors, errors[:3]
        assert int(s["snapshot_last_items"]) >= 20000, s
    finally:
        stop.set()
        a.kill()
        a.log.close()
    b = Server(ctx, "-t", "1", "-m", "128", "--restore", path).up()
    try:
        c = client(b.port)
        assert all(c.get("s%d" % i) == b"y" * 400 for i in range(0, 20000, 97))
        assert int(stats(b.port)["restore_items_loaded"]) >= 20000
    finally:
        b.stop()


def check_command(ctx):
    path = os.path.join(ctx.dir, "cmd.snap")
    a = Server(ctx, "-t", "2", "--snapshot-file", path).up()
    try:
        client(a.port).set("x", b"1", noreply=False)
        # A link planted at the (predictable) temporary name: never written through.
        victim = os.path.join(ctx.dir, "victim")
        with open(victim, "w") as f:
            f.write("keep me")
        os.symlink(victim, os.path.join(ctx.dir, "named.snap.tmp.%d" % a.proc.pid))
        assert request(a.port, b"snapshot named.snap\r\n") == b"OK\r\n"
        snapshot_done(a.port, 1)
        assert os.path.exists(os.path.join(ctx.dir, "named.snap"))
        assert open(victim).read() == "keep me", "written through a link"
        # Two in one packet: the second is answered before this worker has copied its part
        # (and 8 MB to copy, should the packet be read in two parts).
        c = client(a.port)
        c.set_many({"pad%d" % i: b"p" * 1600 for i in range(5000)}, noreply=True)
        assert c.get("pad4999") == b"p" * 1600
        c.close()
        with socket.create_connection((HOST, a.port), timeout=10) as sk:
            sk.sendall(b"snapshot\r\nsnapshot\r\n")
            r = b""
            while r.count(b"\r\n") < 2:
                d = sk.recv(4096)
                assert d, r
                r += d
        assert r == b"OK\r\nSERVER_ERROR a snapshot is being written\r\n", r
        snapshot_done(a.port, 2)
        for bad in (b"../x", b"/tmp/x", b".hidden", b"cache.key", b"users", b".snap"):
            r = request(a.port, b"snapshot " + bad + b"\r\n")
            assert r.startswith(b"SERVER_ERROR ") and r.endswith(b"\r\n"), r
        assert not os.path.exists("/tmp/x.tmp.%d" % a.proc.pid)
        assert client(a.port).get("x") == b"1"
    finally:
        a.stop()
    n = Server(ctx, "-t", "1").up()
    try:
        r = request(n.port, b"snapshot\r\n")
        assert r.startswith(b"SERVER_ERROR no snapshot file"), r
        assert request(n.port, b"version\r\n").startswith(b"VERSION")
    finally:
        n.stop()


def crc32c(data, crc=0):
    """CRC32C (Castagnoli), as lib/snapshot's snap_crc()."""
    if not CRC_TABLE:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            CRC_TABLE.append(c)
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


CRC_TABLE = []


def snapshot_file(items, version=1):
    """A plaintext snapshot (lib/snapshot/format.h) of items [(key, flags, cas, exptime, value)],
    each in a block of its own."""
    hdr = bytearray(64)
    hdr[0:8] = b"NCSNAP\r\n"
    struct.pack_into("<IIqQQ", hdr, 8, version, 0, int(time.time()), len(items), 0)
    struct.pack_into("<I", hdr, 60, crc32c(bytes(hdr[:60])))
    out = bytes(hdr)
    file_crc = crc32c(out)  # the headers, then each block's record header
    nbytes = maxcas = 0
    for seq, (k, flags, cas, exp, v) in enumerate(items):
        payload = struct.pack("<BBHIIIQq", len(k), 0, 0, flags, len(v), 0, cas, exp) + k + v
        rh = struct.pack("<IIII", 1, len(payload), 1, seq)
        rh += struct.pack("<I", crc32c(payload))
        rh += struct.pack("<I", crc32c(rh))
        file_crc = crc32c(rh, file_crc)
        out += rh + payload
        nbytes += len(v)
        maxcas = max(maxcas, cas)
    tr = struct.pack("<QQQQII", len(items), nbytes, len(items), maxcas, file_crc, 0) + bytes(8)
    rh = struct.pack("<IIII", 2, len(tr), 0, len(items)) + struct.pack("<I", crc32c(tr))
    return out + rh + struct.pack("<I", crc32c(rh)) + tr


def check_crafted(ctx):
    """Files made here: a key twice (the larger CAS wins, either order), an item expired
    already, version 2."""
    far = int(time.time()) + 7200
    items = [(b"d", 1, 900, 0, b"new-d"), (b"d", 2, 500, 0, b"old-d"),
             (b"e", 3, 500, far, b"old-e"), (b"e", 4, 900, far, b"new-e"),
             (b"gone", 5, 1000, int(time.time()) - 10, b"x")]
    path = os.path.join(ctx.dir, "crafted.snap")
    open(path, "wb").write(snapshot_file(items))
    s = Server(ctx, "-t", "2", "--restore", path, "--restore-strict").up()
    try:
        c = client(s.port)
        assert c.gets("d") == (b"new-d", b"900"), c.gets("d")
        assert c.gets("e") == (b"new-e", b"900"), c.gets("e")
        assert c.get("gone") is None
        assert request(s.port, b"mg e f\r\n") == b"HD f4\r\n"
        st = stats(s.port)
        assert st["restore_items_loaded"] == "2" and st["restore_items_expired"] == "1", st
        assert st["curr_items"] == "2", st
    finally:
        s.stop()
    open(path, "wb").write(snapshot_file(items, version=2))
    v2 = Server(ctx, "-t", "1", "--restore", path, "--restore-strict")
    assert not v2.wait_up() and v2.code == 71, v2.output()
    assert "format version 2, this server reads version 1" in v2.output(), v2.output()
    v2.log.close()


def check_enospc(ctx):
    """A full file system: the snapshot fails cleanly (root only: a 2 MB tmpfs)."""
    if os.geteuid() != 0:
        print("SKIP enospc: needs root (mounts a small tmpfs)", flush=True)
        return
    small = os.path.join(ctx.dir, "small")
    os.mkdir(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small], check=True)
    try:
        path = os.path.join(small, "full.snap")
        a = Server(ctx, "-t", "2", "--snapshot-file", path).up()
        try:
            c = client(a.port)
            for i in range(1000):
                c.set("f%d" % i, b"z" * 5000, noreply=True)
            assert c.get("f999") == b"z" * 5000
            assert request(a.port, b"snapshot\r\n") == b"OK\r\n"
            deadline = time.monotonic() + 20
            while stats(a.port)["snapshots_failed"] != "1":
                assert time.monotonic() < deadline, "the snapshot did not fail"
                time.sleep(0.05)
            assert stats(a.port)["snapshots_written"] == "0"
            assert c.get("f5") == b"z" * 5000  # still serving
            assert os.listdir(small) == [], os.listdir(small)  # no temporary file left
            c.close()
        finally:
            a.stop()
        out = open(a.logpath).read()
        assert "No space left on device" in out and "stop snapshot failed" in out, out
        assert os.listdir(small) == [], os.listdir(small)
    finally:
        subprocess.run(["umount", small], check=True)


CHECKS = [("restart", check_restart), ("shrink", check_shrink), ("encrypted", check_encrypted),
          ("corrupt", check_corrupt), ("sigusr1", check_sigusr1), ("serving", check_serving),
          ("command", check_command), ("crafted", check_crafted), ("enospc", check_enospc),
          ("compressed", check_compressed)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--only", help="run only the checks named, comma-separated")
    ap.add_argument("--keep-logs", action="store_true")
    ctx = ap.parse_args()
    checks = CHECKS
    if ctx.only:
        want = set(ctx.only.split(","))
        if "shrink" in want or "corrupt" in want or "encrypted" in want:
            want.add("restart")
        checks = [c for c in CHECKS if c[0] in want]
    ctx.dir = tempfile.mkdtemp(prefix="nc-snapshot.")
    passed = failed = 0
    try:
        for name, fn in checks:
            t0 = time.monotonic()
            try:
                fn(ctx)
                print("PASS %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
                passed += 1
            except Exception as e:  # noqa: BLE001 -- report, then the next check
                print("FAIL %s: %s" % (name, e), flush=True)
                failed += 1
        for u in UNCLEAN:
            print("FAIL clean exit: %s" % u, flush=True)
            failed += 1
    finally:
        if ctx.keep_logs:
            print("logs and files in %s" % ctx.dir)
        else:
            shutil.rmtree(ctx.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
