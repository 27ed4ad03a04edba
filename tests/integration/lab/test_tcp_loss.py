"""nicached's own TCP under loss: run.sh starts the server with a seeded fault hook
in its packet path (--fault: frames dropped, held back behind the next one and
duplicated, in both directions).  Linux in the namespace writes 50 MB of values
(100 KB to 1 MB of seeded random bytes) and reads every one back byte-exact; then
the server's TCP counters must show that it recovered by retransmitting."""
import hashlib
import os
import random
import socket
import threading
import time

import pytest

from labutil import stat_int, tcp_stats
from tcputil import conn, first_difference, linux_view, tcp_group

TOTAL = 50 * 1000 * 1000
N_CONNS = 4
DEADLINE_S = float(os.environ.get("NC_LOSS_DEADLINE", "240"))
SOCK_TIMEOUT = 60


def values():
    rng = random.Random(7)
    out, total, i = [], 0, 0
    while total < TOTAL:
        size = rng.randrange(100 * 1000, 1000 * 1000 + 1)
        out.append((b"loss:%d:%d" % (i, size), rng.randbytes(size)))
        total += size
        i += 1
    return out


def worker(lab, items, errors, progress, phase, deadline):
    try:
        c = conn(lab, timeout=SOCK_TIMEOUT)
    except OSError as e:
        errors.append("%s: connect: %r" % (phase, e))
        return
    try:
        for k, v in items:
            if time.monotonic() > deadline:
                errors.append("%s: past the deadline" % phase)
                return
            t0 = time.monotonic()
            if phase == "set":
                r = c.set(k, v)
                if r != b"STORED":
                    errors.append("set %r (%d bytes): %r" % (k, len(v), r))
                    return
            else:
                got = c.get(k)
                if got != v:
                    errors.append("get %r: %s (sha256 %s, want %s)" % (
                        k, first_difference(got or b"", v),
                        hashlib.sha256(got or b"").hexdigest()[:16],
                        hashlib.sha256(v).hexdigest()[:16]))
                    return
            progress.append((phase, len(v), time.monotonic() - t0))
    except socket.timeout:
        errors.append("%s of %r: stalled %d s (%d values, %.1f MB done by all connections; "
                      "%d reply bytes buffered); Linux's view of this connection: %s" % (
                          phase, k, SOCK_TIMEOUT, len(progress),
                          sum(p[1] for p in progress) / 1e6, len(c.buf), linux_view(c.sock)))
    except (ConnectionError, OSError) as e:
        errors.append("%s of %r: %r" % (phase, k, e))
    finally:
        c.close()


def run_phase(lab, items, phase, deadline):
    errors, progress = [], []
    shards = [items[i::N_CONNS] for i in range(N_CONNS)]
    if phase == "get":   # read on other connections than the ones that wrote
        shards = shards[1:] + shards[:1]
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(lab, s, errors, progress, phase, deadline))
               for s in shards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + SOCK_TIMEOUT + 5))
    dt = time.monotonic() - t0
    nbytes = sum(p[1] for p in progress)
    slowest = max((p[2] for p in progress), default=0)
    print("%s: %d values, %.1f MB in %.1f s (%.2f MB/s), slowest value %.2f s" % (
        phase, len(progress), nbytes / 1e6, dt, nbytes / 1e6 / max(dt, 1e-9), slowest))
    assert not any(t.is_alive() for t in threads), "%s: a connection is still busy" % phase
    return errors, len(progress)


def test_fifty_megabytes_through_loss(lab):
    assert lab.tcp_port, "run.sh passes --tcp-port (the server's -p)"
    items = values()
    print("%d values, %d bytes" % (len(items), sum(len(v) for _, v in items)))
    # Over TCP: the fault hook drops UDP datagrams too, and a stats reply spans several.
    nic0 = tcp_stats(lab, b"nic")
    deadline = time.monotonic() + DEADLINE_S
    errors, n = run_phase(lab, items, "set", deadline)
    assert not errors, "writing: %d errors, first: %s" % (len(errors), errors[0])
    assert n == len(items)
    errors, n = run_phase(lab, items, "get", deadline)
    assert not errors, "reading back: %d errors, first: %s" % (len(errors), errors[0])
    assert n == len(items)

    nic = tcp_stats(lab, b"nic")
    faults = {f: stat_int(nic, f) - stat_int(nic0, f)
              for f in ("fault_dropped", "fault_reordered", "fault_duplicated")}
    print("faults during the run: %r" % faults)
    assert faults["fault_dropped"] > 0 and faults["fault_reordered"] > 0, (
        "the fault hook did not act: %r (was --fault given?)" % faults)
    st = tcp_group(lab)
    if st is None:
        pytest.fail("the server has no `stats tcp`: its retransmission counters cannot be "
                    "read (the transfer itself was byte-exact)")
    keep = ("retrans_segs", "fast_retrans", "timeouts", "dup_acks", "dup_segs", "ooo_segs",
            "ooo_dropped", "aborts_timeout", "resets_in", "resets_out", "segs_in", "segs_out",
            "no_mbuf", "bad_segs", "window_full_drops")
    print("stats tcp: " + ", ".join("%s %s" % (k, st.get(k, "?")) for k in keep))
    assert int(st["retrans_segs"]) > 0, "retrans_segs 0 after %d drops" % faults["fault_dropped"]
    assert int(st["timeouts"]) + int(st["fast_retrans"]) > 0, (
        "neither timeouts nor fast_retrans moved")
    assert int(st["aborts_timeout"]) == 0, "connections were aborted after the retry limit"
