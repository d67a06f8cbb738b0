"""Start ``mlflow server`` with uvicorn: TCP_NODELAY on accepted connections, no idle CLI process.

Installed into the server's virtualenv and run by that virtualenv's Python, in place of the
``mlflow`` console script:

    <venv>/bin/python <venv>/bin/mlflow_server_launcher.py [any `mlflow server` option ...]

Every argument is handed unchanged to ``mlflow server`` (same flags, same environment variables,
same job-execution runner, same basic-auth bootstrap, same FastAPI app with all MLflow 3 routes).
The launcher changes one thing: how uvicorn's listening socket is created when ``--workers`` is
2 or more.

Why: uvicorn's multi-worker supervisor binds the listening socket itself with ``proto`` left at
0. Accepted sockets inherit that value and asyncio only switches on TCP_NODELAY when the
accepted socket reports IPPROTO_TCP, so with ``--workers >= 2`` Nagle's algorithm stays on and
every request after the first on a keep-alive connection waits for the client's delayed ACK
(about 40 ms on Linux; uvicorn issue #3149). The MLflow client keeps connections alive, so a
sequential client loses about three quarters of its throughput. ``--workers 1`` and gunicorn's
Flask-only mode do not show it, but the first uses one core and the second drops the FastAPI-only
routes (OTLP /v1/traces, jobs, gateway).

How: ``mlflow server`` builds ``<python> -m uvicorn ... mlflow.server.fastapi_app:app``. The
launcher wraps MLflow's command builder so that the same command runs through this file instead
of ``-m uvicorn``. In that uvicorn process the listening socket returned by uvicorn's
``Config.bind_socket`` is re-created on the same file descriptor with ``proto=IPPROTO_TCP``
(the kernel value, read back with SO_PROTOCOL), before the workers are started. The workers get
the corrected socket, so asyncio (and uvloop) set TCP_NODELAY on every accepted connection.
Nothing runs per request.

Second change, memory: ``mlflow server`` starts the server as a child and then only waits for
it (about 250 MB of RSS holding nothing but the imported CLI), unless it also runs the job
execution runner. When job execution is off (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``, the
role's default), the launcher makes MLflow's final "start the server" step replace the CLI
process with the server (``os.execve``, same command, same environment MLflow built). The unit's
main PID is then the server itself, so systemd's SIGTERM reaches it directly. With job
execution on, the CLI process is needed for the runner and nothing is changed.

Robust to the upstream fix: if the listener already reports IPPROTO_TCP (uvicorn fixed), the
socket is returned untouched. If MLflow or uvicorn change the internals used here (the command
builder ``mlflow.server._build_uvicorn_command`` or ``uvicorn.config.Config.bind_socket``), the
launcher logs one warning to stderr and runs ``mlflow server`` unchanged: slower, never broken.

Configuration (environment variables, no secrets are read or printed):

    MLFLOW_LAUNCHER_TCP_NODELAY   "true" (default) / "false": apply the listener fix.
    MLFLOW_LAUNCHER_EXEC          "true" (default) / "false": replace the CLI process with the server when
                                  job execution is off.
    MLFLOW_LAUNCHER_QUIET         "true" / "false" (default): suppress the one-line status message.

Everything else is ``mlflow server``'s own configuration (``MLFLOW_BACKEND_STORE_URI``,
``MLFLOW_WORKERS``, ``MLFLOW_SQLALCHEMYSTORE_POOL_SIZE``, ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION``,
...): put secrets such as the database URI in an EnvironmentFile, never on the command line.

Self-contained: standard library plus the ``mlflow`` and ``uvicorn`` packages of the virtualenv.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys

_CHILD_FLAG = "--mlflow-launcher-uvicorn"
_TRUE = {"1", "true", "yes", "on"}


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in _TRUE


def _say(message: str) -> None:
    if not _env_flag("MLFLOW_LAUNCHER_QUIET", False):
        print(f"mlflow_server_launcher: {message}", file=sys.stderr, flush=True)


def ensure_tcp_proto(sock: socket.socket) -> socket.socket:
    """Return a listening TCP socket whose ``proto`` is IPPROTO_TCP.

    Idempotent: a socket that already reports IPPROTO_TCP, or that is not an INET/INET6 stream
    socket (a unix socket), is returned as it is. Otherwise the same file descriptor is wrapped
    again with the protocol stated, so nothing is re-bound and no connection is lost.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    if sock.type != socket.SOCK_STREAM or sock.proto == socket.IPPROTO_TCP:
        return sock
    inheritable = sock.get_inheritable()
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.set_inheritable(inheritable)
    return fixed


