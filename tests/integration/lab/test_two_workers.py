"""Two workers on a two-queue lab: UDP flows from many source ports spread over
both queues, and keys written and read across shards from different flows."""
import os

from labutil import reply, stat_int, stats
from mc import Udp

N_KEYS = 2000
N_SOCKETS = 64


def test_flows_spread_and_cross_shard_values(lab):
    assert lab.threads == 2, "run.sh starts this check with -t 2"
    before = stats(lab)
    prefix = b"tw:" + os.urandom(4).hex().encode() + b":"
    keys = [prefix + b"%d" % i for i in range(N_KEYS)]
    values = {k: os.urandom(8).hex().encode() + k for k in keys}
    writers = [Udp(lab.server, lab.udp_port) for _ in range(N_SOCKETS)]
    readers = [Udp(lab.server, lab.udp_port) for _ in range(N_SOCKETS)]
    try:
        for i, k in enumerate(keys):
            v = values[k]
            body, _ = reply(writers[i % N_SOCKETS], b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v),
                            i & 0xFFFF)
            assert body == b"STORED\r\n", (k, body)
        wrong = []
        for j in range(0, N_KEYS, 10):
            batch = keys[j:j + 10]
            body, _ = reply(readers[(j // 10) % N_SOCKETS], b"get " + b" ".join(batch) + b"\r\n",
                            j & 0xFFFF)
            want = b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (k, len(values[k]), values[k])
                            for k in batch) + b"END\r\n"
            if body != want:
                wrong.append((batch[0], body[:120]))
        assert not wrong, "%d multi-gets came back wrong, first: %r" % (len(wrong), wrong[0])
    finally:
        for u in writers + readers:
            u.close()
    nic = stats(lab, b"nic")
    q = [stat_int(nic, "q%d_udp_delivered" % i) for i in range(2)]
    assert q[0] > 0 and q[1] > 0, (
        "flows did not spread over both queues: q0_udp_delivered=%d q1_udp_delivered=%d "
        "(the driver/interface steers every flow to one queue)" % (q[0], q[1]))
    after = stats(lab)
    fw = stat_int(after, "forwarded_writes") - stat_int(before, "forwarded_writes")
    assert fw > 0, "no write was forwarded to the other shard's owner"
    print("queues: q0_udp_delivered=%d q1_udp_delivered=%d, forwarded_writes +%d" % (
        q[0], q[1], fw))
