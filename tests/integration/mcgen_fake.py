#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A tiny memcached (text protocol) that lies or stalls, for tests/integration/mcgen.sh, which
checks that mcgen catches it:

    mcgen_fake.py PORT [EVERY]            TCP: every EVERYth value returned (default 50) has one
                                          byte changed
    mcgen_fake.py PORT --udp-drop EVERY   UDP (memcached's frame header, one datagram a reply):
                                          the first set of every EVERYth key (in the order keys
                                          are first set) is dropped, neither stored nor answered
    mcgen_fake.py PORT --full-backlog     TCP: listens and never accepts, its backlog full (a
                                          connect to it waits for an answer that never comes)
    mcgen_fake.py PORT --stall N MS       TCP: every value right, but the Nth get (counted from
                                          the server's start) waits MS ms before its answer,
                                          once, closing nothing (MS 0: no stall)

Prints "ready" once listening.
"""
import socket
import socketserver
import struct
import sys
import threading
import time

STORE = {}
LOCK = threading.Lock()
COUNT = [0]
GETS = [0]


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        every = self.server.every
        stall_at, stall_ms = self.server.stall
        while True:
            line = self.rfile.readline()
            if not line:
                return
            words = line.split()
            if not words:
                continue
            out = []
            if words[0] == b"set":
                data = self.rfile.read(int(words[4]) + 2)[:-2]
                with LOCK:
                    STORE[words[1]] = (words[2], data)
                out.append(b"STORED\r\n")
            elif words[0] == b"get":
                with LOCK:
                    GETS[0] += 1
                    stall = GETS[0] == stall_at
                if stall:
                    time.sleep(stall_ms / 1000.0)
                for key in words[1:]:
                    with LOCK:
                        item = STORE.get(key)
                        COUNT[0] += 1
                        lie = every > 0 and COUNT[0] % every == 0
                    if item is None:
                        continue
                    flags, data = item
                    if lie and data:
                        data = bytes([data[0] ^ 0x01]) + data[1:]
                    out.append(b"VALUE %s %s %d\r\n%s\r\n" % (key, flags, len(data), data))
                out.append(b"END\r\n")
            elif words[0] == b"delete":
                with LOCK:
                    found = STORE.pop(words[1], None) is not None
                out.append(b"DELETED\r\n" if found else b"NOT_FOUND\r\n")
            elif words[0] == b"version":
                out.append(b"VERSION fake\r\n")
            else:
                out.append(b"ERROR\r\n")
            self.wfile.write(b"".join(out))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve_udp(port, drop_every):
    """memcached over UDP, a set or a get a datagram; the first set of every drop_every-th new
    key vanishes (a lost datagram that a retry makes good, whatever the retries' order)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    print("ready", flush=True)
    seen = set()
    while True:
        dgram, peer = sock.recvfrom(65536)
        if len(dgram) < 8:
            continue
        rid = struct.unpack(">H", dgram[:2])[0]
        line, _, rest = dgram[8:].partition(b"\r\n")
        words = line.split()
        if not words:
            continue
        if words[0] == b"set":
            if words[1] not in seen:
                seen.add(words[1])
                if len(seen) % drop_every == 0:
                    continue
            STORE[words[1]] = (words[2], rest[:int(words[4])])
            reply = b"STORED\r\n"
        elif words[0] == b"get":
            reply = b"".join(b"VALUE %s %s %d\r\n%s\r\n" % (k, STORE[k][0], len(STORE[k][1]),
                                                            STORE[k][1])
                             for k in words[1:] if k in STORE) + b"END\r\n"
        else:
            reply = b"ERROR\r\n"
        sock.sendto(struct.pack(">HHHH", rid, 0, 1, 0) + reply, peer)


def full_backlog(port):
    """A listener whose backlog (0) is filled by connects of its own: the kernel drops any
    further SYN, so a client's connect hangs. Serves until killed."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    print("ready", flush=True)
    threading.Event().wait()


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--full-backlog":
        full_backlog(port)
        return
    if len(sys.argv) > 3 and sys.argv[2] == "--udp-drop":
        serve_udp(port, int(sys.argv[3]))
        return
    server = Server(("127.0.0.1", port), Handler)
    if len(sys.argv) > 2 and sys.argv[2] == "--stall":
        if len(sys.argv) != 5:
            sys.exit("usage: mcgen_fake.py PORT --stall N MS")
        server.every = 0  # (no value changed)
        server.stall = (int(sys.argv[3]), int(sys.argv[4]))
    else:
        server.every = int(sys.argv[2]) if len(sys.argv) > 2 else 50
        server.stall = (0, 0)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
