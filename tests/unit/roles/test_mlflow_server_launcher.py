"""The server launcher's listener fix: accepted connections get TCP_NODELAY, idempotently."""
import asyncio
import importlib.util
import socket
from pathlib import Path

import pytest

LAUNCHER = Path(__file__).resolve().parents[3] / "roles" / "mlflow_server" / "files" / "mlflow_server_launcher.py"


@pytest.fixture(scope="module")
def launcher():
    spec = importlib.util.spec_from_file_location("mlflow_server_launcher", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _listener(proto):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


def _accepted_nodelay(listener):
    """TCP_NODELAY of a connection accepted by asyncio from this listener (what uvicorn workers do)."""
    seen = {}

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):
            s = transport.get_extra_info("socket")
            seen["nodelay"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            transport.close()

    async def run():
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        writer = (await asyncio.open_connection("127.0.0.1", port))[1]
        deadline = asyncio.get_running_loop().time() + 2.0
        while "nodelay" not in seen and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(run())
    return seen["nodelay"]


def test_proto_zero_listener_loses_nodelay_and_the_fix_restores_it(launcher):
    broken = _listener(0)
    assert broken.proto == 0
    assert _accepted_nodelay(broken) == 0  # the uvicorn bug this launcher works around

    fixed = launcher.ensure_tcp_proto(_listener(0))
    assert fixed.proto == socket.IPPROTO_TCP
    assert fixed.get_inheritable()
    assert _accepted_nodelay(fixed) != 0


def test_fix_is_idempotent_and_leaves_good_and_unix_sockets_alone(launcher):
    good = _listener(socket.IPPROTO_TCP)
    assert launcher.ensure_tcp_proto(good) is good
    fixed = launcher.ensure_tcp_proto(_listener(0))
    assert launcher.ensure_tcp_proto(fixed) is fixed
    a, b = socket.socketpair(socket.AF_UNIX)
    try:
        assert launcher.ensure_tcp_proto(a) is a
    finally:
        a.close()
        b.close()


def test_command_rewrite_routes_uvicorn_through_the_launcher(launcher, monkeypatch):
    import types

    fake = types.ModuleType("mlflow.server")
    fake._build_uvicorn_command = lambda *a, **k: ["/venv/bin/python", "-m", "uvicorn", "--workers", "2", "app"]
    monkeypatch.setitem(__import__("sys").modules, "mlflow.server", fake)
    assert launcher._patch_mlflow_command("/venv/bin/mlflow_server_launcher.py")
    assert fake._build_uvicorn_command() == [
        "/venv/bin/python", "/venv/bin/mlflow_server_launcher.py", "--mlflow-launcher-uvicorn", "--workers", "2", "app",
    ]
    assert launcher._patch_mlflow_command("/x")  # second call: already wrapped, unchanged
    assert fake._build_uvicorn_command()[1] == "/venv/bin/mlflow_server_launcher.py"
