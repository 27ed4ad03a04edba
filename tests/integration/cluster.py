#!/usr/bin/env python3
"""Three nicached nodes on loopback as one static cluster (socket backend).

    tests/integration/cluster.py --server build/app/nicached/nicached [--ring-dump PATH]

Each node is started with --peers naming all three (127.0.0.1:P1,P2,P3) and --advertise its
own name. Checks:
  discovery     `config get cluster` on every node: ElastiCache's format (CONFIG cluster 0 <n>,
                n bytes of a version line and host|ip|port members in --peers order, END),
                the same answer from every node.
  stats         `stats cluster`: membership static, three members with their ketama points,
                this node's name and state self, the others up (their links), nothing queued.
  ketama        pylibmc with ketama_weighted (libmemcached's ketama) over the three writes
                10,000 keys and reads every one back; every node holds a share, and for every
                key the node holding it is the one the servers' ring (ring_dump, the same
                lib/cluster code) names as primary; no node counts a remote key
                (cluster_remote_keys) for the client's requests, and each counts exactly
                the keys of the others it is then asked for.
  replicas      three more nodes with --replicas 2 (two workers each): pylibmc ketama writes
                10,000 keys (half with a TTL), deletes, appends to, increments and touches
                some; the
                key's primary and its replica (ring_dump -r 2) answer the same value, flags
                and CAS, deleted keys neither; node 0 killed with SIGKILL, a client without
                it reads every key from the copies; later writes for the dead member count
                link failures; node 0 restarted empty is resynced by the others: it holds its
                keys and the copies it is the replica of again, with the same CAS.
  bad-peer      a node with --replicas 2 whose other member is a fake that answers garbage
                to the replication link and then drops it with data unread: the node keeps
                serving every write, counts failure replies and link failures, reconnects.
  disagree      two nodes with --replicas 2 whose member lists differ (one names a third):
                each client write is shipped once at most, and nothing after (a shipped
                command is not shipped on, or keys both think they own would bounce).
  quorum        three nodes with --replicas 2 --replication quorum: pylibmc ketama writes
                100,000 keys (--quorum-keys), every one acknowledged, primary and replica
                equal; node 0 killed with SIGKILL: a client without it reads every one; writes
                whose replica was node 0 answer "SERVER_ERROR replication quorum not reached"
                (text and meta) and leave the key readable on no live copy, the others are
                stored; the failures are counted.
  quorum-timeout  a replica that takes the link and never answers: each write fails after
                --replication-timeout (300 ms), is not readable afterwards, and is counted;
                a write proxied to it as the key's primary fails then too (and closes the
                proxy link).
  quorum-undo   a replica stopped (SIGSTOP) past the deadline: the write is refused, gone
                from the primary, and once the replica resumes it applies the write and then
                its undo, so no copy keeps it; an mg N hit does not wait.
  quorum-cross  two nodes in quorum: 8 connections write keys through the node that is not
                their primary, both ways at once (proxied writes wait for a quorum whose
                acknowledgements travel the other way): all 2,400 stored, no failure.
  compression   two nodes with --replicas 2, one storing values compressed (-o compression=lzf)
                and one not: JSON documents (some below the minimum), appends and an incr on
                a padded number, written to either node, read back byte-exact from both;
                replication carries the clients' bytes, each node compresses by its own
                settings (compressed_items on one node only).
  bad-input     a member list naming a node twice, --advertise not among --peers, --peers
                without --advertise: the server refuses to start (exit 64) with a message
                naming the problem; a node outside a cluster answers ERROR to
                `config get cluster`, as memcached.
Then, when etcd is installed (Debian's etcd-server), membership kept in a real etcd started on
loopback ports with a scratch data directory (--etcd-ttl 2):
  etcd-join     three nodes register; every node lists all three; pylibmc ketama writes and
                reads 3,000 keys through them.
  etcd-crash    one node killed with SIGKILL: the others drop it within the TTL (+3 s), with a
                new `config get cluster` version.
  etcd-away     etcd stopped: the nodes keep serving with the last list (etcd_state
                unreachable); etcd restarted on the same data: they register again, and the
                killed node, started again, is listed by all within seconds.
  etcd-leave    a node stopped with SIGTERM deletes its key: the others drop it at once (well
                within the TTL).
  etcd-start    etcd unreachable at start: without --peers the start fails with a message
                naming --etcd; with --peers the node serves with that list meanwhile.
  etcd-replicas three more nodes in etcd with --replicas 2 --replication quorum: a ketama
                client with auto-eject writes 100,000 keys (--quorum-keys); node 0 killed:
                the same client reads every one, the others drop it with a new version; etcd
                stopped and restarted:
                writes and reads go on; node 0 back empty: the client's hit ratio returns to
                1.0 (the time is printed).
  etcd-handover three nodes in etcd with one copy per key: a ketama client writes 10,000
                keys; one node stopped with SIGTERM hands its keys to the others before it
                leaves etcd: a client over the other two reads every key.
Prints "PASS name" / "FAIL name: why" per check and "N passed, M failed" last; exits 1 on a
failure. Only the servers this script started are stopped, by pid.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import HOST, UNCLEAN, Proc, free_ports, log_path, request, stats

NKEYS = 10000
HKEYS = 10000  # the etcd hand-over check
QKEYS = 100000  # the quorum check: the 100,000 keys


class Node(Proc):
    """One cluster member (the caller waits: up())."""

    def __init__(self, server, port, peers, advertise, logdir, extra=()):
        args = [server, "-p", str(port), "-U", "0", "-l", HOST, "-t", "1", "-m", "32"]
        if peers is not None:
            args += ["--peers", peers]
        if advertise is not None:
            args += ["--advertise", advertise]
        super().__init__(args + list(extra), log_path(logdir, "node", port), port,
                         name="node %d" % port)


def parse_config(reply):
    """(version, [(host, ip, port)]) from a `config get cluster` reply; checks its framing."""
    head, sep, rest = reply.partition(b"\r\n")
    assert sep, reply
    words = head.split()
    assert words[:3] == [b"CONFIG", b"cluster", b"0"] and len(words) == 4, head
    n = int(words[3])
    data, tail = rest[:n], rest[n:]
    assert tail == b"\r\nEND\r\n", "after %d bytes: %r" % (n, tail)
    lines = data.split(b"\n")
    assert len(lines) == 3 and lines[2] == b"", data
    members = []
    for m in lines[1].split(b" "):
        host, ip, port = m.decode().split("|")
        members.append((host, ip, int(port)))
    return int(lines[0]), members


def check_discovery(ctx):
    replies = [request(p, b"config get cluster\r\n", b"END\r\n") for p in ctx.ports]
    version, members = parse_config(replies[0])
    assert version == 1, version
    want = [(HOST, HOST, p) for p in ctx.ports]
    assert members == want, "%r, want %r" % (members, want)
    for p, r in zip(ctx.ports, replies):
        assert r == replies[0], "node %d answers %r, node %d %r" % (p, r, ctx.ports[0],
                                                                    replies[0])


def check_stats(ctx):
    wait_links(ctx.ports)
    for i, p in enumerate(ctx.ports):
        st = stats(p, b"cluster")
        assert st.get("cluster_membership") == "static", st
        assert st.get("cluster_members") == "3", st
        assert st.get("cluster_self") == "%s:%d" % (HOST, p), st
        assert st.get("cluster_version") == "1", st
        for j, q in enumerate(ctx.ports):
            assert st.get("member_%d_name" % j) == "%s:%d" % (HOST, q), st
            assert st.get("member_%d_state" % j) == ("self" if i == j else "up"), st
            assert st.get("member_%d_points" % j) == "160", st
            if i != j:  # one link per worker (-t 1) to each other member, nothing queued
                assert st.get("member_%d_links_up" % j) == "1", st
                assert st.get("member_%d_queue_bytes" % j) == "0", st
        assert st.get("cluster_ring_points") == "480", st


def check_ketama(ctx):
    import pylibmc
    names = ["%s:%d" % (HOST, p) for p in ctx.ports]
    mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
    keys = ["ck:%d:%d" % (i, random.randrange(1 << 30)) for i in range(NKEYS)]
    for k in keys:
        assert mc.set(k, k.encode()), "set %s refused" % k
    for k in keys:
        assert mc.get(k) == k.encode(), "get %s" % k
    items = [int(stats(p)["curr_items"]) for p in ctx.ports]
    assert sum(items) == NKEYS and min(items) > NKEYS // 10, items
    if ctx.ring_dump is None:
        print("  (no ring_dump: placement against the servers' ring not checked)", flush=True)
        return
    out = subprocess.run([ctx.ring_dump] + names, input="\n".join(keys) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    primary = [int(ln.split()[1]) for ln in out if ln.strip()]
    assert len(primary) == NKEYS, len(primary)
    # Every key is on the node the servers' ring names, and on no other.
    by_node = {}
    for k, m in zip(keys, primary):
        by_node.setdefault(m, []).append(k)
    # The client sent every key to its primary: no node counted a key held elsewhere.
    remote0 = [int(stats(p).get("cluster_remote_keys", -1)) for p in ctx.ports]
    assert remote0 == [0, 0, 0], "cluster_remote_keys after ketama traffic: %r" % remote0
    for m, ks in by_node.items():
        for j, p in enumerate(ctx.ports):
            sample = ks[:300]
            # (me, the item's details, is served where it lands, never proxied)
            got = request(p, b"".join(b"me %s\r\n" % k.encode() for k in sample) +
                          b"mn\r\n", b"MN\r\n", 10)
            hits = got.count(b"ME ")
            want = len(sample) if j == m else 0
            assert hits == want, "node %d holds %d of %d keys the ring puts on node %d" % (
                j, hits, len(sample), m)
    # Asked for the others' keys, each node proxies them to their primary, one per key.
    for m, ks in by_node.items():
        for j, p in enumerate(ctx.ports):
            sample = ks[:300]
            got = request(p, b"get " + " ".join(sample).encode() + b"\r\n", b"END\r\n", 10)
            assert got.count(b"VALUE ") == len(sample), "node %d: %d of %d keys of node %d" % (
                j, got.count(b"VALUE "), len(sample), m)
    for j, p in enumerate(ctx.ports):
        want = sum(min(len(ks), 300) for m, ks in by_node.items() if m != j)
        st = stats(p)
        got = int(st["cluster_proxied"])
        assert got == want, "node %d proxied %d requests, want %d" % (j, got, want)
        # (the me checks above: served here, counted as keys of another member)
        assert int(st["cluster_remote_keys"]) == want, st
        assert st["cluster_proxy_failures"] == "0", st


def check_proxy(ctx):
    """Clients that hash differently (modula): every request reaches the key's primary."""
    import pylibmc
    names = ["%s:%d" % (HOST, p) for p in ctx.ports]
    wait_links(ctx.ports)  # (before, a request is served where it lands)
    before = sum(int(stats(p)["cluster_proxied"]) for p in ctx.ports)
    keys = []
    for binary in (False, True):
        mc = pylibmc.Client(names, binary=binary,  # libmemcached's default: modula
                            behaviors={"cas": True})
        ks = ["px%d:%d:%d" % (binary, i, random.randrange(1 << 30)) for i in range(2000)]
        keys += ks[500:]
        for k in ks:
            assert mc.set(k, k.encode() * 2, time=0 if len(k) % 2 else 900), k
        for k in ks:
            assert mc.get(k) == k.encode() * 2, k
        for k in ks[:200]:
            assert mc.delete(k), k
            assert mc.get(k) is None, k
        for k in ks[200:300]:
            assert mc.set(k, b"10") and mc.incr(k, 5) == 15 and mc.decr(k, 3) == 12, k
        for k in ks[300:400]:
            assert mc.add(k, b"x") is False, k
            assert mc.append(k, b"+a") and mc.prepend(k, b"b+"), k
            assert mc.get(k) == b"b+" + k.encode() * 2 + b"+a", k
        for k in ks[400:500]:
            assert mc.replace(k, b"r"), k
            assert mc.touch(k, 600), k
            assert mc.get(k) == b"r", k
        got = mc.gets(ks[450])  # cas through the proxy
        assert got[0] == b"r" and mc.cas(ks[450], b"c", got[1]) and not mc.cas(
            ks[450], b"d", got[1]), got
    # Meta commands sent to every node answer as the key's primary would, flags included.
    cand = ["mp:%d:%d" % (i, random.randrange(1 << 30)) for i in range(30)]
    prim = [c[0] for c in ring_copies(ctx, names, cand, 1)]
    for i, k in enumerate(cand):
        p = ctx.ports[i % 3]
        kb, cb = k.encode(), ("c" + k).encode()
        got = request(p, b"ms %s 3 F5 T0\r\nabc\r\nmg %s v f s k Oz\r\nms %s 2 MA\r\nde\r\n"
                      b"mg %s v\r\nma %s N0 J10 v\r\nma %s D5 v\r\nmn\r\n" % (
                          kb, kb, kb, kb, cb, cb), b"MN\r\n")
        want = (b"HD\r\nVA 3 f5 s3 k%s Oz\r\nabc\r\nHD\r\nVA 5\r\nabcde\r\nVA 2\r\n10\r\n"
                b"VA 2\r\n15\r\nMN\r\n" % kb)
        assert got == want, "meta on node %d for %s: %r" % (i % 3, k, got)
        assert request(ctx.ports[prim[i]], b"me %s\r\nmn\r\n" % kb, b"MN\r\n").startswith(
            b"ME "), "%s not on its primary" % k
        got = request(p, b"md %s q\r\nmg %s v Ox\r\nmn\r\n" % (kb, kb), b"MN\r\n")
        assert got == b"EN Ox\r\nMN\r\n", got
    # Placed as a ketama client places them: a ketama client finds every one.
    kc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
    got = {}
    for b in range(0, len(keys), 100):
        got.update(kc.get_multi(keys[b:b + 100]))
    lost = [k for k in keys if got.get(k) != k.encode() * 2]
    assert not lost, "%d of %d keys not where ketama looks, e.g. %s" % (
        len(lost), len(keys), lost[:3])
    st = [stats(p) for p in ctx.ports]
    proxied = sum(int(x["cluster_proxied"]) for x in st) - before
    assert proxied > 4000, proxied
    assert all(x["cluster_proxy_failures"] == "0" for x in st), st
    print("  text and binary clients with modula hashing: %d requests proxied, every key "
          "where ketama looks; meta commands on any node answer as on the key's primary"
          % proxied, flush=True)


