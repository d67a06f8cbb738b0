"""restore.yml refuses bad restore variables by name before it touches the host. No Docker, no cloud.

The host is this machine over a local connection; every case stops at the checks that run before anything changes
(the first play ends at once without alicloud_infra_name).
"""
import sys

import pytest

DUMP_RULE = "exactly one of mlflow_restore_dump"
LOCAL_HOST = {"mlflow_restore_hosts": "all", "ansible_connection": "local", "ansible_python_interpreter": sys.executable}


@pytest.mark.parametrize("restore_vars, expected", [
    pytest.param({}, DUMP_RULE, id="no-dump"),
    pytest.param({"mlflow_restore_dump": "/var/backups/mlflow/a.dump", "mlflow_restore_dump_local": "/tmp/a.dump"},
                 DUMP_RULE, id="both-dumps"),
    pytest.param({"mlflow_restore_dump": "backups/a.dump"}, DUMP_RULE, id="relative-host-dump"),
    pytest.param({"mlflow_restore_dump_local": "backups/a.dump"}, DUMP_RULE, id="relative-controller-dump"),
    pytest.param({"mlflow_restore_dump_local": "/nonexistent/mlflow/a.dump"},
                 "mlflow_restore_dump_local: /nonexistent/mlflow/a.dump is not a file on the controller",
                 id="missing-controller-dump"),
    pytest.param({"mlflow_restore_dump": "/var/backups/mlflow/a.dump", "mlflow_restore_db_name": "Bad-Name"},
                 "mlflow_restore_db_name (a new database", id="bad-db-name"),
])
def test_bad_restore_variables_are_refused_before_any_change(run_playbook, restore_vars, expected):
    run = run_playbook("playbooks/restore.yml", inventory="mlflow-restore-input-check,",
                       extra_vars={**LOCAL_HOST, "mlflow_restore_db_name": "mlflow_restored", **restore_vars},
                       timeout=300)
    assert run.rc != 0, run.stdout
    assert expected in run.stdout, run.stdout + run.stderr
    # Refused before the first task that could change anything on the host.
    assert "Wait until the host answers" not in run.stdout, run.stdout
