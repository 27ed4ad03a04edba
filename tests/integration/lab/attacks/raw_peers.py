"""Scenarios that need a raw TCP peer (rawpeer.py): a SYN flood from spoofed lab addresses,
a peer that vanishes in the middle of a large reply, and malformed or out-of-window
segments on a live connection and to the listener."""
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

from rawpeer import (ACK, FIN, MASK, OPT_SACK_OK, PSH, RST, SYN, URG, RawPeer, flag_text,
                     mac_text, opt_mss, opt_wscale)
from scenario import Failed, scenario

HERE = os.path.dirname(os.path.abspath(__file__))

# The raw peers' own addresses (the namespace's kernel owns .2 only) and the flood's range.
COOKIE_PEER, VANISH_PEER, BAD_PEER = 3, 4, 5
FLOOD_FIRST, FLOOD_LAST = 10, 250


def lab_ip(ctx, octet):
    return "%s.%d" % (ctx.target.server.rsplit(".", 1)[0], octet)


def peer(ctx, octet, **kw):
    """A raw peer at 10.77.0.<octet>, announced to the server by ARP."""
    p = RawPeer(ctx.iface, lab_ip(ctx, octet), ctx.target.server, ctx.target.tcp_port,
                dst_mac=ctx.server_mac or None, **kw)
    try:
        p.announce()
    except TimeoutError as e:
        p.close()
        raise Failed(str(e))
    return p


def ints(d):
    return {k: int(v) for k, v in d.items() if v.isdigit()}


def tcp_stats(ctx):
    """nicached's `stats tcp` as ints ({} for memcached)."""
    return ints(ctx.target.stats(b"tcp")) if ctx.nicached else {}


def quiet_tcp_stats(ctx, settle=0.5):
    """`stats tcp` with the probe paused for settle seconds: its kept connection's last
    reply is ACKed by then (Linux delays an ACK at most 200 ms), so tcp_mbufs and
    tcp_conns count nothing of the probe's."""
    ctx.probe.pause()
    try:
        time.sleep(settle)
        return tcp_stats(ctx)
    finally:
        ctx.probe.resume()


def counters(ctx):
    """What a segment may move: nicached's `stats tcp` and `stats nic`; for memcached the
    Linux counters of its namespace."""
    if not ctx.nicached:
        return ctx.target.kernel_counters()
    out = tcp_stats(ctx)
    out.update(ints(ctx.target.stats(b"nic")))
    return out


# Counters that every segment (or the probe's traffic) moves: not worth a line.
_BORING = re.compile(r"^(q\d+_|port_|rx_|tx_|segs_|bytes_|driver_|udp_|tcp_(delivered|segs_sent)"
                     r"|arp_|lent_|delayed_acks|passive_opens|established|tcp_conns|tcp_mbufs"
                     r"|tcp_syn_rcvd|tcp_time_wait)")
_KERNEL = re.compile(r"Err|Csum|Challenge|Skipped|Drop|OFO|DSACK|Dup|Urg|PAWS|Abort|Syncookies"
                     r"|Listen|Partial|Prune|Collapse|OutRsts|EstabResets|AttemptFails|Retrans"
                     r"|Timeouts|Lost|Invalid")


def moved(ctx, before, after):
    """{name: delta} of the counters worth showing that moved."""
    out = {}
    for k, v in after.items():
        d = v - before.get(k, 0)
        if d and (_KERNEL.search(k) if not ctx.nicached else not _BORING.match(k)):
            out[k] = d
    return out


def delta_text(d):
    return ", ".join("%s %+d" % kv for kv in sorted(d.items())) or "no counter moved"


def syn_rcvd_linux(pid, port):
    """Linux's half-open connections (SYN_RECV request sockets) on port, from /proc."""
    want = ":%04X" % port
    n = 0
    with open("/proc/%d/net/tcp" % pid) as f:
        next(f)
        for line in f:
            fld = line.split()
            if fld[1].endswith(want) and fld[3] == "03":
                n += 1
    return n


