#!/usr/bin/env python3
"""nicached's TCP on the DPDK path under attack, next to memcached on Linux's TCP, in the
netns lab: floods, storms, idle crowds, slow and stalled peers, resets, bad segments.

  scripts/tcp-attacks.py [--quick] [--servers nicached,memcached] [--only a,b]
                         [--nicached PATH] [--memcached PATH] [--json FILE]
                         [--markdown FILE] [--list]

Root only. Brings the lab up (scripts/lab.sh, one queue, net_af_xdp, falling back to
net_af_packet) in namespace $NC_LAB_NS (default ncat), and for each scenario of
tests/integration/lab/attacks (main.py --list) and each server starts the server with the
scenario's flags on 10.77.0.1 (the root end of the veth; nicached through DPDK, memcached
on the kernel, given the address for its turn), runs the scenario from the namespace
(attacks/main.py: the normal client's latency and errors during it against a quiet
baseline, counters, memory before and after, its own figures and checks), stops the
server. Prints a table per scenario, the servers side by side, and writes every result
as JSON with --json. --quick: shorter scenarios and nicached only unless --servers says
otherwise (the test suite's run).

Exit status: 0 when every nicached check held, 1 otherwise, 2 on usage errors. memcached
is the reference: its checks are shown, not enforced."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTACKS = os.path.join(ROOT, "tests/integration/lab/attacks/main.py")
LAB = os.path.join(ROOT, "scripts/lab.sh")
NS = os.environ.setdefault("NC_LAB_NS", "ncat")
LAB_DIR = os.environ.setdefault("NC_LAB_DIR", "/run/nicached-attacks")
SERVER_IP = "10.77.0.1"
PORT = 11211
BASE_FLAGS = ["-t", "1", "-m", "64", "-p", str(PORT), "-U", str(PORT)]


def log(msg):
    print("tcp-attacks: %s" % msg, file=sys.stderr, flush=True)


def sh(*cmd, timeout=30, check=True):
    return subprocess.run(cmd, timeout=timeout, check=check, capture_output=True, text=True)


def in_ns(*cmd):
    return ["ip", "netns", "exec", NS] + list(cmd)


class Server:
    """One server process of a scenario's run (its own process group)."""

    def __init__(self, kind, path, flags, log):
        self.kind, self.path, self.flags = kind, path, flags
        self.log = log
        self.proc = None
        self.mac = ""
        self.driver = ""

    def start(self, drivers):
        if self.kind == "nicached":
            return self._start_nicached(drivers)
        return self._start_memcached()

    def _spawn(self, cmd):
        # Written anew for each start: the MAC read back below must be this lab's (lab.sh
        # up makes a new veth with a new MAC).
        with open(self.log, "w") as f:
            f.write("[tcp-attacks] %s\n" % " ".join(cmd))
            f.flush()
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def _start_nicached(self, drivers):
        for driver in drivers:
            sh("bash", LAB, "up", "--queues", "1", "--driver", driver)
            self._spawn([self.path, "--backend", "dpdk", "--site", LAB_DIR + "/site.ini",
                         "-v", "--eal", "--file-prefix ncat-%d" % os.getpid()]
                        + BASE_FLAGS + self.flags)
            for _ in range(300):
                with open(self.log) as f:
                    text = f.read()
                if "nicached: serving" in text:
                    self.mac = next((ln.split()[1] for ln in text.splitlines()
                                     if ln.startswith("mac ")), "")
                    self.driver = driver
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
            self.stop()
            log("nicached did not start on %s (see %s)" % (driver, self.log))
        raise RuntimeError("nicached did not start")

    def _start_memcached(self):
        sh("bash", LAB, "up", "--queues", "1", "--driver", "af_packet")
        # The lab keeps the kernel off the DPDK end: hand it the address for this turn.
        sh("ip", "link", "set", "dev", NS + "0", "arp", "on")
        sh("ip", "addr", "add", SERVER_IP + "/24", "dev", NS + "0")
        self._spawn([self.path, "-u", "nobody", "-l", SERVER_IP] + BASE_FLAGS + self.flags)
        self.driver = "linux"
        for _ in range(100):
            r = subprocess.run(in_ns("bash", "-c", "exec 3<>/dev/tcp/%s/%d && echo version >&3"
                                     " && head -c 7 <&3" % (SERVER_IP, PORT)),
                               capture_output=True, text=True, timeout=10)
            if r.stdout.startswith("VERSION"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("memcached did not start (see %s)" % self.log)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self.kind == "memcached":
            sh("ip", "addr", "del", SERVER_IP + "/24", "dev", NS + "0", check=False)
            sh("ip", "link", "set", "dev", NS + "0", "arp", "off", check=False)
        sh(*in_ns("ip", "neigh", "flush", "dev", NS + "1"), check=False)


def lab_sysctls():
    """The client namespace's own settings: room for 20,000 connect/close cycles twice
    (ports in TIME_WAIT) and for 10,000 idle sockets."""
    for k, v in (("net.ipv4.ip_local_port_range", "10000 65000"),
                 ("net.ipv4.tcp_tw_reuse", "1")):
        sh(*in_ns("sysctl", "-qw", "%s=%s" % (k, v)))


def run_one(sc, kind, path, args, logdir):
    flags = sc[kind]
    srv = Server(kind, path, flags,
                 os.path.join(logdir, "%s-%s.server.log" % (sc["name"], kind)))
    try:
        srv.start(args.drivers.split(","))
        lab_sysctls()
        cmd = in_ns(sys.executable, ATTACKS, "--kind", kind, "--pid", str(srv.proc.pid),
                    "--scenario", sc["name"], "--iface", NS + "1", "--server-mac", srv.mac)
        if args.quick:
            cmd.append("--quick")
        log("%s on %s (%s)%s" % (sc["name"], kind, srv.driver,
                                 " " + " ".join(flags) if flags else ""))
        with open(os.path.join(logdir, "%s-%s.log" % (sc["name"], kind)), "w") as err:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                               timeout=args.timeout)
        out = r.stdout.strip().splitlines()
        res = json.loads(out[-1]) if out else None
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as e:
        res = None
        log("%s on %s: %s" % (sc["name"], kind, e))
    finally:
        srv.stop()
    if res is None:
        res = {"scenario": sc["name"], "title": sc["title"], "server": kind, "ok": False,
               "checks": [{"name": "ran", "ok": False, "detail": "see %s" % logdir}]}
    res["driver"] = srv.driver
    res["flags"] = flags
    return res


