"""The normal client: while a scenario runs, one well-behaved memcached client keeps
doing small requests and timing them, so a scenario's cost to everyone else is a
latency and error figure next to a quiet baseline.

Every PERIOD seconds it does one operation, in turn:
  - a set then a get of its own key on a connection it keeps (the value checked);
  - every CONNECT_EVERY-th operation instead a fresh connection: connect, get, close
    (the time includes the handshake, so a flood that slows opens shows here).
An operation that fails (timeout, reset, refused, a wrong reply) is an error; the kept
connection is then reopened."""
import math
import os
import socket
import threading
import time

PERIOD = 0.01
CONNECT_EVERY = 5
OP_TIMEOUT = 3.0


class Probe(threading.Thread):
    def __init__(self, addr):
        super().__init__(daemon=True)
        self.addr = addr
        self.samples = []  # (monotonic start, seconds or None, error or None)
        self._halt = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._conn = None
        self._n = 0
        self._key = b"probe:" + os.urandom(4).hex().encode()

    def _open(self):
        s = socket.create_connection(self.addr, timeout=OP_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    @staticmethod
    def _ask(s, req, want_end):
        s.sendall(req)
        buf = b""
        while not buf.endswith(want_end):
            d = s.recv(4096)
            if not d:
                raise ConnectionError("closed by the server")
            buf += d
        return buf

    def _once(self):
        self._n += 1
        value = b"%08d" % self._n
        if self._n % CONNECT_EVERY == 0:
            s = self._open()
            try:
                r = self._ask(s, b"get " + self._key + b"\r\n", b"END\r\n")
            finally:
                s.close()
            if b"VALUE " + self._key not in r and self._n > CONNECT_EVERY:
                raise ValueError("fresh connection: the key is missing: %r" % r[:60])
            return
        if self._conn is None:
            self._conn = self._open()
        r = self._ask(self._conn, b"set %s 0 0 8\r\n%s\r\n" % (self._key, value), b"\r\n")
        if r != b"STORED\r\n":
            raise ValueError("set: %r" % r[:60])
        r = self._ask(self._conn, b"get " + self._key + b"\r\n", b"END\r\n")
        want = b"VALUE %s 0 8\r\n%s\r\nEND\r\n" % (self._key, value)
        if r != want:
            raise ValueError("get: %r" % r[:60])

    def run(self):
        while not self._halt.is_set():
            if not self._running.is_set():
                self._running.wait(0.1)
                continue
            t0 = time.monotonic()
            try:
                self._once()
                self.samples.append((t0, time.monotonic() - t0, None))
            except (OSError, ValueError) as e:
                self.samples.append((t0, None, "%s: %s" % (type(e).__name__, e)))
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            left = PERIOD - (time.monotonic() - t0)
            if left > 0:
                self._halt.wait(left)
        if self._conn is not None:
            self._conn.close()

    def pause(self):
        """No more operations until resume() (an idle-cost measurement wants silence);
        the one under way finishes."""
        self._running.clear()
        time.sleep(OP_TIMEOUT / 10)

    def resume(self):
        self._running.set()

    def stop(self):
        self._halt.set()
        self.join(OP_TIMEOUT * 3)

    def mark(self):
        """A point in time for window()."""
        return time.monotonic()

    def window(self, since, until=None):
        """The operations started in [since, until): {"ops", "errors", "p50_ms", "p99_ms",
        "max_ms", "first_error"}."""
        until = until or float("inf")
        got = [s for s in list(self.samples) if since <= s[0] < until]
        lat = sorted(s[1] for s in got if s[1] is not None)
        errs = [s[2] for s in got if s[2] is not None]

        def pct(p):  # nearest rank
            if not lat:
                return None
            return round(1000 * lat[max(0, math.ceil(p * len(lat)) - 1)], 2)

        return {"ops": len(got), "errors": len(errs), "p50_ms": pct(0.50),
                "p99_ms": pct(0.99), "max_ms": round(1000 * lat[-1], 2) if lat else None,
                "first_error": errs[0] if errs else None}
