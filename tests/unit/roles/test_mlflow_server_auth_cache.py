"""The launcher's check on MLflow's credential cache, against MLflow's real basic-auth module and user store.

Each scenario runs in its own Python process (MLflow reads the auth ini when `mlflow.server.auth` is imported) on a
fresh SQLite user store. "Another worker" is a second, independent user store on the same database, as a second
uvicorn worker has: what it changes never touches this process's cache.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[3] / "roles" / "mlflow_server" / "files" / "mlflow_server_launcher.py"

PRELUDE = textwrap.dedent('''
    import importlib.util, json, sys
    spec = importlib.util.spec_from_file_location("mlflow_server_launcher", sys.argv[1])
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    from mlflow.server import auth
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore
    auth.store.init_db(auth.auth_config.database_uri)
    auth.store.create_user("alice", "Old-password-1234")
    other_worker = SqlAlchemyStore()
    other_worker.init_db(auth.auth_config.database_uri)
    verifications = []
    _authenticate_user = auth.store.authenticate_user
    def counted(*args, **kwargs):
        verifications.append(args[0])
        return _authenticate_user(*args, **kwargs)
    auth.store.authenticate_user = counted
    def ok(password):
        return auth._authenticate_cached("alice", password) is not None
    result = {}
''')


def _run(tmp_path, body, ttl=300):
    ini = tmp_path / "basic_auth.ini"
    ini.write_text(textwrap.dedent(f"""\
        [mlflow]
        default_permission = READ
        database_uri = sqlite:///{tmp_path / 'auth.db'}
        admin_username = admin
        auth_cache_ttl_seconds = {ttl}
        """), encoding="utf-8")
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "MLFLOW_LAUNCHER_QUIET": "true"}
    script = PRELUDE + textwrap.dedent(body) + "\nprint('RESULT ' + json.dumps(result))\n"
    proc = subprocess.run([sys.executable, "-c", script, str(LAUNCHER)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [text for text in proc.stdout.splitlines() if text.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_mlflow_cache_alone_keeps_accepting_a_password_changed_by_another_worker(tmp_path):
    """Why the launcher checks: MLflow 3.17's cache is only cleared on the worker that served the change."""
    result = _run(tmp_path, '''
        result["before"] = ok("Old-password-1234")
        other_worker.update_user("alice", password="New-password-5678")
        result["old_after_change"] = ok("Old-password-1234")
    ''')
    assert result == {"before": True, "old_after_change": True}


def test_one_verification_per_ttl_and_a_password_changed_elsewhere_is_refused_at_once(tmp_path):
    result = _run(tmp_path, '''
        result["tied"] = launcher.tie_auth_cache_to_password_hash(auth)
        result["tied_again"] = launcher.tie_auth_cache_to_password_hash(auth)
        result["burst"] = all(ok("Old-password-1234") for _ in range(50))
        result["verifications_in_burst"] = len(verifications)
        result["wrong_password"] = ok("Wrong-password-000")
        other_worker.update_user("alice", password="New-password-5678")
        result["old_after_change"] = ok("Old-password-1234")
        result["new_after_change"] = ok("New-password-5678")
        other_worker.update_user("alice", is_admin=True)
        result["admin_flag_fresh"] = auth._authenticate_cached("alice", "New-password-5678").is_admin
        other_worker.delete_user("alice")
        result["deleted"] = ok("New-password-5678")
    ''')
    assert result == {"tied": True, "tied_again": True, "burst": True, "verifications_in_burst": 1,
                      "wrong_password": False, "old_after_change": False, "new_after_change": True,
                      "admin_flag_fresh": True, "deleted": False}


def test_cache_switched_off_when_mlflow_internals_move(tmp_path):
    result = _run(tmp_path, '''
        del auth._auth_cache_key
        result["tied"] = launcher.tie_auth_cache_to_password_hash(auth)
        result["cache"] = auth._USER_AUTH_CACHE is None
        result["burst"] = all(ok("Old-password-1234") for _ in range(3))
        result["verifications"] = len(verifications)
    ''')
    assert result == {"tied": False, "cache": True, "burst": True, "verifications": 3}


def test_nothing_to_tie_when_the_cache_is_off(tmp_path):
    result = _run(tmp_path, '''
        result["tied"] = launcher.tie_auth_cache_to_password_hash(auth)
        result["wrapped"] = getattr(auth._authenticate_cached, "_mlflow_launcher_wrapped", False)
    ''', ttl=0)
    assert result == {"tied": True, "wrapped": False}


def test_only_the_basic_auth_app_is_served_through_the_check(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("mlflow_server_launcher", LAUNCHER)
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    args = ["--workers", "2", "--factory", "mlflow.server.auth:create_app"]
    assert launcher._checked_auth_app_args(args)[-1] == "mlflow_server_launcher:create_basic_auth_app"
    assert launcher._checked_auth_app_args(["mlflow.server.fastapi_app:app"]) == ["mlflow.server.fastapi_app:app"]
    monkeypatch.setenv("MLFLOW_LAUNCHER_AUTH_CACHE_CHECK", "false")
    assert launcher._checked_auth_app_args(args) == args


def test_one_user_row_read_per_request_and_a_change_in_the_request_is_seen(tmp_path):
    result = _run(tmp_path, '''
        launcher.tie_auth_cache_to_password_hash(auth)
        from sqlalchemy import event
        reads = []
        def count_user_reads(conn, cursor, statement, *args):
            if "FROM users" in statement:
                reads.append(statement)
        event.listen(auth.store.engine, "before_cursor_execute", count_user_reads)
        ok("Old-password-1234")  # verified and cached, outside any request
        reads.clear()
        with auth.app.test_request_context("/api/2.0/mlflow/runs/log-metric"):
            ok("Old-password-1234")
            ok("Old-password-1234")
            auth.store.get_user("alice")  # MLflow's admin check reads the row once more
            result["reads_in_request"] = len(reads)
            auth.store.update_user("alice", is_admin=True)
            result["admin_after_change_in_request"] = auth.store.get_user("alice").is_admin
        with auth.app.test_request_context("/api/2.0/mlflow/runs/log-metric"):
            other_worker.update_user("alice", password="New-password-5678")
            result["old_in_next_request"] = ok("Old-password-1234")
    ''')
    assert result == {"reads_in_request": 1, "admin_after_change_in_request": True, "old_in_next_request": False}