def fmt_probe(w):
    if not w:
        return "-"
    return "%s / %s ms, %d errors (%d ops)" % (w["p50_ms"], w["p99_ms"], w["errors"], w["ops"])


def fmt_mem(m):
    if not m:
        return "-"
    return "%.1f MB" % (sum(m.values()) / 1024)


def table(name, results):
    """A markdown table: one row per measure, one column per server."""
    kinds = [r["server"] for r in results]
    rows = [("sent", [r.get("sent", "-") for r in results]),
            ("client p50 / p99, quiet", [fmt_probe(r.get("baseline")) for r in results]),
            ("client p50 / p99, during", [fmt_probe(r.get("during")) for r in results]),
            ("memory before -> after", ["%s -> %s" % (fmt_mem(r.get("memory_before")),
                                                      fmt_mem(r.get("memory_after")))
                                        for r in results])]
    keys = []
    for r in results:
        for k in list(r.get("figures", {})) + list(r.get("counters", {})):
            if k not in keys:
                keys.append(k)
    for k in keys:
        rows.append((k, [str(r.get("figures", {}).get(k, r.get("counters", {}).get(k, "")))
                         for r in results]))
    rows.append(("checks", ["; ".join(("ok " if c["ok"] else "FAILED ") + c["name"]
                                      + ("" if c["ok"] or not c["detail"] else
                                         " (%s)" % c["detail"])
                                      for c in r.get("checks", [])) for r in results]))
    out = ["### %s" % name, "", "| | %s |" % " | ".join(kinds),
           "|---|" + "---|" * len(kinds)]
    for label, cells in rows:
        out.append("| %s | %s |" % (label, " | ".join(c.replace("|", "/") for c in cells)))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--servers", default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--nicached", default=os.path.join(ROOT, "build/app/nicached/nicached"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--drivers", default="af_xdp,af_packet")
    ap.add_argument("--timeout", type=int, default=400, help="seconds per scenario run")
    ap.add_argument("--json", default="")
    ap.add_argument("--markdown", default="", help="also write the tables to this file")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    scenarios = json.loads(sh(sys.executable, ATTACKS, "--list").stdout)
    if args.list:
        for s in scenarios:
            print("%-14s %s" % (s["name"], s["title"]))
        return 0
    if os.geteuid() != 0:
        log("needs root (the lab)")
        return 2
    servers = (args.servers or ("nicached" if args.quick else "nicached,memcached")).split(",")
    paths = {"nicached": os.path.realpath(args.nicached), "memcached": args.memcached}
    if args.only:
        want = args.only.split(",")
        unknown = set(want) - {s["name"] for s in scenarios}
        if unknown:
            log("unknown scenario(s): %s" % ", ".join(sorted(unknown)))
            return 2
        scenarios = [s for s in scenarios if s["name"] in want]
    logdir = "/tmp/nc-attacks.%d" % os.getpid()
    os.makedirs(logdir)
    results, ok, passed, tables = [], True, 0, []
    try:
        for sc in scenarios:
            row = []
            for kind in servers:
                res = run_one(sc, kind, paths[kind], args, logdir)
                row.append(res)
                if kind == "nicached" and not res["ok"]:
                    ok = False
                    log("FAILED %s: %s" % (sc["name"], "; ".join(
                        "%s (%s)" % (c["name"], c["detail"])
                        for c in res["checks"] if not c["ok"])))
            results.extend(row)
            passed += any(r["server"] == "nicached" and r["ok"] for r in row)
            tables.append(table(sc["title"], row))
            print(tables[-1], flush=True)
    finally:
        sh("bash", LAB, "down", check=False)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            how = "".join((" --quick" if args.quick else "",
                           " --servers " + args.servers if args.servers else "",
                           " --only " + args.only if args.only else ""))
            f.write("Measured %s with `scripts/tcp-attacks.py%s` (drivers: %s).\n\n" % (
                time.strftime("%Y-%m-%d"), how,
                ", ".join(sorted({r.get("driver", "?") for r in results}))))
            f.write("\n".join(tables))
    if ok:
        shutil.rmtree(logdir)
    else:
        log("logs kept in %s" % logdir)
    log("%s" % ("all nicached checks held" if ok else "some nicached checks FAILED"))
    # The test suite's runner counts scenarios from this line.
    if "nicached" in servers:
        print("%d passed, %d failed" % (passed, len(scenarios) - passed))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
