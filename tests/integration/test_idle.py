"""--idle-timeout (memcached -o idle_timeout=N): a connection that sends no request for longer
than N seconds is closed and counted (idle_kicks), one that keeps sending is not, and one that
stalls in the middle of a request line is closed too. run.sh check pytest-idle starts the
server with -o idle_timeout=2 (memcached takes the same flag)."""
import socket
import time

import pytest

from mc import TextConn

pytestmark = pytest.mark.idle

TIMEOUT_S = 2


def closed_within(sock, seconds):
    """True when the server closes sock (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def stat(c, name):
    return int(c.stats()[name])


def test_idle_connections_closed_busy_kept(server):
    with TextConn(server.host, server.port) as ctl:
        kicks0 = stat(ctl, "idle_kicks")
    idle = socket.create_connection((server.host, server.port))
    stalled = socket.create_connection((server.host, server.port))
    stalled.sendall(b"get half-a-li")          # a request line that never ends
    busy = TextConn(server.host, server.port)
    t0 = time.monotonic()
    # The busy one sends a request every half second for longer than two timeouts.
    while time.monotonic() - t0 < 2 * TIMEOUT_S + 1.5:
        assert busy.cmd(b"version").startswith(b"VERSION "), "busy connection lost"
        time.sleep(0.5)
    # Idle for 2 * timeout + 1.5 s by now: both must be gone (checked once a second).
    assert closed_within(idle, 1.5), "an idle connection outlived the idle timeout"
    assert closed_within(stalled, 1.5), "a stalled request line outlived the idle timeout"
    assert busy.cmd(b"version").startswith(b"VERSION ")
    assert stat(busy, "idle_kicks") - kicks0 >= 2
    busy.close()
    idle.close()
    stalled.close()


def test_not_kicked_before_timeout(server):
    c = socket.create_connection((server.host, server.port))
    assert not closed_within(c, TIMEOUT_S - 0.8), "closed before the idle timeout"
    c.sendall(b"version\r\n")
    c.settimeout(2)
    assert c.recv(100).startswith(b"VERSION ")
    c.close()


def test_value_in_progress_not_kicked(server):
    """A connection in the middle of a value is not idle (memcached passes over connections
    reading a value): the rest may come after the timeout and is stored."""
    c = socket.create_connection((server.host, server.port))
    c.sendall(b"set idle-slow-value 0 0 20\r\n0123456789")
    assert not closed_within(c, 2 * TIMEOUT_S + 1.5), "kicked while a value was arriving"
    c.sendall(b"abcdefghij\r\n")
    c.settimeout(2)
    assert c.recv(100) == b"STORED\r\n"
    c.close()
