#!/usr/bin/env python3
"""Turn captures of the lab's TCP traffic into seeds for the TCP fuzzer (tests/fuzz/fuzz_tcp.c).

    scripts/tcp-capture-seeds.py [--max-ops 900] [--flows 4] OUT_DIR CAPTURE.pcap...

A capture comes from tests/integration/lab/run.sh with NC_LAB_CAPTURE=DIR (tcpdump on the
namespace's end of the veth: Linux clients talking to nicached's TCP on port 11211). Each
capture gives one seed, OUT_DIR/capture_<name>: a fuzz_tcp script (the format is in the
comment at the top of fuzz_tcp.c) that replays the clients' segments of its first --flows
connections, in capture order, as segments from fuzz peers 0-3 to the listening port:
  - flags and TCP options as captured (a SYN's MSS, window scale and SACK-permitted through
    the script's option bits, other segments' options as raw bytes: timestamps, SACK blocks);
  - the sequence number raw, mapped from the capture's onto the fuzz peer's initial one, so
    retransmissions and old duplicates stay where they were;
  - the acknowledgment relative to the highest sequence the server had sent on that
    connection (in the capture) when the client sent it, so a late ACK stays late;
  - the payload length as captured (the fuzzer fills the bytes from the sequence number);
  - the window as captured (the raw field: scaled once the SYNs agreed on a scale);
and between segments the clock advances as in the capture, the server loop runs (accepting,
reading everything, closing at EOF), and server data segments become writes of about the
same size on that connection. The fuzzer does not see memcached: the seeds carry the shapes of
real Linux TCP (handshakes, delayed ACKs, window updates, retransmissions, closes), which
libFuzzer then mutates. Python 3 standard library only (pcap and Ethernet/IPv4/TCP parsed here).
"""
import argparse
import os
import struct
import sys

SERVER_PORT = 11211
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
FUZZ_ISN = [0x10000000 * (p + 1) + 1000 for p in range(4)]  # fuzz_tcp.c tup_get()
FRAME_MAX = 2048


def packets(path):
    """(time in s, src port, dst port, seq, ack, flags, window, options, payload length)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end, nano = "<", magic == 0xA1B23C4D
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end, nano = ">", magic == 0x4D3CB2A1
    else:
        raise SystemExit("%s: not a pcap file" % path)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, want Ethernet" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if len(frame) < 14 + 20 or struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or len(ip) < ihl + 20:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
        sport, dport, seq, ack, offf, flags, win = struct.unpack("!HHIIBBH", tcp[:16])
        hlen = (offf >> 4) * 4
        yield (t, sport, dport, seq, ack, flags, win, tcp[20:hlen], len(tcp) - hlen)


def syn_options(opts):
    """MSS, window scale and SACK-permitted of a SYN's options (None where absent)."""
    mss = ws = None
    sackp = False
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        ln = opts[i + 1]
        if kind == 2 and ln == 4:
            mss = struct.unpack("!H", opts[i + 2:i + 4])[0]
        elif kind == 3 and ln == 3:
            ws = opts[i + 2]
        elif kind == 4:
            sackp = True
        i += ln
    return mss, ws, sackp


def delta7_byte(d):
    """The script byte whose delta7() is nearest to d, with bit 0 clear."""
    if -40 <= d <= 40:
        v = d
    else:
        steps = round(d / 300)
        v = max(-64, min(63, steps + (40 if steps > 0 else -40)))
        if -40 <= v <= 40:  # a small step count lands back in the exact range
            v = 41 if d > 0 else -41
    return (v * 2) & 0xFE


