"""upgrade.yml and restore.yml on the local cloud (ECS container + RDS PostgreSQL container).

deploy.yml installs an older MLflow; its own client creates experiments, runs (params, metrics over several steps,
tags, an artifact file) and a registered model with versions, an alias and tags. upgrade.yml must back the database
up (a root-only dump named after the old version and revision), install the collection's default MLflow, migrate the
schema to its head and keep every piece of data (a canonical snapshot through the client, artifact bytes included).
A second run changes nothing. restore.yml refuses a non-empty target, then restores the backup into a fresh
database and the server shows the pre-upgrade snapshot again (not the data written after the backup).
"""
import hashlib
import json
import os
import re
import secrets
import time

import pytest
import yaml

from local_cloud import INVENTORY, ROOT, docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAME = "upg-mlflow"
# The oldest MLflow the role runs: it gives basic auth its admin password through MLFLOW_AUTH_ADMIN_PASSWORD,
# which MLflow reads from 3.16.1 on (3.16.0 and older fail with KeyError 'admin_password'); before 3.14.0 its schema
# step also fails on an empty database. 3.16.1 -> 3.17.2 crosses two schema migrations.
OLD_VERSION = "3.16.1"
VENV_PYTHON = "/opt/mlflow/venv/bin/python"
RESTORED_DB = "mlflow_restored"

with open(os.path.join(ROOT, "roles", "mlflow_server", "defaults", "main.yml"), encoding="utf-8") as _defaults:
    NEW_VERSION = yaml.safe_load(_defaults)["mlflow_server_version"]

# Runs on the host with the installed MLflow's own client (old before the upgrade, new after).
CLIENT_PRELUDE = r'''
import json, os, sys
_config = json.loads(sys.stdin.readline())
os.environ["MLFLOW_TRACKING_USERNAME"] = "admin"
os.environ["MLFLOW_TRACKING_PASSWORD"] = _config["password"]
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("http://localhost:5000")
mlflow.set_registry_uri("http://localhost:5000")
client = MlflowClient()
'''

CREATE_DATA = CLIENT_PRELUDE + r'''
import tempfile
experiment_id = client.create_experiment("upgrade-check", tags={"team": "platform", "purpose": "upgrade"})
client.create_experiment("upgrade-second", tags={"empty": "yes"})
run_ids = []
for index in range(2):
    run = client.create_run(experiment_id, run_name="train-%d" % index, tags={"kind": "train", "index": str(index)},
                            start_time=1700000000000 + index)
    run_id = run.info.run_id
    client.log_param(run_id, "learning_rate", str(0.01 * (index + 1)))
    client.log_param(run_id, "layers", "3")
    for step in range(6):
        client.log_metric(run_id, "loss", 1.0 / (step + 1 + index), timestamp=1700000001000 + step, step=step)
        client.log_metric(run_id, "accuracy", 0.5 + step * 0.05 + index * 0.01, timestamp=1700000002000 + step,
                          step=step)
    client.set_tag(run_id, "stage", "evaluated")
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "weights-%d.bin" % index)
        with open(path, "wb") as handle:
            handle.write(bytes(range(256)) * (40 + index) + os.urandom(333))
        client.log_artifact(run_id, path, artifact_path="model")
        notes = os.path.join(scratch, "notes.txt")
        with open(notes, "w") as handle:
            handle.write("run %d before the upgrade\n" % index)
        client.log_artifact(run_id, notes)
    client.set_terminated(run_id, "FINISHED", end_time=1700000009000 + index)
    run_ids.append(run_id)
client.create_registered_model("upgrade-model", tags={"owner": "ml-team"}, description="kept across upgrades")
for run_id in run_ids:
    source = client.get_run(run_id).info.artifact_uri + "/model"
    client.create_model_version("upgrade-model", source, run_id=run_id, tags={"trained_by": "pipeline"},
                                description="from " + run_id)
client.set_registered_model_alias("upgrade-model", "champion", "2")
client.set_model_version_tag("upgrade-model", "1", "validated", "true")
client.set_registered_model_tag("upgrade-model", "tier", "gold")
print(json.dumps({"runs": run_ids}))
'''

