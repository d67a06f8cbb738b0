"""Settings that weaken the mlflow_server role's security are allowed only with a loud warning, and values that
would break a line of the systemd unit or its EnvironmentFile are refused by name. Runs the role's validation only
(`--tags mlflow_server_validate`, check mode, localhost), as test_mlflow_server_validation.py does. No Docker."""
import pytest

from test_mlflow_server_validation import GOOD, run_validation

WARNING = "[WARNING]: SECURITY: "


def _warnings(out):
    return [line for line in out.splitlines() if line.startswith(WARNING)]


def test_the_defaults_warn_about_nothing(tmp_path):
    rc, out = run_validation(tmp_path, GOOD)
    assert rc == 0, out
    assert "Warn about every setting that weakens the server's security" in out
    assert _warnings(out) == [], out


@pytest.mark.parametrize("override, expected", [
    ({"mlflow_server_tls_enabled": "false"}, "mlflow_server_tls_enabled is false: MLflow serves plain HTTP"),
    ({"mlflow_server_auth_enabled": False}, "mlflow_server_auth_enabled is false: MLflow has no login"),
    ({"mlflow_server_extra_env": {"MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE": "true"}},
     "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true: MLflow stops checking Host"),
    ({"mlflow_server_extra_env": {"MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE": "TRUE"}},
     "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true"),
    ({"mlflow_server_extra_env": {"MLFLOW_SERVER_X_FRAME_OPTIONS": "none"}}, "MLFLOW_SERVER_X_FRAME_OPTIONS=NONE"),
    ({"mlflow_server_cors_allowed_origins": ["https://a.example", "*"]}, "CORS allows every origin"),
    ({"mlflow_server_extra_env": {"MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": "https://a.example, *"}},
     "CORS allows every origin"),
    ({"mlflow_server_extra_env": {"MLFLOW_BASIC_AUTH_FAIL_CLOSED": "False"}}, "MLFLOW_BASIC_AUTH_FAIL_CLOSED to false"),
])
def test_each_weakening_is_allowed_with_a_warning_naming_it(tmp_path, override, expected):
    variables = dict(GOOD, **override)
    if override.get("mlflow_server_auth_enabled") is False:
        variables.pop("mlflow_server_auth_admin_password")
    rc, out = run_validation(tmp_path, variables)
    assert rc == 0, out
    warnings = _warnings(out)
    assert len(warnings) == 1 and expected in warnings[0], warnings or out


def test_harmless_values_of_the_same_variables_warn_about_nothing(tmp_path):
    rc, out = run_validation(tmp_path, dict(GOOD, mlflow_server_cors_allowed_origins=["https://a.example"],
                                            mlflow_server_extra_env={
                                                "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE": "false",
                                                "MLFLOW_SERVER_X_FRAME_OPTIONS": "DENY",
                                                "MLFLOW_BASIC_AUTH_FAIL_CLOSED": "true"}))
    assert rc == 0, out
    assert _warnings(out) == [], out


@pytest.mark.parametrize("override, name", [
    ({"mlflow_server_uvicorn_opts": "--timeout-keep-alive 30\nExecStartPre=/bin/sh -c id"}, "mlflow_server_uvicorn_opts"),
    ({"mlflow_server_host": "0.0.0.0\nUser=root"}, "mlflow_server_host"),
    ({"mlflow_server_allowed_hosts": ["mlflow.example.com", "evil\nUser=root", "other"]}, "mlflow_server_allowed_hosts"),
    ({"mlflow_server_cors_allowed_origins": ["https://a.example\r\nUser=root"]}, "mlflow_server_cors_allowed_origins"),
    ({"mlflow_server_extra_env": {"GOOD": "1", "TUNE": "1\nPGPASSWORD=injected"}}, "mlflow_server_extra_env.TUNE"),
    ({"mlflow_server_db_host": "db.example\nMLFLOW_AUTH_CONFIG_PATH=/tmp/x"}, "mlflow_server_db_host"),
    ({"mlflow_server_flask_secret_key": "k" * 40 + "\nPGPASSWORD=x"}, "mlflow_server_flask_secret_key"),
])
def test_a_line_break_in_a_rendered_value_is_refused_by_name(tmp_path, override, name):
    rc, out = run_validation(tmp_path, dict(GOOD, **override))
    assert rc != 0, out
    assert "%s must not contain a line break or another control character" % name in out, out
    # Refused before the warnings and everything else: the validation stops at the first violation.
    assert _warnings(out) == []