def check_bad_input(ctx):
    p = free_ports(3)
    cases = [
        ("%s:%d,%s:%d,%s:%d" % (HOST, p[0], HOST, p[1], HOST, p[0]), "%s:%d" % (HOST, p[0]),
         "names a member twice"),
        ("%s:%d,%s:%d" % (HOST, p[0], HOST, p[1]), "%s:%d" % (HOST, p[2]),
         "is not one of --peers"),
        ("%s:%d,%s:%d" % (HOST, p[0], HOST, p[1]), None, "go together"),
        ("%s:%d,%s:99999" % (HOST, p[0], HOST), "%s:%d" % (HOST, p[0]), "is not a member name"),
    ]
    for peers, adv, needle in cases:
        n = Node(ctx.server, p[0], peers, adv, ctx.logdir)
        try:
            rc = n.wait_exit(20)
            out = n.output()
        finally:
            n.stop()
        assert rc == 64, "--peers %s --advertise %s: exit %s, want 64" % (peers, adv, rc)
        assert needle in out, "no %r in %r" % (needle, out[-300:])
    n = Node(ctx.server, p[1], None, None, ctx.logdir)
    try:
        n.up()
        got = request(p[1], b"config get cluster\r\n", b"\r\n")
        assert got == b"ERROR\r\n", got
        assert stats(p[1], b"cluster").get("cluster_membership") == "none"
    finally:
        n.stop()


