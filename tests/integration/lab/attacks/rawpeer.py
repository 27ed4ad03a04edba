"""A TCP peer in user space for the attack scenarios: whole Ethernet frames sent and sniffed
on the namespace's end of the veth through AF_PACKET (struct, no scapy), so every header
field can be wrong on purpose and every answer is seen.

The peer uses an address the namespace's kernel does not own (10.77.0.3 and up): the kernel
drops frames for a foreign address silently (IP forwarding is off in the namespace), so it
never answers our segments with an RST of its own. Neighbours: nicached learns a MAC only
from ARP that concerns its own address, so announce() sends "who-has 10.77.0.1 tell <ours>"
(the reply gives us the server's MAC too); the peer's thread answers ARP requests for its
addresses (Linux, when it is the server, asks).

    with RawPeer("ncrw1", "10.77.0.5", "10.77.0.1", 11211) as p:
        p.announce()
        p.connect()
        p.send(b"version\\r\\n")
        p.read_until(b"\\r\\n", 2)

Run as a program it floods SYNs (see flood_main): a separate process, so the flood does not
hold the GIL of the process that measures.
"""
import argparse
import array
import ctypes
import json
import random
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20
PACKET_IGNORE_OUTGOING = 23
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
PACKET_OUTGOING = 4

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
MASK = 0xFFFFFFFF


def flag_text(flags):
    return "".join(c for i, c in enumerate("FSRPAU") if flags & (1 << i)) or "."


def checksum(data):
    """The Internet checksum (RFC 1071) of data, as an int in network order."""
    if len(data) % 2:
        data += b"\0"
    s = sum(array.array("H", data))  # host-order words: the result comes out byte-swapped
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    return s if sys.byteorder == "big" else ((s >> 8) | (s << 8)) & 0xFFFF


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def mac_text(b):
    return ":".join("%02x" % x for x in b)


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return f.read().strip()


def opt_mss(mss):
    return struct.pack("!BBH", 2, 4, mss)


def opt_wscale(shift):
    return b"\x01" + struct.pack("!BBB", 3, 3, shift)


OPT_SACK_OK = b"\x04\x02"


def tcp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, seq, ack, flags, window=65535,
              payload=b"", options=b"", urg=0, doff=None, tcp_csum=None, ip_csum=None,
              ip_len=None, ttl=64, ip_id=0):
    """One Ethernet/IPv4/TCP frame. MACs are bytes, addresses text. Options are padded with
    zeros to a multiple of 4; doff (in words), the checksums and the IPv4 total length are
    computed unless given, so a test breaks exactly the field it names."""
    src4, dst4 = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    opts = options + b"\0" * (-len(options) % 4)
    off = doff if doff is not None else (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & MASK, ack & MASK, (off & 15) << 4,
                      flags, window, 0, urg) + opts
    if tcp_csum is None:
        pseudo = src4 + dst4 + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
        tcp_csum = checksum(pseudo + hdr + payload)
    seg = hdr[:16] + struct.pack("!H", tcp_csum) + hdr[18:] + payload
    total = ip_len if ip_len is not None else 20 + len(seg)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ip_id, 0x4000, ttl, 6, 0, src4, dst4)
    if ip_csum is None:
        ip_csum = checksum(iph)
    iph = iph[:10] + struct.pack("!H", ip_csum) + iph[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + iph + seg


def arp_frame(op, src_mac, src_ip, target_ip, dst_mac=b"\xff" * 6, target_mac=b"\0" * 6):
    """An ARP request (op 1) or reply (op 2) for IPv4 over Ethernet."""
    return (dst_mac + src_mac + struct.pack("!H", ETH_P_ARP) +
            struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, src_mac,
                        socket.inet_aton(src_ip), target_mac, socket.inet_aton(target_ip)))