def linux_conn_state(pid, local_port, remote_ip, remote_port):
    """(state name, retransmits) of one connection in the server's /proc/net/tcp."""
    names = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
             "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0B": "CLOSING"}
    rem = "%08X:%04X" % (int.from_bytes(socket.inet_aton(remote_ip), "little"), remote_port)
    with open("/proc/%d/net/tcp" % pid) as f:
        next(f)
        for line in f:
            fld = line.split()
            if fld[1].endswith(":%04X" % local_port) and fld[2] == rem:
                return names.get(fld[3], fld[3]), int(fld[6], 16)
    return None, None


# ---------------------------------------------------------------- SYN flood


class Sampler(threading.Thread):
    """Samples the server every `period` s: its memory, and the half-open count (nicached's
    tcp_syn_rcvd gauge, Linux's SYN_RECV sockets) with nicached's tcp_conns."""

    def __init__(self, ctx, period=0.1):
        super().__init__(daemon=True)
        self.ctx, self.period = ctx, period
        self.rss, self.hugetlb, self.syn, self.conns = [], [], [], []
        self.stop = threading.Event()

    def run(self):
        t = self.ctx.target
        while not self.stop.is_set():
            m = t.memory()
            self.rss.append(m["rss_kb"])
            self.hugetlb.append(m["hugetlb_kb"])
            try:
                if self.ctx.nicached:
                    s = ints(t.stats(b"tcp", tries=2))
                    self.syn.append(s["tcp_syn_rcvd"])
                    self.conns.append(s["tcp_conns"])
                else:
                    self.syn.append(syn_rcvd_linux(t.pid, t.tcp_port))
            except TimeoutError:
                pass  # the stats datagram was lost in the flood
            self.stop.wait(self.period)


def start_flood(ctx, mac, count):
    """The flood in a process of its own (it must not hold this process's GIL: the probe
    measures here). Returns the process once its frames are built and sending starts."""
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "rawpeer.py"), "flood", "--iface", ctx.iface,
         "--dst-mac", mac, "--dst", ctx.target.server, "--port", str(ctx.target.tcp_port),
         "--count", str(count), "--first", str(FLOOD_FIRST), "--last", str(FLOOD_LAST),
         "--seed", str(os.getpid())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not select.select([proc.stderr], [], [], 120)[0] or proc.stderr.readline() != b"go\n":
        proc.kill()
        raise Failed("the flood process did not start: %r" % proc.communicate()[1][-300:])
    return proc


def cookie_connects(ctx, n):
    """n normal (kernel) connects, each asking `version`: how many were served."""
    ok = 0
    for _ in range(n):
        try:
            with socket.create_connection(ctx.target.addr(), timeout=3) as s:
                s.sendall(b"version\r\n")
                ok += s.recv(100).startswith(b"VERSION ")
        except OSError:
            pass
    return ok


def syn_queue(ctx):
    """Half-open connections now: nicached's tcp_syn_rcvd, Linux's SYN_RECV sockets."""
    t = ctx.target
    return (ints(t.stats(b"tcp"))["tcp_syn_rcvd"] if ctx.nicached else
            syn_rcvd_linux(t.pid, t.tcp_port))


def cookies_ok(ctx):
    """Connections made from a valid cookie so far (syn_cookies_ok, TcpExt.SyncookiesRecv)."""
    return (tcp_stats(ctx)["syn_cookies_ok"] if ctx.nicached else
            ctx.target.kernel_counters()["TcpExt.SyncookiesRecv"])


def segs_in(ctx):
    return (tcp_stats(ctx)["segs_in"] if ctx.nicached else
            ctx.target.kernel_counters()["Tcp.InSegs"])


@scenario("syn-flood", "SYN flood from spoofed lab addresses",
          counters=("syn_queue_overflow", "syn_cookies_sent", "syn_cookies_ok",
                    "syn_cookies_bad", "conn_table_full", "passive_opens", "no_mbuf",
                    "tcp_syn_rcvd", "tcp_conns", "tcp_mbufs"),
          kernel=("TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed",
                  "TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPReqQFullDoCookies",
                  "TcpExt.TCPReqQFullDrop"))
