"""pytest options for the integration tests: where the server is and how it
was started (tests/integration/run.sh passes the values it started it with)."""
import pytest


def pytest_addoption(parser):
    g = parser.getgroup("nicached integration")
    g.addoption("--server", default="127.0.0.1", help="server address")
    g.addoption("--port", type=int, default=11211, help="TCP port")
    g.addoption("--udp-port", type=int, default=0, help="UDP port (0: UDP tests skip)")
    g.addoption("--memory-mb", type=int, default=64, help="the server's -m")
    g.addoption("--max-conns", type=int, default=1024, help="the server's -c")
    g.addoption("--item-max", type=int, default=1 << 20, help="the server's -I, in bytes")
    g.addoption("--threads", type=int, default=2, help="the server's -t")


def pytest_configure(config):
    for name, text in (
        ("maxconns", "needs a server started with a small -c (run.sh check pytest-maxconns)"),
        ("eviction", "needs a server started with a small -m (run.sh check pytest-eviction)"),
        ("large", "needs a server started with -I 128m (run.sh check pytest-large)"),
        ("idle", "needs a server started with -o idle_timeout=2 (run.sh check pytest-idle)"),
        ("compression", "needs a server started with -o compression=lzf (run.sh check "
         "pytest-compression)"),
    ):
        config.addinivalue_line("markers", "%s: %s" % (name, text))


class Server:
    """What the tests know about the server under test."""

    def __init__(self, opt):
        self.host = opt.server
        self.port = opt.port
        self.udp_port = opt.udp_port
        self.memory_mb = opt.memory_mb
        self.max_conns = opt.max_conns
        self.item_max = opt.item_max
        self.threads = opt.threads


@pytest.fixture(scope="session")
def server(request):
    return Server(request.config.option)
