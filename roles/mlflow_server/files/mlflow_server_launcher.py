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

Third change, basic auth (``--app-name basic-auth``): MLflow's verified-credential cache
(``auth_cache_ttl_seconds`` in the auth ini) lives in each worker, and a password change through
MLflow's API only clears the cache of the worker that handled it: the other workers keep
accepting the old password until the TTL ends. The launcher serves the same app through
``create_basic_auth_app`` below, which ties every cache hit to the user's stored password hash:
a hit costs one primary-key lookup of the user row (instead of a scrypt verification, ~100-400
ms of CPU) and is dropped when the stored hash differs from the one the entry was verified
against, or the user is gone. A changed password (by the API on any worker, or by SQL) is
therefore refused at once on every worker; the admin flag comes from the fresh row. Within one
Flask request the user row is read once (MLflow authenticates twice and reads it again for its
admin check), with one Core SELECT rather than an ORM session; a user change made by the request
itself drops that copy.

Robust to the upstream fix: if the listener already reports IPPROTO_TCP (uvicorn fixed), the
socket is returned untouched. If MLflow or uvicorn change the internals used here (the command
builder ``mlflow.server._build_uvicorn_command`` or ``uvicorn.config.Config.bind_socket``), the
launcher logs one warning to stderr and runs ``mlflow server`` unchanged: slower, never broken.
If MLflow's credential-cache internals move (``mlflow.server.auth._authenticate_cached``,
``_USER_AUTH_CACHE``, ``_auth_cache_key``, ``store``), the launcher warns and switches MLflow's
cache off: every request is verified again (slower), no stale password is ever accepted.

Configuration (environment variables, no secrets are read or printed):

    MLFLOW_LAUNCHER_TCP_NODELAY   "true" (default) / "false": apply the listener fix.
    MLFLOW_LAUNCHER_EXEC          "true" (default) / "false": replace the CLI process with the server when
                                  job execution is off.
    MLFLOW_LAUNCHER_AUTH_CACHE_CHECK  "true" (default) / "false": tie MLflow's credential cache to the stored
                                  password hash (basic auth only).
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


_BASIC_AUTH_APP = "mlflow.server.auth:create_app"
_CHECKED_BASIC_AUTH_APP = "mlflow_server_launcher:create_basic_auth_app"


def tie_auth_cache_to_password_hash(auth) -> bool:  # type: ignore[no-untyped-def]
    """Make MLflow's credential cache (module ``mlflow.server.auth``) honour password changes at once.

    Returns True when the check is in place (or the cache is off), False when the internals were not found; then
    MLflow's cache is switched off so that no stale credential can be accepted.
    """
    original = getattr(auth, "_authenticate_cached", None)
    if getattr(original, "_mlflow_launcher_wrapped", False):
        return True
    cache = getattr(auth, "_USER_AUTH_CACHE", None)
    if cache is None:
        return True  # auth_cache_ttl_seconds = 0: every request is verified, nothing can be stale
    lock = getattr(auth, "_USER_AUTH_CACHE_LOCK", None)
    cache_key = getattr(auth, "_auth_cache_key", None)
    store = getattr(auth, "store", None)
    if original is None or lock is None or cache_key is None or not hasattr(store, "get_user"):
        auth._USER_AUTH_CACHE = None
        _say("MLflow's credential-cache internals not found; its cache is switched off (every request verified)")
        return False

    get_user = _light_get_user(store) or store.get_user

    def request_users():  # type: ignore[no-untyped-def]
        """User rows already read in this Flask request, by name (None outside a request)."""
        try:
            from flask import g, has_request_context  # pylint: disable=import-outside-toplevel
        except ImportError:  # pragma: no cover - Flask is MLflow's server
            return None
        return g.setdefault("_mlflow_launcher_users", {}) if has_request_context() else None

    def get_user_once_per_request(username):  # type: ignore[no-untyped-def]
        # MLflow reads the caller's row up to three times per request (authenticate twice, then the admin check);
        # one read serves them all. A user change made in the request itself drops the row (below).
        users = request_users()
        if users is not None and username in users:
            return users[username]
        user = get_user(username)
        if users is not None:
            users[username] = user
        return user

    def forget_then(method):  # type: ignore[no-untyped-def]
        def call(username, *args, **kwargs):  # type: ignore[no-untyped-def]
            users = request_users()
            if users is not None:
                users.pop(username, None)
            return method(username, *args, **kwargs)
        return call

    store.get_user = get_user_once_per_request
    for name in ("update_user", "delete_user"):
        if hasattr(store, name):
            setattr(store, name, forget_then(getattr(store, name)))

    def current_user(username):  # type: ignore[no-untyped-def]
        try:
            return store.get_user(username)
        except Exception:  # pylint: disable=broad-exception-caught  # deleted user, database error: no hit
            return None

    def drop(key):  # type: ignore[no-untyped-def]
        with lock:
            cache.pop(key, None)

    def authenticate_checked(username, password):  # type: ignore[no-untyped-def]
        key = cache_key(username, password)
        with lock:
            cached = cache.get(key)
        if cached is not None:
            current = current_user(username)
            if current is not None and current.password_hash == cached.password_hash:
                return current  # fresh row: an admin-flag change is seen at once too
            drop(key)
        before = current_user(username)
        user = original(username, password)
        if user is not None and (before is None or before.password_hash != user.password_hash):
            # The password changed while it was being verified: the entry might pair the old password with the new
            # hash. Refuse (the client retries) rather than keep it.
            drop(key)
            return None
        return user

    authenticate_checked._mlflow_launcher_wrapped = True  # type: ignore[attr-defined]
    auth._authenticate_cached = authenticate_checked
    return True


