"""Scenarios played by the namespace's Linux TCP: connection storms, idle crowds, slow
and stalled clients, resets and half-closes in the middle of large values."""
import os
import select
import socket
import struct
import threading
import time

from scenario import Failed, scenario
from tcputil import linux_view

MB = 1 << 20


def conn(ctx, timeout=5.0, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(ctx.target.addr())
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def ask(s, req, end=b"\r\n"):
    s.sendall(req)
    buf = b""
    while not buf.endswith(end):
        d = s.recv(1 << 16)
        if not d:
            raise ConnectionError("closed after %d bytes" % len(buf))
        buf += d
    return buf


def store(ctx, key, value):
    with conn(ctx) as s:
        r = ask(s, b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
        if r != b"STORED\r\n":
            raise Failed("set %s: %r" % (key.decode(), r[:60]))


def fetch(ctx, key):
    """The value of key, or None."""
    with conn(ctx, timeout=10) as s:
        r = ask(s, b"get %s\r\n" % key, b"END\r\n")
    if r == b"END\r\n":
        return None
    head, rest = r.split(b"\r\n", 1)
    n = int(head.split()[3])
    return rest[:n]


def gauge(ctx, name):
    """A nicached `stats tcp` gauge, or memcached's curr_connections for tcp_conns."""
    if ctx.nicached:
        return int(ctx.target.stats(b"tcp")[name])
    return int(ctx.target.stats()["curr_connections"]) if name == "tcp_conns" else None


def steady_gauge(ctx, name="tcp_conns", timeout=5.0):
    """A `stats tcp` gauge once it holds still, the probe paused: its fresh connections come
    and go, its kept connection's last reply holds an mbuf until the client's delayed ACK,
    and a connection the scenario just closed leaves the count a little later, when the
    server has read the FIN."""
    ctx.probe.pause()
    try:
        last, same, end = gauge(ctx, name), 0, time.monotonic() + timeout
        while same < 4 and time.monotonic() < end:
            time.sleep(0.05)
            now = gauge(ctx, name)
            same = same + 1 if now == last else 0
            last = now
        return last
    finally:
        ctx.probe.resume()


def settled_gauge(ctx, name, want, timeout=10.0):
    """A `stats tcp` gauge once it is at most want (or the timeout passed), the probe
    paused: closes finish, and last segments are ACKed, a little after the client's."""
    ctx.probe.pause()
    try:
        ctx.wait_for(lambda: gauge(ctx, name) <= want, timeout, 0.2)
        return gauge(ctx, name)
    finally:
        ctx.probe.resume()


def pattern(n, seed):
    """n bytes that differ at every position from another seed's (for corruption checks)."""
    block = bytes((seed * 31 + i * 7) & 0xFF for i in range(251))
    return (block * (n // len(block) + 1))[:n]


# ---------------------------------------------------------------- connection storm
@scenario("storm", "Connection storm", counters=(
    "passive_opens", "established", "resets_out", "time_wait_reused", "tcp_conns",
    "tcp_time_wait", "tcp_mbufs"), kernel=("Tcp.PassiveOpens", "TcpExt.ListenOverflows",
                                           "TcpExt.ListenDrops", "Tcp.OutRsts"))
def storm(ctx):
    total = ctx.n(20000, 3000)
    threads, per = 4, total // 4
    errors, done = [], [0] * threads
    store(ctx, b"storm:k", b"v" * 32)
    conns0 = steady_gauge(ctx)

    def worker(i):
        for _ in range(per):
            try:
                s = socket.create_connection(ctx.target.addr(), timeout=5)
                try:
                    r = ask(s, b"get storm:k\r\n", b"END\r\n")
                finally:
                    s.close()
                if not r.startswith(b"VALUE storm:k"):
                    errors.append("reply %r" % r[:40])
                done[i] += 1
            except OSError as e:
                errors.append(repr(e))

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    ctx.sent("%d connect/get/close cycles on %d threads" % (threads * per, threads))
    ctx.figure("cycles/s", round(sum(done) / dt))
    ctx.figure("cycle errors", len(errors))
    ctx.check("every cycle served", not errors and sum(done) == threads * per,
              errors[:3])
    after = settled_gauge(ctx, "tcp_conns", conns0)
    ctx.figure("server connections after", after)
    ctx.check("connections back to where they were", after == conns0,
              "%d before, %d after" % (conns0, after))


# ---------------------------------------------------------------- idle crowd
def cpu_ms_per_s(ctx, seconds):
    """The server's CPU time per second with no requests at all (the probe paused): what
    its loop and timers cost at rest. The median of three samples of seconds/3 each (a
    busy neighbour on the other core moves single samples)."""
    ctx.probe.pause()
    try:
        samples = []
        for _ in range(3):
            c0, t0 = ctx.target.cpu_seconds(), time.monotonic()
            time.sleep(seconds / 3)
            samples.append(1000 * (ctx.target.cpu_seconds() - c0) / (time.monotonic() - t0))
        return round(sorted(samples)[1], 1)
    finally:
        ctx.probe.resume()


@scenario("idle-conns", "10,000 idle connections", nicached=("-c", "12000"),
          memcached=("-c", "12000"), counters=("passive_opens", "tcp_conns", "tcp_mbufs",
                                               "tcp_queues"),
          kernel=("Tcp.CurrEstab", "Tcp.PassiveOpens"))
def idle_conns(ctx):
    n = ctx.n(10000, 2000)
    measure = ctx.n(6.0, 3.0)
    idle0 = cpu_ms_per_s(ctx, measure)
    mem0 = ctx.target.memory()
    conns0 = steady_gauge(ctx)
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(ctx.target.addr(), timeout=5)
            socks.append(s)
            if i % 500 == 499:
                time.sleep(0.01)  # let the probe in: it measures the opening too
        # Each one asks once, so every connection is established on both sides.
        for s in socks:
            s.sendall(b"version\r\n")
        for s in socks:
            if not s.recv(100).startswith(b"VERSION"):
                raise Failed("no VERSION on an idle connection")
        time.sleep(1)
        mem1 = ctx.target.memory()
        if ctx.nicached:
            ctx.figure("queue arrays held by the idle connections (tcp_queues)",
                       gauge(ctx, "tcp_queues"))
        idle1 = cpu_ms_per_s(ctx, measure)
        ctx.sent("%d connections opened, one request each, then idle" % n)
        ctx.figure("server CPU ms/s, 0 idle conns", idle0)
        ctx.figure("server CPU ms/s, %d idle conns" % n, idle1)
        grown = sum(mem1.values()) - sum(mem0.values())
        ctx.figure("memory per connection (B)", round(1024 * grown / n))
        # The idle cost must not grow with idle connections: they have no timer and
        # nothing visits them (a once-a-second idle-timeout walk is off here). The slack
        # covers scheduling noise: nicached's idle loop wakes every few microseconds, and
        # how long its sleeps last depends on the other core.
        ctx.check("idle CPU independent of idle connections", idle1 <= idle0 * 1.5 + 10,
                  "%.1f ms/s with 0, %.1f ms/s with %d" % (idle0, idle1, n))
        # A few random ones still answer.
        for s in socks[:: max(1, n // 10)]:
            if not ask(s, b"version\r\n").startswith(b"VERSION"):
                raise Failed("an idle connection stopped answering")
    finally:
        for s in socks:
            s.close()
    after = settled_gauge(ctx, "tcp_conns", conns0, 15)
    ctx.figure("server connections after close", after)
    ctx.check("connections back to where they were", after == conns0,
              "%d before, %d after" % (conns0, after))


# ---------------------------------------------------------------- slowloris
@scenario("slowloris", "Slowloris", counters=("tcp_conns", "tcp_mbufs", "delayed_acks"),
          kernel=("Tcp.CurrEstab",))
def slowloris(ctx):
    n = ctx.n(200, 50)
    seconds = ctx.n(10.0, 5.0)
    key = b"slow:" + b"k" * 200
    store(ctx, key, b"x" * 100)
    line = b"get " + key + b"\r\n"
    socks = [conn(ctx) for _ in range(n)]
    try:
        end, pos, mem_max = time.monotonic() + seconds, 0, 0
        while time.monotonic() < end and pos < len(line) - 2:
            for s in socks:
                s.send(line[pos:pos + 1])
            pos += 1
            mem_max = max(mem_max, sum(ctx.target.memory().values()))
            time.sleep(0.1)
        ctx.sent("%d connections, one byte per 100 ms each for %.0f s (%d bytes of a "
                 "%d-byte get line)" % (n, seconds, pos, len(line)))
        ctx.figure("peak server memory while trickling (MB)", round(mem_max / 1024, 1))
        # Now finish every line: each must be answered in full.
        for s in socks:
            s.sendall(line[pos:])
        bad = 0
        for s in socks:
            try:
                r = b""
                while not r.endswith(b"END\r\n"):
                    d = s.recv(4096)
                    if not d:
                        break
                    r += d
                bad += not r.startswith(b"VALUE " + key)
            except OSError:
                bad += 1
        ctx.figure("lines answered after finishing", n - bad)
        ctx.check("every slow request answered once finished", bad == 0,
                  "%d of %d not" % (bad, n))
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- client that never reads
@scenario("no-read", "Client that never reads", counters=(
    "zero_window_probes", "window_full_drops", "tcp_mbufs", "retrans_segs", "timeouts"),
          kernel=("TcpExt.TCPWinProbe", "TcpExt.TCPFromZeroWindowAdv",
                  "TcpExt.TCPToZeroWindowAdv"))
def no_read(ctx):
    # Enough that most requests are still to send when the client starts reading: a server
    # that kept reading while its replies backed up closed the connection then (its input
    # outgrew what one request may span), at 300,000 as at 1,000,000.
    n = ctx.n(1000000, 300000)
    hold = ctx.n(10.0, 5.0)
    value = pattern(1000, 1)
    store(ctx, b"noread:k", value)
    mem0 = ctx.target.memory()
    read0 = int(ctx.target.stats()["bytes_read"])
    probes0 = int(ctx.target.stats(b"tcp")["zero_window_probes"]) if ctx.nicached else 0
    s = conn(ctx, rcvbuf=4096)
    req = b"get noread:k\r\n" * n
    sent = [0]

    def writer():
        # Send as much as the server takes; it stops taking once our replies back up.
        s.setblocking(False)
        end = time.monotonic() + hold
        while sent[0] < len(req) and time.monotonic() < end:
            try:
                sent[0] += s.send(req[sent[0]:sent[0] + 65536])
            except BlockingIOError:
                select.select([], [s], [], 0.05)

    w = threading.Thread(target=writer)
    w.start()
    time.sleep(hold)
    w.join()
    m = ctx.target.memory()
    grown_kb = sum(m.values()) - sum(mem0.values())
    ctx.sent("%d pipelined gets of a 1,000-byte value, receive buffer 4 KB, not read for "
             "%.0f s, then read while the rest of the gets go out" % (n, hold))
    ctx.figure("request bytes Linux's send buffer took while stalled", sent[0])
    ctx.figure("request bytes the server read while stalled",
               int(ctx.target.stats()["bytes_read"]) - read0)
    ctx.figure("server memory growth while stalled (KB)", grown_kb)
    if ctx.nicached:
        st = ctx.target.stats(b"tcp")
        ctx.figure("send buffer mbufs while stalled (tcp_mbufs)", int(st["tcp_mbufs"]))
        ctx.check("the persist timer probes the zero window",
                  int(st["zero_window_probes"]) > probes0,
                  "%s probes" % (int(st["zero_window_probes"]) - probes0))
    # The replies owed are bounded by what the server took in; it must stop taking
    # requests once its replies back up rather than buffer 100 MB.
    ctx.check("server memory bounded while stalled", grown_kb < 64 * 1024,
              "%d KB grown" % grown_kb)
    # Then read everything while the rest of the requests go out: every reply must arrive.
    s.setblocking(True)
    s.settimeout(20)
    rest = threading.Thread(target=s.sendall, args=(req[sent[0]:],))
    rest.start()
    one = b"VALUE noread:k 0 1000\r\n" + value + b"\r\nEND\r\n"
    want, got = len(one) * n, 0
    t0 = time.monotonic()
    try:
        while got < want:
            d = s.recv(1 << 20)
            if not d:
                break
            got += len(d)
    except OSError as e:
        ctx.check("drained", False, "%r; Linux's view: %s; server's: %s" % (
            e, linux_view(s), {k: v for k, v in ctx.target.stats(b"tcp").items()
                               if not k.startswith("q")} if ctx.nicached else "-"))
    rest.join()
    s.close()
    ctx.figure("reply bytes drained", got)
    ctx.figure("drain s", round(time.monotonic() - t0, 1))
    ctx.check("every reply arrived once read", got == want, "%d of %d bytes" % (got, want))


# ---------------------------------------------------------------- resets mid-value
def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@scenario("rst-mid-value", "RST in the middle of a 1 MB value", nicached=("-I", "2m"),
          memcached=("-I", "2m"), counters=(
    "resets_in", "tcp_conns", "tcp_mbufs"), kernel=("TcpExt.TCPAbortOnData",
                                                   "TcpExt.TCPAbortOnClose", "Tcp.EstabResets"))
def rst_mid_value(ctx):
    rounds = ctx.n(20, 5)
    old, big = pattern(MB, 2), pattern(MB, 3)
    store(ctx, b"rst:up", old)
    store(ctx, b"rst:down", big)
    conns0 = steady_gauge(ctx)
    mbufs0 = steady_gauge(ctx, "tcp_mbufs") if ctx.nicached else None
    for i in range(rounds):
        # Upload: half of a 1 MB set, then RST.
        s = conn(ctx)
        s.sendall(b"set rst:up 0 0 %d\r\n" % MB + big[: MB // 2])
        time.sleep(0.05)
        rst_close(s)
        # Download: read 100 KB of a 1 MB get, then RST.
        s = conn(ctx)
        s.sendall(b"get rst:down\r\n")
        got = 0
        while got < 100 * 1024:
            d = s.recv(65536)
            if not d:
                raise Failed("the server closed a download")
            got += len(d)
        rst_close(s)
    ctx.sent("%d x (a 1 MB set cut by RST after 512 KB; a 1 MB get cut by RST after "
             "100 KB)" % rounds)
    ctx.check("the cut set left the old value", fetch(ctx, b"rst:up") == old)
    ctx.check("the value read is intact", fetch(ctx, b"rst:down") == big)
    after = settled_gauge(ctx, "tcp_conns", conns0)
    ctx.check("connections freed", after == conns0, "%d before, %d after" % (conns0, after))
    if ctx.nicached:
        mbufs = settled_gauge(ctx, "tcp_mbufs", mbufs0, 5)
        ctx.check("buffers freed", mbufs <= mbufs0, "tcp_mbufs %d before, %d after" % (
            mbufs0, mbufs))


# ---------------------------------------------------------------- FIN with data queued
@scenario("fin-queued", "FIN with data still queued", nicached=("-I", "2m"),
          memcached=("-I", "2m"), counters=(
    "tcp_conns", "tcp_time_wait", "tcp_mbufs"), kernel=("Tcp.CurrEstab",))
def fin_queued(ctx):
    rounds = ctx.n(10, 3)
    big = pattern(MB, 4)
    store(ctx, b"fin:big", big)
    one = b"VALUE fin:big 0 %d\r\n" % MB + big + b"\r\nEND\r\n"
    short = 0
    for _ in range(rounds):
        # Five 1 MB gets and our FIN in one go: every reply, then the server's FIN.
        s = conn(ctx, timeout=20)
        s.sendall(b"get fin:big\r\n" * 5)
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
        s.close()
        short += buf != one * 5
        # A hundred sets and our FIN: every one stored and answered.
        s = conn(ctx, timeout=20)
        keys = [b"fin:%s" % os.urandom(4).hex().encode() for _ in range(100)]
        s.sendall(b"".join(b"set %s 0 0 4\r\nabcd\r\n" % k for k in keys))
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        short += buf != b"STORED\r\n" * 100
        short += any(fetch(ctx, k) != b"abcd" for k in keys[::25])
    ctx.sent("%d x (five 1 MB gets then FIN; 100 sets then FIN)" % rounds)
    ctx.check("every reply sent before the close, every set stored", short == 0,
              "%d rounds short" % short)


# ---------------------------------------------------------------- idle timeout
@scenario("idle-timeout", "Idle timeout (-o idle_timeout=2)",
          nicached=("-o", "idle_timeout=2"), memcached=("-o", "idle_timeout=2"),
          counters=("idle_kicks", "tcp_conns"), kernel=("idle_kicks",))
def idle_timeout(ctx):
    n = ctx.n(500, 100)
    kicks0 = int(ctx.target.stats()["idle_kicks"])
    socks = [conn(ctx) for _ in range(n)]
    for s in socks:
        ask(s, b"version\r\n")
    t0 = time.monotonic()
    closed = 0
    for s in socks:
        s.settimeout(max(0.1, t0 + 6 - time.monotonic()))
        try:
            closed += s.recv(10) == b""
        except OSError:
            pass
        s.close()
    kicks = int(ctx.target.stats()["idle_kicks"]) - kicks0
    ctx.sent("%d connections, one request each, then silent" % n)
    ctx.figure("closed by the server within 6 s", closed)
    ctx.figure("idle_kicks", kicks)
    ctx.check("every idle connection closed and counted", closed == n and kicks >= n,
              "%d closed, %d kicks" % (closed, kicks))
