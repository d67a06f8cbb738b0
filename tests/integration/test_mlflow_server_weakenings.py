"""Settings that weaken the mlflow_server role's security are allowed only with a loud warning. Runs the role's validation only
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

