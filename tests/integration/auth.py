#!/usr/bin/env python3
"""Authentication (-S binary SASL PLAIN, -Y memcached's text token) with real clients.

    tests/integration/auth.py --server build/app/nicached/nicached [--only NAME,..]

Each check starts its own server(s) on loopback (socket backend) with an auth file of
user:password lines in a temporary folder. Checks:
  sasl        -S --sasl-pwdb: pylibmc (binary, SASL PLAIN through libmemcached) and
              memccp/memccat --binary --username/--password store and read; a wrong password
              fails (pylibmc raises, memccat exits non-zero); binary requests before
              authentication get memcached's "Auth failure." (0x20) and the connection
              closes, VERSION is answered; SASL list mechanisms answers "PLAIN"; auth with an
              empty message answers 0x21 and the step logs in; a failed re-auth logs out; text
              and meta commands before authentication get "CLIENT_ERROR unauthenticated";
              nothing an unauthenticated connection sent is stored; auth_cmds / auth_errors
              count exactly the attempts.
  text        -Y: pymemcache logs in with set(<any>, "user password") (STORED), then stores
              and reads; replies byte for byte as memcached 1.6.18 -Y gives them (wrong
              password, bad token format, bad termination, commands before the token, meta);
              pylibmc's SASL works there too.
  reference   the raw text and binary cases against /usr/bin/memcached (1.6.18) itself, -Y and
              -S (Cyrus SASL with a sasldb made by saslpasswd2, PLAIN only): nicached's replies
              must be memcached's, byte for byte (the version string aside), closes included.
  brute       -Y: 2,000 wrong text tokens and 1,000 wrong SASL attempts (bounded) while another
              logged-in client is served throughout (each of its requests answered, the
              slowest one printed); auth_errors counts every wrong attempt.
  reload      -Y: the file changed and SIGHUP: the old password is refused, the new one
              accepted, a connection logged in before stays so; a malformed file and a
              missing one on SIGHUP keep the users loaded before, and the log says so.
  startup     a missing, a malformed and an empty auth file, -U with -Y or -S, and -S without
              a file: the start fails (exit 64) with a message naming the file and the problem;
              the banner says authentication is on and UDP off.
  cluster     two members with --replicas 2 and -Y (the same file): the replication links log
              in with the file's first user; keys written on one are read on the other, no
              replication errors; a member with another file: the link's login is refused and
              the log says so; a member without authentication: its log says the other
              requires it.
Prints "PASS name" / "FAIL name: why" per check and "N passed, M failed" last; exits 1 on a
failure. Only the servers this script started are stopped, by pid.
"""
import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from harness import HOST, UNCLEAN, Proc, free_port, free_ports, log_path

HDR = struct.Struct("!BBHBBHIIQ")


class Server(Proc):
    """One nicached on loopback, socket backend, -t 2 unless told; up once it accepts."""

    def __init__(self, path, logdir, args, port=None, threads=2):
        port = port or free_port()
        super().__init__([path, "-p", str(port), "-l", HOST, "-t", str(threads), "-m", "64"] +
                         args, log_path(logdir, "server", port), port, probe="connect")
        self.up()

    def stop(self):
        super().stop(20)