class Segment:
    """A received TCP segment (IPv4 total length honoured: no padding in the payload)."""

    def __init__(self, frame, t):
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
        self.t = t
        self.src_ip = socket.inet_ntoa(ip[12:16])
        self.dst_ip = socket.inet_ntoa(ip[16:20])
        (self.sport, self.dport, self.seq, self.ack, off, self.flags, self.window, _,
         self.urg) = struct.unpack("!HHIIBBHHH", tcp[:20])
        hl = (off >> 4) * 4
        self.options = tcp[20:hl]
        self.payload = tcp[hl:]

    def opts(self):
        """The options as {"mss", "wscale", "sack_ok"} (those present)."""
        out, o, i = {}, self.options, 0
        while i < len(o) and o[i] != 0:
            if o[i] == 1:
                i += 1
                continue
            if i + 1 >= len(o) or o[i + 1] < 2:
                break
            kind, n = o[i], o[i + 1]
            if kind == 2 and n == 4:
                out["mss"] = struct.unpack("!H", o[i + 2:i + 4])[0]
            elif kind == 3 and n == 3:
                out["wscale"] = o[i + 2]
            elif kind == 4:
                out["sack_ok"] = True
            i += n
        return out

    def __repr__(self):
        return "<%s seq=%d ack=%d win=%d len=%d>" % (flag_text(self.flags), self.seq, self.ack,
                                                     self.window, len(self.payload))


def _bpf_arp_or_ip_to(ip):
    """A classic BPF program: accept ARP, and IPv4 to ip; drop the rest (the flood's
    SYN-ACKs to other addresses never wake the peer's thread)."""
    k = struct.unpack("!I", socket.inet_aton(ip))[0]
    prog = [(0x28, 0, 0, 12),  # ldh [12]        ethertype
            (0x15, 3, 0, ETH_P_ARP),  # jeq ARP -> accept
            (0x15, 0, 3, ETH_P_IP),  # jne IP -> drop
            (0x20, 0, 0, 30),  # ld [30]         IPv4 destination
            (0x15, 0, 1, k),  # jne ip -> drop
            (0x06, 0, 0, 0x40000),  # accept
            (0x06, 0, 0, 0)]  # drop
    return b"".join(struct.pack("HBBI", *i) for i in prog), len(prog)