def clock_op(ms):
    """Advance the fuzz clock by about ms milliseconds (op 6)."""
    out = b""
    while ms >= 1:
        if ms < 100:
            b = int(ms)
        elif ms < 10000:
            b = 100 + min(99, int(ms // 100))
        else:
            b = 200 + min(55, int(ms // 10000))
        out += bytes([6, b])
        step = b if b < 100 else (b - 100) * 100 if b < 200 else (b - 200) * 10000
        ms -= max(step, 1)
        if len(out) > 40:
            break
    return out


def seed_of(path, max_ops, max_flows):
    flows = {}          # client port -> peer index
    isn = {}            # client port -> captured ISN
    server_end = {}     # client port -> highest sequence end the server sent (capture)
    handles = {}        # client port -> accept order (the handle index the script uses)
    out = bytearray([0x00, 0x00])  # MTU 1500, default buffers; no option bits
    ops = 0
    last_t = None
    for t, sport, dport, seq, ack, flags, win, opts, plen in packets(path):
        if ops >= max_ops:
            break
        if last_t is not None and t > last_t:
            out += clock_op((t - last_t) * 1000)
        last_t = t
        if sport == SERVER_PORT and dport in flows:
            end = seq + plen + (1 if flags & (SYN | FIN) else 0)
            prev = server_end.get(dport)
            if prev is None or ((end - prev) & 0xFFFFFFFF) < 0x80000000:
                server_end[dport] = end
            if plen > 0 and dport in handles:
                # The server wrote about this much: app op on the connection's handle.
                out += bytes([9, handles[dport] % 8, 1, min(255, plen // 24)])
                out += bytes([7])  # tcp_flush
            continue
        if dport != SERVER_PORT:
            continue
        if sport not in flows:
            if not flags & SYN or len(flows) >= max_flows:
                continue
            flows[sport] = len(flows)
            isn[sport] = seq
        peer = flows[sport]
        b0 = peer | 0x40  # listening port, plain mbuf, raw sequence, relative ACK
        fuzz_seq = (seq - isn[sport] + FUZZ_ISN[peer]) & 0xFFFFFFFF
        out += bytes([0, b0, flags])  # op 0: a segment
        out += struct.pack("!I", fuzz_seq)
        if flags & ACK and sport in server_end:
            d = (ack - server_end[sport]) & 0xFFFFFFFF
            d = d - (1 << 32) if d >= 0x80000000 else d
            out += bytes([delta7_byte(d)])
        else:
            out += bytes([0])
        out += bytes([255]) + struct.pack("!H", win)  # the window as sent (scaled after SYN)
        ob = 0
        extra = b""
        if flags & SYN:
            mss, ws, sackp = syn_options(opts)
            if mss is not None:
                ob |= 1
                if mss != 1460:
                    ob |= 0x10
                    extra += struct.pack("!H", mss)
            if ws is not None:
                ob |= 2
                if ws != 7:
                    ob |= 0x20
                    extra += bytes([ws])
            if sackp:
                ob |= 0x40
        elif opts:
            raw = bytes(opts[:24])
            ob |= 4
            extra += bytes([len(raw)]) + raw
        out += bytes([ob]) + extra
        n = min(plen, FRAME_MAX - 100)
        if n < 64:
            out += bytes([n])
        elif n % 12 == 0 and n // 12 < 128:
            out += bytes([64 + n // 12])
        else:
            out += bytes([192]) + struct.pack("!H", n)
        ops += 1
        # The server's loop: accept, read everything, close at EOF, flush.
        out += bytes([15, 3])
        if flags & SYN and sport not in handles:
            handles[sport] = len(handles)
    out += clock_op(1000)
    return bytes(out), ops, len(flows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-ops", type=int, default=900)
    ap.add_argument("--flows", type=int, default=4)
    ap.add_argument("out_dir")
    ap.add_argument("captures", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    for cap in a.captures:
        seed, ops, flows = seed_of(cap, a.max_ops, min(a.flows, 4))
        name = os.path.splitext(os.path.basename(cap))[0]
        dest = os.path.join(a.out_dir, "capture_" + name)
        with open(dest, "wb") as f:
            f.write(seed)
        print("%s: %d client segments of %d connections, %d bytes -> %s" % (
            cap, ops, flows, len(seed), dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