class Conn:
    def __init__(self, port, timeout=10.0, host=HOST):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def read(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed with %r buffered" % self.buf)
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed with %r buffered" % self.buf)
            self.buf += d
        out, _, self.buf = self.buf.partition(b"\r\n")
        return out + b"\r\n"

    def until(self, end):
        while not self.buf.endswith(end):
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed with %r buffered" % self.buf)
            self.buf += d
        out, self.buf = self.buf, b""
        return out

    def closed(self, timeout=3.0):
        """Whether the server closes the connection (after what it sent is read)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    # binary
    def breq(self, op, key=b"", val=b"", ext=b"", opaque=0x11223344, vlen=None):
        """A request; vlen announces a value longer than the bytes of val sent."""
        vlen = len(val) if vlen is None else vlen
        self.send(HDR.pack(0x80, op, len(key), len(ext), 0, 0, len(key) + len(ext) + vlen,
                           opaque, 0) + ext + key + val)

    def bres(self):
        h = HDR.unpack(self.read(24))
        body = self.read(h[6])
        return {"op": h[1], "status": h[5], "opaque": h[7], "cas": h[8],
                "key": body[h[3]:h[3] + h[2]], "body": body[h[3] + h[2]:], "raw": h}

    def login_text(self, user, pw):
        tok = ("%s %s" % (user, pw)).encode()
        self.send(b"set a 0 0 %d\r\n%s\r\n" % (len(tok), tok))
        return self.line()

    def login_sasl(self, user, pw):
        self.breq(0x21, b"PLAIN", b"\0" + user.encode() + b"\0" + pw.encode())
        return self.bres()


def text_stats(port, user, pw, host=HOST):
    c = Conn(port, host=host)
    try:
        assert c.login_text(user, pw) == b"STORED\r\n"
        c.send(b"stats\r\n")
        out = {}
        for ln in c.until(b"END\r\n").split(b"\r\n"):
            p = ln.split(b" ", 2)
            if len(p) == 3 and p[0] == b"STAT":
                out[p[1].decode()] = p[2].decode()
        return out
    finally:
        c.close()


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- checks

def check_sasl(ctx):
    import pylibmc
    pw = os.path.join(ctx.tmp, "pwdb")
    write_file(pw, "alice:secret\nbob:hunter2\n")
    srv = ctx.start(["-S", "--sasl-pwdb", pw])
    port = srv.port
    base = text_stats(port, "alice", "secret")
    attempts, errors = 0, 0
    c = pylibmc.Client(["%s:%d" % (HOST, port)], binary=True, username="bob", password="hunter2")
    for i in range(200):
        assert c.set("k%d" % i, "v%d" % i)
    assert all(c.get("k%d" % i) == "v%d" % i for i in range(200))
    attempts += 1  # pylibmc logs in once per connection
    bad = pylibmc.Client(["%s:%d" % (HOST, port)], binary=True, username="bob", password="nope")
    try:
        bad.set("evil", "x")
        raise AssertionError("a wrong password stored")
    except pylibmc.Error as e:
        assert "AUTHENTICATION FAILURE" in str(e), e
    attempts += 1
    errors += 1
    # libmemcached's tools
    src = os.path.join(ctx.tmp, "payload.txt")
    write_file(src, "payload through memccp\n")
    server = "--servers=%s:%d" % (HOST, port)
    r = subprocess.run(["memccp", server, "--binary", "--username=alice", "--password=secret",
                        src], capture_output=True, timeout=20)
    assert r.returncode == 0, r
    r = subprocess.run(["memccat", server, "--binary", "--username=alice", "--password=secret",
                        "payload.txt"], capture_output=True, timeout=20)
    assert r.returncode == 0 and r.stdout == b"payload through memccp\n\n", r  # (+ its \\n)
    r = subprocess.run(["memccat", server, "--binary", "--username=alice", "--password=wrong",
                        "payload.txt"], capture_output=True, timeout=20)
    assert r.returncode != 0 and b"payload" not in r.stdout, r
    attempts += 3
    errors += 1
    # Raw binary, as memcached -S answers (checked against memcached 1.6.18 with Cyrus SASL).
    b = Conn(port)
    b.breq(0x0b)
    v = b.bres()
    assert v["status"] == 0 and v["body"].startswith(b"1.6.18"), v
    b.breq(0x20)
    r = b.bres()
    assert (r["status"], r["body"], r["opaque"]) == (0, b"PLAIN", 0x11223344), r
    b.breq(0x22, b"PLAIN", b"\0alice\0secret")  # a step that no auth asked for
    r = b.bres()
    assert (r["status"], r["body"]) == (0x20, b"Auth failure."), r
    b.breq(0x21, b"PLAIN", b"")
    r = b.bres()
    assert (r["status"], r["body"]) == (0x21, b""), r
    b.breq(0x22, b"PLAIN", b"\0alice\0secret")
    r = b.bres()
    assert (r["status"], r["body"]) == (0, b"Authenticated"), r
    b.breq(0x00, b"k1")
    r = b.bres()
    assert r["status"] == 0 and r["body"] == b"v1", r
    r = b.login_sasl("alice", "wrong")  # a failed re-auth logs out, as memcached
    assert (r["status"], r["body"]) == (0x20, b"Auth failure."), r
    b.breq(0x00, b"k1")
    r = b.bres()
    assert (r["status"], r["body"]) == (0x20, b"Auth failure."), r
    assert b.closed()
    b.close()
    attempts += 3
    errors += 2
    for mech, msg in ((b"CRAM-MD5", b"x"), (b"PLAIN", b"bob\0alice\0secret"),
                      (b"PLAIN", b"\0alice\0secret\0"), (b"PLAIN", b"alicesecret")):
        b = Conn(port)
        b.breq(0x21, mech, msg)
        r = b.bres()
        assert (r["status"], r["body"]) == (0x20, b"Auth failure."), (mech, msg, r)
        assert not b.closed(0.2)
        b.close()
        attempts += 1
        errors += 1
    # Before authentication: every binary command is refused and closes; nothing is stored.
    for op, key, val, ext in ((0x01, b"evil", b"x", b"\0" * 8), (0x00, b"k1", b"", b""),
                              (0x0a, b"", b"", b""), (0x10, b"", b"", b""),
                              (0x08, b"", b"", b""), (0x04, b"k1", b"", b"")):
        b = Conn(port)
        b.breq(op, key, val, ext, opaque=op)
        r = b.bres()
        assert (r["op"], r["status"], r["body"], r["opaque"]) == (
            op, 0x20, b"Auth failure.", op), (op, r)
        assert b.closed()
        b.close()
    # Requests the parser refuses (unknown opcode, value above -I): refused at the header too.
    for op, key, vlen, ext in ((0x42, b"k", 1, b""), (0x0e, b"k1", 2 << 20, b""),
                               (0x01, b"k1", 2 << 20, b"\0" * 8)):
        b = Conn(port)
        b.breq(op, key, b"v" * min(vlen, 100), ext, opaque=op, vlen=vlen)  # header, some body
        r = b.bres()
        assert (r["op"], r["status"], r["body"]) == (op, 0x20, b"Auth failure."), (op, r)
        assert b.closed()
        b.close()
    # Text and meta before authentication (memcached -S would take no text at all).
    t = Conn(port)
    for cmd in (b"get k1\r\n", b"mg k1 v\r\n", b"mn\r\n", b"flush_all\r\n",
                b"delete k1\r\n", b"stats\r\n"):
        t.send(cmd)
        assert t.line() == b"CLIENT_ERROR unauthenticated\r\n", cmd
    t.close()
    assert c.get("k1") == "v1"  # the flush_all and delete above changed nothing
    assert c.get("evil") is None
    st = text_stats(port, "alice", "secret")
    attempts += 1  # text_stats' own login
    got = (int(st["auth_cmds"]) - int(base["auth_cmds"]),
           int(st["auth_errors"]) - int(base["auth_errors"]))
    assert got == (attempts, errors), "auth_cmds/auth_errors went up by %s, want %s" % (
        got, (attempts, errors))
    print("sasl: auth_cmds +%d auth_errors +%d as counted" % got)


# (request, reply) as memcached 1.6.18 -Y answers them, each on a new connection.
TEXT_CASES = [
    ([b"get foo\r\n", b"version\r\n"],
     [b"CLIENT_ERROR unauthenticated\r\n", b"CLIENT_ERROR unauthenticated\r\n"]),
    ([b"mg foo v\r\n", b"mn\r\n", b"ms foo 2\r\n"],
     [b"CLIENT_ERROR unauthenticated\r\n"] * 3),
    ([b"set x 0 0 11\r\nalice wrong\r\n", b"get x\r\n", b"set x 0 0 12\r\nalice secret\r\n",
      b"version\r\n"],
     [b"CLIENT_ERROR authentication failure\r\n", b"CLIENT_ERROR unauthenticated\r\n",
      b"STORED\r\n", b"VERSION "]),
    ([b"set x 0 0 5\r\nalice\r\n"], [b"CLIENT_ERROR bad authentication token format\r\n"]),
    ([b"set x 0 0 12\r\nalice:secret\r\n"],
     [b"CLIENT_ERROR bad authentication token format\r\n"]),
    ([b"set x 0 0 -1\r\n", b"set x 0 0\r\n", b"add x 0 0 12\r\n"],
     [b"CLIENT_ERROR unauthenticated\r\n"] * 3),
    ([b"set x 0 0 13\r\nalice  secret\r\n"], [b"STORED\r\n"]),
    ([b"set x 0 0 12 noreply\r\nalice secret\r\n"], [b"STORED\r\n"]),
    ([b"set x 0 0 3\n", b"a b\r\n"], [b"", b"CLIENT_ERROR authentication failure\r\n"]),
    ([b"set x 0 0 3\r\nabcXY"], [b"CLIENT_ERROR bad command line termination\r\n"]),
    ([b"get " + b"k" * 3000 + b"\r\n", b"version\r\n"],
     [b"CLIENT_ERROR unauthenticated\r\n"] * 2),
]


# Packets (opcode, key, value) sent one at a time on a new connection per case; each gets one
# reply, or the connection closes. Replies compared with memcached 1.6.18 -S (Cyrus SASL).
BIN_CASES = [
    [(0x20, b"", b"")],
    [(0x21, b"PLAIN", b"\0alice\0secret"), (0x00, b"nokey", b"")],
    [(0x21, b"PLAIN", b"\0alice\0wrong"), (0x00, b"nokey", b"")],
    [(0x0a, b"", b"")],
    [(0x00, b"nokey", b"")],
    [(0x42, b"k", b"v")],
    [(0x22, b"PLAIN", b"\0alice\0secret")],
    [(0x21, b"PLAIN", b""), (0x22, b"PLAIN", b"\0alice\0secret"), (0x00, b"nokey", b"")],
    [(0x21, b"PLAIN", b""), (0x22, b"FOO", b"\0alice\0secret")],
    [(0x21, b"PLAIN", b""), (0x22, b"PLAIN", b"")],
    [(0x21, b"PLAIN", b"\0alice\0secret"), (0x22, b"PLAIN", b"\0alice\0secret")],
    [(0x21, b"CRAM-MD5", b"x")],
    [(0x21, b"plain", b"alice\0alice\0secret")],
    [(0x21, b"PLAIN", b"bob\0alice\0secret")],
    [(0x21, b"PLAIN", b"\0alice\0secret\0")],
    [(0x21, b"PLAIN", b"\0alice\0secret"), (0x21, b"PLAIN", b"\0alice\0x"),
     (0x00, b"nokey", b"")],
]


def run_bin_cases(port):
    out = []
    for case in BIN_CASES:
        c = Conn(port, timeout=3)
        got = []
        for op, key, val in case:
            try:
                c.breq(op, key, val)
                r = c.bres()
                got.append((r["op"], r["status"], r["body"], r["opaque"], r["key"]))
            except (EOFError, ConnectionResetError):
                got.append("closed")
                break
        if got[-1] != "closed":
            # Still open? A VERSION (answered before login too) tells, without waiting.
            try:
                c.breq(0x0b)
                got.append("open" if c.bres()["status"] == 0 else "version refused")
            except (EOFError, ConnectionResetError):
                got.append("closed")
        c.close()
        out.append(got)
    return out


def run_text_cases(port):
    out = []
    for sends, wants in TEXT_CASES:
        c = Conn(port, timeout=3)
        got = []
        for snd, want in zip(sends, wants):
            c.send(snd)
            if want:  # (a step with no reply: the rest of the command is still to come)
                ln = c.line()
                got.append(b"VERSION " if ln.startswith(b"VERSION ") else ln)
            else:
                got.append(b"")
        c.close()
        out.append(got)
    return out


def start_memcached(ctx, flags, env=None):
    """/usr/bin/memcached on a free port (-u nobody when root); returns (proc, port)."""
    port = free_ports(1)[0]
    cmd = [ctx.memcached, "-p", str(port), "-U", "0", "-l", HOST] + flags
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    ctx.others.append(proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return proc, port
        except OSError:
            assert proc.poll() is None, "memcached %s exited with %d" % (flags, proc.returncode)
            time.sleep(0.1)
    raise AssertionError("memcached did not listen")


def check_reference(ctx):
    """The raw cases against memcached 1.6.18 itself (-Y, and -S with a Cyrus sasldb)."""
    if not ctx.memcached or not os.access(ctx.memcached, os.X_OK):
        print("reference: no memcached: the cases are checked against their recorded replies")
        return
    os.chmod(ctx.tmp, 0o755)  # memcached -u nobody reads the files
    f = os.path.join(ctx.tmp, "users")
    write_file(f, "alice:secret\n")
    os.chmod(f, 0o644)
    nport = ctx.start(["-Y", f]).port
    nc_text = run_text_cases(nport)
    _, mport = start_memcached(ctx, ["-Y", f])
    mc_text = run_text_cases(mport)
    for port in (nport, mport):  # 3,000 bytes without a newline: both close
        c = Conn(port)
        c.send(b"x" * 3000)
        assert c.closed(5), port
        c.close()
    assert nc_text == mc_text, "\n".join("nicached %r\nmemcached %r" % (a, b)
                                         for a, b in zip(nc_text, mc_text) if a != b)
    nc_bin = run_bin_cases(ctx.start(["-S", "--sasl-pwdb", f]).port)
    db = os.path.join(ctx.tmp, "sasldb2")
    r = subprocess.run(["saslpasswd2", "-p", "-f", db, "-a", "memcached", "-c", "alice"],
                       input=b"secret", capture_output=True, timeout=10)
    if r.returncode != 0:
        print("reference: saslpasswd2 failed (%r): -S not compared" % r.stderr)
        return
    os.chmod(db, 0o644)
    write_file(os.path.join(ctx.tmp, "memcached.conf"),
               "mech_list: plain\nsasldb_path: %s\n" % db)
    env = dict(os.environ, SASL_CONF_PATH=ctx.tmp)
    _, mport = start_memcached(ctx, ["-S"], env)
    mc_bin = run_bin_cases(mport)
    assert nc_bin == mc_bin, "\n".join("nicached %r\nmemcached %r" % (a, b)
                                       for a, b in zip(nc_bin, mc_bin) if a != b)
    print("reference: %d text and %d binary cases answered as %s answers them" % (
        len(TEXT_CASES), len(BIN_CASES), subprocess.run(
            [ctx.memcached, "-V"], capture_output=True, text=True).stdout.strip()))


def check_text(ctx):
    from pymemcache.client.base import Client
    from pymemcache.exceptions import MemcacheClientError
    import pylibmc
    f = os.path.join(ctx.tmp, "users")
    write_file(f, "alice:secret\n")
    srv = ctx.start(["-Y", f])
    for sends, wants in TEXT_CASES:
        c = Conn(srv.port)
        for s, want in zip(sends, wants):
            c.send(s)
            got = c.line() if want else b""
            assert got.startswith(want) and (want == b"VERSION " or got == want), (
                sends, s, got, want)
        c.close()
    # memcached answers the token even with noreply: read it (pymemcache's default is noreply)
    pm = Client((HOST, srv.port), timeout=5, default_noreply=False)
    assert pm.set("anything", b"alice secret") is True  # the token, through any set
    for i in range(100):
        pm.set("p%d" % i, b"value %d" % i)
    assert pm.get_many(["p%d" % i for i in range(100)]) == {
        "p%d" % i: b"value %d" % i for i in range(100)}
    assert pm.get("anything") is None  # the token was not stored
    c = Conn(srv.port)
    assert c.login_text("alice", "secret") == b"STORED\r\n"
    c.send(b"mg p7 v\r\n")
    assert c.line() + c.line() == b"VA 7\r\nvalue 7\r\n"
    c.close()
    bad = Client((HOST, srv.port), timeout=5, default_noreply=False)
    try:
        bad.set("anything", b"alice nope")
        raise AssertionError("a wrong password stored")
    except MemcacheClientError as e:
        assert "authentication failure" in str(e), e
    try:
        bad.get("p1")
        raise AssertionError("read before authentication")
    except MemcacheClientError as e:
        assert "unauthenticated" in str(e), e
    lm = pylibmc.Client(["%s:%d" % (HOST, srv.port)], binary=True, username="alice",
                        password="secret")
    assert lm.get("p3") == b"value 3" or lm.get("p3") == "value 3"


def check_brute(ctx):
    f = os.path.join(ctx.tmp, "users")
    write_file(f, "alice:secret\n")
    srv = ctx.start(["-Y", f])
    base = text_stats(srv.port, "alice", "secret")
    served = {"n": 0, "slowest": 0.0, "err": None}
    stop = threading.Event()

    def client():
        try:
            c = Conn(srv.port, timeout=5)
            assert c.login_text("alice", "secret") == b"STORED\r\n"
            i = 0
            while not stop.is_set() and i < 200000:
                t0 = time.monotonic()
                c.send(b"set b%d 0 0 1\r\nx\r\nget b%d\r\n" % (i % 100, i % 100))
                assert c.line() == b"STORED\r\n"
                assert c.until(b"END\r\n") == b"VALUE b%d 0 1\r\nx\r\nEND\r\n" % (i % 100)
                served["slowest"] = max(served["slowest"], time.monotonic() - t0)
                served["n"] += 1
                i += 1
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            served["err"] = e

    th = threading.Thread(target=client)
    th.start()
    try:
        t0 = time.monotonic()
        a = Conn(srv.port)
        marks = []
        for i in range(2000):
            assert a.login_text("alice", "guess%d" % i) == \
                b"CLIENT_ERROR authentication failure\r\n"
            if i % 500 == 0:
                marks.append(served["n"])
        a.close()
        b = Conn(srv.port)
        for i in range(1000):
            r = b.login_sasl("alice", "guess%d" % i)
            assert r["status"] == 0x20, r
        b.close()
        marks.append(served["n"])
        took = time.monotonic() - t0
    finally:
        stop.set()
        th.join(30)
    assert served["err"] is None, served["err"]
    # The other client was answered all along: more requests at every mark.
    assert all(y > x for x, y in zip(marks, marks[1:])), marks
    st = text_stats(srv.port, "alice", "secret")
    assert int(st["auth_errors"]) - int(base["auth_errors"]) == 3000, st["auth_errors"]
    print("brute: 3000 wrong attempts in %.2f s; the other client got %d answers, slowest "
          "%.1f ms" % (took, served["n"], served["slowest"] * 1000))


def check_reload(ctx):
    f = os.path.join(ctx.tmp, "users")
    write_file(f, "alice:secret\n")
    srv = ctx.start(["-Y", f])
    before = Conn(srv.port)
    assert before.login_text("alice", "secret") == b"STORED\r\n"
    write_file(f, "alice:fresh\ncarol:new\n")
    srv.proc.send_signal(signal.SIGHUP)

    def wait_log(text):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if text in srv.output():
                return
            time.sleep(0.05)
        raise AssertionError("no %r in the log: %s" % (text, srv.output()[-500:]))

    wait_log("reloaded: 2 users")
    c = Conn(srv.port)
    assert c.login_text("alice", "secret") == b"CLIENT_ERROR authentication failure\r\n"
    assert c.login_text("alice", "fresh") == b"STORED\r\n"
    c.close()
    c = Conn(srv.port)
    assert c.login_text("carol", "new") == b"STORED\r\n"
    c.close()
    before.send(b"version\r\n")  # logged in before the reload: stays so
    assert before.line().startswith(b"VERSION")
    write_file(f, "carol new\n")  # malformed
    srv.proc.send_signal(signal.SIGHUP)
    wait_log(":1: malformed entry, should be 'user:password'; keeping the 2 users")
    os.unlink(f)
    srv.proc.send_signal(signal.SIGHUP)
    wait_log("cannot open: No such file or directory; keeping the 2 users")
    c = Conn(srv.port)
    assert c.login_text("alice", "fresh") == b"STORED\r\n"
    c.close()
    before.close()


def check_startup(ctx):
    good = os.path.join(ctx.tmp, "good")
    write_file(good, "alice:secret\n")
    bad = os.path.join(ctx.tmp, "bad")
    write_file(bad, "alice:secret\nnocolon\n")
    empty = os.path.join(ctx.tmp, "empty")
    write_file(empty, "")
    missing = os.path.join(ctx.tmp, "missing")
    env = dict(os.environ)
    env.pop("MEMCACHED_SASL_PWDB", None)
    cases = [(["-Y", missing], [missing, "cannot open: No such file or directory"]),
             (["-Y", bad], [bad + ":2: malformed entry"]),
             (["-Y", empty], [empty, "no users"]),
             (["-S", "--sasl-pwdb", missing], [missing, "cannot open"]),
             (["-Y", good, "-U", "11311"], ["UDP cannot be used with authentication"]),
             (["-S", "-U", "11311", "--sasl-pwdb", good],
              ["UDP cannot be used with authentication"]),
             (["-S"], ["no users"])]
    for args, wants in cases:
        r = subprocess.run([ctx.server, "-p", str(free_ports(1)[0]), "-l", HOST] + args,
                           capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 64, (args, r.returncode, r.stderr)
        for w in wants:
            assert w in r.stderr, (args, w, r.stderr)
    srv = ctx.start(["-S", "--sasl-pwdb", good])
    out = srv.wait_output("authentication on (-S): 1 users from %s" % good)
    assert "UDP off while it is on" in out, out


def check_cluster(ctx):
    import pylibmc
    f = os.path.join(ctx.tmp, "users")
    write_file(f, "peer:link\nalice:secret\n")
    other = os.path.join(ctx.tmp, "other")
    write_file(other, "someone:else\nalice:secret\n")
    p = free_ports(3)
    peers = ",".join("%s:%d" % (HOST, x) for x in p[:2])
    common = ["--peers", peers, "--replicas", "2", "-Y", f]
    a = ctx.start(common + ["--advertise", "%s:%d" % (HOST, p[0])], port=p[0], threads=1)
    b = ctx.start(common + ["--advertise", "%s:%d" % (HOST, p[1])], port=p[1], threads=1)
    # Each node holds every key (two members, two copies): write on a, read on b.
    ca = Conn(a.port)
    assert ca.login_text("alice", "secret") == b"STORED\r\n"
    deadline = time.monotonic() + 20
    while True:  # the links come up
        sa = text_stats(a.port, "alice", "secret")
        if int(sa.get("repl_resyncs", "0")) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for i in range(300):
        ca.send(b"set c%d 0 0 %d\r\n%s\r\n" % (i, len(b"v%d" % i), b"v%d" % i))
        assert ca.line() == b"STORED\r\n"
    ca.close()
    lb = pylibmc.Client(["%s:%d" % (HOST, b.port)], binary=True, username="alice",
                        password="secret")
    deadline = time.monotonic() + 20
    missing = None
    while time.monotonic() < deadline:
        missing = [i for i in range(300) if lb.get("c%d" % i) not in (b"v%d" % i, "v%d" % i)]
        if not missing:
            break
        time.sleep(0.2)
    if missing:  # what the links did, for the failure's report
        repl = {}
        for name, s in (("a", a), ("b", b)):
            st = text_stats(s.port, "alice", "secret")
            repl[name] = {k: v for k, v in st.items() if k.startswith(("repl_", "cluster"))}
        raise AssertionError("%d keys not on the other member: %s; links: %s"
                             % (len(missing), missing[:5], repl))
    for s in (a, b):
        st = text_stats(s.port, "alice", "secret")
        assert st["repl_errors"] == "0", st
    print("cluster: 300 keys written on one member read on the other (links logged in)")
    # A member with another file refuses the link's login: said in the log.
    c = ctx.start(["--peers", "%s:%d,%s:%d" % (HOST, p[2], HOST, p[0]), "--replicas", "2",
                   "--advertise", "%s:%d" % (HOST, p[2]), "-Y", other], port=p[2], threads=1)
    deadline = time.monotonic() + 20
    while "its login was refused (CLIENT_ERROR authentication failure)" not in c.output():
        assert time.monotonic() < deadline, c.output()[-800:]
        time.sleep(0.2)
    # A member without authentication linking to one that requires it: said in its log.
    d_port = free_ports(1)[0]
    d = ctx.start(["--peers", "%s:%d,%s:%d" % (HOST, d_port, HOST, p[0]), "--replicas", "2",
                   "--advertise", "%s:%d" % (HOST, d_port)], port=d_port, threads=1)
    deadline = time.monotonic() + 20
    while "it requires authentication and this node has none" not in d.output():
        assert time.monotonic() < deadline, d.output()[-800:]
        time.sleep(0.2)


CHECKS = [("sasl", check_sasl), ("text", check_text), ("reference", check_reference),
          ("brute", check_brute),
          ("reload", check_reload), ("startup", check_startup), ("cluster", check_cluster)]


class Ctx:
    def __init__(self, server, tmp, memcached):
        self.server = server
        self.tmp = tmp
        self.memcached = memcached
        self.servers = []
        self.others = []  # reference memcached processes

    def start(self, args, port=None, threads=2):
        s = Server(self.server, self.tmp, args, port, threads)
        self.servers.append(s)
        return s

    def stop_all(self):
        for s in self.servers:
            s.stop()
        self.servers = []
        for p in self.others:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.others = []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--memcached", default="/usr/bin/memcached",
                    help="the reference for `reference` (empty: compare with the recorded replies)")
    args = ap.parse_args()
    want = [w for w in args.only.split(",") if w]
    passed = failed = 0
    for name, fn in CHECKS:
        if want and name not in want:
            continue
        tmp = tempfile.mkdtemp(prefix="nc-auth-")
        ctx = Ctx(os.path.abspath(args.server), tmp, args.memcached)
        t0 = time.monotonic()
        del UNCLEAN[:]
        try:
            fn(ctx)
            ctx.stop_all()
            if UNCLEAN:
                raise AssertionError("; ".join(UNCLEAN))
            print("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
            passed += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            import traceback
            traceback.print_exc()
            print("FAIL %s: %r" % (name, e))
            for s in ctx.servers:
                print("--- server %d log:\n%s" % (s.port, s.output()[-2000:]))
            failed += 1
        finally:
            ctx.stop_all()
            shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