class RawPeer:
    """One TCP connection from src_ip:src_port to dst_ip:dst_port, by hand.

    A thread sniffs the interface: it answers ARP requests for src_ip (and the addresses in
    also_answer), learns the server's MAC from its ARP, and keeps the segments of our
    4-tuple (segments, in arrival order). In-order payload goes to `stream`; with auto_ack
    every data or FIN segment is acknowledged (rcv_nxt), while the stream is shorter than
    ack_until (None: always) -- set it to go silent after so many bytes. snd_nxt follows the
    server's ACK forward (it took bytes sent with advance=False), so our ACKs stay
    acceptable."""

    def __init__(self, iface, src_ip, dst_ip, dst_port, dst_mac=None, src_port=None,
                 window=65535):
        self.iface, self.src_ip, self.dst_ip, self.dport = iface, src_ip, dst_ip, dst_port
        self.sport = src_port or random.randint(20000, 60999)
        self.mac = mac_bytes(iface_mac(iface))
        self.dst_mac = mac_bytes(dst_mac) if dst_mac else None
        self.arp_mac = None  # the server's MAC from its last ARP
        self.window = window
        self.also_answer = set()
        self.arp_answered = 0
        self.auto_ack = True
        self.ack_until = None
        self.acks_sent = 0
        self.last_ack = self.last_ack_t = None  # the last auto-ACK: its number and time
        self.iss = random.getrandbits(32)
        self.snd_nxt = self.iss
        self.irs = self.rcv_nxt = None
        self.fin = False
        self.stream = bytearray()
        self.segments = []
        self._rpos = 0
        self._cursor = 0
        self._cv = threading.Condition()
        self._stop = False
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # receives nothing yet
        code, n = _bpf_arp_or_ip_to(src_ip)
        self._bpf = ctypes.create_string_buffer(code)
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                     struct.pack("HL", n, ctypes.addressof(self._bpf)))
        try:
            s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # older kernel: outgoing frames are skipped by their packet type below
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        s.bind((iface, ETH_P_ALL))
        s.settimeout(0.1)
        self._sock = s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ plumbing

    def close(self):
        self._stop = True
        self._thread.join(2)
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self):
        while not self._stop:
            try:
                frame, addr = self._sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING or len(frame) < 42:
                continue
            ethertype = struct.unpack("!H", frame[12:14])[0]
            if ethertype == ETH_P_ARP:
                self._arp(frame)
            elif ethertype == ETH_P_IP and frame[23] == 6 and len(frame) >= 54:
                seg = Segment(frame, time.monotonic())
                if (seg.src_ip == self.dst_ip and seg.sport == self.dport and
                        seg.dport == self.sport and seg.dst_ip == self.src_ip):
                    self._tcp(seg)

    def _arp(self, frame):
        op, sha, spa, _, tpa = struct.unpack("!6xH6s4s6s4s", frame[14:42])
        spa, tpa = socket.inet_ntoa(spa), socket.inet_ntoa(tpa)
        if spa == self.dst_ip:
            with self._cv:
                self.arp_mac = sha
                self._cv.notify_all()
        if op == 1 and (tpa == self.src_ip or tpa in self.also_answer):
            self._sock.send(arp_frame(2, self.mac, tpa, spa, dst_mac=sha, target_mac=sha))
            self.arp_answered += 1

    def _tcp(self, seg):
        with self._cv:
            ahead = (seg.ack - self.snd_nxt) & MASK
            if seg.flags & ACK and 0 < ahead < 1 << 20 and self.rcv_nxt is not None:
                self.snd_nxt = seg.ack  # it took data we sent with advance=False
            if seg.flags & SYN and seg.flags & ACK and self.rcv_nxt is None:
                self.irs, self.rcv_nxt = seg.seq, (seg.seq + 1) & MASK
            elif self.rcv_nxt is not None and (seg.payload or seg.flags & FIN):
                skip = (self.rcv_nxt - seg.seq) & MASK  # bytes we have already
                if skip < len(seg.payload):
                    self.stream += seg.payload[skip:]
                    self.rcv_nxt = (self.rcv_nxt + len(seg.payload) - skip) & MASK
                if seg.flags & FIN and (seg.seq + len(seg.payload)) & MASK == self.rcv_nxt:
                    self.rcv_nxt = (self.rcv_nxt + 1) & MASK
                    self.fin = True
                if self.auto_ack and (self.ack_until is None or len(self.stream) < self.ack_until):
                    self._send_locked(ACK, self.snd_nxt, self.rcv_nxt, b"", {})
                    self.acks_sent += 1
                    self.last_ack, self.last_ack_t = self.rcv_nxt, time.monotonic()
            self.segments.append(seg)
            self._cv.notify_all()

    def _send_locked(self, flags, seq, ack, data, fields):
        frame = self.frame(data, flags, seq, ack, **fields)
        self._sock.send(frame)
        return frame

    # ------------------------------------------------------------------ API

    def announce(self, timeout=2.0):
        """ARP "who-has <server> tell <each of our addresses>": the server learns us (and,
        for also_answer, the flood's addresses). The server's reply gives its MAC, which
        wins over one given to the constructor (a stale one sends every segment nowhere);
        without a reply the given one stays, or TimeoutError when there is none."""
        with self._cv:
            self.arp_mac = None
        for ip in [self.src_ip] + sorted(self.also_answer):
            self._sock.send(arp_frame(1, self.mac, ip, self.dst_ip))
        with self._cv:
            if self._cv.wait_for(lambda: self.arp_mac is not None, timeout):
                self.dst_mac = self.arp_mac
            elif self.dst_mac is None:
                raise TimeoutError("no ARP reply from %s" % self.dst_ip)
        return mac_text(self.dst_mac)

    def frame(self, data=b"", flags=None, seq=None, ack=None, **fields):
        """The frame send() would send (nothing sent, nothing changed)."""
        if flags is None:
            flags = ACK | (PSH if data else 0)
        fields.setdefault("window", self.window)
        return tcp_frame(self.mac, self.dst_mac, self.src_ip, self.dst_ip, self.sport,
                         self.dport, self.snd_nxt if seq is None else seq,
                         (self.rcv_nxt or 0) if ack is None else ack, flags, payload=data,
                         **fields)

    def send(self, data=b"", flags=None, seq=None, ack=None, advance=None, **fields):
        """Send one segment; flags default to ACK (+PSH with data), seq to snd_nxt, ack to
        rcv_nxt. fields override anything else tcp_frame() takes (window, options, urg,
        doff, tcp_csum, ip_csum, ip_len, ttl). snd_nxt advances (by the payload, SYN and FIN)
        only for a segment sent at snd_nxt (advance=None) or when told. Returns the frame."""
        if flags is None:
            flags = ACK | (PSH if data else 0)
        with self._cv:
            s = self.snd_nxt if seq is None else seq & MASK
            a = (self.rcv_nxt or 0) if ack is None else ack & MASK
            if advance is None:
                advance = seq is None
            if advance:
                self.snd_nxt = (s + len(data) + bool(flags & SYN) + bool(flags & FIN)) & MASK
            return self._send_locked(flags, s, a, data, dict(fields))

    def send_frame(self, frame):
        """A frame built by the caller, as is."""
        self._sock.send(frame)

    def connect(self, options=None, timeout=1.0, tries=3, complete=True):
        """SYN (options: MSS 1460 unless given), wait for the SYN-ACK (SYN resent each
        timeout), then the ACK unless complete=False (the caller ACKs later). Returns the
        SYN-ACK segment."""
        opts = opt_mss(1460) if options is None else options
        for _ in range(tries):
            self.send(flags=SYN, seq=self.iss, ack=0, advance=False, options=opts)
            synack = self.wait_segment(lambda s: s.flags & (SYN | ACK) == SYN | ACK, timeout)
            if synack is not None:
                break
        else:
            raise TimeoutError("no SYN-ACK from %s:%d" % (self.dst_ip, self.dport))
        self.snd_nxt = (self.iss + 1) & MASK
        if complete:
            self.send(flags=ACK)
        return synack

    def wait_segment(self, pred, timeout):
        """The first segment not yet looked at that satisfies pred (None after timeout);
        the ones before it count as looked at."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                while self._cursor < len(self.segments):
                    s = self.segments[self._cursor]
                    self._cursor += 1
                    if pred(s):
                        return s
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def recv_segments(self, timeout):
        """Every segment arrived for us within timeout seconds (and not looked at before)."""
        time.sleep(timeout)
        with self._cv:
            got = self.segments[self._cursor:]
            self._cursor = len(self.segments)
        return got

    def read_until(self, marker, timeout):
        """The stream's bytes up to and including marker, past what was read before (None
        after timeout)."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                i = self.stream.find(marker, self._rpos)
                if i >= 0:
                    out = bytes(self.stream[self._rpos:i + len(marker)])
                    self._rpos = i + len(marker)
                    return out
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def unread(self):
        """What arrived in order and was not read yet."""
        with self._cv:
            return bytes(self.stream[self._rpos:])

    def request(self, data, marker=b"\r\n", timeout=2.0):
        """Send data at snd_nxt and read the answer up to marker."""
        self.send(data)
        return self.read_until(marker, timeout)

    def rst(self):
        """An RST at snd_nxt (exact: the server takes it)."""
        return self.send(flags=RST | ACK, advance=False)