def gets_one(port, key):
    """(value, flags, cas) of `gets key` on one node, or None on a miss."""
    got = request(port, b"gets " + key.encode() + b"\r\n", b"END\r\n")
    if got == b"END\r\n":
        return None
    head, _, rest = got.partition(b"\r\n")
    w = head.split()
    assert w[0] == b"VALUE" and len(w) == 5, got
    return rest[:int(w[3])], int(w[2]), int(w[4])


def check_replicas(ctx):
    """Three nodes with --replicas 2 (two workers each, so writes also cross shards)."""
    import pylibmc
    ports, names, nodes = static_nodes(ctx, 3, ("--replicas", "2", "-t", "2"))
    try:
        wait_cluster(nodes, ports)  # (a link not up yet drops its commands: resynced once up)
        mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
        keys = ["rk:%d:%d" % (i, random.randrange(1 << 30)) for i in range(NKEYS)]
        for i, k in enumerate(keys):
            assert mc.set(k, k.encode(), time=0 if i % 2 else 600, min_compress_len=0), k
        # The other writes leave their state on the replica too.
        gone = keys[:200]
        for k in gone:
            assert mc.delete(k), k
        for k in keys[200:400]:
            assert mc.append(k, b"+tail"), k
        for k in keys[400:500]:
            mc.set(k, b"7")
            assert mc.incr(k, 5) == 12, k
        for i, k in enumerate(keys[500:600]):
            assert mc.touch(k, 1000 + 2 * i), k
        if ctx.ring_dump is None:
            raise AssertionError("needs ring_dump (the replica of each key)")
        out = subprocess.run([ctx.ring_dump, "-r", "2"] + names, input="\n".join(keys) + "\n",
                             capture_output=True, text=True, check=True).stdout.split("\n")
        sets = [[int(x) for x in ln.split()[1:]] for ln in out if ln.strip()]
        time.sleep(0.5)
        # Primary and replica answer the same value, flags and CAS; deleted keys neither.
        for i in list(range(0, 600)) + random.sample(range(600, NKEYS), 400):
            k, (prim, repl) = keys[i], sets[i]
            a, b = gets_one(ports[prim], k), gets_one(ports[repl], k)
            if i < 200:
                assert a is None and b is None, "deleted %s: %r / %r" % (k, a, b)
            else:
                assert a is not None and a == b, "%s: primary %r, replica %r" % (k, a, b)
            if 500 <= i < 600:  # touched: the replica has the new expiry too
                ttl = request(ports[repl], b"mg %s t\r\n" % k.encode(), b"\r\n")
                want = 1000 + 2 * (i - 500)
                assert ttl.startswith(b"HD t") and want - 5 <= int(ttl.split()[1][1:]) <= want, (
                    "%s on its replica: %r, want t%d" % (k, ttl, want))
        st = [stats(p) for p in ports]
        shipped = sum(int(x["repl_writes"]) for x in st)
        assert shipped >= NKEYS + 500, "repl_writes %d" % shipped
        assert all(x["repl_dropped"] == "0" and x["repl_errors"] == "0" for x in st), st
        assert stats(ports[0], b"cluster")["cluster_replicas"] == "2"
        # A member killed: a ketama client that ejects it reads every key from the copy.
        nodes[0].kill()
        mc2 = pylibmc.Client(names[1:], behaviors={"ketama_weighted": True})
        miss = [k for k in keys[200:] if mc2.get(k) is None]
        assert not miss, "%d of %d keys lost with node 0, e.g. %s" % (
            len(miss), NKEYS - 200, miss[:3])
        # Writes whose replica is the dead member are dropped and counted, not queued forever.
        for i in range(2000):
            mc2.set("after:%d" % i, b"x")
        time.sleep(0.5)
        st = [stats(p) for p in ports[1:]]
        assert sum(int(x["repl_link_failures"]) for x in st) > 0, st
        # Node 0 restarts empty: once their links to it are up, the others give it what it
        # should hold (its own keys and those it is the replica of), with the primary's CAS.
        nodes[0].stop()
        nodes[0] = Node(ctx.server, ports[0], ",".join(names), names[0], ctx.logdir,
                        ("--replicas", "2", "-t", "2"))
        nodes[0].up()
        t0 = time.monotonic()
        # Warming up, it reads gets that miss through to another copy: a ketama client that
        # reads at once hits every live key (the resync may not have sent it yet).
        wmc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
        early = random.sample(range(200, NKEYS), 2000)
        got = {}
        for b in range(0, len(early), 100):
            got.update(wmc.get_multi([keys[i] for i in early[b:b + 100]]))
        missed = [keys[i] for i in early if keys[i] not in got]
        assert not missed, "%d of %d gets missed right after node 0 came back, e.g. %s" % (
            len(missed), len(early), missed[:3])
        through = int(stats(ports[0])["cluster_read_through"])
        mine = [i for i in range(200, NKEYS) if 0 in sets[i]]
        sample = random.sample(mine, min(300, len(mine)))
        # Warmed up once every member said its resync ended: the copies are here then (me,
        # the item's details, is served locally, never read through).
        deadline = time.monotonic() + 15
        while stats(ports[0], b"cluster")["cluster_warming"] != "no":
            assert time.monotonic() < deadline, stats(ports[0], b"cluster")
            time.sleep(0.1)
        back = time.monotonic() - t0
        warm_ms = int(stats(ports[0], b"cluster")["cluster_warmup_ms"])
        got = request(ports[0], b"".join(b"me %s\r\n" % keys[i].encode() for i in sample) +
                      b"mn\r\n", b"MN\r\n", 10)
        assert got.count(b"ME ") == len(sample), "%d of %d copies on node 0 once warm " \
            "(resyncs %r)" % (got.count(b"ME "), len(sample),
                              [stats(p)["repl_resyncs"] for p in ports[1:]])
        for i in sample:
            other = sets[i][1] if sets[i][0] == 0 else sets[i][0]
            assert gets_one(ports[0], keys[i]) == gets_one(ports[other], keys[i]), keys[i]
        resynced = sum(int(stats(p)["repl_resync_writes"]) for p in ports[1:])
        assert "every member sent" in nodes[0].output(), nodes[0].output()[-400:]
        print("  %d writes shipped; node 0 killed: all %d live keys read from the copies; "
              "restarted: no get missed (%d read through), its %d keys back in %.1f s (%d "
              "items resynced), warmed up after %d ms" % (
                  shipped, NKEYS - 200, through, len(mine), back, resynced, warm_ms),
              flush=True)
    finally:
        for n in nodes:
            n.stop()