def syn_flood(ctx):
    count = ctx.n(200000, 30000)
    t = ctx.target
    backlog = int(t.stats(b"settings").get("tcp_backlog", 0))
    p = peer(ctx, COOKIE_PEER)
    try:
        # The flood's sources answer ARP: Linux asks before its SYN-ACKs go out (nicached
        # learns them from the announce, and from the SYNs' source MACs anyway), so the
        # SYN-ACKs really leave; the namespace's kernel drops them (not its addresses).
        p.also_answer = {lab_ip(ctx, i) for i in range(FLOOD_FIRST, FLOOD_LAST + 1)}
        mac = p.announce()
        time.sleep(0.2)
        sent0, in0 = (tcp_stats(ctx).get("syn_cookies_sent", 0) if ctx.nicached else
                      t.kernel_counters()["TcpExt.SyncookiesSent"]), segs_in(ctx)
        sampler = Sampler(ctx)
        sampler.start()
        proc = start_flood(ctx, mac, count)
        try:
            t_flood = ctx.probe.mark()
            # Our own SYN once the queue is full, offering window scaling and SACK: a
            # SYN-ACK without them is a cookie's (neither stack encodes them without
            # timestamps). Half-open entries stay for their SYN-ACK retries (about a
            # minute), so the queue stays full well after a short flood.
            full_at_syn = ctx.wait_for(lambda: sampler.syn and sampler.syn[-1] >= backlog,
                                       5.0, 0.02)
            try:
                synack = p.connect(options=opt_mss(1460) + opt_wscale(7) + OPT_SACK_OK,
                                   timeout=0.5, tries=6, complete=False)
            except TimeoutError:
                synack = None
            out, _ = proc.communicate(timeout=300)
            flood = json.loads(out.decode().strip().splitlines()[-1])
            time.sleep(0.5)  # the server drains what is queued
            w = ctx.probe.window(t_flood, ctx.probe.mark())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sampler.stop.set()
            sampler.join()
        sent1 = (tcp_stats(ctx).get("syn_cookies_sent", 0) if ctx.nicached else
                 t.kernel_counters()["TcpExt.SyncookiesSent"])
        ctx.sent("%d SYNs from 10.77.0.%d-%d, random ports, to port %d (%s frames/s, "
                 "one AF_PACKET socket, frames built ahead)"
                 % (flood["sent"], FLOOD_FIRST, FLOOD_LAST, t.tcp_port, flood["pps"]))
        ctx.figure("flood rate (frames/s)", flood["pps"])
        ctx.figure("flood seconds", flood["seconds"])
        ctx.figure("segments the server got", segs_in(ctx) - in0)
        ctx.figure("cookies sent", sent1 - sent0)
        ctx.figure("ARP requests for the flood's addresses answered", p.arp_answered)
        ctx.figure("normal client during the flood (+0.5 s)",
                   "%d ops, %d errors, p50 %s ms, p99 %s ms, max %s ms" % (
                       w["ops"], w["errors"], w["p50_ms"], w["p99_ms"], w["max_ms"]))
        ctx.figure("SYN backlog (-b)", backlog)
        ctx.figure("max SYN queue", "%s (%d samples)" % (max(sampler.syn, default=None),
                                                         len(sampler.syn)))
        rss0 = sampler.rss[0] if sampler.rss else 0
        ctx.figure("max RSS growth during the flood (KB)", max(sampler.rss) - rss0)
        if ctx.nicached:
            ctx.figure("max tcp_conns", max(sampler.conns, default=None))
            ctx.check("SYN queue bounded by the backlog",
                      sampler.syn and max(sampler.syn) <= backlog,
                      "max %s, backlog %d" % (max(sampler.syn, default=None), backlog))
            ctx.check("memory bounded (RSS growth < 32 MB, no hugepage growth)",
                      max(sampler.rss) - rss0 < 32768 and
                      max(sampler.hugetlb) <= sampler.hugetlb[0],
                      "RSS %d -> max %d KB" % (rss0, max(sampler.rss)))
            ctx.check("SYN cookies sent", sent1 > sent0, "syn_cookies_sent %+d" % (sent1 - sent0))

        # Kernel clients while the queue is still full: served through cookies.
        full = syn_queue(ctx) >= backlog
        n_conn = 5
        ok0 = cookies_ok(ctx)
        served = cookie_connects(ctx, n_conn)
        ok1 = cookies_ok(ctx)
        ctx.figure("queue still full after the flood", full)
        ctx.figure("kernel clients served then", "%d/%d" % (served, n_conn))
        ctx.figure("cookies counted for them", ok1 - ok0)
        ctx.check("kernel clients served while the queue is full", served == n_conn,
                  "%d of %d" % (served, n_conn))
        if full:
            ctx.check("their connections came from cookies", ok1 - ok0 >= n_conn,
                      "%+d" % (ok1 - ok0))

        # The raw peer's SYN-ACK from during the flood: its ACK now, with a request in it.
        if synack is None:
            ctx.figure("our SYN-ACK during the flood", "none (SYN lost 6 times)")
            ctx.check("a cookie ACK after the flood opens a working connection", False,
                      "no SYN-ACK")
        else:
            o = synack.opts()
            cookie = "wscale" not in o and "sack_ok" not in o
            ctx.figure("our SYN-ACK during the flood",
                       "%s, options %s" % ("a cookie" if cookie else "queued", o))
            ok0 = cookies_ok(ctx)
            p.send(b"version\r\n", flags=ACK | PSH)
            reply = p.read_until(b"\r\n", 3.0)
            ok1 = cookies_ok(ctx)
            ctx.figure("its ACK + version after the flood", repr(reply))
            ctx.figure("cookies counted for it", ok1 - ok0)
            ctx.check("our SYN got a cookie (the queue was full)", cookie,
                      "options %s; queue seen full before it: %s" % (o, bool(full_at_syn)))
            ctx.check("the cookie was counted", ok1 - ok0 >= 1, "%+d" % (ok1 - ok0))
            ctx.check("a cookie ACK after the flood opens a working connection",
                      reply is not None and reply.startswith(b"VERSION "), reply)
            p.send(flags=FIN | ACK)
            p.wait_segment(lambda s: s.flags & FIN, 2.0)

        # The half-open entries expire by themselves (SYN-ACK retries); how long that takes.
        if not ctx.quick:
            t0 = time.monotonic()
            gone = ctx.wait_for(lambda: syn_queue(ctx) == 0, 120, 1.0)
            ctx.figure("SYN queue empty again after (s)",
                       round(time.monotonic() - t0 + 0.5, 1) if gone else "> 120")
    finally:
        p.close()


