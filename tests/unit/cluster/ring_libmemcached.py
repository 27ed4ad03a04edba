#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check lib/cluster/ring.c against libmemcached itself, through pylibmc.

    ring_libmemcached.py RING_DUMP

For several member lists and each libmemcached ketama mode (pylibmc behaviors "ketama",
"ketama" with "hash": "md5", and "ketama_weighted"), 100,000 keys are placed by libmemcached
(pylibmc's Client.hash(key) is memcached_generate_hash(): the server index, computed without
connecting to any server) and by ring_dump (tests/unit/cluster/ring_dump.c) over the same
list; every key must land on the same member. Also checked against libmemcached:
 - ties: two members with an equal point, found by search, in both list orders (the member
   listed first wins);
 - ejection: libmemcached over the list without one member puts every key where the full
   ring's replica set says (the primary, or the 2nd replica where the primary is the one
   removed), for lists whose remaining members keep their point counts.
Exit status: 0 all agree, 1 any mismatch (the first few are printed), 77 (skip) without pylibmc.
"""

import hashlib
import random
import subprocess
import sys

try:
    import pylibmc
except ImportError:
    print("SKIP: pylibmc is not installed (Debian: apt-get install python3-pylibmc)")
    sys.exit(77)

N_KEYS = 100_000
SHOW = 5

# pylibmc behaviors -> ring_dump options, for the three ketama modes.
MODES = {
    "ketama": ({"ketama": True}, ["-p", "flat", "-H", "oaat"]),
    "ketama+md5": ({"ketama": True, "hash": "md5"}, ["-p", "flat", "-H", "md5"]),
    "ketama_weighted": ({"ketama_weighted": True}, ["-p", "weighted", "-H", "md5"]),
    # pylibmc sets behaviors before adding servers, and libmemcached switches a consistent
    # distribution to weighted points when a server with weight > 1 is added: weighted
    # points, but the key hash stays "default" (one-at-a-time).
    "ketama,weights>1": ({"ketama": True}, ["-p", "weighted", "-H", "oaat"]),
}


def make_keys(n, seed=20260101):
    """Deterministic keys: counters, printable ASCII of many lengths, and high bytes."""
    rnd = random.Random(seed)
    keys = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            keys.append(b"key:%d" % i)
        elif kind == 1:
            keys.append(b"user/%08x/session" % rnd.getrandbits(32))
        elif kind == 2:
            length = rnd.randint(1, 250)
            keys.append(bytes(rnd.randint(0x21, 0x7E) for _ in range(length)))
        else:
            length = rnd.randint(1, 64)
            keys.append(bytes(rnd.choice(range(0x21, 0x100)) for _ in range(length)))
    return keys


def spec(name, weight):
    """A pylibmc server string: its parser takes host[:port[:weight]] and [v6][:port[:weight]]."""
    if weight == 1:
        return name
    if name.endswith("]") or ":" not in name:
        name += ":11211"
    return "%s:%d" % (name, weight)


def libmemcached_place(members, behaviors, keys):
    """Server index of every key, from libmemcached."""
    client = pylibmc.Client([spec(n, w) for n, w in members], behaviors=behaviors)
    return [client.hash(k) for k in keys]


def ring_place(ring_dump, members, opts, keys, r=1):
    """Replica sets (lists of member indices) of every key, from ring_dump."""
    args = [ring_dump] + opts + ["-r", str(r)] + ["%s=%d" % (n, w) for n, w in members]
    out = subprocess.run(args, input=b"\n".join(keys) + b"\n", stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    sets = [[int(x) for x in line.split()[1:]] for line in out.splitlines()]
    if len(sets) != len(keys):
        raise SystemExit("ring_dump printed %d lines for %d keys" % (len(sets), len(keys)))
    return sets


class Report:
    def __init__(self):
        self.failed = 0

    def compare(self, label, keys, want, got):
        """want/got: member names per key."""
        bad = [i for i in range(len(keys)) if want[i] != got[i]]
        if bad:
            self.failed += 1
            print("FAIL %s: %d/%d keys differ" % (label, len(bad), len(keys)))
            for i in bad[:SHOW]:
                print("  key %r: libmemcached %s, ring %s" % (keys[i], want[i], got[i]))
        else:
            print("ok   %s: %d/%d keys agree" % (label, len(keys), len(keys)))


def check_placement(rep, ring_dump, label, members, mode, keys):
    behaviors, opts = MODES[mode]
    names = [n for n, _ in members]
    want = [names[i] for i in libmemcached_place(members, behaviors, keys)]
    got = [names[s[0]] for s in ring_place(ring_dump, members, opts, keys)]
    rep.compare("%s [%s]" % (label, mode), keys, want, got)


def check_ejection(rep, ring_dump, label, members, mode, keys):
    """Removing each member: libmemcached's placement = the full ring's next replica."""
    behaviors, opts = MODES[mode]
    names = [n for n, _ in members]
    full = ring_place(ring_dump, members, opts, keys, r=2)
    for gone in range(len(members)):
        rest = members[:gone] + members[gone + 1:]
        want = [rest[i][0] for i in libmemcached_place(rest, behaviors, keys)]
        got = [names[s[1] if s[0] == gone else s[0]] for s in full]
        rep.compare("%s without %s [%s]" % (label, names[gone], mode), keys, want, got)


# ---- ties: two members sharing a point ----

def oaat(data):
    """libhashkit's default hash on x86-64 (bytes read as signed char)."""
    h = 0
    for b in data:
        h = (h + (b - 256 if b >= 128 else b)) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    return (h + (h << 15)) & 0xFFFFFFFF


