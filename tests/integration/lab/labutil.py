"""Small UDP helpers shared by the lab tests (on top of tests/integration/mc.py)."""
import os

from mc import Udp


def reply(u, payload, rid):
    """Send one request; return its reply reassembled by sequence number, checking
    that every datagram echoes rid, says the same total and none is missing."""
    return reply_from(u.request(payload, rid), rid, payload)


def reply_from(parts, rid, payload):
    """reply()'s checks on the datagrams one request collected."""
    assert parts, "no reply to request id %d (%r)" % (rid, payload[:40])
    total = parts[0][1]
    seqs = {}
    for seq, tot, data, _n in parts:
        assert tot == total, "datagrams disagree on the total: %r" % [p[:2] for p in parts]
        seqs[seq] = data
    assert sorted(seqs) == list(range(total)), "missing datagrams: got %r of %d" % (
        sorted(seqs), total)
    return b"".join(seqs[i] for i in range(total)), parts


STATS_ATTEMPTS = 3


def stats_body(lab, arg=b""):
    """The body of `stats [arg]` over UDP. UDP may lose the request or a reply
    datagram (a veth's AF_XDP ring that is full when a burst arrives drops the
    frame), so this asks again with a new request id, as a memcached UDP client
    would, up to STATS_ATTEMPTS times; it fails when none is answered whole."""
    payload = b"stats" + (b" " + arg if arg else b"") + b"\r\n"
    u = Udp(lab.server, lab.udp_port)
    try:
        for attempt in range(1, STATS_ATTEMPTS + 1):
            rid = int.from_bytes(os.urandom(2), "big")
            parts = u.request(payload, rid)
            if parts and len(parts) == parts[0][1]:
                break
            print("%r over UDP: attempt %d of %d not answered whole (%d datagrams)" % (
                payload, attempt, STATS_ATTEMPTS, len(parts)))
        body, _ = reply_from(parts, rid, payload)
    finally:
        u.close()
    return body


def stats(lab, arg=b""):
    """`stats [arg]` over UDP as {name: value string} (see stats_body)."""
    body = stats_body(lab, arg)
    assert body.endswith(b"END\r\n"), body[-80:]
    return parse_stats(body)


def parse_stats(body):
    """The STAT lines of a stats reply as {name: value string}."""
    out = {}
    for line in body.split(b"\r\n"):
        if line.startswith(b"STAT "):
            parts = line.decode().split(" ", 2)
            out[parts[1]] = parts[2] if len(parts) > 2 else ""
    return out


def stat_int(st, name):
    assert name in st, "no %s in stats (have %s)" % (name, ", ".join(sorted(st)))
    return int(st[name])


def tcp_stats(lab, arg=b""):
    """`stats [arg]` over a TCP connection of its own as {name: value string};
    None when the server answers the group with an error line (no such group)."""
    from mc import TextConn

    with TextConn(lab.server, lab.tcp_port) as c:
        c.send(b"stats" + (b" " + arg if arg else b"") + b"\r\n")
        out = {}
        while True:
            line = c.readline()
            if line == b"END":
                return out
            if not line.startswith(b"STAT "):
                assert line.split(b" ")[0] in (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR"), line
                return None
            parts = line.decode().split(" ", 2)
            out[parts[1]] = parts[2] if len(parts) > 2 else ""