def fake_member_socket(port):
    """A listening socket on loopback that plays a member (accept with a 0.2 s timeout)."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST, port))
    lsock.listen(16)
    lsock.settimeout(0.2)
    return lsock


def check_bad_peer(ctx):
    """A member that answers garbage to replication, then drops its links mid-stream."""
    import threading
    port, fake = free_ports(2)
    names = ["%s:%d" % (HOST, port), "%s:%d" % (HOST, fake)]
    lsock = fake_member_socket(fake)
    stop = threading.Event()
    seen = {"conns": 0, "bytes": 0}

    def fake_member():
        while not stop.is_set():
            try:
                c, _ = lsock.accept()
            except OSError:
                continue
            seen["conns"] += 1
            c.settimeout(0.5)
            try:
                got = c.recv(65536)
                seen["bytes"] += len(got)
                c.sendall(b"\x00\xff\xfe garbage\r\nSERVER_ERROR nope\r\nVALUE x\r\n")
                got = c.recv(65536)  # then gone mid-stream, with data unread
                seen["bytes"] += len(got)
            except OSError:
                pass
            c.close()

    t = threading.Thread(target=fake_member, daemon=True)
    t.start()
    node = Node(ctx.server, port, ",".join(names), names[0], ctx.logdir, ("--replicas", "2"))
    try:
        node.up()
        deadline = time.monotonic() + 10
        n = 0
        # Keys this node is the primary of are stored whatever the member does; those of
        # the fake are proxied to it while its link is up, and its garbage fails them.
        cand = ["bp:%d" % i for i in range(20000)]
        own = [k.encode() for k, c in zip(cand, ring_copies(ctx, names, cand)) if c[0] == 0]
        theirs = set(k.encode() for k in cand) - set(own)
        refused = 0
        while time.monotonic() < deadline:
            for i in range(200):
                k = b"bp:%d" % n
                n += 1
                got = request(port, b"set %s 0 0 5\r\nvalue\r\n" % k, b"\r\n")
                if got != b"STORED\r\n":
                    assert k in theirs and got == \
                        b"SERVER_ERROR no answer from the key's primary\r\n", (k, got)
                    refused += 1
            st = stats(port)
            if int(st["repl_link_failures"]) >= 3 and int(st["repl_errors"]) >= 1:
                break
            time.sleep(0.2)
        st = stats(port)
        assert int(st["repl_link_failures"]) >= 3, st
        assert int(st["repl_errors"]) >= 1, st
        assert seen["bytes"] > 0, seen
        # Still serving, every key it took.
        mine = [k for k in own if int(k.split(b":")[1]) < n]
        got = request(port, b"get %s %s\r\n" % (mine[0], mine[-1]), b"END\r\n")
        assert got.count(b"VALUE ") == 2, got
        assert node.proc.poll() is None
        print("  %d writes (%d proxied to the fake and refused); the fake member took %d "
              "links, %d bytes; link failures %s, failure replies %s" % (
                  n, refused, seen["conns"], seen["bytes"], st["repl_link_failures"],
                  st["repl_errors"]), flush=True)
    finally:
        node.stop()
        stop.set()
        t.join(5)
        lsock.close()


def check_disagree(ctx):
    """Two members whose rings differ (one lists a third member): no key goes back and forth."""
    a, b, x = free_ports(3)
    na, nb, nx = ("%s:%d" % (HOST, p) for p in (a, b, x))
    nodes = [Node(ctx.server, a, ",".join([na, nb, nx]), na, ctx.logdir, ("--replicas", "2")),
             Node(ctx.server, b, ",".join([na, nb]), nb, ctx.logdir, ("--replicas", "2"))]
    try:
        for n in nodes:
            n.up()
        for i in range(500):
            for p in (a, b):
                assert request(p, b"set dk:%d 0 0 2\r\nhi\r\n" % i, b"\r\n") == b"STORED\r\n"
        time.sleep(1.0)
        first = [int(stats(p)["repl_writes"]) for p in (a, b)]
        time.sleep(1.5)
        then = [int(stats(p)["repl_writes"]) for p in (a, b)]
        # Each client write is shipped once at most by the node it reached; shipped commands
        # are not shipped on (else the keys both think they are primary for would bounce).
        assert then == first and sum(then) <= 1000, "repl_writes %r, then %r" % (first, then)
        print("  1,000 client writes, %d shipped, none since" % sum(then), flush=True)
    finally:
        for n in nodes:
            n.stop()


def check_compression(ctx):
    """A compressing node and a plain one replicate each other the clients' bytes."""
    a, b = free_ports(2)
    na, nb = ("%s:%d" % (HOST, p) for p in (a, b))
    peers = ",".join([na, nb])
    nodes = [Node(ctx.server, a, peers, na, ctx.logdir,
                  ("--replicas", "2", "-o", "compression=lzf,compression_min=200")),
             Node(ctx.server, b, peers, nb, ctx.logdir, ("--replicas", "2"))]
    rng = random.Random(5)
    want = {}
    try:
        wait_cluster(nodes, (a, b))
        for i in range(200):
            recs = [{"id": rng.randrange(10**6), "user": "user%d" % rng.randrange(50),
                     "tags": ["a", "b", "c"]} for _ in range(rng.randrange(1, 60))]
            v = json.dumps(recs).encode()
            k = b"cz:%d" % i
            port = (a, b)[i % 2]
            assert request(port, b"set %s %d 0 %d\r\n%s\r\n" % (k, i, len(v), v),
                           b"\r\n") == b"STORED\r\n"
            want[k] = (i, v)
        for i in range(0, 200, 7):
            k = b"cz:%d" % i
            port = (b, a)[i % 2]
            assert request(port, b"append %s 0 0 4\r\n!end\r\n" % k, b"\r\n") == b"STORED\r\n"
            want[k] = (want[k][0], want[k][1] + b"!end")
        n = b"41" + b" " * 500
        assert request(a, b"set cz:num 0 0 %d\r\n%s\r\n" % (len(n), n), b"\r\n") == b"STORED\r\n"
        assert request(b, b"incr cz:num 1\r\n", b"\r\n") == b"42\r\n"
        want[b"cz:num"] = (0, b"42" + b" " * 500)
        deadline = time.monotonic() + 10
        for k, (flags, v) in want.items():
            for port in (a, b):
                exp = b"VALUE %s %d %d\r\n%s\r\nEND\r\n" % (k, flags, len(v), v)
                while True:
                    got = request(port, b"get %s\r\n" % k, b"END\r\n")
                    if got == exp:
                        break
                    assert time.monotonic() < deadline, "node %d: %r: %r" % (port, k, got[:80])
                    time.sleep(0.05)
        sa, sb = stats(a), stats(b)
        assert int(sa["compressed_items"]) > 100, sa["compressed_items"]
        assert int(sb["compressed_items"]) == 0, sb["compressed_items"]
        assert int(sa["decompressions"]) > 0
        print("  %d keys on both nodes, %s stored compressed on one (%s -> %s bytes)" % (
            len(want), sa["compressed_items"], sa["compressed_bytes_before"],
            sa["compressed_bytes_after"]), flush=True)
    finally:
        for n in nodes:
            n.stop()


