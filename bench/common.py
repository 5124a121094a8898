"""What several benchmarks here share: loading a sibling script as a module, and a free loopback port."""
import importlib.util
import os
import socket

BENCH = os.path.dirname(os.path.abspath(__file__))


def load_sibling(name):
    """A benchmark script beside this one (admin-api.py, proxy.py) as a module, to reuse its helpers."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), os.path.join(BENCH, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
