"""memcached over nicached's own TCP on the DPDK path, from Linux in the lab's
namespace: values of a megabyte in both directions, a thousand connections open
together, both close orders (client first; server first on `quit`) and a
client's half-close.  run.sh starts the server with -p and -c 2048 for these."""
import random
import socket
import time

import pytest

import mc
from tcputil import (conn, curr_connections, first_difference, raise_nofile, read_until_eof,
                     settled_connections, socket_states, tcp_group, wait_for)

MB_VALUE = 1048000
N_CONNS = 1000


def key(name, rng):
    return b"%s:%08x" % (name.encode(), rng.getrandbits(32))


@pytest.fixture(autouse=True)
def tcp_port(lab):
    assert lab.tcp_port, "run.sh passes --tcp-port (the server's -p)"


def test_megabyte_values_both_ways(lab):
    """1,048,000 bytes set and got back byte-exact; then the largest value that fits
    under -I (found by bisection: each probe sends the whole value) the same way, over
    text and binary, on the same and on a fresh connection."""
    rng = random.Random(1048000)
    with conn(lab, timeout=30) as c:
        k = key("mb", rng)
        v = rng.randbytes(MB_VALUE)
        t0 = time.monotonic()
        assert c.set(k, v) == b"STORED", "a %d-byte value was not stored" % MB_VALUE
        got = c.get(k)
        dt = time.monotonic() - t0
        assert got == v, "1 MB value read back wrong: " + first_difference(got or b"", v)
        print("1,048,000 bytes set and got in %.3f s" % dt)

        # the largest value that fits: lo fits, hi does not
        lo, hi = MB_VALUE, lab.item_max
        probe_k = key("probe", rng)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            r = c.set(probe_k, b"p" * mid)
            if r == b"STORED":
                lo = mid
            else:
                assert r == b"SERVER_ERROR object too large for cache", (mid, r)
                hi = mid
        largest = lo
        print("largest value that fits under -I %d with a %d-byte key: %d bytes" % (
            lab.item_max, len(probe_k), largest))
        k2 = key("large", rng)   # as long as probe_k: the same room for the value
        v2 = rng.randbytes(largest)
        assert c.set(k2, v2) == b"STORED"
        got = c.get(k2)
        assert got == v2, "largest value read back wrong: " + first_difference(got or b"", v2)
        # the previous big value is still intact after all that traffic
        got = c.get(k)
        assert got == v, "1 MB value read back wrong later: " + first_difference(got or b"", v)
    # Requests were parsed in the segments they arrived in (lent, not copied), and the
    # megabyte values beyond the lending bound were copied: both paths gave exact bytes.
    st = tcp_group(lab)
    assert st is not None and int(st["lent_segs"]) > 0, "stats tcp: no segment lent: %r" % st

    with mc.BinConn(lab.server, lab.tcp_port, timeout=30) as b:
        r = b.call(mc.OP_GET, key=k2, opaque=5)
        assert r.status == mc.ST_OK and r.opaque == 5, r
        assert r.value == v2, "binary get: " + first_difference(r.value, v2)
        v3 = rng.randbytes(MB_VALUE)
        r = b.call(mc.OP_SET, key=k2, value=v3, extras=b"\0\0\0\7\0\0\0\0", opaque=6)
        assert r.status == mc.ST_OK and r.opaque == 6, r
    with conn(lab, timeout=30) as c:
        hit = c.get_many([k2])
        assert k2 in hit and hit[k2][0] == 7, "binary set not seen over text"
        assert hit[k2][1] == v3, "binary set, text get: " + first_difference(hit[k2][1], v3)