def static_nodes(ctx, count, extra):
    """(ports, names, nodes): @count nodes on free loopback ports, started with static --peers
    naming them all and the @extra flags (not waited for: see wait_cluster)."""
    ports = free_ports(count)
    names = ["%s:%d" % (HOST, p) for p in ports]
    nodes = [Node(ctx.server, p, ",".join(names), n, ctx.logdir, extra)
             for p, n in zip(ports, names)]
    return ports, names, nodes


def wait_cluster(nodes, ports):
    """Until every node answers and all their links are up."""
    for n in nodes:
        n.up()
    wait_links(ports)


def wait_links(ports, timeout=20.0):
    """Until every node's replication links are all up (quorum writes fail before)."""
    deadline = time.monotonic() + timeout
    for p in ports:
        while True:
            c = stats(p, b"cluster")
            if c.get("repl_links_up") == c.get("repl_links") != "0":
                break
            assert time.monotonic() < deadline, "node %d: links not up: %r" % (p, c)
            time.sleep(0.05)


def ring_copies(ctx, names, keys, copies=2):
    """For each key, the indexes of its members (primary first), as the servers' ring says."""
    if ctx.ring_dump is None:
        raise AssertionError("needs ring_dump (the replica of each key)")
    out = subprocess.run([ctx.ring_dump, "-r", str(copies)] + names,
                         input="\n".join(keys) + "\n", capture_output=True, text=True,
                         check=True).stdout.split("\n")
    return [[int(x) for x in ln.split()[1:]] for ln in out if ln.strip()]


def check_quorum(ctx):
    """--replication quorum: acknowledged writes survive a SIGKILL; failed ones leave no copy."""
    import pylibmc
    ports, names, nodes = static_nodes(
        ctx, 3, ("--replicas", "2", "--replication", "quorum", "-t", "2"))
    try:
        wait_cluster(nodes, ports)
        mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
        nkeys = ctx.quorum_keys
        keys = ["qk:%d:%d" % (i, random.randrange(1 << 30)) for i in range(nkeys)]
        t0 = time.monotonic()
        for b in range(0, nkeys, 100):
            failed = mc.set_multi({k: k.encode() for k in keys[b:b + 100]})
            assert not failed, "quorum writes refused with every member up: %r" % failed[:3]
        took = time.monotonic() - t0
        sets = ring_copies(ctx, names, keys)
        for i in random.sample(range(nkeys), 300):
            prim, repl = sets[i]
            a, b = gets_one(ports[prim], keys[i]), gets_one(ports[repl], keys[i])
            assert a is not None and a == b, "%s: primary %r, replica %r" % (keys[i], a, b)
        st = [stats(p) for p in ports]
        waited = sum(int(x["repl_quorum_writes"]) for x in st)
        assert waited == nkeys, "repl_quorum_writes %d, want %d" % (waited, nkeys)
        assert all(x["repl_quorum_failures"] == "0" for x in st), st
        wait_us = sum(int(x["repl_quorum_wait_us"]) for x in st)
        # SIGKILL: every acknowledged key is read through a client that ejected the member.
        nodes[0].kill()
        mc2 = pylibmc.Client(names[1:], behaviors={"ketama_weighted": True})
        got = {}
        for b in range(0, nkeys, 100):
            got.update(mc2.get_multi(keys[b:b + 100]))
        lost = [k for k in keys if got.get(k) != k.encode()]
        assert not lost, "%d of %d acknowledged keys lost with node 0, e.g. %s" % (
            len(lost), nkeys, lost[:3])
        # Writes whose replica is the dead member cannot reach their quorum: an error, and
        # no copy keeps the new value (the primary undid its own); the others succeed.
        half = [i for i in range(nkeys) if sets[i][0] != 0][:400]
        refused = 0
        for i in half:
            k = keys[i].encode()
            reply = request(ports[sets[i][0]], b"set %s 0 0 3\r\nnew\r\n" % k, b"\r\n")
            if sets[i][1] == 0:
                assert reply == b"SERVER_ERROR replication quorum not reached\r\n", reply
                refused += 1
                for p in ports[1:]:
                    assert gets_one(p, keys[i]) is None, "%s readable on %d after a failed " \
                        "quorum write" % (keys[i], p)
            else:
                assert reply == b"STORED\r\n", (keys[i], reply)
        assert refused > 0
        st = [stats(p) for p in ports[1:]]
        assert sum(int(x["repl_quorum_failures"]) for x in st) == refused, st
        # The meta and binary protocols answer the failure too.
        i = next(i for i in half if sets[i][1] == 0)
        k = keys[i].encode()
        reply = request(ports[sets[i][0]], b"ms %s 1\r\nx\r\n" % k, b"\r\n")
        assert reply == b"SERVER_ERROR replication quorum not reached\r\n", reply
        print("  %d keys written in quorum in %.1f s (acknowledged in %.0f us on average); "
              "node 0 killed: every one read from the copies; %d writes whose replica was "
              "node 0 refused, none readable" % (nkeys, took, wait_us / max(waited, 1),
                                                 refused), flush=True)
    finally:
        for n in nodes:
            n.stop()