def _patch_uvicorn() -> bool:
    try:
        from uvicorn.config import Config
    except ImportError as exc:  # pragma: no cover - uvicorn is a dependency of mlflow
        _say(f"uvicorn not importable ({exc}); running unchanged")
        return False
    original = getattr(Config, "bind_socket", None)
    if original is None:
        _say("uvicorn Config.bind_socket not found; running unchanged (TCP_NODELAY not ensured)")
        return False
    if getattr(original, "_mlflow_launcher_wrapped", False):
        return True

    def bind_socket(self):  # type: ignore[no-untyped-def]
        sock = original(self)
        before = sock.proto
        sock = ensure_tcp_proto(sock)
        if sock.proto != before:
            _say(f"listener proto {before} -> {sock.proto}: accepted connections get TCP_NODELAY")
        else:
            _say(f"listener proto already {before}: nothing to change")
        return sock

    bind_socket._mlflow_launcher_wrapped = True  # type: ignore[attr-defined]
    Config.bind_socket = bind_socket
    return True


def _run_uvicorn(args: list[str]) -> None:
    """The uvicorn process: same arguments as ``python -m uvicorn``."""
    if _env_flag("MLFLOW_LAUNCHER_TCP_NODELAY", True):
        _patch_uvicorn()
    from uvicorn.main import main as uvicorn_main

    uvicorn_main.main(args=args, prog_name="uvicorn")


def _wrap_in_mlflow_server(name: str, make_wrapper, missing: str) -> bool:
    """Replace ``mlflow.server.<name>`` with ``make_wrapper(original)``, once; False if it cannot be found."""
    try:
        mlflow_server = importlib.import_module("mlflow.server")
    except ImportError as exc:  # pragma: no cover
        _say(f"mlflow.server not importable ({exc})")
        return False
    original = getattr(mlflow_server, name, None)
    if original is None:
        _say(f"mlflow.server.{name} not found; {missing}")
        return False
    if getattr(original, "_mlflow_launcher_wrapped", False):
        return True
    wrapper = make_wrapper(original)
    wrapper._mlflow_launcher_wrapped = True
    setattr(mlflow_server, name, wrapper)
    return True


def _patch_mlflow_command(launcher_path: str) -> bool:
    """Make ``mlflow server``'s uvicorn command run through this file (the listener fix)."""
    def make_wrapper(original):  # type: ignore[no-untyped-def]
        def build(*args, **kwargs):  # type: ignore[no-untyped-def]
            cmd = list(original(*args, **kwargs))
            if len(cmd) >= 3 and cmd[1:3] == ["-m", "uvicorn"]:
                return [cmd[0], launcher_path, _CHILD_FLAG, *cmd[3:]]
            _say("unexpected uvicorn command shape; running it unchanged")
            return cmd
        return build

    return _wrap_in_mlflow_server("_build_uvicorn_command", make_wrapper, "running mlflow server unchanged")


def _job_execution_off() -> bool:
    value = os.environ.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "")
    return value.strip().lower() in {"0", "false", "no", "off"}


def _patch_server_start() -> bool:
    """Make ``mlflow server``'s asynchronous server start an exec of the same command."""
    def make_wrapper(original):  # type: ignore[no-untyped-def]
        def exec_cmd(cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
            # Only the one call shape _run_server uses to start the server; anything else is MLflow's.
            simple = (not args and kwargs.get("synchronous") is False and kwargs.get("capture_output") is False
                      and set(kwargs) <= {"extra_env", "synchronous", "capture_output", "throw_on_error"})
            if not (simple and isinstance(cmd, (list, tuple)) and cmd and _job_execution_off()):
                return original(cmd, *args, **kwargs)
            env = os.environ.copy()
            env.update(kwargs.get("extra_env") or {})
            argv = [str(part) for part in cmd]
            _say("job execution off: the server replaces the mlflow CLI process")
            sys.stdout.flush()
            sys.stderr.flush()
            os.execve(argv[0], argv, env)
            return None  # pragma: no cover - execve does not return
        return exec_cmd

    return _wrap_in_mlflow_server("_exec_cmd", make_wrapper, "the CLI process stays resident")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == _CHILD_FLAG:
        _run_uvicorn(argv[1:])
        return
    if _env_flag("MLFLOW_LAUNCHER_TCP_NODELAY", True):
        _patch_mlflow_command(os.path.abspath(__file__))
    if _env_flag("MLFLOW_LAUNCHER_EXEC", True):
        _patch_server_start()
    from mlflow.cli import cli

    cli.main(args=["server", *argv], prog_name="mlflow")


if __name__ == "__main__":
    main()
