"""-c on nicached's own TCP (DPDK path): with -c 4 the fifth connection is accepted
by TCP, gets memcached's `ERROR Too many open connections` and then the server's
FIN (EOF, not a reset); the four keep working, and once one closes a new one is
served.  run.sh starts the server with -p and -c 4 for this."""
import socket

import pytest

from tcputil import conn, curr_connections, first_difference, read_until_eof, wait_for

REFUSAL = b"ERROR Too many open connections\r\n"
TRIES = 30


def test_fifth_connection_refused_then_eof(lab):
    assert lab.tcp_port, "run.sh passes --tcp-port (the server's -p)"
    assert lab.max_conns == 4, "run.sh starts this check with -c 4"
    assert wait_for(lambda: curr_connections(lab) == 0, 5), "connections left from before"
    conns = []
    try:
        for i in range(4):
            c = conn(lab, timeout=5)
            assert c.cmd(b"version").startswith(b"VERSION "), "connection %d" % (i + 1)
            conns.append(c)
        for n in range(2):  # twice: a refusal leaves nothing behind
            extra = conn(lab, timeout=5)
            try:
                got = read_until_eof(extra.sock, 5)
            except socket.timeout as e:
                pytest.fail("connection 5 (try %d): no EOF within 5 s; got %r" % (n + 1, e.got))
            except ConnectionResetError as e:
                pytest.fail("connection 5 (try %d): reset (want the error line, then a FIN); "
                            "got %r first" % (n + 1, e.got))
            finally:
                extra.close()
            assert got == REFUSAL, "connection 5: " + first_difference(got, REFUSAL)
        for i, c in enumerate(conns):
            k = b"lim%d" % i
            assert c.set(k, b"v%d" % i) == b"STORED", "connection %d after the refusals" % i
            assert c.get(k) == b"v%d" % i
        assert curr_connections(lab) == 4
        conns.pop().close()
        assert wait_for(lambda: curr_connections(lab) == 3, 5), "the closed one still counts"
        with conn(lab, timeout=5) as c:
            assert c.cmd(b"version").startswith(b"VERSION "), "a new connection after a close"
    finally:
        for c in conns:
            c.close()


def test_refused_connection_that_already_sent_a_request(lab):
    """A client that sends its first request right after connecting (as memcached clients
    do) must still read the refusal line before the connection ends (a RST may follow it,
    as from memcached on a socket closed with the request unread, but not replace it)."""
    assert lab.max_conns == 4, "run.sh starts this check with -c 4"
    assert wait_for(lambda: curr_connections(lab) == 0, 5), "connections left from before"
    conns = []
    try:
        for i in range(4):
            c = conn(lab, timeout=5)
            assert c.cmd(b"version").startswith(b"VERSION "), "connection %d" % (i + 1)
            conns.append(c)
        outcomes = []
        for n in range(TRIES):
            extra = conn(lab, timeout=5)
            extra.sock.sendall(b"version\r\n")
            try:
                got = read_until_eof(extra.sock, 5)
                how = "EOF"
            except socket.timeout as e:
                got, how = e.got, "no EOF within 5 s"
            except ConnectionResetError as e:
                got, how = e.got, "RST"
            finally:
                extra.close()
            outcomes.append((got, how))
        bad = [(n + 1, got, how) for n, (got, how) in enumerate(outcomes)
               if got != REFUSAL or how == "no EOF within 5 s"]
        assert not bad, ("refused connections that had sent `version`: %d of %d did not get "
                         "the refusal line then the end; (try, bytes read, how it ended): %r" % (
                             len(bad), TRIES, bad[:5]))
    finally:
        for c in conns:
            c.close()
