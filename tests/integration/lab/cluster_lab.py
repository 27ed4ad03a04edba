#!/usr/bin/env python3
"""The cluster on the DPDK path (issue 14): kill a DPDK node, read its keys from the copies.

    tests/integration/lab/cluster_lab.py --server build/app/nicached/nicached
        [--ns NAME] [--keys N] [--dpdk-nodes N] [--drivers "af_xdp af_packet"]
        [--time-limit S] [--rejoin] [--capture PCAP] [--keep-logs] [-v]

Topology (root only; everything made here is removed at the end, whatever happens):

    root namespace                     namespace NAME (default ncclu), one subnet 10.78.0.0/24
    NAMEa0  DPDK node a, 10.78.0.1  <-veth->  NAMEa1 -+
    NAMEb0  DPDK node b, 10.78.0.2  <-veth->  NAMEb1 -+- br0 (Linux bridge): 10.78.0.254 (the
                                                      |  client) and 10.78.0.3 (the socket node)
    (a third or fourth DPDK node with --dpdk-nodes: NAMEc0 10.78.0.3, ...; the socket node
    then takes the next address)

Each DPDK node drives its own root-end veth (net_af_xdp; if a node's port does not start,
every DPDK node is started again on net_af_packet), with its own site file and EAL file
prefix, on 4 KiB pages. The socket-backend node runs in the namespace. All nodes form one
cluster with static --peers (host:port as clients name them), each --advertise'ing itself,
--replicas 2, so the replication links between the DPDK nodes are the project's own TCP
active open (stack_connect) across the bridge, ARP included.

Checks, each printed as PASS/FAIL NAME (detail), then "N passed, M failed"; exit 1 on any
failure (2: bad usage):
  start       every node serves (DPDK nodes print "nicached: serving")
  links-up    `stats cluster` on every node: repl_links_up == repl_links == members - 1,
              and cluster_warming no
  dpdk-links  each DPDK node opened its links itself (`stats tcp` active_opens >= members - 1)
              and has the other DPDK nodes in its neighbour table (`stats nic`, by ARP)
  write       pylibmc (ketama_weighted) sets --keys keys from the namespace
  copies      every key is held (mg, served where it lands) by both of its ring copies
              (ring_dump -r 2), no repl_dropped / repl_errors; the victim is primary of some
  kill        the first DPDK node is killed with SIGKILL
  read        a client without it (the names minus the dead one) reads every key, value exact
  survivors   the other nodes still run and answer `stats`
With --rejoin, then: the killed node started again empty; rejoin-links (every link up
again: the survivors' links to the old process reset), rejoin-copies (the others resynced
it: both copies of every key again), rejoin-read (a client with every member reads all).
--capture PCAP writes what crosses the bridge (ARP, TCP headers) for a diagnosis.
The whole run is bounded by --time-limit (default 170 s) and every command by a timeout.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SUBNET = "10.78.0"
CLIENT_IP = SUBNET + ".254"
PORT = 11211
CMD_T = 10  # seconds any one setup command may take


# ------------------------------------------------------------------ client side (in the ns)

def mc_request(addr, payload, end, timeout=5.0):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(payload)
        buf = b""
        while not buf.endswith(end):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        return buf


def mc_stats(addr, group=b""):
    body = mc_request(addr, b"stats" + (b" " + group if group else b"") + b"\r\n", b"END\r\n")
    out = {}
    for line in body.decode(errors="replace").split("\r\n"):
        if line.startswith("STAT "):
            parts = line.split(" ", 2)
            out[parts[1]] = parts[2] if len(parts) > 2 else ""
    return out


def key_of(i):
    return "cl:%d" % i


def value_of(i):
    return ("value-of-%d:" % i + "x" * (i % 97)).encode()


def client_wait_links(a):
    """Until every node answers `stats cluster` with all its links up and warm."""
    deadline = time.monotonic() + a.timeout
    t0 = time.monotonic()
    res = {}
    for n in a.names:
        last = None
        while True:
            try:
                c = mc_stats(n, b"cluster")
                last = {k: c.get(k) for k in ("cluster_members", "repl_links", "repl_links_up",
                                               "cluster_warming")}
                if (c.get("repl_links") == c.get("repl_links_up") == str(len(a.names) - 1)
                        and c.get("cluster_warming") == "no"):
                    break
            except OSError as e:
                last = "no answer: %r" % e
            if time.monotonic() > deadline:
                return {"ok": False, "node": n, "last": last}
            time.sleep(0.1)
        res[n] = dict(last, after_s=round(time.monotonic() - t0, 2))
    return {"ok": True, "nodes": res}


def client_write(a):
    import pylibmc
    mc = pylibmc.Client(a.names, behaviors={"ketama_weighted": True})
    t0 = time.monotonic()
    failed = [i for i in range(a.keys) if not mc.set(key_of(i), value_of(i), min_compress_len=0)]
    return {"ok": not failed, "failed": len(failed), "first": failed[:5],
            "seconds": round(time.monotonic() - t0, 2)}


def held(addr, keys):
    """Which of @p keys node @p addr holds itself (mg: meta commands are served where they
    land), pipelined in batches. Returns {key: value or None}."""
    host, port = addr.rsplit(":", 1)
    out = {}
    with socket.create_connection((host, int(port)), timeout=10) as s:
        f = s.makefile("rb")
        for b in range(0, len(keys), 200):
            batch = keys[b:b + 200]
            s.sendall(b"".join(b"mg %s v\r\n" % k.encode() for k in batch))
            for k in batch:
                line = f.readline()
                if line.startswith(b"VA "):
                    n = int(line.split()[1])
                    out[k] = f.read(n + 2)[:n]
                elif line.startswith(b"EN"):
                    out[k] = None
                else:
                    raise RuntimeError("%s: mg %s answered %r" % (addr, k, line))
    return out


def client_copies(a):
    """Every key on both of its ring copies (a.ring: per key the member indexes), polled until
    a.timeout (asynchronous replication may still be in flight)."""
    with open(a.ring) as f:
        ring = json.load(f)
    deadline = time.monotonic() + a.timeout
    while True:
        want = {n: [] for n in range(len(a.names))}
        for i, members in enumerate(ring):
            for m in members:
                want[m].append(i)
        missing = []
        for m, idx in want.items():
            got = held(a.names[m], [key_of(i) for i in idx])
            missing += [(key_of(i), a.names[m]) for i in idx if got[key_of(i)] != value_of(i)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    st = {n: mc_stats(n) for n in a.names}
    summary = {n: {k: s.get(k) for k in ("curr_items", "repl_writes", "repl_dropped",
                                         "repl_errors", "repl_link_failures")}
               for n, s in st.items()}
    bad = [n for n, s in summary.items() if s["repl_dropped"] != "0" or s["repl_errors"] != "0"]
    return {"ok": not missing and not bad, "missing": len(missing), "first": missing[:5],
            "stats": summary, "bad_counters": bad}


def client_count(a):
    """Without ring_dump: the items on all nodes add up to keys x 2 (polled)."""
    deadline = time.monotonic() + a.timeout
    while True:
        st = {n: mc_stats(n) for n in a.names}
        total = sum(int(s.get("curr_items", 0)) for s in st.values())
        if total == 2 * a.keys or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    summary = {n: {k: s.get(k) for k in ("curr_items", "repl_writes", "repl_dropped",
                                         "repl_errors")} for n, s in st.items()}
    return {"ok": total == 2 * a.keys, "items": total, "want": 2 * a.keys, "stats": summary}


def client_read(a):
    import pylibmc
    mc = pylibmc.Client(a.names, behaviors={"ketama_weighted": True})
    t0 = time.monotonic()
    got = {}
    keys = [key_of(i) for i in range(a.keys)]
    for b in range(0, len(keys), 100):
        got.update(mc.get_multi(keys[b:b + 100]))
    # get_multi may skip a server that failed once: each key it left out, once more alone.
    for i in range(a.keys):
        if key_of(i) not in got:
            v = mc.get(key_of(i))
            if v is not None:
                got[key_of(i)] = v
    missing = [i for i in range(a.keys) if key_of(i) not in got]
    wrong = [i for i in range(a.keys) if key_of(i) in got and got[key_of(i)] != value_of(i)]
    return {"ok": not missing and not wrong, "hits": len(got), "missing": len(missing),
            "wrong": len(wrong), "first_missing": [key_of(i) for i in missing[:5]],
            "seconds": round(time.monotonic() - t0, 2)}


def client_alive(a):
    res = {}
    for n in a.names:
        try:
            res[n] = mc_stats(n).get("uptime")
        except OSError as e:
            res[n] = "no answer: %r" % e
    return {"ok": all(v is not None and not v.startswith("no answer") for v in res.values()),
            "uptime": res}


def client_dpdk(a):
    """`stats tcp` and the neighbour table of `stats nic` of each (DPDK) node."""
    res = {}
    for n in a.names:
        tcp = mc_stats(n, b"tcp")
        nic = mc_stats(n, b"nic")
        res[n] = {"tcp": {k: tcp.get(k) for k in ("active_opens", "passive_opens",
                                                   "established", "attempt_fails",
                                                   "resets_in", "retrans_segs")},
                  "neigh": {k[6:]: v for k, v in nic.items() if k.startswith("neigh_")},
                  "nic": {k: nic.get(k) for k in ("arp_requests_sent", "arp_answered",
                                                   "arp_learned", "drop_no_neighbour")}}
    return {"ok": True, "nodes": res}


CLIENT = {"wait-links": client_wait_links, "dpdk": client_dpdk, "write": client_write, "copies": client_copies,
          "count": client_count, "read": client_read, "alive": client_alive}


def client_main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("phase", choices=sorted(CLIENT))
    p.add_argument("--names", required=True)
    p.add_argument("--keys", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--ring", default=None, help="a JSON file: per key its members' indexes")
    a = p.parse_args(argv)
    a.names = a.names.split(",")
    try:
        res = CLIENT[a.phase](a)
    except Exception as e:  # reported as the phase's failure
        res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(res))
    return 0


# ------------------------------------------------------------------ the lab (root namespace)

class TimeLimit(Exception):
    pass


class Lab:
    def __init__(self, args):
        self.a = args
        self.ns = args.ns
        self.ndpdk = args.dpdk_nodes
        self.dir = tempfile.mkdtemp(prefix="nc-cluster-lab.")
        self.made_links = []
        self.made_ns = False
        self.procs = {}  # name -> Popen
        self.capture = None  # tcpdump
        self.logs = {}
        self.passed = 0
        self.failed = 0
        self.driver = None
        self.dpdk_names = ["%s.%d:%d" % (SUBNET, i + 1, PORT) for i in range(self.ndpdk)]
        self.sock_ip = "%s.%d" % (SUBNET, self.ndpdk + 1)
        self.sock_name = "%s:%d" % (self.sock_ip, PORT)
        self.names = self.dpdk_names + [self.sock_name]

    # -- output
    def report(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, " (%s)" % detail if detail else ""),
              flush=True)
        return ok

    def note(self, msg):
        print("cluster_lab: " + msg, flush=True)

    # -- commands
    def sh(self, *cmd, check=True):
        r = subprocess.run(list(cmd), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=CMD_T)
        if check and r.returncode != 0:
            raise RuntimeError("failed (status %d): %s: %s" % (r.returncode, " ".join(cmd),
                                                               r.stderr.strip()))
        return r

    def in_ns(self, *cmd, check=True):
        return self.sh("ip", "netns", "exec", self.ns, *cmd, check=check)

    def veth(self, i, end):
        return "%s%s%d" % (self.ns, chr(ord("a") + i), end)

    # -- topology
    def remove_leftovers(self):
        """What an earlier run of the same --ns left (a crash, a SIGKILL): its veths and ns."""
        for i in range(8):
            if self.sh("ip", "link", "show", "dev", self.veth(i, 0), check=False).returncode == 0:
                self.sh("ip", "link", "del", "dev", self.veth(i, 0))
        if self.ns in self.sh("ip", "netns", "list").stdout.split():
            self.sh("ip", "netns", "del", self.ns)

    def up(self):
        self.remove_leftovers()
        self.sh("ip", "netns", "add", self.ns)
        self.made_ns = True
        for k in ("all", "default"):
            self.in_ns("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % k)
        self.in_ns("ip", "link", "set", "dev", "lo", "up")
        self.in_ns("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0",
                   "forward_delay", "0")
        for i in range(self.ndpdk):
            root, peer = self.veth(i, 0), self.veth(i, 1)
            self.sh("ip", "link", "add", root, "type", "veth", "peer", "name", peer)
            self.made_links.append(root)
            self.sh("ip", "link", "set", "dev", peer, "netns", self.ns)
            # The root end is DPDK's: no address, no IPv6, no kernel ARP (as scripts/lab.sh).
            self.sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % root)
            self.sh("sysctl", "-q", "-w", "net.ipv4.conf.%s.forwarding=0" % root)
            self.sh("ip", "link", "set", "dev", root, "arp", "off")
            self.sh("ip", "link", "set", "dev", root, "up")
            # The kernel finishes checksums before frames reach a raw-frame reader.
            self.in_ns("ethtool", "-K", peer, "tx", "off")
            self.in_ns("ip", "link", "set", "dev", peer, "master", "br0")
            self.in_ns("ip", "link", "set", "dev", peer, "up")
        self.in_ns("ethtool", "-K", "br0", "tx", "off", check=False)
        # The client's address first: it is the source of the namespace's own connections.
        self.in_ns("ip", "addr", "add", CLIENT_IP + "/24", "dev", "br0")
        self.in_ns("ip", "addr", "add", self.sock_ip + "/24", "dev", "br0")
        self.in_ns("ip", "link", "set", "dev", "br0", "up")
        if self.a.capture:
            # Every frame crossing the bridge (ARP and TCP, headers), for a diagnosis.
            self.capture = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, "tcpdump", "-i", "br0", "-s", "160", "-U",
                 "-w", self.a.capture, "arp or tcp"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not (
                    os.path.exists(self.a.capture) and os.path.getsize(self.a.capture) > 0):
                time.sleep(0.1)
            time.sleep(0.3)

    def down(self):
        for name in list(self.procs):
            self.kill(name)
        if self.capture is not None:
            self.capture.send_signal(signal.SIGINT)
            try:
                self.capture.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.capture.kill()
                self.capture.wait(timeout=5)
            self.capture = None
            self.note("frames crossing the bridge written to %s" % self.a.capture)
        for root in self.made_links:
            self.sh("ip", "link", "del", "dev", root, check=False)
        if self.made_ns:
            self.sh("ip", "netns", "del", self.ns, check=False)
        self.made_links, self.made_ns = [], False

    # -- nodes
    def common_flags(self, name, prefix):
        v = "-" + "v" * max(1, self.a.verbose)
        return ["-p", str(PORT), "-t", "1", "-m", "64", v, "--peers", ",".join(self.names),
                "--advertise", name, "--replicas", "2",
                "--eal", "--file-prefix %s-%d-%s" % (self.ns, os.getpid(), prefix)]

    def spawn(self, name, cmd):
        log = os.path.join(self.dir, "node-%s.log" % name.replace(":", "_"))
        if name in self.logs:  # started again: a log of its own
            log = log[:-4] + "-%d.log" % len([n for n in os.listdir(self.dir) if n.startswith(
                os.path.basename(log)[:-4])])
        with open(log, "wb") as f:
            f.write(("[cluster_lab] %s\n" % " ".join(cmd)).encode())
            f.flush()
            self.procs[name] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        self.logs[name] = log

    def log_text(self, name):
        try:
            with open(self.logs[name], "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, name, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text(name):
                return True
            if self.procs[name].poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)  # its own session: the node and nothing else
            except ProcessLookupError:
                pass
        try:
            return p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait(timeout=10)

    def spawn_dpdk(self, i, driver):
        name = self.dpdk_names[i]
        site = os.path.join(self.dir, "site-%d.ini" % i)
        with open(site, "w") as f:
            f.write("; cluster_lab.py: DPDK node %s\n[port]\nprofile = %s\niface = %s\n\n"
                    "[ipv4]\naddress = %s.%d/24\n" % (name, driver, self.veth(i, 0), SUBNET,
                                                      i + 1))
        self.spawn(name, [self.a.server, "--backend", "dpdk", "--site", site]
                   + self.common_flags(name, "%s%d" % (driver, i)))

    def start_dpdk(self, driver):
        for i in range(self.ndpdk):
            self.spawn_dpdk(i, driver)
        ok = all(self.wait_log(n, "nicached: serving", 30) for n in self.dpdk_names)
        if not ok:
            for n in self.dpdk_names:
                self.kill(n)
        return ok

    def start(self):
        errs = []
        for d in self.a.drivers.split():
            if self.start_dpdk(d):
                self.driver = d
                break
            errs.append(d)
            self.note("a DPDK node did not start on %s (see its log)%s" % (
                d, ": trying the next driver" if d != self.a.drivers.split()[-1] else ""))
        if self.driver is None:
            return self.report("start", False, "no DPDK node driver worked: %s" % " ".join(errs))
        self.spawn(self.sock_name, ["ip", "netns", "exec", self.ns, self.a.server,
                                    "-l", self.sock_ip] + self.common_flags(self.sock_name,
                                                                            "sock"))
        # The banner comes once its ports listen (before the workers run).
        if not self.wait_log(self.sock_name, "backend socket, ", 30):
            return self.report("start", False, "the socket node did not start")
        macs = []
        for n in self.dpdk_names:
            for line in self.log_text(n).splitlines():
                if line.split()[:1] == ["mac"]:
                    macs.append(line.split()[1])
                    break
        return self.report("start", True, "%d DPDK nodes on %s (MACs %s), 1 socket node" % (
            self.ndpdk, self.driver, " ".join(macs)))

    # -- client phases, run inside the namespace
    def client(self, phase, names, timeout, **kw):
        cmd = ["ip", "netns", "exec", self.ns, PYTHON, os.path.abspath(__file__), "--client",
               phase, "--names", ",".join(names), "--timeout", str(timeout)]
        for k, v in kw.items():
            cmd += ["--" + k, str(v)]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": "client %s took over %d s" % (phase, timeout + 30)}
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"ok": False, "error": "client %s: status %d, %s" % (
                phase, r.returncode, (r.stderr or r.stdout).strip()[-500:])}

    def check_dpdk_links(self):
        """Each DPDK node opened its links itself (stack_connect: active_opens) and learned
        the other DPDK nodes' MACs by ARP (its neighbour table, `stats nic`)."""
        r = self.client("dpdk", self.dpdk_names, 10)
        if not r["ok"]:
            return self.report("dpdk-links", False, str(r))
        bad, parts = [], []
        for n, v in r["nodes"].items():
            opens = int(v["tcp"]["active_opens"] or 0)
            others = [o.split(":")[0] for o in self.dpdk_names if o != n]
            known = [o for o in others if o in v["neigh"]]
            if opens < len(self.names) - 1 or len(known) != len(others):
                bad.append(n)
            parts.append("%s: active_opens %s, attempt_fails %s, %s, neighbours %s" % (
                n, v["tcp"]["active_opens"], v["tcp"]["attempt_fails"],
                ", ".join("%s %s" % kv for kv in v["nic"].items()),
                " ".join("%s=%s" % kv for kv in sorted(v["neigh"].items()))))
        return self.report("dpdk-links", not bad, "; ".join(parts) + (
            "; want active_opens >= %d and every other DPDK node in the neighbour table: %s" % (
                len(self.names) - 1, ", ".join(bad)) if bad else ""))

    def check_copies(self, name, victim):
        ring = self.ring_dump()
        if ring is not None:
            ring_file = os.path.join(self.dir, "ring.json")
            with open(ring_file, "w") as f:
                json.dump(ring, f)
            r = self.client("copies", self.names, 20, keys=self.a.keys, ring=ring_file)
            primary_of_victim = sum(1 for m in ring if m[0] == self.names.index(victim))
            ok = r["ok"] and primary_of_victim > 0
            return self.report(name, ok, "every key on its primary and its replica (ring_dump "
                               "-r 2); %d primaries on %s; items %s" % (
                                   primary_of_victim, victim,
                                   " ".join("%s=%s" % (n, s["curr_items"]) for n, s in
                                            r["stats"].items())) if ok else str(r))
        r = self.client("count", self.names, 20, keys=self.a.keys)
        return self.report(name, r["ok"], "no ring_dump: items add up to %d" % r.get("items", 0)
                           if r["ok"] else str(r))

    def ring_dump(self):
        path = self.a.ring_dump
        if path is None:
            guess = os.path.join(os.path.dirname(os.path.abspath(self.a.server)), "..", "..",
                                 "tests", "unit", "cluster", "ring_dump")
            path = guess if os.access(guess, os.X_OK) else None
        if path is None:
            return None
        keys = "".join("%s\n" % key_of(i) for i in range(self.a.keys))
        r = subprocess.run([path, "-r", "2"] + self.names, input=keys, capture_output=True,
                           text=True, timeout=30, check=True)
        return [[int(x) for x in ln.split()[1:]] for ln in r.stdout.splitlines() if ln.strip()]

    def run(self):
        self.up()
        self.note("topology up: namespace %s, bridge br0 (client %s), DPDK ports %s, "
                  "members %s" % (self.ns, CLIENT_IP, " ".join(self.veth(i, 0) for i in
                                                                range(self.ndpdk)),
                                  ",".join(self.names)))
        if not self.start():
            return
        t0 = time.monotonic()
        r = self.client("wait-links", self.names, 30)
        if r["ok"]:
            self.report("links-up", True, "; ".join(
                "%s %s/%s after %.1f s" % (n, v["repl_links_up"], v["repl_links"], v["after_s"])
                for n, v in r["nodes"].items()))
        else:
            self.report("links-up", False, "after %.0f s: %s" % (time.monotonic() - t0, r))
            return
        self.check_dpdk_links()
        r = self.client("write", self.names, 60, keys=self.a.keys)
        if not self.report("write", r["ok"], "%d keys in %s s" % (self.a.keys, r.get("seconds"))
                           if r["ok"] else str(r)):
            return
        victim = self.dpdk_names[0]
        self.check_copies("copies", victim)
        rc = self.kill(victim)
        self.report("kill", rc == -signal.SIGKILL, "%s exit %s" % (victim, rc))
        live = [n for n in self.names if n != victim]
        r = self.client("read", live, 60, keys=self.a.keys)
        self.report("read", r["ok"], "a client without %s read %d of %d keys in %s s" % (
            victim, r.get("hits", 0), self.a.keys, r.get("seconds")) if r["ok"] else str(r))
        dead = [n for n in live if self.procs[n].poll() is not None]
        r = self.client("alive", live, 10)
        self.report("survivors", r["ok"] and not dead, "%s still serving" % ", ".join(live)
                    if r["ok"] and not dead else "exited: %s; %s" % (dead, r))
        if self.a.rejoin:
            self.rejoin(victim)

    def rejoin(self, victim):
        """The killed DPDK node started again, empty: every link up again (the survivors' links
        to its old process broke), and the others resync it: both copies of every key again."""
        t0 = time.monotonic()
        self.spawn_dpdk(self.dpdk_names.index(victim), self.driver)
        if not self.wait_log(victim, "nicached: serving", 30):
            return self.report("rejoin", False, "%s did not start again" % victim)
        r = self.client("wait-links", self.names, 60)
        if not self.report("rejoin-links", r["ok"], "all links up %.1f s after the restart" % (
                time.monotonic() - t0) if r["ok"] else str(r)):
            return
        self.check_copies("rejoin-copies", victim)
        r = self.client("read", self.names, 60, keys=self.a.keys)
        self.report("rejoin-read", r["ok"], "a client with every member read %d of %d keys" % (
            r.get("hits", 0), self.a.keys) if r["ok"] else str(r))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        return client_main(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True, help="the nicached binary")
    p.add_argument("--ns", default=os.environ.get("NC_CLUSTER_LAB_NS", "ncclu"),
                   help="namespace (and veth prefix) to make; default ncclu")
    p.add_argument("--keys", type=int, default=5000)
    p.add_argument("--dpdk-nodes", type=int, default=2, choices=range(2, 5))
    p.add_argument("--drivers", default=os.environ.get("NC_LAB_DRIVERS", "af_xdp af_packet"))
    p.add_argument("--time-limit", type=int, default=170)
    p.add_argument("--ring-dump", default=None, help="default: next to the server's build")
    p.add_argument("--rejoin", action="store_true",
                   help="then start the killed node again: links up, its copies back")
    p.add_argument("--capture", metavar="PCAP", help="tcpdump the bridge (ARP, TCP) to PCAP")
    p.add_argument("--keep-logs", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=1,
                   help="nodes' verbosity (-v: theirs is -vv)")
    a = p.parse_args()
    if not os.access(a.server, os.X_OK):
        print("cluster_lab: server %s is not an executable" % a.server, file=sys.stderr)
        return 2
    a.server = os.path.abspath(a.server)
    if os.geteuid() != 0:
        print("cluster_lab: needs root (namespace, veth, DPDK)", file=sys.stderr)
        return 2
    if len(a.ns) > 12:
        print("cluster_lab: --ns %s is too long for interface names" % a.ns, file=sys.stderr)
        return 2

    def on_alarm(_sig, _frm):
        raise TimeLimit("the time limit of %d s" % a.time_limit)

    def on_term(sig, _frm):
        raise TimeLimit("signal %d" % sig)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(a.time_limit)
    t0 = time.monotonic()
    lab = Lab(a)
    try:
        lab.run()
    except TimeLimit as e:
        lab.report("time-limit", False, "stopped by %s" % e)
    except Exception as e:  # setup failures and the like: a failed check, then teardown
        lab.report("setup", False, "%s: %s" % (type(e).__name__, e))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            lab.down()
        except Exception as e:
            lab.report("teardown", False, "%s: %s" % (type(e).__name__, e))
        if lab.failed:
            for name, log in lab.logs.items():
                lines = lab.log_text(name).splitlines()
                lines = [ln for ln in lines if not ln.startswith(("libbpf:", "libxdp:"))]
                print("---- node %s (last 25 lines of %s) ----" % (name, log))
                print("\n".join(lines[-25:]))
        if a.keep_logs:
            lab.note("logs kept in %s" % lab.dir)
        else:
            shutil.rmtree(lab.dir, ignore_errors=True)
        lab.note("took %.1f s" % (time.monotonic() - t0))
        print("%d passed, %d failed" % (lab.passed, lab.failed), flush=True)
    return 1 if lab.failed or lab.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
