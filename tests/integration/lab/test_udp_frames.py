"""memcached over UDP on the DPDK path, from the lab's namespace: frame header
handling, large values (IPv4 reassembly on the way in, numbered datagrams on the
way out), and malformed frames sent raw, each dropped and counted by reason."""
import os
import socket
import time

import pytest

from frames import Frame, iface_mac, send_raw
from labutil import reply, stat_int, stats
from mc import UDP_HEADER, Udp

PAYLOAD_MAX = 1400


def tag(name):
    return b"%s:%s" % (name.encode(), os.urandom(4).hex().encode())


@pytest.fixture
def udp(lab):
    u = Udp(lab.server, lab.udp_port)
    yield u
    u.close()


def assert_serving(lab):
    """A set and a get over a fresh socket still work."""
    u = Udp(lab.server, lab.udp_port)
    try:
        k = tag("alive")
        body, _ = reply(u, b"set %s 0 0 5\r\nhello\r\n" % k, 7)
        assert body == b"STORED\r\n"
        body, _ = reply(u, b"get %s\r\n" % k, 8)
        assert body == b"VALUE %s 0 5\r\nhello\r\nEND\r\n" % k
    finally:
        u.close()


def test_request_ids_echoed(udp):
    k = tag("rid")
    for rid in (0, 1, 0x1234, 0xFFFF):
        body, parts = reply(udp, b"set %s 0 0 2\r\nok\r\n" % k, rid)
        assert body == b"STORED\r\n"
        body, parts = reply(udp, b"get %s\r\n" % k, rid)
        assert body == b"VALUE %s 0 2\r\nok\r\nEND\r\n" % k
        assert all(p[0] == 0 and p[1] == 1 for p in parts)


def test_large_value_reassembled_both_ways(lab, udp):
    before = stats(lab, b"nic")
    k = tag("big")
    value = os.urandom(10 * 1024).hex().encode()  # 20 KB, one datagram, IP fragments
    body, _ = reply(udp, b"set %s 0 0 %d\r\n%s\r\n" % (k, len(value), value), 4242)
    assert body == b"STORED\r\n"
    body, parts = reply(udp, b"get %s\r\n" % k, 4243)
    assert body == b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(value), value)
    assert len(parts) == parts[0][1] >= len(body) // PAYLOAD_MAX
    assert all(len(p[2]) <= PAYLOAD_MAX for p in parts), [len(p[2]) for p in parts]
    assert all(len(p[2]) == PAYLOAD_MAX for p in sorted(parts)[:-1])
    after = stats(lab, b"nic")
    assert stat_int(after, "ip_reassembled") > stat_int(before, "ip_reassembled")
    assert stat_int(after, "ip_fragments") >= stat_int(before, "ip_fragments") + 14


@pytest.mark.parametrize("kind", ["multi-datagram", "short", "header-only"])
def test_bad_frame_header_dropped(lab, udp, kind):
    before = stat_int(stats(lab), "udp_dropped")
    rid = 900
    if kind == "multi-datagram":
        udp.sock.sendto(UDP_HEADER.pack(rid, 0, 2, 0) + b"get a b c\r\n", udp.addr)
    elif kind == "short":
        udp.sock.sendto(b"\x00\x01\x00", udp.addr)
    else:
        udp.sock.sendto(UDP_HEADER.pack(rid, 0, 1, 0), udp.addr)
    assert udp.recv() is None, "the server answered a %s request" % kind
    after = stat_int(stats(lab), "udp_dropped")
    # stats itself is one more request, never dropped
    assert after == before + 1, "udp_dropped went %d -> %d" % (before, after)
    assert_serving(lab)


N_BAD = 5


def breakers():
    """name -> (drop counter, function that spoils a good Frame)."""
    def ip_checksum(f):
        f.ip_checksum = 0xBAD0

    def udp_truncated(f):
        f.udp_len = 8 + len(f.payload) + 40

    def udp_checksum(f):
        f.udp_checksum = f.correct_udp_checksum() ^ 0x1234

    def ihl_small(f):
        f.ihl = 4

    def wrong_dst(f):
        f.dst_ip = "10.77.0.99"

    def bcast_src(f):
        f.src_ip = "255.255.255.255"

    def cut_in_ip(f):
        f.truncate_to = 14 + 12

    return {
        "bad-ip-checksum": ("drop_ip_checksum", ip_checksum),
        "udp-length-over-ip": ("drop_udp_length", udp_truncated),
        "bad-udp-checksum": ("drop_udp_checksum", udp_checksum),
        "ihl-below-5": ("drop_ip_header", ihl_small),
        "wrong-destination-ip": ("drop_not_for_us", wrong_dst),
        "broadcast-source": ("drop_ip_source", bcast_src),
        "truncated-in-ip-header": ("drop_truncated", cut_in_ip),
    }


@pytest.mark.parametrize("name", list(breakers()))
def test_malformed_frame_dropped_and_counted(lab, name):
    assert lab.server_mac, "run.sh passes --server-mac (the MAC nicached printed)"
    counter, spoil = breakers()[name]
    my_ip = "10.77.0.2"
    frames = []
    for i in range(N_BAD):
        k = tag("raw")
        f = Frame(iface_mac(lab.iface), lab.server_mac, my_ip, lab.server, 40000 + i,
                  lab.udp_port, UDP_HEADER.pack(i, 0, 1, 0) + b"get %s\r\n" % k)
        spoil(f)
        frames.append(f.build())
    before = stats(lab, b"nic")
    send_raw(lab.iface, frames)
    time.sleep(0.3)
    after = stats(lab, b"nic")
    got = stat_int(after, counter) - stat_int(before, counter)
    assert got == N_BAD, "%s: %s went up by %d, want %d" % (name, counter, got, N_BAD)
    # nothing else was answered for these frames
    assert stat_int(after, "udp_delivered") - stat_int(before, "udp_delivered") == 1, \
        "only the stats request itself should have been delivered"
    assert_serving(lab)


def test_good_raw_frame_answered(lab):
    """The raw-frame builder itself is right: an unspoilt frame gets an answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.settimeout(2)
    port = s.getsockname()[1]
    f = Frame(iface_mac(lab.iface), lab.server_mac, "10.77.0.2", lab.server, port,
              lab.udp_port, UDP_HEADER.pack(77, 0, 1, 0) + b"version\r\n")
    send_raw(lab.iface, [f.build()])
    d = s.recv(2048)
    s.close()
    assert UDP_HEADER.unpack(d[:8])[0] == 77 and d[8:].startswith(b"VERSION "), d