# ---------------------------------------------------------------- vanish


@scenario("vanish", "Peer vanishes in the middle of a 1 MB reply",
          counters=("aborts_timeout", "timeouts", "retrans_segs", "resets_out", "tcp_conns",
                    "tcp_mbufs"),
          kernel=("Tcp.RetransSegs", "TcpExt.TCPTimeouts", "TcpExt.TCPAbortOnTimeout"))
def vanish(ctx):
    t = ctx.target
    size, ack_bytes = 1000000, 128 << 10
    bound = 200 if ctx.nicached else ctx.n(70, 40)
    key = b"vanish:1mb"  # one key: repeated runs overwrite it, the cache does not grow
    value = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with socket.create_connection(t.addr(), timeout=10) as s:
        s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, size, value))
        if s.recv(100) != b"STORED\r\n":
            raise Failed("could not store the 1 MB value")
    s0 = quiet_tcp_stats(ctx)
    p = peer(ctx, VANISH_PEER)
    try:
        p.ack_until = ack_bytes
        p.connect()
        p.send(b"get %s\r\n" % key)
        ctx.wait_for(lambda: len(p.stream) >= ack_bytes, 10)
        ctx.sent("a get of a %d-byte value from a raw peer that ACKs the first %d KB, "
                 "then sends nothing (no ACK, no RST)" % (size, ack_bytes >> 10))
        if len(p.stream) < ack_bytes:
            raise Failed("only %d bytes of the reply came" % len(p.stream))
        t_silent = p.last_ack_t
        rst = p.wait_segment(lambda s: s.flags & RST, bound)
        ctx.figure("bytes ACKed, then received unACKed", "%d, %d" % (
            (p.last_ack - p.irs - 1) & MASK, len(p.stream) - ((p.last_ack - p.irs - 1) & MASK)))
        retrans, top = [], None  # a data segment below the highest byte seen is a retransmission
        for s in list(p.segments):
            end = (s.seq + len(s.payload)) & MASK
            if s.payload and top is not None and (top - end) & MASK < 1 << 30 and s.t > t_silent:
                retrans.append(s)
            if s.payload and (top is None or (end - top) & MASK < 1 << 30):
                top = end
        ctx.figure("retransmissions seen", len(retrans))
        ctx.figure("retransmission times (s after our last ACK)",
                   " ".join("%.1f" % (s.t - t_silent) for s in retrans[:16]))
        if rst is not None:
            ctx.figure("connection ended", "RST after %.1f s" % (rst.t - t_silent))
        else:
            state, rtx = ((None, None) if ctx.nicached else
                          linux_conn_state(t.pid, t.tcp_port, p.src_ip, p.sport))
            ctx.figure("connection ended", "still open after %d s%s" % (
                bound, " (%s, %s retransmissions)" % (state, rtx) if state else ""))
        if ctx.nicached:
            ctx.check("the server aborted the connection", rst is not None,
                      "no RST within %d s" % bound)
            ctx.wait_for(lambda: tcp_stats(ctx)["aborts_timeout"] > s0["aborts_timeout"], 5)

            def freed():
                s = tcp_stats(ctx)
                return s["tcp_conns"] <= s0["tcp_conns"] and s["tcp_mbufs"] <= s0["tcp_mbufs"]

            ctx.probe.pause()
            try:
                back = ctx.wait_for(freed, 10, 0.2)
                s1 = tcp_stats(ctx)
            finally:
                ctx.probe.resume()
            ctx.figure("aborts_timeout", s1["aborts_timeout"] - s0["aborts_timeout"])
            ctx.figure("tcp_conns / tcp_mbufs before -> after", "%d/%d -> %d/%d" % (
                s0["tcp_conns"], s0["tcp_mbufs"], s1["tcp_conns"], s1["tcp_mbufs"]))
            ctx.check("counted as aborts_timeout",
                      s1["aborts_timeout"] - s0["aborts_timeout"] == 1,
                      "%+d" % (s1["aborts_timeout"] - s0["aborts_timeout"]))
            ctx.check("connection and its mbufs freed", bool(back),
                      "tcp_conns %d -> %d, tcp_mbufs %d -> %d" % (
                          s0["tcp_conns"], s1["tcp_conns"], s0["tcp_mbufs"], s1["tcp_mbufs"]))
        elif rst is None:
            p.rst()  # Linux would hold it for ~15 min (tcp_retries2): end it now
            ctx.sent("then (Linux still retrying) an RST of ours to end it")
    finally:
        p.close()


