"""Two workers on a two-queue lab, over nicached's own TCP: connections land on
both workers' queues, keys written on connections of one worker are read on the
other's, and pipelines of ~1,000 commands over keys of both shards come back in
order (the owner of a key may be the other worker: the write is forwarded)."""
import random
import threading
import time

from labutil import stat_int, stats
from tcputil import conn, first_difference, tcp_group

N_CONNS = 200
N_PIPE_KEYS = 500
N_PIPE_CONNS = 8


def per_queue_conns(lab, st):
    return [int(st.get("q%d_tcp_conns" % i, -1)) for i in range(lab.threads)]


def test_connections_on_both_workers_and_cross_shard_values(lab):
    assert lab.threads == 2, "run.sh starts this check with -t 2"
    assert lab.tcp_port, "run.sh passes --tcp-port (the server's -p)"
    rng = random.Random(2)
    nic_before = stats(lab, b"nic")
    conns = [conn(lab) for _ in range(N_CONNS)]
    try:
        st = tcp_group(lab, over="udp")
        nic_open = stats(lab, b"nic")
        keys = [b"tw:%08x:%d" % (rng.getrandbits(32), i) for i in range(N_CONNS)]
        vals = [rng.randbytes(rng.randrange(10, 3000)) for _ in range(N_CONNS)]
        for c, k, v in zip(conns, keys, vals):
            assert c.set(k, v) == b"STORED"
        # each key read on another connection (so the other worker, for about half)
        for i, c in enumerate(conns):
            j = (i + N_CONNS // 2 + 1) % N_CONNS
            got = c.get(keys[j])
            assert got == vals[j], "connection %d reading key of connection %d: %s" % (
                i, j, first_difference(got or b"", vals[j]))
    finally:
        for c in conns:
            c.close()
    rx = [stat_int(nic_open, "q%d_rx_frames" % i) - stat_int(nic_before, "q%d_rx_frames" % i)
          for i in range(2)]
    print("while %d connections were open: stats nic q0/q1_rx_frames +%d/+%d" % (
        N_CONNS, rx[0], rx[1]))
    if st is None:
        # no `stats tcp`: per-queue receive counts are the only per-worker figure
        assert rx[0] >= N_CONNS // 8 and rx[1] >= N_CONNS // 8, (
            "connections did not spread over both queues (no `stats tcp`; rx frames per "
            "queue +%d/+%d)" % tuple(rx))
        print("NOTE: the server has no `stats tcp`; per-worker TCP connections not shown")
    else:
        q = per_queue_conns(lab, st)
        print("stats tcp with %d connections open: q0_tcp_conns=%d q1_tcp_conns=%d" % (
            N_CONNS, q[0], q[1]))
        assert -1 not in q, "stats tcp has no q0_tcp_conns/q1_tcp_conns: %r" % sorted(st)
        assert sum(q) >= N_CONNS, "stats tcp: %r connections for %d open" % (q, N_CONNS)
        assert q[0] > 0 and q[1] > 0, "every connection landed on one worker: %r" % q
        # each queue's own counters too, and they add up to the sums
        for name in ("passive_opens", "segs_in"):
            per = [int(st.get("q%d_%s" % (i, name), -1)) for i in (0, 1)]
            assert per[0] > 0 and per[1] > 0, "stats tcp q0/q1_%s: %r" % (name, per)
            assert sum(per) == int(st[name]), "q0_%s + q1_%s != %s" % (name, name, name)


def pipeline(lab, seed, errors, counts):
    """One connection pipelines sets and gets of N_PIPE_KEYS keys (both shards):
    set k; get k; later multi-gets and overwrites; checks every reply in order."""
    rng = random.Random(seed)
    keys = [b"pl%d:%08x:%d" % (seed, rng.getrandbits(32), i) for i in range(N_PIPE_KEYS)]
    model = {}
    req = []
    exp = []   # ("line", bytes) or ("get", [(key, value)])
    for i, k in enumerate(keys):
        v = rng.randbytes(rng.randrange(1, 200)).hex().encode()
        model[k] = v
        req.append(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
        exp.append(("line", b"STORED"))
        req.append(b"get %s\r\n" % k)
        exp.append(("get", [(k, v)]))
        if i % 50 == 49:
            some = rng.sample(keys[:i + 1], 10)
            req.append(b"get %s\r\n" % b" ".join(some))
            exp.append(("get", [(x, model[x]) for x in some]))
            j = rng.randrange(i + 1)
            nv = b"over%d" % i
            model[keys[j]] = nv
            req.append(b"set %s 0 0 %d\r\n%s\r\nget %s\r\n" % (keys[j], len(nv), nv, keys[j]))
            exp.append(("line", b"STORED"))
            exp.append(("get", [(keys[j], nv)]))
    req.append(b"get %s\r\n" % b" ".join(keys[:100]))
    exp.append(("get", [(x, model[x]) for x in keys[:100]]))
    counts.append(len(exp))
    try:
        with conn(lab, timeout=20) as c:
            sender = c.send_async(b"".join(req))
            for n, (kind, want) in enumerate(exp):
                if kind == "line":
                    got = c.readline()
                    if got != want:
                        errors.append("pipeline %d reply %d: %r, want %r" % (seed, n, got, want))
                        return
                    continue
                for k, v in want:
                    line = c.readline()
                    if line != b"VALUE %s 0 %d" % (k, len(v)):
                        errors.append("pipeline %d reply %d: %r, want VALUE %r" % (
                            seed, n, line, k))
                        return
                    data = c.read_exact(len(v) + 2)
                    if data != v + b"\r\n":
                        errors.append("pipeline %d reply %d: value of %r: %s" % (
                            seed, n, k, first_difference(data[:-2], v)))
                        return
                line = c.readline()
                if line != b"END":
                    errors.append("pipeline %d reply %d: %r, want END" % (seed, n, line))
                    return
            sender.join(20)
    except Exception as e:  # noqa: BLE001 - reported to the test
        errors.append("pipeline %d: %r" % (seed, e))


def test_cross_shard_pipelines_in_order(lab):
    assert lab.threads == 2
    before = stats(lab)
    errors, counts = [], []
    t0 = time.monotonic()
    # one connection alone first, then several together (so both workers forward)
    pipeline(lab, 1000, errors, counts)
    assert not errors, errors[0]
    threads = [threading.Thread(target=pipeline, args=(lab, 1001 + i, errors, counts))
               for i in range(N_PIPE_CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a pipeline is still running after 120 s"
    assert not errors, "%d pipelines failed, first: %s" % (len(errors), errors[0])
    after = stats(lab)
    fw = stat_int(after, "forwarded_writes") - stat_int(before, "forwarded_writes")
    ex = stat_int(after, "executed_for_others") - stat_int(before, "executed_for_others")
    print("%d pipelines of %s replies in order in %.2f s; forwarded_writes +%d, "
          "executed_for_others +%d" % (len(counts), counts[0], time.monotonic() - t0, fw, ex))
    assert fw > 0, "no write was forwarded to the other shard's owner"
