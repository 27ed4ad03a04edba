"""Plain-socket helpers for the integration tests (no memcached client library).

TextConn/BinConn wrap one TCP connection; Udp sends framed datagrams.  Every
socket has a timeout, so a server that stops answering fails a test instead of
hanging it.
"""
import socket
import struct
import threading
import time

TIMEOUT = 10.0

# Binary protocol (memcached's binary protocol, request magic 0x80).
REQ_MAGIC = 0x80
RES_MAGIC = 0x81
HEADER = struct.Struct("!BBHBBHIIQ")

OP_GET = 0x00
OP_SET = 0x01
OP_ADD = 0x02
OP_REPLACE = 0x03
OP_DELETE = 0x04
OP_INCR = 0x05
OP_DECR = 0x06
OP_FLUSH = 0x08
OP_GETQ = 0x09
OP_NOOP = 0x0A
OP_VERSION = 0x0B
OP_GETK = 0x0C
OP_GETKQ = 0x0D
OP_APPEND = 0x0E
OP_PREPEND = 0x0F
OP_SETQ = 0x11
OP_TOUCH = 0x1C

ST_OK = 0x00
ST_NOT_FOUND = 0x01
ST_EXISTS = 0x02
ST_NOT_STORED = 0x05

UDP_HEADER = struct.Struct("!HHHH")


class Closed(Exception):
    """The server closed the connection."""


class Conn:
    """A buffered TCP connection to the server."""

    def __init__(self, host, port, timeout=TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_async(self, data):
        """Send data (one sendall) from a thread, so the caller can read the
        replies meanwhile; returns the thread (join it)."""
        t = threading.Thread(target=self.sock.sendall, args=(data,), daemon=True)
        t.start()
        return t

    def _fill(self):
        d = self.sock.recv(1 << 16)
        if not d:
            raise Closed("connection closed by the server")
        self.buf += d

    def read_exact(self, n):
        if len(self.buf) < n:
            # Pieces joined once: appending to bytes would copy a large value over and over.
            parts, have = [self.buf], len(self.buf)
            while have < n:
                d = self.sock.recv(max(1 << 16, min(n - have, 1 << 22)))
                if not d:
                    raise Closed("connection closed by the server")
                parts.append(d)
                have += len(d)
            self.buf = b"".join(parts)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def readline(self):
        """One line without its "\\r\\n"."""
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            if len(self.buf) > 1 << 20:
                raise AssertionError("no line end in 1 MiB of reply")
            self._fill()

    def wait_closed(self, timeout=5.0):
        """True when the server closes the connection within timeout (data
        before the close is discarded); False when it is still open."""
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if not self.sock.recv(1 << 16):
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        return False


class TextConn(Conn):
    """Text (and meta) protocol."""

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.readline()

    def set(self, key, value, flags=0, exptime=0, verb=b"set"):
        self.send(b"%s %s %d %d %d\r\n%s\r\n" % (verb, key, flags, exptime, len(value), value))
        return self.readline()

    def get_many(self, keys, verb=b"get"):
        """{key: (flags, value)} for the keys that hit."""
        self.send(verb + b" " + b" ".join(keys) + b"\r\n")
        out = {}
        while True:
            line = self.readline()
            if line == b"END":
                return out
            parts = line.split()
            assert parts[0] == b"VALUE", line
            data = self.read_exact(int(parts[3]) + 2)
            assert data[-2:] == b"\r\n", data[-10:]
            out[parts[1]] = (int(parts[2]), data[:-2])

    def get(self, key):
        """The value, or None on a miss."""
        hit = self.get_many([key])
        return hit[key][1] if key in hit else None

    def stats(self, arg=b""):
        """{name: value} of one stats command (values as str)."""
        self.send(b"stats" + (b" " + arg if arg else b"") + b"\r\n")
        out = {}
        while True:
            line = self.readline()
            if line == b"END":
                return out
            parts = line.decode().split(" ", 2)
            assert parts[0] == "STAT" and len(parts) >= 2, line
            out[parts[1]] = parts[2] if len(parts) > 2 else ""

    def sync(self):
        """Send version and read until its reply, allowing only error lines
        before it; returns the lines skipped."""
        self.send(b"version\r\n")
        skipped = []
        while True:
            line = self.readline()
            if line.startswith(b"VERSION "):
                return skipped
            assert line.split(b" ")[0] in (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR"), line
            skipped.append(line)


def bin_request(opcode, key=b"", value=b"", extras=b"", opaque=0, cas=0):
    body = extras + key + value
    return HEADER.pack(REQ_MAGIC, opcode, len(key), len(extras), 0, 0, len(body), opaque, cas) + body


class BinResponse:
    def __init__(self, header, body):
        (magic, self.opcode, keylen, extlen, _dt, self.status, bodylen, self.opaque,
         self.cas) = HEADER.unpack(header)
        assert magic == RES_MAGIC, "bad response magic 0x%02x" % magic
        assert len(body) == bodylen
        self.extras = body[:extlen]
        self.key = body[extlen:extlen + keylen]
        self.value = body[extlen + keylen:]

    def __repr__(self):
        return "BinResponse(op=0x%02x status=%d opaque=%d key=%r value=%r)" % (
            self.opcode, self.status, self.opaque, self.key, self.value[:40])


class BinConn(Conn):
    """Binary protocol."""

    def read_response(self):
        header = self.read_exact(HEADER.size)
        bodylen = HEADER.unpack(header)[6]
        return BinResponse(header, self.read_exact(bodylen))

    def call(self, opcode, **kw):
        self.send(bin_request(opcode, **kw))
        return self.read_response()


class Udp:
    """A UDP socket speaking memcached's 8-byte frame header."""

    def __init__(self, host, port, timeout=2.0):
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def send(self, payload, request_id, seq=0, total=1):
        self.sock.sendto(UDP_HEADER.pack(request_id, seq, total, 0) + payload, self.addr)

    def recv(self):
        """(request_id, seq, total, payload, datagram_length) or None on timeout."""
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return None
        rid, seq, total, _res = UDP_HEADER.unpack(d[:8])
        return rid, seq, total, d[8:], len(d)

    def request(self, payload, request_id):
        """Send one request and collect its datagrams; returns the list of
        (seq, total, payload, datagram_length), in arrival order."""
        self.send(payload, request_id)
        got = []
        while True:
            r = self.recv()
            if r is None:
                break
            rid, seq, total, data, n = r
            if rid != request_id:
                continue  # a late reply to an earlier request
            got.append((seq, total, data, n))
            if len(got) == total:
                break
        return got
