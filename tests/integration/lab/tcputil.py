"""Helpers of the lab's TCP tests (memcached over nicached's own TCP on the DPDK
path, Linux's TCP in the namespace on the other end)."""
import resource
import socket
import subprocess
import time

import mc
from labutil import parse_stats, stat_int, stats, stats_body, tcp_stats


def raise_nofile(want):
    """Make room for `want` descriptors in this process (the namespace's shell may
    have a low ulimit -n); returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new_hard = hard if hard == resource.RLIM_INFINITY or hard >= want else want
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, new_hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def first_difference(got, want):
    """A short description of how got differs from want (bytes)."""
    if got == want:
        return "equal"
    n = min(len(got), len(want))
    i = next((j for j in range(n) if got[j] != want[j]), n)
    return "length %d (want %d), first difference at byte %d: got %r want %r" % (
        len(got), len(want), i, got[i:i + 16], want[i:i + 16])


def read_until_eof(sock, timeout):
    """Everything the peer sends until its FIN; raises socket.timeout (stall) or
    ConnectionResetError (RST) with what came before in the exception's .got."""
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            d = sock.recv(1 << 16)
            if not d:
                return b"".join(chunks)
            chunks.append(d)
    except (socket.timeout, ConnectionResetError) as e:
        e.got = b"".join(chunks)
        raise


def socket_states(server, server_port):
    """{local port: state} of this namespace's TCP sockets to server:server_port,
    from `ss` (states as ss prints them: ESTAB, FIN-WAIT-2, TIME-WAIT, ...)."""
    out = subprocess.run(["ss", "-Htan", "dst", "%s:%d" % (server, server_port)],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    states = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4:
            states[int(f[3].rsplit(":", 1)[1])] = f[0]
    return states


def wait_for(cond, timeout, step=0.05):
    """Poll cond() until it is truthy or timeout passes; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def curr_connections(lab):
    """curr_connections from `stats` over UDP (no TCP connection of its own)."""
    return stat_int(stats(lab), "curr_connections")


def settled_connections(lab, timeout=5):
    """curr_connections once it holds still: connections closed by the client just before
    leave the count when the server has read their FIN, which may come a little later."""
    last, steady, end = curr_connections(lab), 0, time.monotonic() + timeout
    while steady < 4 and time.monotonic() < end:
        time.sleep(0.05)
        now = curr_connections(lab)
        steady = steady + 1 if now == last else 0
        last = now
    return last


def tcp_group(lab, over="tcp"):
    """`stats tcp` (nicached's TCP counters) over TCP (or over="udp": no connection
    of its own, for counting connections), or None when the server has no such group."""
    if over == "tcp":
        return tcp_stats(lab, b"tcp")
    body = stats_body(lab, b"tcp")
    if not body.endswith(b"END\r\n"):
        return None
    return parse_stats(body)


def conn(lab, timeout=mc.TIMEOUT):
    return mc.TextConn(lab.server, lab.tcp_port, timeout=timeout)


def linux_view(sock):
    """Linux's own view of a connection (`ss -tnoi` for its local port): state, rto,
    backoff, cwnd, retransmissions, lost, reordering...; for failure messages."""
    try:
        port = sock.getsockname()[1]
        out = subprocess.run(["ss", "-Htnoi", "src", ":%d" % port], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return "(ss: %r)" % e
    keep = ("rto:", "backoff:", "cwnd:", "unacked:", "retrans:", "lost:", "reordering:",
            "bytes_acked:", "bytes_retrans:", "snd_wnd:", "timer:")
    words = out.split()
    return " ".join(words[:1] + [w for w in words if w.startswith(keep)]) or "(no socket)"
