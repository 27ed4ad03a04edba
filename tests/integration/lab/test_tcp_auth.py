"""Authentication on the DPDK TCP path (run.sh's tcp-auth: -S -Y with the lab's auth file of
alice:secret and bob:hunter2): real clients from the namespace log in (pylibmc's SASL PLAIN,
libmemcached's memccp/memccat, pymemcache's text token), unauthenticated requests get
memcached's replies and change nothing, a bounded brute force leaves another client served,
and auth_cmds / auth_errors count every attempt."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from auth import Conn, text_stats  # noqa: E402  (tests/integration/auth.py)

USERS = (("alice", "secret"), ("bob", "hunter2"))


def stats_of(lab):
    return text_stats(lab.tcp_port, "alice", "secret", host=lab.server)


def test_clients_log_in(lab):
    import pylibmc
    from pymemcache.client.base import Client
    assert lab.tcp_port, "run.sh passes --tcp-port"
    base = stats_of(lab)
    addr = "%s:%d" % (lab.server, lab.tcp_port)
    c = pylibmc.Client([addr], binary=True, username="bob", password="hunter2")
    for i in range(300):
        assert c.set("la%d" % i, "v%d" % i)
    assert all(c.get("la%d" % i) in ("v%d" % i, b"v%d" % i) for i in range(300))
    bad = pylibmc.Client([addr], binary=True, username="bob", password="wrong")
    try:
        bad.set("evil", "x")
        raise AssertionError("a wrong password stored")
    except pylibmc.Error as e:
        assert "AUTHENTICATION FAILURE" in str(e), e
    pm = Client((lab.server, lab.tcp_port), timeout=5, default_noreply=False)
    assert pm.set("token", b"alice secret") is True
    assert pm.get("la7") == b"v7"
    r = subprocess.run(["memccat", "--servers=" + addr, "--binary", "--username=alice",
                        "--password=secret", "la9"], capture_output=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith(b"v9"), r
    r = subprocess.run(["memccat", "--servers=" + addr, "--binary", "--username=alice",
                        "--password=nope", "la9"], capture_output=True, timeout=20)
    assert r.returncode != 0 and not r.stdout.startswith(b"v9"), r
    st = stats_of(lab)
    # pylibmc 2 (one wrong), pymemcache 1, memccat 2 (one wrong), stats_of's own login 1
    assert int(st["auth_cmds"]) - int(base["auth_cmds"]) == 6, (base, st)
    assert int(st["auth_errors"]) - int(base["auth_errors"]) == 2, (base, st)


def test_unauthenticated_requests(lab):
    t = Conn(lab.tcp_port, host=lab.server)
    for cmd in (b"get la1\r\n", b"mg la1 v\r\n", b"delete la1\r\n", b"flush_all\r\n"):
        t.send(cmd)
        assert t.line() == b"CLIENT_ERROR unauthenticated\r\n", cmd
    assert t.login_text("alice", "wrong") == b"CLIENT_ERROR authentication failure\r\n"
    assert t.login_text("alice", "secret") == b"STORED\r\n"
    t.send(b"get la1\r\n")
    got = t.until(b"END\r\n")  # (pylibmc's flags)
    assert got.startswith(b"VALUE la1 ") and got.endswith(b" 2\r\nv1\r\nEND\r\n"), got
    t.close()
    b = Conn(lab.tcp_port, host=lab.server)
    b.breq(0x01, b"la1", b"changed", b"\0" * 8)
    r = b.bres()
    assert (r["status"], r["body"]) == (0x20, b"Auth failure."), r
    assert b.closed()
    b.close()
    b = Conn(lab.tcp_port, host=lab.server)
    b.breq(0x20)
    assert b.bres()["body"] == b"PLAIN"
    r = b.login_sasl("alice", "secret")
    assert (r["status"], r["body"]) == (0, b"Authenticated"), r
    b.breq(0x00, b"la1")
    r = b.bres()
    assert (r["status"], r["body"]) == (0, b"v1"), r  # the set before login changed nothing
    b.close()


def test_brute_force_while_serving(lab):
    base = stats_of(lab)
    served = {"n": 0, "err": None}
    stop = threading.Event()

    def client():
        try:
            c = Conn(lab.tcp_port, host=lab.server, timeout=5)
            assert c.login_text("bob", "hunter2") == b"STORED\r\n"
            i = 0
            while not stop.is_set() and i < 100000:
                c.send(b"get la%d\r\n" % (i % 300))
                assert c.until(b"END\r\n").startswith(b"VALUE la%d " % (i % 300))
                served["n"] += 1
                i += 1
            c.close()
        except Exception as e:  # noqa: BLE001 - checked below
            served["err"] = e

    th = threading.Thread(target=client)
    th.start()
    marks = []
    t0 = time.monotonic()
    try:
        a = Conn(lab.tcp_port, host=lab.server)
        for i in range(2000):
            assert a.login_text("alice", "g%d" % i) == \
                b"CLIENT_ERROR authentication failure\r\n"
            if i % 400 == 0:
                marks.append(served["n"])
        a.close()
        marks.append(served["n"])
    finally:
        stop.set()
        th.join(30)
    assert served["err"] is None, served["err"]
    assert all(y > x for x, y in zip(marks, marks[1:])), marks
    st = stats_of(lab)
    assert int(st["auth_errors"]) - int(base["auth_errors"]) == 2000
    print("tcp-auth: 2000 wrong tokens in %.2f s over the DPDK TCP path; the other client "
          "got %d answers meanwhile" % (time.monotonic() - t0, served["n"]))
