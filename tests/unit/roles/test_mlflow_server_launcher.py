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


def _fake_server_module(monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("mlflow.server")
    fake._exec_cmd = lambda cmd, **kwargs: calls.append((cmd, kwargs)) or "child"
    monkeypatch.setitem(__import__("sys").modules, "mlflow.server", fake)
    return fake, calls


def test_server_start_replaces_the_cli_process_when_job_execution_is_off(launcher, monkeypatch):
    fake, calls = _fake_server_module(monkeypatch)
    execs = []
    monkeypatch.setattr(launcher.os, "execve", lambda path, argv, env: execs.append((path, argv, env)))
    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    monkeypatch.setenv("KEPT_FROM_THE_UNIT", "1")
    assert launcher._patch_server_start()
    fake._exec_cmd(["/venv/bin/python", "-m", "uvicorn", 5000], extra_env={"_MLFLOW_SERVER_FILE_STORE": "pg"},
                   capture_output=False, synchronous=False)
    assert not calls
    [(path, argv, env)] = execs
    assert path == "/venv/bin/python"
    assert argv == ["/venv/bin/python", "-m", "uvicorn", "5000"]
    assert env["_MLFLOW_SERVER_FILE_STORE"] == "pg" and env["KEPT_FROM_THE_UNIT"] == "1"
    # Any other call shape (MLflow running a helper and waiting for it) is left to MLflow.
    assert fake._exec_cmd(["pg_dump"], capture_output=True) == "child"
    assert fake._exec_cmd(["x"], synchronous=False, capture_output=False, stream_output=True) == "child"
    assert len(calls) == 2 and len(execs) == 1


@pytest.mark.parametrize("job_execution", ["true", ""])
def test_server_start_is_unchanged_while_the_cli_must_run_the_job_runner(launcher, monkeypatch, job_execution):
    fake, calls = _fake_server_module(monkeypatch)
    monkeypatch.setattr(launcher.os, "execve", lambda *a: pytest.fail("execve with job execution on"))
    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", job_execution)
    assert launcher._patch_server_start()
    assert launcher._patch_server_start()  # idempotent
    assert fake._exec_cmd(["server"], extra_env={}, capture_output=False, synchronous=False) == "child"
    assert calls == [(["server"], {"extra_env": {}, "capture_output": False, "synchronous": False})]
