"""pytest options for the lab tests: tests/integration/lab/run.sh passes where
the server is and how it was started.  The tests run inside the lab's
namespace (ip netns exec)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pytest_addoption(parser):
    g = parser.getgroup("nicached lab")
    g.addoption("--server", default="10.77.0.1", help="the server's address")
    g.addoption("--udp-port", type=int, default=11211, help="the server's UDP port")
    g.addoption("--tcp-port", type=int, default=0, help="the server's TCP port (its -p)")
    g.addoption("--max-conns", type=int, default=1024, help="the server's -c")
    g.addoption("--item-max", type=int, default=1 << 20, help="the server's -I, in bytes")
    g.addoption("--server-mac", default="", help="the MAC nicached printed")
    g.addoption("--iface", default="nclab1", help="the namespace's end of the veth")
    g.addoption("--threads", type=int, default=1, help="the server's -t")
    g.addoption("--server-pid", type=int, default=0,
                help="the server's pid (its /proc/PID; the lab shares the pid namespace)")


class Lab:
    def __init__(self, opt):
        self.server = opt.server
        self.udp_port = opt.udp_port
        self.tcp_port = opt.tcp_port
        self.max_conns = opt.max_conns
        self.item_max = opt.item_max
        self.server_mac = opt.server_mac
        self.iface = opt.iface
        self.threads = opt.threads
        self.server_pid = opt.server_pid


@pytest.fixture(scope="session")
def lab(request):
    return Lab(request.config.option)