# ---------------------------------------------------------------- bad segments


def seg_text(p, s):
    """A received segment for a table: flags, its ACK against our snd_nxt, its payload."""
    out = flag_text(s.flags)
    if s.flags & ACK:
        d = (s.ack - p.snd_nxt) & MASK
        out += " ack=snd_nxt" + ("%+d" % (d - (1 << 32) if d >> 31 else d) if d else "")
    if s.payload:
        out += " %r" % bytes(s.payload[:24])
    return out


def model_first_wins(rcv_nxt, segs):
    """The bytes nicached keeps from overlapping segments (lib/tcp/recv.c): below rcv_nxt
    trimmed; a held segment's bytes win; a segment keeps only its run of new bytes up to the
    first byte already held (the rest must come again). segs: (seq, bytes) in arrival order,
    plain ints (no wrap). Returns the in-order bytes that result."""
    out, held = bytearray(), []  # held: (seq, bytes), sorted, never overlapping
    for seq, data in segs:
        if seq < rcv_nxt:  # trim what is in order already
            if rcv_nxt - seq >= len(data):
                continue
            seq, data = rcv_nxt, data[rcv_nxt - seq:]
        for hs, hd in held:  # a held segment covering our front: skip past it
            if hs <= seq < hs + len(hd):
                data, seq = data[hs + len(hd) - seq:], hs + len(hd)
        for hs, hd in held:  # stop before the first held byte after our start
            if seq <= hs < seq + len(data):
                data = data[:hs - seq]
        if not data:
            continue
        if seq == rcv_nxt:
            out += data
            rcv_nxt += len(data)
            while held and held[0][0] <= rcv_nxt:
                hs, hd = held.pop(0)
                out += hd[rcv_nxt - hs:]
                rcv_nxt = max(rcv_nxt, hs + len(hd))
        else:
            held = sorted(held + [(seq, data)])
    return bytes(out)