# A canonical view of everything: sorted, only fields both client versions report the same way.
SNAPSHOT = CLIENT_PRELUDE + r'''
import hashlib, tempfile
from mlflow.entities import ViewType

def artifact_files(run_id, path=None):
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            yield from artifact_files(run_id, info.path)
        else:
            yield info.path

snapshot = {"experiments": [], "registered_models": []}
for experiment in sorted(client.search_experiments(view_type=ViewType.ALL), key=lambda e: e.experiment_id):
    runs = []
    for run in sorted(client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000),
                      key=lambda r: r.info.run_id):
        run_id = run.info.run_id
        history = {key: sorted([m.step, m.value, m.timestamp] for m in client.get_metric_history(run_id, key))
                   for key in sorted(run.data.metrics)}
        artifacts = {}
        if run.info.lifecycle_stage == "active":
            with tempfile.TemporaryDirectory() as scratch:
                for path in sorted(artifact_files(run_id)):
                    local = client.download_artifacts(run_id, path, scratch)
                    with open(local, "rb") as handle:
                        artifacts[path] = hashlib.sha256(handle.read()).hexdigest()
        runs.append({
            "run_id": run_id, "run_name": run.info.run_name, "status": run.info.status,
            "start_time": run.info.start_time, "end_time": run.info.end_time,
            "lifecycle_stage": run.info.lifecycle_stage, "artifact_uri": run.info.artifact_uri,
            "params": dict(sorted(run.data.params.items())), "tags": dict(sorted(run.data.tags.items())),
            "metrics": dict(sorted(run.data.metrics.items())), "history": history, "artifacts": artifacts,
        })
    snapshot["experiments"].append({
        "experiment_id": experiment.experiment_id, "name": experiment.name,
        "lifecycle_stage": experiment.lifecycle_stage, "artifact_location": experiment.artifact_location,
        "tags": dict(sorted(experiment.tags.items())), "runs": runs,
    })
for model in sorted(client.search_registered_models(), key=lambda m: m.name):
    versions = []
    for version in sorted(client.search_model_versions("name='%s'" % model.name), key=lambda v: int(v.version)):
        versions.append({
            "version": str(version.version), "run_id": version.run_id, "source": version.source,
            "status": version.status, "description": version.description,
            "tags": dict(sorted(version.tags.items())),
        })
    snapshot["registered_models"].append({
        "name": model.name, "description": model.description, "tags": dict(sorted(model.tags.items())),
        "aliases": {alias: str(v) for alias, v in sorted(model.aliases.items())}, "versions": versions,
    })
print(json.dumps(snapshot, sort_keys=True))
'''

MARKER = CLIENT_PRELUDE + r'''
client.create_experiment("written-after-the-backup")
print(json.dumps("ok"))
'''

# The schema revision of the database the server is configured with (the URI carries no password).
SCHEMA_STATUS = ("set -a; . /etc/mlflow/mlflow.env; MLFLOW_SCHEMA_DB_URI=$MLFLOW_BACKEND_STORE_URI "
                 "PGPASSFILE=/etc/mlflow/pgpass exec " + VENV_PYTHON + " /opt/mlflow/libexec/mlflow-schema-status")


def _password(prefix):
    return prefix + "-" + secrets.token_hex(6) + "Q7"


class Host:
    """The deployment's ECS container, reached with docker exec (scripts and secrets on stdin only)."""

    def __init__(self, emulator, backend, admin_password):
        instances = [i for i in emulator.resources()["instances"] if str(i.get("name", "")).startswith(NAME)]
        assert len(instances) == 1, instances
        self.container = backend.container_name(instances[0]["instance_id"])
        self.admin_password = admin_password

    def sh(self, command, check=True):
        return docker("exec", self.container, "sh", "-c", command, check=check, timeout=300)

    def python(self, script):
        stdin = json.dumps({"password": self.admin_password}) + "\n"
        # The script goes through a root-only file, stdin carries the password line.
        path = "/root/upgrade-test-%s.py" % hashlib.sha256(script.encode()).hexdigest()[:12]
        docker("exec", "-i", self.container, "sh", "-c", "umask 077; cat > " + path, stdin=script, timeout=60)
        result = docker("exec", "-i", self.container, VENV_PYTHON, path, stdin=stdin, check=False, timeout=900)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def schema(self):
        return json.loads(self.sh(SCHEMA_STATUS).stdout.strip().splitlines()[-1])

    def version(self):
        return self.sh(VENV_PYTHON + " -c \"import importlib.metadata as m; print(m.version('mlflow'))\"").stdout.strip()