# ---------------------------------------------------------------------------- SYN flood


def flood_frames(iface, dst_mac, dst_ip, dport, count, first, last, seed):
    """count SYNs from random 10.77.0.<first..last>:<random port> with random sequence
    numbers and an MSS option, built ahead (the send loop does nothing else)."""
    rnd = random.Random(seed)
    mac, dmac = mac_bytes(iface_mac(iface)), mac_bytes(dst_mac)
    prefix = dst_ip.rsplit(".", 1)[0] + "."
    sources = [prefix + str(i) for i in range(first, last + 1)]
    mss = opt_mss(1460)
    return [tcp_frame(mac, dmac, sources[rnd.randrange(len(sources))], dst_ip,
                      rnd.randint(1024, 65535), dport, rnd.getrandbits(32), 0, SYN, 64240,
                      options=mss, ip_id=i & 0xFFFF)
            for i in range(count)]


def flood_main(argv):
    """python3 rawpeer.py flood --iface I --dst-mac M --count N [--dst IP --port P --first A
    --last B --seed S]: build the frames, print "go" on stderr, send them as fast as one
    AF_PACKET socket takes them, print {"sent", "errors", "seconds", "pps"} as JSON."""
    ap = argparse.ArgumentParser(prog="rawpeer.py flood")
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", default="10.77.0.1")
    ap.add_argument("--port", type=int, default=11211)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--first", type=int, default=10)
    ap.add_argument("--last", type=int, default=250)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    frames = flood_frames(a.iface, a.dst_mac, a.dst, a.port, a.count, a.first, a.last, a.seed)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    s.bind((a.iface, 0))
    send, errors = s.send, 0
    print("go", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    for f in frames:
        try:
            send(f)
        except OSError:  # ENOBUFS: the device's queue is full; that SYN is lost
            errors += 1
    dt = time.monotonic() - t0
    print(json.dumps({"sent": len(frames) - errors, "errors": errors, "seconds": round(dt, 3),
                      "pps": round((len(frames) - errors) / dt)}), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "flood":
        sys.exit(flood_main(sys.argv[2:]))
    sys.exit(__doc__)