def md5_points(host, n_digests):
    for i in range(n_digests):
        d = hashlib.md5(b"%s-%d" % (host, i)).digest()
        for x in range(4):
            yield int.from_bytes(d[4 * x:4 * x + 4], "little")


def oaat_points(host, n):
    for i in range(n):
        yield oaat(b"%s-%d" % (host, i))


def find_tie(points_of):
    """Two host names (port 11211) with an equal point, and that point."""
    seen = {}
    for i in range(1_000_000):
        host = b"tie%d.example" % i
        for p in points_of(host):
            other = seen.setdefault(p, host)
            if other != host:
                return other.decode(), host.decode(), p
    raise SystemExit("no tie found")


def keys_below(point, hash_fn, count=64, window=1 << 20):
    """Keys whose point lies in (point - window, point]: they land on the tied point."""
    keys = []
    for i in range(100_000_000):
        k = b"tied:%d" % i
        if 0 <= point - hash_fn(k) < window:
            keys.append(k)
            if len(keys) == count:
                return keys
    raise SystemExit("no keys near the tie")


def check_tie(rep, ring_dump, mode, points_of, hash_fn, keys):
    a, b, point = find_tie(points_of)
    near = keys_below(point, hash_fn) + keys[:10_000]
    winners = []
    for members in ([(a, 1), (b, 1)], [(b, 1), (a, 1)]):
        label = "tie at %08x, %s listed first" % (point, members[0][0])
        check_placement(rep, ring_dump, label, members, mode, near)
        behaviors, _ = MODES[mode]
        place = libmemcached_place(members, behaviors, near[:64])
        winners.append({members[i][0] for i in place})
    # The tie is exercised only if the tied keys follow the list order in libmemcached.
    if winners[0] == winners[1]:
        rep.failed += 1
        print("FAIL tie [%s]: libmemcached placed the tied keys on %s in both orders"
              % (mode, winners[0]))


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    ring_dump = sys.argv[1]
    keys = make_keys(N_KEYS)
    rep = Report()

    local3 = [("127.0.0.1:%d" % p, 1) for p in (21001, 21002, 21003)]
    port11211 = [("10.0.0.1", 1), ("10.0.0.2:11211", 1), ("10.0.0.3:11212", 1),
                 ("[::1]", 1), ("[::1]:22122", 1)]
    hostnames = [("cache-a.example.com", 1), ("Cache-B.Example.com:11212", 1),
                 ("localhost:11311", 1), ("memcached.internal:11211", 1),
                 ("[fe80::1%eth0]:22122", 1)]
    weighted10 = [("10.1.0.%d:11211" % (i + 1), w)
                  for i, w in enumerate((1, 2, 3, 5, 8, 1, 1, 4, 10, 7))]
    equal25 = [("10.2.0.%d:11211" % (i + 1), 1) for i in range(25)]

    for label, members in (("3 local ports", local3), ("port 11211", port11211),
                           ("hostnames", hostnames)):
        for mode in ("ketama", "ketama+md5", "ketama_weighted"):
            check_placement(rep, ring_dump, label, members, mode, keys)
    check_placement(rep, ring_dump, "10 weighted", weighted10, "ketama_weighted", keys)
    check_placement(rep, ring_dump, "10 weighted", weighted10, "ketama,weights>1", keys)
    # 25 equal members get 156 points each in libmemcached (float rounding), not 160.
    check_placement(rep, ring_dump, "25 equal", equal25, "ketama_weighted", keys)

    check_tie(rep, ring_dump, "ketama_weighted", lambda h: md5_points(h, 40),
              lambda k: int.from_bytes(hashlib.md5(k).digest()[:4], "little"), keys)
    check_tie(rep, ring_dump, "ketama", lambda h: oaat_points(h, 100), oaat, keys)

    for mode in ("ketama", "ketama_weighted"):
        check_ejection(rep, ring_dump, "3 local ports", local3, mode, keys)
    check_ejection(rep, ring_dump, "port 11211", port11211, "ketama_weighted", keys)

    if rep.failed:
        print("%d checks FAILED" % rep.failed)
        return 1
    print("all checks agree with libmemcached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
