"""The deployed MLflow server survives what happens to real servers: its process is killed, PostgreSQL restarts, the
host reboots. One deployment on the local cloud (tests/local_cloud.py) serves every test here."""
import time
import uuid

import pytest

from local_cloud import docker, local_deployment  # noqa: F401  pylint: disable=unused-import
from mlflow_client_checks import tracking_session

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Bounds: how long a restart may take before the test gives up (MLflow's start under load takes tens of seconds).
RECOVERY_SECONDS = 300


def _write_run(deployment, experiment_name, tag):
    """A tracking write through the real client: a run with a param, a metric and a tag. Returns the run id."""
    with tracking_session(deployment.url, "admin", deployment.admin_password, deployment.cert_path) as mlflow:
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name(experiment_name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
        run = client.create_run(experiment_id, tags={"written": tag})
        client.log_param(run.info.run_id, "attempt", tag)
        client.log_metric(run.info.run_id, "value", 1.0, step=0)
        client.set_terminated(run.info.run_id)
        return run.info.run_id


def test_service_restarts_after_main_process_killed(local_deployment):  # pylint: disable=redefined-outer-name
    deployment = local_deployment
    assert deployment.wait_healthy(timeout=60) is not None
    old_pid = deployment.main_pid()
    assert old_pid > 0
    restarts_before = int(deployment.host("systemctl", "show", "-p", "NRestarts", "--value", "mlflow").stdout.strip())

    deployment.host("kill", "-9", str(old_pid))

    # systemd notices the failure and starts a new main process (Restart=on-failure, RestartSec=5).
    new_pid = 0
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        new_pid = deployment.main_pid()
        if new_pid and new_pid != old_pid:
            break
        time.sleep(1)
    assert new_pid and new_pid != old_pid, "systemd did not start a new MLflow process"
    assert deployment.wait_healthy(timeout=RECOVERY_SECONDS) is not None, deployment.host(
        "journalctl", "-u", "mlflow", "-n", "60", "--no-pager", check=False).stdout
    restarts_after = int(deployment.host("systemctl", "show", "-p", "NRestarts", "--value", "mlflow").stdout.strip())
    assert restarts_after == restarts_before + 1
    assert deployment.host("systemctl", "is-active", "mlflow", check=False).stdout.strip() == "active"
    _write_run(deployment, "resilience-kill", "after-kill")


def _postgres_accepts(deployment):
    return docker("exec", deployment.rds_container, "pg_isready", "-q", "-h", "127.0.0.1", check=False).returncode == 0


def test_keeps_serving_after_postgresql_restart(local_deployment):  # pylint: disable=redefined-outer-name
    """Every pooled connection dies with PostgreSQL; once it accepts connections again, every write must succeed
    at the first attempt (a stale pooled connection would fail the request that picks it up)."""
    deployment = local_deployment
    assert deployment.wait_healthy(timeout=RECOVERY_SECONDS) is not None
    # Warm the pools of the workers: several writes and reads, so each worker holds open connections.
    for index in range(6):
        _write_run(deployment, "resilience-db", "before-%d" % index)

    rds = deployment.rds_container
    assert rds
    docker("restart", rds)

    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline and not _postgres_accepts(deployment):
        time.sleep(1)
    assert _postgres_accepts(deployment), "PostgreSQL did not come back after docker restart"

    failures = []
    written = []
    for index in range(12):
        tag = "after-%d-%s" % (index, uuid.uuid4().hex[:6])
        try:
            written.append(_write_run(deployment, "resilience-db", tag))
        except Exception as error:  # pylint: disable=broad-exception-caught
            failures.append("%s: %s" % (tag, str(error)[:300]))
    assert not failures, failures
    with tracking_session(deployment.url, "admin", deployment.admin_password, deployment.cert_path) as mlflow:
        client = mlflow.MlflowClient()
        for run_id in written:
            assert client.get_run(run_id).data.metrics == {"value": 1.0}


def _host_started_at(deployment):
    return docker("inspect", "-f", "{{.State.StartedAt}}", deployment.ecs_container).stdout.strip()


def _server_started_at(deployment):
    return deployment.host("systemctl", "show", "-p", "ExecMainStartTimestamp", "--value", "mlflow").stdout.strip()


def test_host_reboot_loses_no_run_metric_artifact_or_model(local_deployment, tmp_path):  # pylint: disable=redefined-outer-name
    from mlflow_client_checks import exercise_tracking_server  # pylint: disable=import-outside-toplevel

    deployment = local_deployment
    assert deployment.wait_healthy(timeout=RECOVERY_SECONDS) is not None
    (tmp_path / "before").mkdir()
    created = exercise_tracking_server(deployment.url, "admin", deployment.admin_password, tmp_path / "before",
                                       deployment.cert_path)
    booted_before = _host_started_at(deployment)
    server_started_before = _server_started_at(deployment)

    docker("restart", deployment.ecs_container)

    assert deployment.wait_healthy(timeout=RECOVERY_SECONDS) is not None, "MLflow did not come back after the reboot"
    # It really is a new boot of the host and a new server process, started by systemd at boot (enabled).
    assert _host_started_at(deployment) != booted_before
    assert _server_started_at(deployment) != server_started_before
    assert deployment.host("systemctl", "is-enabled", "mlflow").stdout.strip() == "enabled"

    workdir = tmp_path / "after"
    workdir.mkdir()
    with tracking_session(deployment.url, "admin", deployment.admin_password, deployment.cert_path) as mlflow:
        client = mlflow.MlflowClient()
        run = client.get_run(created["run_id"])
        assert run.info.status == "FINISHED"
        assert run.data.params == {"learning_rate": "0.01", "layers": "3"}
        assert [m.value for m in client.get_metric_history(created["run_id"], "loss")] == [0.9, 0.5, 0.2]
        artifacts = {item.path for item in client.list_artifacts(created["run_id"])}
        notes = [path for path in artifacts if path.startswith("notes-")]
        assert len(notes) == 1, artifacts
        downloaded = client.download_artifacts(created["run_id"], notes[0], str(workdir))
        with open(downloaded, encoding="utf-8") as handle:
            assert "artifact written by the end-to-end test" in handle.read()
        version = client.get_model_version(created["model_name"], created["model_version"])
        assert version.run_id == created["run_id"]
        loaded = mlflow.pyfunc.load_model("models:/%s/%s" % (created["model_name"], created["model_version"]))
        import pandas  # pylint: disable=import-outside-toplevel
        assert list(loaded.predict(pandas.DataFrame({"x": [10]}))["x"]) == [15]