def test_megabyte_values_pipelined_both_directions_at_once(lab):
    """Sets of 1 MB values and gets of them pipelined on one connection, written by a
    thread while the replies are read: megabytes flow both ways at the same time."""
    rng = random.Random(77)
    items = [(key("pipe", rng), rng.randbytes(rng.randrange(MB_VALUE - 200000, MB_VALUE + 1)))
             for _ in range(6)]
    req = b"".join(b"set %s 0 0 %d\r\n%s\r\nget %s\r\n" % (k, len(v), v, k) for k, v in items)
    with conn(lab, timeout=30) as c:
        t0 = time.monotonic()
        sender = c.send_async(req)
        for i, (k, v) in enumerate(items):
            assert c.readline() == b"STORED", "reply %d" % (2 * i)
            head = c.readline()
            assert head == b"VALUE %s 0 %d" % (k, len(v)), "reply %d: %r" % (2 * i + 1, head)
            got = c.read_exact(len(v) + 2)
            assert got[-2:] == b"\r\n" and got[:-2] == v, "value %d: %s" % (
                i, first_difference(got[:-2], v))
            assert c.readline() == b"END"
        sender.join(30)
        assert not sender.is_alive(), "the sender is still blocked after every reply came"
        print("%d MB pipelined both ways in %.3f s" % (
            sum(len(v) for _, v in items) * 2 // 1000000, time.monotonic() - t0))
        assert c.cmd(b"version").startswith(b"VERSION ")


def test_thousand_connections_open_together(lab):
    """1,000 connections from the namespace, all open at the same time, each with its
    own set and get; then closed by the client: the server closes each in turn (no
    socket of ours is left waiting for its FIN) and curr_connections comes back."""
    assert lab.max_conns >= N_CONNS + 16, "run.sh starts this check with -c 2048"
    limit = raise_nofile(N_CONNS + 256)
    assert limit >= N_CONNS + 64, "ulimit -n is %d" % limit
    rng = random.Random(1000)
    before = settled_connections(lab)
    tcp_before = tcp_group(lab, over="udp")
    conns = []
    try:
        t0 = time.monotonic()
        for i in range(N_CONNS):
            try:
                conns.append(conn(lab))
            except OSError as e:
                pytest.fail("connection %d of %d failed: %r" % (i + 1, N_CONNS, e))
        t_open = time.monotonic() - t0
        keys = [key("c%d" % i, rng) for i in range(N_CONNS)]
        vals = [b"%d-%s" % (i, rng.randbytes(16).hex().encode()) for i in range(N_CONNS)]
        for c, k, v in zip(conns, keys, vals):
            c.send(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
        for i, c in enumerate(conns):
            assert c.readline() == b"STORED", "connection %d" % i
        # read each value back on another connection (keys of other connections)
        for i, c in enumerate(conns):
            c.send(b"get %s\r\n" % keys[(i + 1) % N_CONNS])
        for i, c in enumerate(conns):
            j = (i + 1) % N_CONNS
            line = c.readline()
            assert line == b"VALUE %s 0 %d" % (keys[j], len(vals[j])), "connection %d: %r" % (
                i, line)
            assert c.read_exact(len(vals[j]) + 2) == vals[j] + b"\r\n"
            assert c.readline() == b"END"
        now = curr_connections(lab)
        assert now == before + N_CONNS, "curr_connections %d with %d open (was %d)" % (
            now, N_CONNS, before)
        if tcp_before is not None:
            st = tcp_group(lab, over="udp")
            assert int(st["tcp_conns"]) >= N_CONNS, "stats tcp: tcp_conns %s" % st["tcp_conns"]
        # every one still answers after all were opened
        for i, c in enumerate(conns):
            c.send(b"version\r\n")
        for i, c in enumerate(conns):
            assert c.readline().startswith(b"VERSION "), "connection %d" % i
        print("%d connections opened in %.2f s; all served" % (N_CONNS, t_open))
    finally:
        ports = []
        for c in conns:
            try:
                ports.append(c.sock.getsockname()[1])
            except OSError:
                pass
            c.close()
    assert wait_for(lambda: curr_connections(lab) == before, 10), (
        "curr_connections %d 10 s after closing %d connections (want %d)" % (
            curr_connections(lab), N_CONNS, before))
    ports = set(ports)

    def lingering():
        st = socket_states(lab.server, lab.tcp_port)
        return {p: s for p, s in st.items() if p in ports and s != "TIME-WAIT"}

    left = {} if wait_for(lambda: not lingering(), 10) else lingering()
    assert not left, (
        "10 s after the client closed, %d of our sockets are not in TIME-WAIT (the server "
        "did not answer our FIN with its own): %r" % (len(left), dict(list(left.items())[:10])))


def test_client_closes_first(lab):
    """Normal close: our FIN first; the server answers with its FIN, so our socket
    reaches TIME-WAIT (not stuck in FIN-WAIT-2), and the server forgets the connection."""
    before = settled_connections(lab)
    c = conn(lab)
    k = b"ccf:%d" % random.randrange(1 << 30)
    assert c.set(k, b"x" * 5000) == b"STORED"
    assert c.get(k) == b"x" * 5000
    port = c.sock.getsockname()[1]
    c.close()
    state = wait_for(lambda: socket_states(lab.server, lab.tcp_port).get(port) == "TIME-WAIT", 5)
    assert state, "our socket is %s 5 s after our close (want TIME-WAIT)" % (
        socket_states(lab.server, lab.tcp_port).get(port, "gone"))
    assert wait_for(lambda: curr_connections(lab) == before, 5), "curr_connections %d, want %d" % (
        curr_connections(lab), before)


@pytest.mark.parametrize("size", [5, 1000000])
def test_server_closes_first_on_quit(lab, size):
    """`quit` after a pipelined set and get: the whole reply, then the server's FIN
    (EOF, not a reset); our close is then acknowledged (the socket goes away, not
    left in LAST-ACK)."""
    rng = random.Random(size)
    k = key("quit", rng)
    v = rng.randbytes(size)
    before = settled_connections(lab)
    c = conn(lab, timeout=30)
    c.send(b"set %s 0 0 %d\r\n%s\r\nget %s\r\nquit\r\n" % (k, len(v), v, k))
    want = b"STORED\r\nVALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v)
    try:
        got = read_until_eof(c.sock, 30)
    except socket.timeout as e:
        pytest.fail("no EOF 30 s after quit; got %d bytes: %s" % (
            len(e.got), first_difference(e.got, want)))
    except ConnectionResetError as e:
        pytest.fail("reset after quit (want a FIN); got %d bytes first: %s" % (
            len(e.got), first_difference(e.got, want)))
    assert got == want, "reply before EOF: " + first_difference(got, want)
    port = c.sock.getsockname()[1]
    assert socket_states(lab.server, lab.tcp_port).get(port) == "CLOSE-WAIT"
    c.close()
    gone = wait_for(lambda: port not in socket_states(lab.server, lab.tcp_port), 5)
    assert gone, "our socket is %s 5 s after we closed it (the server did not ACK our FIN)" % (
        socket_states(lab.server, lab.tcp_port).get(port))
    assert wait_for(lambda: curr_connections(lab) == before, 5)
    with conn(lab) as c2:
        assert c2.get(k) == v


@pytest.mark.parametrize("size", [5, 1000000])
def test_half_close_reply_then_eof(lab, size):
    """`get k`, then shutdown(SHUT_WR): the whole reply still comes, then EOF; and the
    close completes (our socket reaches TIME-WAIT: the server's FIN came after its data)."""
    rng = random.Random(size + 1)
    k = key("half", rng)
    v = rng.randbytes(size)
    with conn(lab, timeout=30) as c:
        assert c.set(k, v) == b"STORED"
    c = conn(lab, timeout=30)
    c.send(b"get %s\r\n" % k)
    c.sock.shutdown(socket.SHUT_WR)
    want = b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v)
    try:
        got = read_until_eof(c.sock, 30)
    except socket.timeout as e:
        pytest.fail("after our half-close: no EOF within 30 s; got %d of %d bytes: %s" % (
            len(e.got), len(want), first_difference(e.got, want)))
    except ConnectionResetError as e:
        pytest.fail("after our half-close: reset; got %d of %d bytes first: %s" % (
            len(e.got), len(want), first_difference(e.got, want)))
    assert got == want, "reply to a get sent before our FIN: " + first_difference(got, want)
    port = c.sock.getsockname()[1]
    c.close()
    st = wait_for(lambda: socket_states(lab.server, lab.tcp_port).get(port) in (
        "TIME-WAIT", None), 5)
    assert st, "our socket is %s after the exchange" % (
        socket_states(lab.server, lab.tcp_port).get(port))
