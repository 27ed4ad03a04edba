"""What the integration scripts that start their own servers share (auth.py, cluster.py,
snapshot.py, metrics.py, operator.py, scripts/bench-snapshot.py).

free_ports()/free_port() pick loopback ports; request() and stats() speak memcached's text
protocol over one short TCP connection; Proc is one server process (nicached or memcached)
with its output in a log file, started, waited for and stopped by its own pid. A process
stopped with SIGTERM that does not exit with status 0 (a sanitizer's report, a crash) is
recorded in UNCLEAN, which the scripts report as a failure.
"""
import os
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"
# What Proc.stop() found: processes that did not exit 0 after SIGTERM, one text each.
UNCLEAN = []
# What the checks decorated with check() gave: True (passed) or False, in order.
RESULTS = []


def check(name):
    """Decorate a check fn(ctx): running it prints PASS name or FAIL name: why (an exception)
    and appends the outcome to RESULTS; a failure does not stop the next check."""
    def wrap(fn):
        def run(ctx):
            try:
                fn(ctx)
                print("PASS %s" % name, flush=True)
                RESULTS.append(True)
            except Exception as e:  # noqa: BLE001 -- report and go on with the next check
                print("FAIL %s: %s" % (name, e), flush=True)
                RESULTS.append(False)
        return run
    return wrap


def free_ports(n, host=HOST):
    """n distinct TCP ports on host that are free right now."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def free_port(host=HOST):
    """One TCP port on host that is free right now."""
    return free_ports(1, host)[0]


def request(port, line, end=b"\r\n", timeout=10.0, host=HOST):
    """Send one text command on a new connection; read until the reply ends with `end`
    (or the server closes). Raises AssertionError when no full reply came within timeout."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(line)
        got = b""
        deadline = time.monotonic() + timeout
        while not got.endswith(end):
            if time.monotonic() > deadline:
                raise AssertionError("no full reply to %r: %r" % (line, got))
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
        return got


def stats(port, group=b"", host=HOST, timeout=10.0):
    """`stats` (or `stats <group>`) as a dict of strings."""
    out = {}
    line = b"stats %s\r\n" % group if group else b"stats\r\n"
    for ln in request(port, line, b"END\r\n", timeout, host).split(b"\r\n"):
        parts = ln.split(b" ", 2)
        if len(parts) == 3 and parts[0] == b"STAT":
            out[parts[1].decode()] = parts[2].decode()
    return out


class Proc:
    """One server process started with argv `args`, its output in `logpath`.

    port: the TCP port it serves (what wait_up() probes); probe: "version" (up once it
    answers `version`) or "connect" (up once it accepts a connection: servers that want a
    login first). name: how UNCLEAN and errors call it.
    """

    def __init__(self, args, logpath, port, probe="version", name=None, env=None):
        self.args = list(args)
        self.port = port
        self.probe = probe
        self.name = name or "server %d" % port
        self.logpath = logpath
        self.log = open(logpath, "w+")
        self.code = None
        self.final_output = None
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)

    def answers(self, timeout=1.0):
        """Whether the server answers the probe now."""
        if self.probe == "connect":
            with socket.create_connection((HOST, self.port), timeout=timeout):
                return True
        return request(self.port, b"version\r\n", b"\r\n", timeout).startswith(b"VERSION")

    def wait_up(self, timeout=20.0):
        """True once it answers; False when it exited first (its status in .code).
        Raises AssertionError when it neither answered nor exited within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.code = self.proc.returncode
                return False
            try:
                if self.answers():
                    return True
            except (OSError, AssertionError):  # not listening yet, or no whole reply yet
                time.sleep(0.05)
        raise AssertionError("%s did not answer within %.0f s" % (self.name, timeout))

    def up(self, timeout=20.0):
        """wait_up(), raising AssertionError (with the log's end) when it exited. Returns self."""
        if not self.wait_up(timeout):
            raise AssertionError("%s exited with %d: %s" % (self.name, self.code,
                                                            self.output()[-600:]))
        return self

    def wait_exit(self, timeout=None):
        """Wait for an exit the caller expects (a refused start); its status, also in .code."""
        self.code = self.proc.wait(timeout)
        return self.code

    def kill(self):
        """SIGKILL, as a crash would; waits for it (.code -9)."""
        self.proc.kill()
        return self.wait_exit()

    def output(self):
        """Everything it wrote so far (also after stop())."""
        if self.final_output is not None:
            return self.final_output
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath) as f:
            return f.read()

    def wait_output(self, text, timeout=10.0):
        """The output once it holds `text` (a server may accept connections before its start-up
        lines reach its log: they are written as buffered output). Raises AssertionError with
        the output when `text` did not come within timeout."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                out = self.output()
                assert text in out, "%s: no %r in its output: %s" % (self.name, text, out)
                break
            time.sleep(0.05)
        return self.output()

    def stop(self, timeout=30.0):
        """SIGTERM, then SIGKILL after timeout; a status other than 0 goes to UNCLEAN.
        Idempotent."""
        if self.final_output is not None:
            return
        if self.proc.poll() is not None and self.proc.returncode != 0 and self.code is None:
            # Exited by itself before the stop, and nobody looked at why (wait_up() did not).
            UNCLEAN.append("%s had exited with %d before its stop: %s" % (
                self.name, self.proc.returncode, self.output()[-600:]))
        elif self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.returncode != 0:
                UNCLEAN.append("%s exited with %d after SIGTERM: %s" % (
                    self.name, self.proc.returncode, self.output()[-600:]))
        self.final_output = self.output()
        self.log.close()


def log_path(folder, stem, port):
    """The log file of a process on port under folder: <folder>/<stem>-<port>.log."""
    return os.path.join(folder, "%s-%d.log" % (stem, port))