def runs(value, sources):
    """The value as runs of where its bytes came from: "T0-8 X8-12 ..." (sources: letter ->
    bytes of the same length as value)."""
    out, cur, start = [], None, 0
    for i, b in enumerate(value):
        who = next((k for k, v in sources.items() if i < len(v) and v[i] == b), "?")
        if who != cur:
            if cur is not None:
                out.append("%s%d-%d" % (cur, start, i))
            cur, start = who, i
    out.append("%s%d-%d" % (cur, start, len(value)))
    return " ".join(out)


@scenario("bad-segs", "Malformed and out-of-window segments",
          counters=("bad_segs", "bad_hdr", "bad_syn", "bad_ack", "bad_seq", "no_ack",
                    "challenge_acks", "dup_segs", "overlap_trims", "ooo_segs", "resets_in",
                    "tcp_conns", "tcp_mbufs"),
          kernel=("Tcp.InErrs", "Tcp.InCsumErrors", "IpExt.InCsumErrors", "Ip.InHdrErrors",
                  "TcpExt.TCPChallengeACK", "TcpExt.TCPACKSkippedSeq",
                  "TcpExt.TCPACKSkippedChallenge", "TcpExt.TCPOFOQueue", "TcpExt.TCPOFOMerge",
                  "TcpExt.TCPDSACKRecv"))