def check_quorum_timeout(ctx):
    """A replica that takes commands and never answers: the write fails at the deadline."""
    import threading
    port, fake = free_ports(2)
    names = ["%s:%d" % (HOST, port), "%s:%d" % (HOST, fake)]
    lsock = fake_member_socket(fake)
    stop = threading.Event()
    conns = []

    def silent_member():
        while not stop.is_set():
            try:
                c, _ = lsock.accept()
                conns.append(c)  # read nothing, answer nothing
            except OSError:
                continue

    t = threading.Thread(target=silent_member, daemon=True)
    t.start()
    # (--warmup-max 0: no read-through to the member that never answers)
    node = Node(ctx.server, port, ",".join(names), names[0], ctx.logdir,
                ("--replicas", "2", "--replication", "quorum", "--replication-timeout", "300",
                 "--warmup-max", "0"))
    try:
        node.up()
        wait_links([port])
        keys = ["qt:%d" % i for i in range(200)]
        mine = [k for k, c in zip(keys, ring_copies(ctx, names, keys)) if c[0] == 0][:5]
        for k in mine:
            t0 = time.monotonic()
            reply = request(port, b"set %s 0 0 1\r\nx\r\n" % k.encode(), b"\r\n")
            took = time.monotonic() - t0
            assert reply == b"SERVER_ERROR replication quorum not reached\r\n", reply
            assert 0.25 <= took <= 2.0, "answered after %.2f s, want about 0.3 s" % took
            assert gets_one(port, k) is None, "%s readable after a failed write" % k
        # A key whose primary is the silent member: a write is proxied to it and fails at the
        # deadline, which closes that proxy link (a member that does not answer may be gone);
        # a read is served from this node's copy (a replica of every key here).
        theirs = [k for k, c in zip(keys, ring_copies(ctx, names, keys)) if c[0] == 1][:1]
        for k in theirs:
            t0 = time.monotonic()
            reply = request(port, b"set %s 0 0 1\r\nx\r\n" % k.encode(), b"\r\n")
            assert reply == b"SERVER_ERROR no answer from the key's primary\r\n", reply
            assert 0.25 <= time.monotonic() - t0 <= 2.0, time.monotonic() - t0
            assert request(port, b"get %s\r\n" % k.encode(), b"END\r\n") == b"END\r\n"
        st = stats(port)
        assert int(st["cluster_proxy_failures"]) == len(theirs), st
        assert int(st["repl_quorum_timeouts"]) == len(mine), st
        assert node.proc.poll() is None
        print("  %d writes to a silent replica refused after --replication-timeout 300 ms; "
              "a write proxied to it as the primary failed then" % len(mine),
              flush=True)
    finally:
        node.stop()
        stop.set()
        t.join(5)
        for c in conns:
            c.close()
        lsock.close()


def wait_stopped(pid, timeout=5.0):
    """Until every thread of process @pid is stopped (state T): kill(SIGSTOP) returns before."""
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        if all(st in ("T", "t") for st in states):
            return
        assert time.monotonic() < deadline, "process %d not stopped: %r" % (pid, states)
        time.sleep(0.01)


def check_quorum_undo(ctx):
    """A replica that stalls (SIGSTOP) past the deadline: the failed write is undone there."""
    (pa, pb), names, nodes = static_nodes(
        ctx, 2, ("--replicas", "2", "--replication", "quorum", "--replication-timeout", "300"))
    stopped = False
    try:
        wait_cluster(nodes, [pa, pb])
        keys = ["qu:%d" % i for i in range(100)]
        mine = [k.encode() for k, c in zip(keys, ring_copies(ctx, names, keys)) if c[0] == 0]
        k, k2 = mine[0], mine[1]
        for key in (k, k2):
            assert request(pa, b"set %s 0 0 2\r\nv1\r\n" % key, b"\r\n") == b"STORED\r\n"
        assert gets_one(pb, k.decode())[0] == b"v1"
        nodes[1].proc.send_signal(signal.SIGSTOP)
        stopped = True
        wait_stopped(nodes[1].proc.pid)
        # A read that vivifies nothing (mg N of a key that is there) does not wait.
        t0 = time.monotonic()
        got = request(pa, b"mg %s N30 v\r\n" % k2, b"\r\n")
        assert got.startswith(b"VA 2") and time.monotonic() - t0 < 0.2, got
        reply = request(pa, b"set %s 0 0 2\r\nv2\r\n" % k, b"\r\n")
        assert reply == b"SERVER_ERROR replication quorum not reached\r\n", (
            reply, {x: v for x, v in stats(pa).items() if x.startswith(("repl_", "cluster_"))})
        assert gets_one(pa, k.decode()) is None
        nodes[1].proc.send_signal(signal.SIGCONT)
        stopped = False
        # The replica now reads the write, then its undo (md C<cas>), in that order.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and gets_one(pb, k.decode()) is not None:
            time.sleep(0.05)
        assert gets_one(pb, k.decode()) is None, "the failed write is still on the replica"
        assert gets_one(pb, k2.decode())[0] == b"v1"
        st = stats(pa)
        assert int(st["repl_undos"]) >= 1 and st["repl_undos_lost"] == "0", st
        print("  a write whose replica stalled past the deadline: refused, undone on both "
              "copies once the replica resumed", flush=True)
    finally:
        if stopped:
            nodes[1].proc.send_signal(signal.SIGCONT)
        for n in nodes:
            n.stop()


