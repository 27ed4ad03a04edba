"""The server under attack, seen from the lab's namespace: its stats over UDP (no TCP
connection of our own, so connection counts stay exact), its memory and CPU time from
/proc/PID (the pid namespace is shared with the root one), and, for a server on the
root namespace's Linux stack (memcached), that stack's TCP counters."""
import os
import re
import socket
import struct
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Linux's counters a scenario may name, as "Group.Name" of /proc/PID/net/{snmp,netstat}.
_PROC_NET = ("snmp", "netstat")


class Target:
    """One running server. kind is "nicached" (its own TCP on the DPDK path) or
    "memcached" (Linux's TCP in the root namespace)."""

    def __init__(self, kind, server, tcp_port, udp_port, pid):
        self.kind = kind
        self.server = server
        self.tcp_port = tcp_port
        self.udp_port = udp_port
        self.pid = pid
        self._rid = int.from_bytes(os.urandom(2), "big")

    def addr(self):
        return (self.server, self.tcp_port)

    def stats(self, group=b"", tries=8):
        """`stats [group]` over UDP as {name: value string}; {} when the server has no
        such group; raises TimeoutError after `tries` lost attempts (a datagram may be
        lost to the fault hook or a flood)."""
        cmd = b"stats" + (b" " + group if group else b"") + b"\r\n"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        try:
            for _ in range(tries):
                self._rid = (self._rid + 1) & 0xFFFF
                s.sendto(struct.pack("!HHHH", self._rid, 0, 1, 0) + cmd,
                         (self.server, self.udp_port))
                parts, total = {}, None
                try:
                    while total is None or len(parts) < total:
                        d = s.recv(65536)
                        rid, seq, tot, _ = struct.unpack("!HHHH", d[:8])
                        if rid == self._rid:
                            parts[seq], total = d[8:], tot
                except socket.timeout:
                    continue
                body = b"".join(parts[i] for i in sorted(parts))
                out = {}
                for line in body.split(b"\r\n"):
                    f = line.decode(errors="replace").split(" ", 2)
                    if len(f) == 3 and f[0] == "STAT":
                        out[f[1]] = f[2]
                return out
        finally:
            s.close()
        raise TimeoutError("no answer to %r over UDP" % cmd)

    def counters(self):
        """Every counter worth a delta: `stats`, nicached's `stats tcp`, and for a server
        on Linux the root namespace's TCP counters ("TcpExt.SyncookiesSent"...), as ints."""
        out = {}
        groups = [b""] + ([b"tcp"] if self.kind == "nicached" else [])
        for g in groups:
            for k, v in self.stats(g).items():
                try:
                    out[k] = int(v)
                except ValueError:
                    pass
        if self.kind != "nicached":
            out.update(self.kernel_counters())
        return out

    def kernel_counters(self):
        """The server's network namespace's SNMP counters (/proc/PID/net/snmp, netstat)."""
        out = {}
        for name in _PROC_NET:
            with open("/proc/%d/net/%s" % (self.pid, name)) as f:
                lines = f.read().splitlines()
            for head, vals in zip(lines[0::2], lines[1::2]):
                group, keys = head.split(":", 1)
                for k, v in zip(keys.split(), vals.split(":", 1)[1].split()):
                    out["%s.%s" % (group, k)] = int(v)
        return out

    def memory(self):
        """{"rss_kb", "hugetlb_kb"} of the server process (hugepages are not in VmRSS),
        and for a server on Linux's TCP "kernel_kb": the buffer memory its own TCP sockets
        hold in the kernel (ss's skmem: receive, queued send, forward alloc, options), which
        nicached's RSS includes for its own TCP. Not counted there: the kernel's per-socket
        structures (struct tcp_sock, file, epoll entry). The sum is what the server costs."""
        out = {"rss_kb": 0, "hugetlb_kb": 0}
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_kb"] = int(line.split()[1])
                elif line.startswith("HugetlbPages:"):
                    out["hugetlb_kb"] = int(line.split()[1])
        if self.kind != "nicached":
            out["kernel_kb"] = self._socket_buffers() // 1024
        return out

    def _socket_buffers(self):
        """Bytes of socket buffer memory held by this process's TCP sockets (ss -tmp run in
        its network namespace)."""
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-n", "ss", "-Htmpn"],
                           capture_output=True, text=True, timeout=60, check=True)
        total, mine, owner = 0, "pid=%d," % self.pid, False
        for line in r.stdout.splitlines():
            if not line[:1].isspace():  # a socket's line; its skmem follows on the next
                owner = mine in line
                continue
            m = re.search(r"skmem:\(([^)]*)\)", line) if owner else None
            if m:
                f = dict(re.match(r"([a-z]+)(\d+)", x).groups() for x in m.group(1).split(","))
                total += sum(int(f.get(k, 0)) for k in ("r", "w", "f", "o"))
        return total

    def cpu_seconds(self):
        """User + system CPU time the server has used, in seconds."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def alive(self):
        return os.path.exists("/proc/%d" % self.pid)