def bad_segs(ctx):
    nc = ctx.nicached
    s_conns0 = tcp_stats(ctx)
    p = peer(ctx, BAD_PEER)
    lp = []  # listener probes (one RawPeer each: a 4-tuple of their own)

    def case(name, send, expect=None, taken=None):
        """Send one kind of segment (send(seq0) does it), see the answer for 0.4 s and the
        counters. expect: nicached counters that must move; taken: whether its data must
        (True) or must not (False) be accepted, judged by the server's ACK."""
        p.recv_segments(0)  # what came before is not this case's answer
        c0, seq0 = counters(ctx), p.snd_nxt
        length = send(seq0) or 0
        segs = p.recv_segments(0.4)
        c1 = counters(ctx)
        was_taken = any(s.flags & ACK and s.ack == (seq0 + length) & MASK and length
                        for s in segs)
        if was_taken:  # (the peer follows the server's ACK anyway)
            p.snd_nxt = (seq0 + length) & MASK
        answer = "; ".join(seg_text(p, s) for s in segs) or "no answer"
        d = moved(ctx, c0, c1)
        ctx.figure(name, "%s [%s]" % (answer, delta_text(d)))
        if taken is not None:
            ctx.check("%s: data %s" % (name, "taken" if taken else "not taken"),
                      was_taken == taken, answer)
        if nc and expect:
            ctx.check("%s: %s moved" % (name, " ".join(expect)),
                      all(d.get(k, 0) >= 1 for k in expect), delta_text(d))
        return segs

    def mangled(off, **kw):
        """A data segment ("version") at snd_nxt with 2 bytes at frame offset off flipped."""
        def send(seq0):
            f = bytearray(p.frame(b"version\r\n", seq=seq0, **kw))
            f[off] ^= 1
            f[off + 1] ^= 1
            p.send_frame(bytes(f))
            return 9
        return send

    def data(payload, flags=ACK | PSH, at=0, **kw):
        """A segment at snd_nxt + at; its data taken means an ACK of snd_nxt + at + len."""
        def send(seq0):
            p.send(payload, flags=flags, seq=(seq0 + at) & MASK, advance=False, **kw)
            return len(payload) + at
        return send

    def ack_only(ack):
        def send(seq0):
            p.send(flags=ACK, ack=ack & MASK, advance=False)
        return send

    try:
        p.connect()
        if p.request(b"version\r\n") is None:
            raise Failed("no answer on the raw connection")
        ctx.sent("on one established raw connection: every kind of bad segment below, "
                 "then an overlap set; to the listener: SYNs with bad options, SYN+FIN")

        case("tcp checksum wrong", mangled(50), ["drop_tcp_header"], taken=False)
        case("ip checksum wrong", mangled(24), ["drop_ip_checksum"], taken=False)
        case("data offset 4 (< 5)", data(b"version\r\n", doff=4), ["drop_tcp_header"],
             taken=False)
        case("data offset 15 (past the segment)", data(b"version\r\n", doff=15),
             ["drop_tcp_header"], taken=False)
        for what, opt in (("0", b"\x08\x00"), ("1", b"\x08\x01"), ("past the header", b"\x08\x28")):
            case("option length %s (established)" % what, data(b"version\r\n", options=opt),
                 taken=True)
            p.read_until(b"\r\n", 0.5)
        case("SYN+FIN in window", data(b"", flags=SYN | FIN | ACK), ["challenge_acks"])
        case("SYN in window", data(b"", flags=SYN | ACK), ["challenge_acks"])
        case("data 1 GB past the window", data(b"version\r\n", at=1 << 30), ["dup_segs"],
             taken=False)
        case("RST outside the window", data(b"", flags=RST | ACK, at=1 << 30), ["bad_seq"])
        case("RST in window, not at rcv_nxt", data(b"", flags=RST | ACK, at=100),
             ["challenge_acks"])
        case("old duplicate, other bytes", data(b"ZZZZZZZ\r\n", at=-9), ["dup_segs"])
        # Had the old bytes been taken, "ZZZZZZZ" would be parsed first (ERROR).
        p.send(b"version\r\n", flags=ACK | PSH)
        after_old = p.read_until(b"\r\n", 1.0)
        ctx.check("old duplicate, other bytes: data not taken",
                  after_old is not None and after_old.startswith(b"VERSION "), after_old)
        case("old duplicate + new bytes", data(b"ZZZZversion\r\n", at=-4), ["dup_segs"],
             taken=True)
        straddle = p.read_until(b"\r\n", 0.5)
        ctx.check("old duplicate + new bytes: only the new bytes used", straddle is not None
                  and straddle.startswith(b"VERSION "), straddle)
        case("ACK for data never sent", ack_only(p.rcv_nxt + 100000), ["bad_ack", "challenge_acks"])
        case("ACK 1 GB before snd_una", ack_only(p.rcv_nxt - (1 << 30)),
             ["bad_ack", "challenge_acks"])
        case("no ACK flag, data", data(b"version\r\n", flags=PSH), ["no_ack"], taken=False)
        # Urgent data: RFC 6093 asks for it in line; Linux (SO_OOBINLINE off) takes the
        # byte before the pointer out of the stream.
        case("URG, pointer after the last byte", data(b"version\r\n", flags=ACK | PSH | URG,
                                                     urg=9), taken=True)
        urg1 = p.read_until(b"\r\n", 0.5)
        urg2 = p.request(b"version\r\n", timeout=1.0)
        ctx.figure("URG: replies to it and to the next version", "%r, %r" % (urg1, urg2))
        if nc:
            ctx.check("URG data in line (both answered)", urg1 and urg1.startswith(b"VERSION")
                      and urg2 and urg2.startswith(b"VERSION"), "%r %r" % (urg1, urg2))
        elif urg2 is None or not urg2.startswith(b"VERSION"):
            p.request(b"\r\n", timeout=0.5)  # resynchronise memcached's line reader

        # Overlapping retransmissions with different bytes, inside a set's value.
        n = 64
        true = bytes(b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(n))
        x, y = b"X" * n, b"Y" * n
        head = b"set rawov 0 0 %d\r\n" % n
        v0 = (p.snd_nxt + len(head)) & MASK  # the value's first sequence number
        # (offset from the value's start, bytes), in the order they are sent
        plan = [(-len(head), head + true[:8]), (24, true[24:40]), (24, x[24:40]),
                (16, y[16:32]), (4, x[4:12]), (0, true + b"\r\n"), (40, true[40:] + b"\r\n")]
        c0 = counters(ctx)
        for off, payload in plan:
            p.send(payload, seq=(v0 + off) & MASK, advance=False)
            time.sleep(0.05)
        p.snd_nxt = (v0 + n + 2) & MASK
        stored = p.read_until(b"\r\n", 2.0)
        c1 = counters(ctx)
        want = model_first_wins(-len(head), plan)[len(head):len(head) + n]
        got = p.request(b"get rawov\r\n", b"END\r\n", 2.0)
        value = got.split(b"\r\n")[1] if got and got.startswith(b"VALUE") else None
        src = {"T": true, "X": x, "Y": y}
        ctx.sent("overlap set: T[0:8] in order, T[24:40] then X[24:40] (same start), Y[16:32] "
                 "(over the held front), X[4:12] (old + new), all of T again, T[40:] again")
        ctx.figure("overlap set: answer", repr(stored))
        ctx.figure("overlap set: value read back", runs(value, src) if value else repr(got))
        ctx.figure("overlap set: first-received-wins model", runs(want, src))
        ctx.figure("overlap set: counters", delta_text(moved(ctx, c0, c1)))
        ctx.check("overlap set stored", stored == b"STORED\r\n", stored)
        ctx.check("overlap set: value is the first-received bytes" if nc else
                  "overlap set: value made of sent bytes only",
                  value == want if nc else value is not None and "?" not in runs(value, src),
                  "got %s" % (runs(value, src) if value else got))
        if nc:
            d = moved(ctx, c0, c1)
            ctx.check("overlap set: overlap_trims and dup_segs moved",
                      d.get("overlap_trims", 0) >= 1 and d.get("dup_segs", 0) >= 1,
                      delta_text(d))

        final = p.request(b"version\r\n")
        ctx.check("the connection still works after everything", final is not None and
                  final.startswith(b"VERSION "), final)

        # To the listener: SYNs with bad option lengths, SYN+FIN.
        for what, opt in (("0", b"\x02\x00"), ("1", b"\x02\x01"), ("past the header", b"\x02\x28")):
            q = RawPeer(ctx.iface, p.src_ip, p.dst_ip, p.dport, dst_mac=mac_text(p.dst_mac))
            lp.append(q)
            c0 = counters(ctx)
            try:
                sa = q.connect(options=opt, timeout=0.5, tries=2, complete=False)
                answer = "SYN-ACK %s" % sa.opts()
                q.rst()  # the half-open entry goes
            except TimeoutError:
                sa, answer = None, "no answer"
            q.recv_segments(0.2)
            ctx.figure("listener: SYN, option length %s" % what,
                       "%s [%s]" % (answer, delta_text(moved(ctx, c0, counters(ctx)))))
        q = RawPeer(ctx.iface, p.src_ip, p.dst_ip, p.dport, dst_mac=mac_text(p.dst_mac))
        lp.append(q)
        c0 = counters(ctx)
        q.send(flags=SYN | FIN, seq=q.iss, ack=0, advance=False, options=opt_mss(1460))
        segs = q.recv_segments(0.4)
        d = moved(ctx, c0, counters(ctx))
        ctx.figure("listener: SYN+FIN", "%s [%s]" % (
            "; ".join(flag_text(s.flags) for s in segs) or "no answer", delta_text(d)))
        if nc:
            ctx.check("listener: SYN+FIN dropped, counted bad_syn",
                      not segs and d.get("bad_syn", 0) >= 1, delta_text(d))
        if segs and segs[0].flags & SYN:
            q.send(flags=RST, seq=q.iss + 1, advance=False)

        p.send(flags=FIN | ACK)
        fin = p.wait_segment(lambda s: s.flags & FIN, 2.0)
        ctx.check("orderly close at the end", fin is not None)
    finally:
        p.close()
        for q in lp:
            q.close()
    if nc:
        conns = ctx.wait_for(lambda: tcp_stats(ctx)["tcp_conns"] <= s_conns0["tcp_conns"], 5)
        ctx.check("no connection left behind", conns,
                  "tcp_conns %d -> %d" % (s_conns0["tcp_conns"], tcp_stats(ctx)["tcp_conns"]))