def _tail(run, lines=120):
    return "\n".join((run.stdout + run.stderr).splitlines()[-lines:])


def _changed(run):
    return {host: counts.get("changed", 0) for host, counts in run.recap.items()}


def _differences(expected, actual, path="snapshot"):
    """Where two snapshots differ, as readable paths (so one run reports every difference, not the first)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual or key not in expected:
                found.append("%s.%s: %r != %r" % (path, key, expected.get(key), actual.get(key)))
            else:
                found += _differences(expected[key], actual[key], "%s.%s" % (path, key))
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found = []
        for index, (left, right) in enumerate(zip(expected, actual)):
            found += _differences(left, right, "%s[%d]" % (path, index))
        return found
    return [] if expected == actual else ["%s: %r != %r" % (path, expected, actual)]


def test_upgrade_keeps_every_record_and_the_backup_restores(alicloud_emulator_factory, run_playbook, tmp_path):
    from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel

    backend = ContainerBackend()
    emulator = alicloud_emulator_factory(backend=backend, clock_speed=20, seed=22)
    # pip straight from the index: this test's two installs are what upgrade.yml does on a real host.
    env = {**emulator.env(), "MLFLOW_SERVER_WHEEL_CACHE_DIR": ""}
    problems = []
    deployment = {
        "alicloud_infra_name": NAME,
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_ecs_password": _password("Ecs"),
        "alicloud_infra_rds_password": _password("Rds"),
        "alicloud_infra_vpc_cidr": "10.222.0.0/16",
        "alicloud_infra_vswitch_cidr": "10.222.7.0/24",
        "alicloud_infra_ssh_allowed_cidrs": ["198.18.0.0/15"],
        "alicloud_infra_mlflow_allowed_cidrs": ["198.18.0.0/15"],
        "mlflow_deploy_secrets_dir": str(tmp_path / "secrets"),
        "mlflow_deploy_approve_cost": True,
    }
    timings = {}
    try:
        started = time.monotonic()
        run = run_playbook("playbooks/deploy.yml", extra_vars={**deployment, "mlflow_server_version": OLD_VERSION},
                           env=env, inventory=INVENTORY, timeout=2400)
        timings["deploy"] = time.monotonic() - started
        assert run.rc == 0, _tail(run)
        with open(tmp_path / "secrets" / "admin-password", encoding="utf-8") as handle:
            host = Host(emulator, backend, handle.read().strip())
        assert host.version() == OLD_VERSION
        old_schema = host.schema()
        assert old_schema["current"] == old_schema["head"], old_schema

        created = host.python(CREATE_DATA)
        before = host.python(SNAPSHOT)
        names = [e["name"] for e in before["experiments"]]
        assert "upgrade-check" in names and "upgrade-second" in names, names
        check = next(e for e in before["experiments"] if e["name"] == "upgrade-check")
        assert sorted(r["run_id"] for r in check["runs"]) == sorted(created["runs"])
        assert all(len(r["history"]["loss"]) == 6 and len(r["artifacts"]) == 2 for r in check["runs"]), check
        model = before["registered_models"][0]
        assert model["aliases"] == {"champion": "2"} and len(model["versions"]) == 2, model

        # --- upgrade ------------------------------------------------------------------------------------------
        fetch_dir = tmp_path / "backups"
        started = time.monotonic()
        upgrade_vars = {**deployment, "mlflow_server_backup_fetch_dir": str(fetch_dir)}
        run = run_playbook("playbooks/upgrade.yml", extra_vars=upgrade_vars, env=env, inventory=INVENTORY, timeout=2400)
        timings["upgrade"] = time.monotonic() - started
        assert run.rc == 0, _tail(run)
        assert host.version() == NEW_VERSION
        new_schema = host.schema()
        assert new_schema["current"] == new_schema["head"] != old_schema["head"], (old_schema, new_schema)
        assert re.search(r"Schema revision %s ->\s+%s" % (old_schema["current"], new_schema["current"]), run.stdout), \
            _tail(run)

        match = re.search(r"Backup: (/var/backups/mlflow/\S+\.dump)", run.stdout)
        assert match, _tail(run)
        backup = match.group(1)
        assert ("-v%s-%s.dump" % (OLD_VERSION, old_schema["current"])) in backup, backup
        modes = host.sh("stat -c '%a %U' /var/backups/mlflow " + backup).stdout.split("\n")
        assert modes[0] == "700 root" and modes[1] == "600 root", modes
        copies = list(fetch_dir.rglob("*.dump"))
        assert len(copies) == 1 and oct(copies[0].stat().st_mode & 0o777) == "0o600", copies
        assert host.sh("stat -c %s " + backup).stdout.strip() == str(copies[0].stat().st_size)

        problems += ["after the upgrade: " + d for d in _differences(before, host.python(SNAPSHOT))]

        # --- a second run: nothing to do ----------------------------------------------------------------------
        run = run_playbook("playbooks/upgrade.yml", extra_vars=deployment, env=env, inventory=INVENTORY, timeout=1200)
        assert run.rc == 0, _tail(run)
        if set(_changed(run).values()) != {0} or "nothing to do" not in run.stdout:
            problems.append("second upgrade.yml run: changed %s\n%s" % (_changed(run), _tail(run)))
        backups = host.sh("ls /var/backups/mlflow").stdout.split()
        if backups != [os.path.basename(backup)]:
            problems.append("backups after the second run: %s" % backups)

        # --- restore: refused into a database with tables, then into a fresh one ------------------------------
        host.python(MARKER)
        restore_vars = {**deployment, "mlflow_restore_dump": backup}
        run = run_playbook("playbooks/restore.yml", extra_vars={**restore_vars, "mlflow_restore_db_name": "mlflow"},
                           env=env, inventory=INVENTORY, timeout=1200)
        if run.rc == 0 or "mlflow_restore_db_name: database mlflow already holds" not in run.stdout:
            problems.append("restore into the live database was not refused by name:\n" + _tail(run))
        if host.sh("systemctl is-active mlflow", check=False).stdout.strip() != "active":
            problems.append("MLflow stopped by a refused restore")

        # The fresh restore comes from the controller's copy, as after losing the host's: it is uploaded root-only.
        host.sh("rm " + backup)
        started = time.monotonic()
        run = run_playbook("playbooks/restore.yml", extra_vars={
            **deployment, "mlflow_restore_dump_local": str(copies[0]), "mlflow_restore_db_name": RESTORED_DB},
            env=env, inventory=INVENTORY, timeout=1800)
        timings["restore"] = time.monotonic() - started
        assert run.rc == 0, _tail(run)
        assert host.sh("stat -c '%a %U %s' " + backup).stdout.strip() == "600 root %d" % copies[0].stat().st_size
        store_uri = host.sh(". /etc/mlflow/mlflow.env; echo $MLFLOW_BACKEND_STORE_URI").stdout.strip()
        assert store_uri.endswith("/" + RESTORED_DB), store_uri
        restored_schema = host.schema()
        assert restored_schema["current"] == restored_schema["head"] == new_schema["head"], restored_schema
        # The backup's data, migrated; the experiment written after the backup is not there.
        problems += ["after the restore: " + d for d in _differences(before, host.python(SNAPSHOT))]
    finally:
        destroyed = run_playbook("playbooks/destroy.yml", extra_vars=deployment, env=env, timeout=1800)
        print("timings (s):", {k: round(v) for k, v in timings.items()})
    assert not problems, "\n".join(problems)
    assert destroyed.rc == 0, _tail(destroyed)
