#!/usr/bin/env python3
"""Snapshots over the DPDK path (lab check snapshot-dpdk), in two steps.

    snapshot_lab.py write  SERVER_IP TCP_PORT UDP_PORT STATE.json   (inside the namespace)
    snapshot_lab.py verify PORT STATE.json                          (a loopback server)

write: pymemcache over nicached's own TCP stores 2,000 items (flags, half with a TTL of an
hour) and one chained value of 700 KB; `snapshot` over that TCP answers OK, then `snapshot`
in a UDP datagram (memcached's frame header) answers OK once the first is written; stats
(over TCP) count two snapshots written and none failed; every item's value, flags and CAS go
to STATE.json. verify: a socket-backend server restored from that snapshot holds every item
with the same value and CAS, and its flags (mg f).
"""
import json
import os
import socket
import struct
import sys
import time

from pymemcache.client.base import Client


def stats(c):
    return {k.decode(): v for k, v in c.stats().items()}


def wait_written(c, n, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = stats(c)
        if int(st["snapshots_written"]) + int(st["snapshots_failed"]) >= n:
            if int(st["snapshots_failed"]) != 0:
                sys.exit("a snapshot failed: %r" % st)
            return st
        time.sleep(0.1)
    sys.exit("snapshot %d not written within %d s" % (n, timeout))


def udp_command(ip, port, line):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    for _ in range(5):
        rid = int.from_bytes(os.urandom(2), "big")
        s.sendto(struct.pack("!HHHH", rid, 0, 1, 0) + line, (ip, port))
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if struct.unpack("!H", d[:2])[0] == rid:
            return d[8:]
    sys.exit("no UDP answer to %r" % line)


def write(ip, tcp, udp, state):
    c = Client((ip, int(tcp)), timeout=10)
    want = {}
    for i in range(2000):
        k = "lab%d" % i
        c.set(k, b"value-%d-" % i * (1 + i % 20), flags=i, expire=3600 if i % 2 else 0,
              noreply=False)
    big = bytes(range(256)) * 2800
    c.set("labbig", big, flags=77, noreply=False)
    for k in ["lab%d" % i for i in range(2000)] + ["labbig"]:
        v, cas = c.gets(k)
        want[k] = [v.hex(), int(cas)]
    s = socket.create_connection((ip, int(tcp)), timeout=10)
    s.sendall(b"snapshot\r\n")
    got = s.recv(100)
    if got != b"OK\r\n":
        sys.exit("snapshot over TCP answered %r" % got)
    s.close()
    wait_written(c, 1)
    got = udp_command(ip, int(udp), b"snapshot\r\n")
    if got != b"OK\r\n":
        sys.exit("snapshot over UDP answered %r" % got)
    st = wait_written(c, 2)
    if int(st["snapshot_last_items"]) != 2001:
        sys.exit("the snapshot holds %s items, want 2001" % st["snapshot_last_items"])
    json.dump(want, open(state, "w"))
    print("write: 2001 items; snapshots over TCP and UDP written (%s bytes, %s us)" % (
        st["snapshot_last_bytes"], st["snapshot_last_duration_us"]))


def verify(port, state):
    want = json.load(open(state))
    c = Client(("127.0.0.1", int(port)), timeout=10)
    st = stats(c)
    if int(st["restore_items_loaded"]) != len(want):
        sys.exit("restored %s items, want %d" % (st["restore_items_loaded"], len(want)))
    for k, (v, cas) in want.items():
        got = c.gets(k)
        if got != (bytes.fromhex(v), str(cas).encode()):
            sys.exit("%s: got cas %r, want %d" % (k, got[1], cas))
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
        for i in range(0, 2000, 101):
            s.sendall(b"mg lab%d f\r\n" % i)
            r = s.recv(100)
            if r != b"HD f%d\r\n" % i:
                sys.exit("lab%d: %r" % (i, r))
    print("verify: %d items restored with value, flags and CAS" % len(want))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "write":
        write(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(*sys.argv[2:])
    else:
        sys.exit(__doc__)