def _light_get_user(store):  # type: ignore[no-untyped-def]
    """``store.get_user`` as one Core SELECT of the four columns MLflow's User entity has (about a tenth of the ORM
    session's CPU); None (use MLflow's own) when the store is not the plain SQLAlchemy one this was written for."""
    try:
        from mlflow.server.auth.db.models import SqlUser  # pylint: disable=import-outside-toplevel
        from mlflow.server.auth.entities import User  # pylint: disable=import-outside-toplevel
        from sqlalchemy import bindparam, select  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    engine = getattr(store, "engine", None)
    if engine is None or getattr(store, "read_engine", None) is not None:
        return None
    statement = select(SqlUser.id, SqlUser.username, SqlUser.password_hash, SqlUser.is_admin).where(
        SqlUser.username == bindparam("username"))
    orm_get_user = store.get_user

    def get_user(username):  # type: ignore[no-untyped-def]
        with engine.connect() as connection:
            row = connection.execute(statement, {"username": username}).first()
        if row is None:
            return orm_get_user(username)  # MLflow's own "not found" error
        return User(id_=row.id, username=row.username, password_hash=row.password_hash, is_admin=row.is_admin)

    return get_user


def create_basic_auth_app():  # type: ignore[no-untyped-def]
    """``mlflow.server.auth:create_app`` with the credential cache tied to the stored password hash (each worker)."""
    from mlflow.server import auth  # pylint: disable=import-outside-toplevel

    if tie_auth_cache_to_password_hash(auth) and auth._USER_AUTH_CACHE is not None:
        _say("credential cache on, tied to the stored password hash: a changed password is refused at once")
    return auth.create_app()


def _checked_auth_app_args(args: list[str]) -> list[str]:
    """Serve MLflow's basic-auth app through create_basic_auth_app (importable: this file's directory is on
    sys.path, and uvicorn's spawned workers inherit sys.path)."""
    if not _env_flag("MLFLOW_LAUNCHER_AUTH_CACHE_CHECK", True) or _BASIC_AUTH_APP not in args:
        return args
    return [_CHECKED_BASIC_AUTH_APP if arg == _BASIC_AUTH_APP else arg for arg in args]


def _run_uvicorn(args: list[str]) -> None:
    """The uvicorn process: same arguments as ``python -m uvicorn``."""
    if _env_flag("MLFLOW_LAUNCHER_TCP_NODELAY", True):
        _patch_uvicorn()
    args = _checked_auth_app_args(args)
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
    if _env_flag("MLFLOW_LAUNCHER_TCP_NODELAY", True) or _env_flag("MLFLOW_LAUNCHER_AUTH_CACHE_CHECK", True):
        _patch_mlflow_command(os.path.abspath(__file__))
    if _env_flag("MLFLOW_LAUNCHER_EXEC", True):
        _patch_server_start()
    from mlflow.cli import cli

    cli.main(args=["server", *argv], prog_name="mlflow")


if __name__ == "__main__":
    main()
