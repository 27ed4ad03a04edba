"""What a scenario is and what it hands back.

A scenario is a function fn(ctx) registered with @scenario(...). It runs while the normal
client (probe.py) keeps measuring; it says what it sent (ctx.sent), the figures it
measured (ctx.figure), and what must hold (ctx.check). main.py wraps every run with the
quiet baseline, the counter deltas and the memory before and after."""
from tcputil import wait_for

SCENARIOS = {}


class Scenario:
    def __init__(self, fn, name, title, nicached, memcached, counters, kernel):
        self.fn = fn
        self.name = name
        self.title = title
        self.nicached_flags = list(nicached)  # server flags the run needs, per server
        self.memcached_flags = list(memcached)
        self.counters = list(counters)  # nicached's stats / stats tcp names to report
        self.kernel = list(kernel)  # Linux's "Group.Name" counters, for memcached


def scenario(name, title, nicached=(), memcached=(), counters=(), kernel=()):
    """Register fn(ctx) as scenario `name`. nicached/memcached: flags the server needs
    for it (on top of -t 1 -m 64 -p/-U 11211); counters: nicached's stats (deltas, or
    values for the gauges tcp_conns, tcp_syn_rcvd, tcp_time_wait, tcp_mbufs,
    curr_connections); kernel: the Linux counters to show for memcached."""
    def register(fn):
        SCENARIOS[name] = Scenario(fn, name, title, nicached, memcached, counters, kernel)
        return fn
    return register


class Failed(Exception):
    """A scenario cannot go on (its setup failed); recorded as a failed check."""


class Ctx:
    """What a scenario gets: the target (target.Target), the probe, the lab's facts
    (iface: the namespace's end of the veth; client_ip; server_mac), quick (a shorter
    run for the test suite) and where its results go."""

    def __init__(self, target, probe, quick, iface, client_ip, server_mac):
        self.target = target
        self.probe = probe
        self.quick = quick
        self.iface = iface
        self.client_ip = client_ip
        self.server_mac = server_mac
        self.what = []
        self.figures = {}
        self.checks = []

    @property
    def nicached(self):
        return self.target.kind == "nicached"

    def n(self, full, quick):
        """full in a full run, quick in a quick one."""
        return quick if self.quick else full

    def sent(self, text):
        """Describe what the scenario sent (one phrase a call)."""
        self.what.append(text)

    def figure(self, name, value):
        """A measured figure for the table."""
        self.figures[name] = value

    def check(self, name, ok, detail=""):
        """Something that must hold; a failed check fails the run (for nicached; for
        memcached the check is reported, not enforced: it is the reference)."""
        self.checks.append({"name": name, "ok": bool(ok), "detail": str(detail)})
        return ok

    def wait_for(self, cond, timeout, step=0.05):
        """Poll cond() until truthy or timeout; its last value."""
        return wait_for(cond, timeout, step)
