#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A tiny memcached (text protocol over TCP) that lies: every Nth value it returns has one
byte changed. For tests/integration/mcgen.sh, which checks that mcgen catches it.

    mcgen_fake.py PORT [EVERY]     (default EVERY 50; prints "ready" once listening)
"""
import socket
import socketserver
import sys
import threading

STORE = {}
LOCK = threading.Lock()
COUNT = [0]


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        every = self.server.every
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
                for key in words[1:]:
                    with LOCK:
                        item = STORE.get(key)
                        COUNT[0] += 1
                        lie = COUNT[0] % every == 0
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


def main():
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), Handler)
    server.every = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