def check_quorum_cross(ctx):
    """Quorum writes proxied both ways at once: proxied requests never hold up replication."""
    import threading
    ports, names, nodes = static_nodes(
        ctx, 2, ("--replicas", "2", "--replication", "quorum", "-t", "2"))
    try:
        wait_cluster(nodes, ports)
        cand = ["qc:%d" % i for i in range(100)]
        prim = [c[0] for c in ring_copies(ctx, names, cand)]
        # Each key written through the node that is not its primary: node 1 proxies to node 0
        # writes that node 0 must have acknowledged by node 1, and the other way round.
        key = [next(k for k, m in zip(cand, prim) if m == j) for j in (0, 1)]
        replies = []

        def writer(port, k):
            with socket.create_connection((HOST, port), timeout=10) as sk:
                f = sk.makefile("rb")
                for i in range(300):
                    sk.sendall(b"set %s 0 0 4\r\n%04d\r\n" % (k.encode(), i))
                    replies.append(f.readline())

        t0 = time.monotonic()
        threads = [threading.Thread(target=writer, args=(ports[1 - j % 2], key[j % 2]))
                   for j in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.monotonic() - t0
        bad = [r for r in replies if r != b"STORED\r\n"]
        assert len(replies) == 2400 and not bad, "%d replies, %d not STORED: %r" % (
            len(replies), len(bad), bad[:3])
        st = [stats(p) for p in ports]
        assert all(x["repl_quorum_failures"] == "0" for x in st), st
        print("  2,400 quorum writes proxied both ways by 8 connections at once in %.1f s, "
              "all stored" % took, flush=True)
    finally:
        for n in nodes:
            n.stop()


CHECKS = [("discovery", check_discovery), ("stats", check_stats), ("ketama", check_ketama),
          ("proxy", check_proxy), ("bad-input", check_bad_input), ("replicas", check_replicas),
          ("bad-peer", check_bad_peer), ("disagree", check_disagree),
          ("compression", check_compression),
          ("quorum", check_quorum), ("quorum-timeout", check_quorum_timeout),
          ("quorum-undo", check_quorum_undo), ("quorum-cross", check_quorum_cross)]

ETCD_TTL = 2


class Etcd:
    """A real etcd on loopback ports with a scratch data directory (stopped by pid)."""

    def __init__(self, logdir):
        self.client, self.peer = free_ports(2)
        self.data = tempfile.mkdtemp(prefix="nc-etcd.")
        self.logdir = logdir
        self.proc = None
        self.url = "http://%s:%d" % (HOST, self.client)

    def start(self):
        log = open(os.path.join(self.logdir, "etcd.log"), "a")
        peer = "http://%s:%d" % (HOST, self.peer)
        self.proc = subprocess.Popen(
            ["etcd", "--name", "nc", "--data-dir", self.data, "--listen-client-urls", self.url,
             "--advertise-client-urls", self.url, "--listen-peer-urls", peer,
             "--initial-advertise-peer-urls", peer, "--initial-cluster", "nc=" + peer],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        # Serving, not only listening: right after start etcd accepts connections but answers
        # nothing until it has elected itself leader (a node started then timed out).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if json.loads(r.read()).get("health") == "true":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise AssertionError("etcd did not start serving")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def members_of(port):
    """(version, ["host:port", ...]) of a node's `config get cluster`."""
    version, members = parse_config(request(port, b"config get cluster\r\n", b"END\r\n"))
    return version, ["%s:%d" % (h, p) for h, ip, p in members]


def wait_members(ports, want, timeout, what):
    """Until every node in ports lists exactly `want`; returns their versions."""
    deadline = time.monotonic() + timeout
    got = {}
    while time.monotonic() < deadline:
        got = {p: members_of(p) for p in ports}
        if all(sorted(m) == sorted(want) for v, m in got.values()):
            return {p: v for p, (v, m) in got.items()}
        time.sleep(0.1)
    raise AssertionError("%s: after %.0f s the nodes list %r, want %r" % (
        what, timeout, {p: m for p, (v, m) in got.items()}, sorted(want)))


def etcd_node(ctx, port, extra=()):
    return Node(ctx.server, port, None, "%s:%d" % (HOST, port), ctx.logdir,
                ["--etcd", ctx.etcd.url, "--cluster-name", ctx.cluster_name,
                 "--etcd-ttl", str(ETCD_TTL)] + list(extra))


def check_etcd_join(ctx):
    for p in ctx.eports:
        ctx.enodes[p] = etcd_node(ctx, p)
    for p in ctx.eports:
        ctx.enodes[p].up()
    names = ["%s:%d" % (HOST, p) for p in ctx.eports]
    wait_members(ctx.eports, names, 10, "join")
    for p in ctx.eports:
        st = stats(p, b"cluster")
        assert st.get("cluster_membership") == "etcd" and st.get("etcd_state") == "registered", st
    import pylibmc
    mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
    keys = ["ek:%d" % i for i in range(3000)]
    for k in keys:
        assert mc.set(k, k.encode()), k
    for k in keys:
        assert mc.get(k) == k.encode(), k


def check_etcd_crash(ctx):
    dead = ctx.eports[2]
    before = {p: members_of(p)[0] for p in ctx.eports[:2]}
    ctx.enodes[dead].kill()
    t0 = time.monotonic()
    after = wait_members(ctx.eports[:2], ["%s:%d" % (HOST, p) for p in ctx.eports[:2]],
                         ETCD_TTL + 3, "crash")
    print("  a killed node left the lists after %.1f s (TTL %d s)" % (
        time.monotonic() - t0, ETCD_TTL), flush=True)
    for p in after:
        assert after[p] > before[p], "node %d: version %d -> %d" % (p, before[p], after[p])


def check_etcd_away(ctx):
    live = ctx.eports[:2]
    names = ["%s:%d" % (HOST, p) for p in live]
    ctx.etcd.stop()
    time.sleep(ETCD_TTL + 1)
    for p in live:
        st = stats(p, b"cluster")
        assert st.get("etcd_state") == "unreachable", st
        assert sorted(members_of(p)[1]) == sorted(names), members_of(p)
        got = request(p, b"set away 0 0 2\r\nok\r\nget away\r\n", b"END\r\n")
        assert got == b"STORED\r\nVALUE away 0 2\r\nok\r\nEND\r\n", got
    ctx.etcd.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all(stats(p, b"cluster").get("etcd_state") == "registered" for p in live):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("not registered again: %r" % [
            stats(p, b"cluster").get("etcd_state") for p in live])
    wait_members(live, names, 5, "after etcd came back")
    back = ctx.eports[2]
    ctx.enodes[back].stop()
    ctx.enodes[back] = etcd_node(ctx, back)
    ctx.enodes[back].up()
    wait_members(ctx.eports, ["%s:%d" % (HOST, p) for p in ctx.eports], 5, "return")


def check_etcd_leave(ctx):
    gone = ctx.eports[1]
    t0 = time.monotonic()
    ctx.enodes[gone].stop()
    rest = [ctx.eports[0], ctx.eports[2]]
    wait_members(rest, ["%s:%d" % (HOST, p) for p in rest], 1.5, "clean leave")
    print("  a node stopped with SIGTERM left the lists %.1f s after the signal" % (
        time.monotonic() - t0), flush=True)
    assert "left etcd" in ctx.enodes[gone].output(), ctx.enodes[gone].output()[-300:]


def check_etcd_start(ctx):
    nobody = "http://%s:%d" % (HOST, free_ports(1)[0])
    p = free_ports(2)
    n = Node(ctx.server, p[0], None, "%s:%d" % (HOST, p[0]), ctx.logdir,
             ["--etcd", nobody, "--etcd-ttl", str(ETCD_TTL)])
    try:
        rc = n.wait_exit(30)
        out = n.output()
    finally:
        n.stop()
    assert rc != 0 and "--etcd" in out, "exit %s: %r" % (rc, out[-300:])
    peers = "%s:%d,%s:%d" % (HOST, p[0], HOST, p[1])
    n = Node(ctx.server, p[0], peers, "%s:%d" % (HOST, p[0]), ctx.logdir,
             ["--etcd", nobody, "--etcd-ttl", str(ETCD_TTL)])
    try:
        n.up()
        assert sorted(members_of(p[0])[1]) == sorted(peers.split(",")), members_of(p[0])
        st = stats(p[0], b"cluster")
        assert st.get("etcd_state") in ("connecting", "unreachable"), st
    finally:
        n.stop()


def check_etcd_replicas(ctx):
    """Membership in etcd, R=2 in quorum: a node killed, etcd away, the node back empty."""
    import pylibmc
    ports = free_ports(3)
    names = ["%s:%d" % (HOST, p) for p in ports]
    extra = ["--replicas", "2", "--replication", "quorum", "-t", "2"]
    saved, ctx.cluster_name = ctx.cluster_name, ctx.cluster_name + "r"
    nodes = {p: etcd_node(ctx, p, extra) for p in ports}
    nkeys = ctx.quorum_keys
    try:
        for n in nodes.values():
            n.up()
        v0 = wait_members(ports, names, 10, "join")
        wait_links(ports)
        client = lambda: pylibmc.Client(names, behaviors={  # noqa: E731
            "ketama_weighted": True, "remove_failed": 1, "retry_timeout": 1,
            "connect_timeout": 100, "receive_timeout": 200000, "send_timeout": 200000})
        mc = client()
        keys = ["er:%d:%d" % (i, random.randrange(1 << 30)) for i in range(nkeys)]
        for b in range(0, nkeys, 100):
            failed = mc.set_multi({k: k.encode() for k in keys[b:b + 100]})
            assert not failed, "quorum writes refused: %r" % failed[:3]

        def read_all(m):
            got = {}
            for b in range(0, nkeys, 100):
                try:
                    got.update(m.get_multi(keys[b:b + 100]))
                except pylibmc.Error:
                    pass  # a batch that met the dead member before the client ejected it
            return sum(1 for k in keys if got.get(k) == k.encode())

        # Killed: the same client (auto-eject) reads every acknowledged key from the copies;
        # the lease expires and every node drops it, with a new configuration version.
        nodes[ports[0]].kill()
        t0 = time.monotonic()
        hits = 0
        while time.monotonic() - t0 < 10:
            hits = read_all(mc)
            if hits == nkeys:
                break
        assert hits == nkeys, "%d of %d acknowledged keys readable after the kill" % (
            hits, nkeys)
        v1 = wait_members(ports[1:], names[1:], ETCD_TTL + 3, "crash")
        assert all(v1[p] > v0[p] for p in v1), (v0, v1)
        # etcd stopped and started again mid-run: clients see no change.
        ctx.etcd.stop()
        live = pylibmc.Client(names[1:], behaviors={"ketama_weighted": True})
        for i in range(500):
            assert live.set("away:%d" % i, b"a"), i
        assert read_all(live) == nkeys
        ctx.etcd.start()
        # Back empty: registered again, warmed up by the others; the client's hits return.
        nodes[ports[0]].stop()
        nodes[ports[0]] = etcd_node(ctx, ports[0], extra)
        nodes[ports[0]].up()
        t0 = time.monotonic()
        wait_members(ports, names, 15, "return")
        mc = client()
        ratio = []
        while time.monotonic() - t0 < 30:
            ratio.append(read_all(mc) / nkeys)
            if ratio[-1] == 1.0:
                break
            time.sleep(0.2)
        assert ratio and ratio[-1] == 1.0, "hit ratio after the return: %r" % ratio
        print("  %d keys in quorum; node 0 killed: all read from the copies, dropped from the "
              "lists; etcd away: no change; node 0 back empty: hit ratio %.2f at first, 1.00 "
              "after %.1f s" % (nkeys, ratio[0], time.monotonic() - t0), flush=True)
    finally:
        for n in nodes.values():
            n.stop()
        ctx.cluster_name = saved
        if ctx.etcd.proc is None:
            ctx.etcd.start()


def check_etcd_handover(ctx):
    """One copy per key (R=1): a node stopped with SIGTERM hands its keys over first."""
    import pylibmc
    ports = free_ports(3)
    names = ["%s:%d" % (HOST, p) for p in ports]
    saved, ctx.cluster_name = ctx.cluster_name, ctx.cluster_name + "h"
    nodes = {p: etcd_node(ctx, p, ["-t", "2"]) for p in ports}
    try:
        for n in nodes.values():
            n.up()
        wait_members(ports, names, 10, "join")
        wait_links(ports)
        mc = pylibmc.Client(names, behaviors={"ketama_weighted": True})
        keys = ["eh:%d:%d" % (i, random.randrange(1 << 30)) for i in range(HKEYS)]
        for b in range(0, HKEYS, 100):
            assert not mc.set_multi({k: k.encode() for k in keys[b:b + 100]})
        held = int(stats(ports[2])["curr_items"])
        assert held > HKEYS // 10, held
        t0 = time.monotonic()
        nodes[ports[2]].stop()
        took = time.monotonic() - t0
        out = nodes[ports[2]].output()
        assert "keys handed over" in out and "left etcd" in out, out[-500:]
        wait_members(ports[:2], names[:2], 3, "leave")
        rest = pylibmc.Client(names[:2], behaviors={"ketama_weighted": True})
        got = {}
        for b in range(0, HKEYS, 100):
            got.update(rest.get_multi(keys[b:b + 100]))
        lost = [k for k in keys if got.get(k) != k.encode()]
        assert not lost, "%d of %d keys lost with the node that left, e.g. %s" % (
            len(lost), HKEYS, lost[:3])
        print("  a node holding %d of %d keys stopped with SIGTERM: handed them over and left "
              "in %.1f s; the other two answer every key" % (held, HKEYS, took), flush=True)
    finally:
        for n in nodes.values():
            n.stop()
        ctx.cluster_name = saved


ETCD_CHECKS = [("etcd-join", check_etcd_join), ("etcd-crash", check_etcd_crash),
               ("etcd-away", check_etcd_away), ("etcd-leave", check_etcd_leave),
               ("etcd-start", check_etcd_start), ("etcd-replicas", check_etcd_replicas),
               ("etcd-handover", check_etcd_handover)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--ring-dump", help="tests/unit/cluster's ring_dump (placement check)")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--only", help="run only the checks named, comma-separated")
    ap.add_argument("--quorum-keys", type=int, default=QKEYS,
                    help="keys the quorum check writes (default %(default)s)")
    ctx = ap.parse_args()
    if ctx.quorum_keys < 1000:
        ap.error("--quorum-keys: at least 1000")
    if ctx.only:
        want = set(ctx.only.split(","))
        CHECKS[:] = [c for c in CHECKS if c[0] in want]
        ETCD_CHECKS[:] = [c for c in ETCD_CHECKS if c[0] in want]
    if ctx.ring_dump is None:
        guess = os.path.join(os.path.dirname(os.path.abspath(ctx.server)), "..", "..",
                             "tests", "unit", "cluster", "ring_dump")
        ctx.ring_dump = guess if os.access(guess, os.X_OK) else None
    ctx.logdir = tempfile.mkdtemp(prefix="nc-cluster.")
    ctx.ports = free_ports(3)
    peers = ",".join("%s:%d" % (HOST, p) for p in ctx.ports)
    nodes = []
    passed = failed = 0
    try:
        for p in ctx.ports:
            nodes.append(Node(ctx.server, p, peers, "%s:%d" % (HOST, p), ctx.logdir))
        for n in nodes:
            n.up()
        for name, fn in CHECKS:
            try:
                fn(ctx)
                print("PASS %s" % name, flush=True)
                passed += 1
            except Exception as e:  # noqa: BLE001 -- any failure is reported, then the next
                print("FAIL %s: %s" % (name, e), flush=True)
                failed += 1
        for n in nodes:
            if n.proc.poll() is not None:
                print("FAIL node %d exited (%d)" % (n.port, n.proc.returncode), flush=True)
                failed += 1
        for n in nodes:
            n.stop()
        if shutil.which("etcd") is None:
            print("SKIP etcd checks: no etcd (Debian's etcd-server)", flush=True)
        else:
            ctx.etcd = Etcd(ctx.logdir)
            ctx.cluster_name = "t%d" % random.randrange(1 << 30)
            ctx.eports = free_ports(3)
            ctx.enodes = {}
            try:
                ctx.etcd.start()
                ok = True
                for name, fn in ETCD_CHECKS:
                    if not ok and name != "etcd-start":
                        print("FAIL %s: an earlier etcd check failed" % name, flush=True)
                        failed += 1
                        continue
                    try:
                        fn(ctx)
                        print("PASS %s" % name, flush=True)
                        passed += 1
                    except Exception as e:  # noqa: BLE001
                        print("FAIL %s: %s" % (name, e), flush=True)
                        failed += 1
                        ok = False
            finally:
                for n in ctx.enodes.values():
                    n.stop()
                ctx.etcd.remove()
    except Exception as e:  # noqa: BLE001
        print("FAIL setup: %s" % e, flush=True)
        failed += 1
    finally:
        for n in nodes:
            n.stop()
        for u in UNCLEAN:
            print("FAIL clean exit: %s" % u, flush=True)
            failed += 1
        if failed == 0 and not ctx.keep_logs:
            shutil.rmtree(ctx.logdir, ignore_errors=True)
        else:
            print("cluster.py: logs kept in %s" % ctx.logdir)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
