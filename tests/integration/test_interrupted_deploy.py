"""deploy.yml killed at many points converges: a progressive chain of interrupted runs on one deployment.

Each run of playbooks/deploy.yml is SIGKILLed, with its whole process group, at the next planned point: right after
each create call has been applied by the emulator, while the virtualenv is being created, while pip is installing
MLflow, while `mlflow db upgrade` runs on a fresh database, and while the service is starting. The next run goes
further and is killed at the next point; a last run is allowed to finish. Processes the killed controller started on
the host may live on, as they would with a real controller that lost its connection. Then: exactly one of each
resource, only the two expected containers, MLflow healthy with the schema at head, the real client round trip, a
re-run that changes nothing, and destroy.yml leaving nothing behind.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import base_env
from local_cloud import INVENTORY, ROOT
from mlflow_client_checks import exercise_tracking_server

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAME = "intr-mlflow"
VPC_CIDR = "10.221.0.0/16"
VSWITCH_CIDR = "10.221.7.0/24"
VENV = "/opt/mlflow/venv"
ROLE_TASK = "[computenest.mlflow.mlflow_server : "
# The role's migration helper (files/mlflow_schema_status.py), which runs `mlflow db upgrade` in its own process.
MIGRATION_PROCESS = "mlflow-schema-status --upgrade"
# Tasks that only change something when an earlier run was interrupted at the wrong moment (reported, not asserted:
# whether a kill leaves such a state depends on the instant it lands).
REPAIR_TASKS = ("Remove a virtualenv an interrupted run left without pip",)
# Bounds: one run (killed or finished), and how often the watcher looks.
RUN_TIMEOUT = 1200
API_POLL_SECONDS = 0.05
HOST_POLL_SECONDS = 0.3

# The create calls in the order deploy.yml makes them (roles/alicloud_infra/tasks/present.yml): the RDS instance is
# requested before the security group and the ECS instance, and the account, database and whitelist come last.
API_KILL_POINTS = ("CreateVpc", "CreateVSwitch", "CreateDBInstance", "CreateSecurityGroup", "AuthorizeSecurityGroup",
                   "RunInstances", "CreateAccount", "CreateDatabase", "ModifySecurityIps")


def _docker(*args, check=False, timeout=60):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def _labelled(kind, label):
    """Names of the containers or networks carrying label (those of one emulator's container backend)."""
    if kind == "container":
        listing = ["ps", "-a", "--format", "{{.Names}}"]
    else:
        listing = ["network", "ls", "--format", "{{.Name}}"]
    out = _docker(*listing, "--filter", "label=" + label, check=True).stdout
    return sorted(name for name in out.split() if name)


def _children_by_parent():
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="utf-8", errors="replace") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    return children


def _tree(root):
    children, found, todo = _children_by_parent(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def kill_controller(root):
    """SIGKILL ansible-playbook and every process under it. Ansible's workers (and its ssh clients) each start their
    own session, so killing the process group alone would leave them finishing their task. The tree is stopped first,
    until no new process appears, so nothing forks out of it between the look and the kill."""
    stopped = set()
    for _attempt in range(5):
        tree = set(_tree(root))
        if tree <= stopped:
            break
        for pid in tree - stopped:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        stopped |= tree
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class DeployRun:
    """One ansible-playbook run; its output is collected line by line as it comes."""

    def __init__(self, playbook, vars_file, env):
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY, playbook,
               "-e", "@" + vars_file]
        self.lines = []
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text):
        return any(text in line for line in list(self.lines))

    def after(self, header):
        """The lines printed after the last line containing header (empty if it was not printed)."""
        lines = list(self.lines)
        for index in range(len(lines) - 1, -1, -1):
            if header in lines[index]:
                return lines[index + 1:]
        return []

    def result_of(self, header):
        """The lines of the (last started) task whose header contains header, up to the next header."""
        lines = []
        for line in self.after(header):
            if line.startswith(("TASK [", "RUNNING HANDLER [", "PLAY [", "PLAY RECAP")):
                break
            lines.append(line)
        return lines

    def kill(self):
        """SIGKILL the controller: ansible-playbook, its workers and their ssh clients (no-op once done)."""
        if self.proc.poll() is None:
            kill_controller(self.proc.pid)
        self.proc.wait(timeout=60)
        self._reader.join(timeout=30)

    def finish(self, timeout=RUN_TIMEOUT):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._reader.join(timeout=30)
        return self.proc.returncode

    def recap(self):
        recap, in_recap = {}, False
        for line in self.lines:
            if line.startswith("PLAY RECAP"):
                in_recap = True
            elif in_recap and ":" in line and "=" in line:
                host, _sep, counters = line.partition(":")
                recap[host.strip()] = {k: int(v) for k, v in (item.split("=") for item in counters.split())
                                       if v.isdigit()}
        return recap

    def tail(self, count=80):
        return "\n".join(self.lines[-count:])


class Cloud:
    """The emulator and what the test reads from it and from the containers its backend made."""

    def __init__(self, emulator, backend):
        self.emulator = emulator
        self.backend = backend
        self.label = "computenest.emulator=" + backend.emulator_id

    def _container(self, kind, id_field, name_field):
        for resource in self.emulator.resources()[kind]:
            if str(resource.get(name_field, "")).startswith(NAME):
                return self.backend.container_name(resource[id_field])
        return None

    def ecs(self):
        return self._container("instances", "instance_id", "name")

    def rds(self):
        return self._container("db_instances", "db_instance_id", "description")

    def host(self, *argv):
        """argv on the ECS host; returns (rc, stdout). No host yet counts as a failed command."""
        name = self.ecs()
        if name is None:
            return 1, ""
        proc = _docker("exec", name, *argv)
        return proc.returncode, proc.stdout

    def host_pids(self, pattern):
        """PIDs on the ECS host whose command line contains pattern (pgrep runs directly: no shell to match)."""
        rc, out = self.host("pgrep", "-f", "--", pattern)
        return out.split() if rc == 0 else []

    def mlflow_sql(self, query):
        """One value from the RDS instance's mlflow database, as its postgres superuser (peer auth)."""
        name = self.rds()
        if name is None:
            return None
        proc = _docker("exec", "-u", "postgres", name, "psql", "-d", "mlflow", "-tAc", query)
        return proc.stdout.strip() if proc.returncode == 0 else None


class KillPoint:
    """Where to kill a run: `reached(run, cloud)` says the run is at that point now; `passed(run, cloud)` says the run
    had already gone past it when it was killed (so the kill did not happen at the point)."""

    def __init__(self, name, reached, passed, poll=HOST_POLL_SECONDS, api_action=None):
        self.name, self.reached, self.passed, self.poll, self.api_action = name, reached, passed, poll, api_action


class KillOnApply:
    """Kills an armed run from inside the emulator, the moment it has applied the armed action and before the reply
    is sent: the controller never hears of the resource it has just created."""

    def __init__(self, emulator, monkeypatch):
        self.armed = None
        self.fired = threading.Event()
        record = emulator._record  # pylint: disable=protected-access

        def record_then_kill(entry):
            record(entry)
            armed = self.armed
            if armed and entry["action"] == armed[0] and entry["status"] == 200:
                self.armed = None
                kill_controller(armed[1])  # a run that had ended already is seen as not killed by the caller
                self.fired.set()
        monkeypatch.setattr(emulator, "_record", record_then_kill)

    def arm(self, action, run):
        self.fired.clear()
        self.armed = (action, run.proc.pid)

    def disarm(self):
        self.armed = None


def _applied_since(cloud, action, since):
    return any(entry["action"] == action and entry["status"] == 200 for entry in cloud.emulator.requests(since=since))


def _api_point(action, next_action, log_start):
    def reached(_run, cloud):
        return _applied_since(cloud, action, log_start[0])

    def passed(run, cloud):
        if next_action is not None:
            return _applied_since(cloud, next_action, log_start[0])
        return run.saw("PLAY [Install and configure the MLflow tracking server]")
    return KillPoint("after " + action, reached, passed, API_POLL_SECONDS, api_action=action)


def _site_packages_count(cloud):
    rc, out = cloud.host("sh", "-c", "ls -d %s/lib/python3*/site-packages/*.dist-info 2>/dev/null | wc -l" % VENV)
    return int(out.strip() or 0) if rc == 0 else 0


def _host_points():
    baseline = {}

    def venv_reached(run, cloud):
        return run.saw(ROLE_TASK + "Create the root-owned virtualenv]") and bool(cloud.host_pids(" -m venv "))

    def install_reached(run, cloud):
        if not (run.saw(ROLE_TASK + "Install MLflow") and cloud.host_pids("pip install")):
            return False
        # Killed once pip has put at least one new package in place, and so is really installing.
        count = _site_packages_count(cloud)
        baseline.setdefault("dist_infos", count)
        return count > baseline["dist_infos"]

    def migration_reached(run, cloud):
        if not (run.saw(ROLE_TASK + "Run mlflow db upgrade") and cloud.host_pids(MIGRATION_PROCESS)):
            return False
        # The initial tables are committed and the migration's transaction is open on the fresh database.
        state = cloud.mlflow_sql("select (select count(*) from pg_tables where schemaname = 'public') || ',' || "
                                 "(select count(*) from pg_stat_activity where datname = 'mlflow' "
                                 "and usename = 'mlflow' and xact_start is not null)")
        tables, open_transactions = (int(part) for part in (state or "0,0").split(","))
        return tables > 0 and open_transactions > 0

    def start_reached(run, cloud):
        started = run.saw(ROLE_TASK + "Start MLflow and enable it at boot]") or run.saw(ROLE_TASK + "Restart MLflow]")
        return started and cloud.host("systemctl", "is-active", "mlflow")[1].strip() in ("active", "activating")

    def finished(task):
        """The run had printed the result of the (last started) task whose header contains task."""
        return lambda run, _cloud: any(line.startswith(("ok:", "changed:")) for line in run.after(ROLE_TASK + task))

    return [
        KillPoint("mid-venv", venv_reached, finished("Create the root-owned virtualenv]")),
        KillPoint("mid-install", install_reached, finished("Install MLflow")),
        KillPoint("mid-migration", migration_reached, finished("Run mlflow db upgrade")),
        KillPoint("mid-start", start_reached, finished("Poll GET /health]")),
    ]


def _two_migrations_at_once(cloud):
    """Runs the role's migration helper twice at the same moment on the host against a new, empty database of the
    RDS instance; returns both JSON answers. The server's own environment file gives the URI and the password."""
    created = _docker("exec", "-u", "postgres", cloud.rds(), "psql", "-d", "postgres", "-c",
                      "CREATE DATABASE lockcheck OWNER mlflow")
    assert created.returncode == 0, created.stderr
    script = (
        "set -a; . /etc/mlflow/mlflow.env; set +a; "
        'MLFLOW_SCHEMA_DB_URI="${MLFLOW_BACKEND_STORE_URI%%/mlflow}/lockcheck"; export MLFLOW_SCHEMA_DB_URI; '
        "helper='%s/bin/python /opt/mlflow/libexec/mlflow-schema-status --upgrade'; "
        "$helper >/tmp/lockcheck-1.json 2>/tmp/lockcheck-1.err & first=$!; "
        "$helper >/tmp/lockcheck-2.json 2>/tmp/lockcheck-2.err & second=$!; "
        'wait $first; first_rc=$?; wait $second; echo "$first_rc $?"; '
        "cat /tmp/lockcheck-1.json /tmp/lockcheck-2.json; tail -n 5 /tmp/lockcheck-1.err /tmp/lockcheck-2.err >&2" % VENV)
    proc = _docker("exec", cloud.ecs(), "bash", "-c", script, timeout=600)
    lines = proc.stdout.splitlines()
    assert lines and lines[0] == "0 0", proc.stdout + proc.stderr
    return [json.loads(line) for line in lines[1:3]]


def _say(message):
    sys.stderr.write("[interrupted-deploy %s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stderr.flush()


def test_interrupted_runs_converge_then_destroy_leaves_nothing(alicloud_emulator_factory, monkeypatch, tmp_path):
    from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel
    from mlflow.store.db.utils import _get_latest_schema_revision  # pylint: disable=import-outside-toplevel

    backend = ContainerBackend()
    emulator = alicloud_emulator_factory(backend=backend, clock_speed=20, seed=21)
    cloud = Cloud(emulator, backend)
    killer = KillOnApply(emulator, monkeypatch)
    secrets_dir = tmp_path / "secrets"
    deployment = {
        "alicloud_infra_name": NAME,
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_ecs_password": "Intr-ecs-2026Z",
        "alicloud_infra_rds_password": "Intr-rds-2026Z",
        "alicloud_infra_vpc_cidr": VPC_CIDR,
        "alicloud_infra_vswitch_cidr": VSWITCH_CIDR,
        "alicloud_infra_ssh_allowed_cidrs": ["198.18.0.0/15"],
        "alicloud_infra_mlflow_allowed_cidrs": ["198.18.0.0/15"],
        "mlflow_deploy_secrets_dir": str(secrets_dir),
        "mlflow_deploy_approve_cost": True,
    }
    vars_file = str(tmp_path / "deployment.json")
    with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
        json.dump(deployment, handle)
    env = base_env(emulator.env())

    log_start = [0]
    points = [_api_point(action, following, log_start)
              for action, following in zip(API_KILL_POINTS, API_KILL_POINTS[1:] + (None,))] + _host_points()
    hit = []
    for point in points:
        log_start[0] = len(emulator.requests())
        run = DeployRun("playbooks/deploy.yml", vars_file, env)
        if point.api_action:
            killer.arm(point.api_action, run)
        deadline = time.monotonic() + RUN_TIMEOUT
        while not (killer.fired.is_set() if point.api_action else point.reached(run, cloud)):
            if run.proc.poll() is not None and not killer.fired.is_set():
                killer.disarm()
                pytest.fail("run ended (rc %s) before reaching %s:\n%s" % (run.proc.returncode, point.name, run.tail()))
            if time.monotonic() > deadline:
                killer.disarm()
                run.kill()
                pytest.fail("no %s within %d s:\n%s" % (point.name, RUN_TIMEOUT, run.tail()))
            time.sleep(point.poll)
        run.kill()
        assert run.proc.returncode == -signal.SIGKILL, "run was not killed at %s:\n%s" % (point.name, run.tail())
        # A host point was reached when the loop ended; an API point must have been applied, not only armed.
        assert not point.api_action or point.reached(run, cloud), "%s not applied:\n%s" % (point.name, run.tail())
        assert not point.passed(run, cloud), "killed after the run had gone past %s:\n%s" % (point.name, run.tail())
        survivors = {pattern: cloud.host_pids(pattern) for pattern in (" -m venv ", "pip install", MIGRATION_PROCESS)}
        hit.append(point.name)
        (tmp_path / ("run-%02d.log" % len(hit))).write_text("\n".join(run.lines) + "\n", encoding="utf-8")
        repaired = [task for task in REPAIR_TASKS if any(line.startswith("changed:") for line in run.result_of(task))]
        _say("run %d killed %s after %.0f s; repaired what an earlier kill left: %s; still running on the host: %s"
             % (len(hit), point.name, time.monotonic() - run.started, repaired or "nothing",
                {pattern: pids for pattern, pids in survivors.items() if pids} or "nothing"))

    _say("%d interruption points tried: %s" % (len(hit), ", ".join(hit)))
    assert hit == [point.name for point in points]

    final = DeployRun("playbooks/deploy.yml", vars_file, env)
    assert final.finish() == 0, final.tail(150)
    url = next((line.split("MLflow is running: ")[1].strip().strip('",') for line in final.lines
                if "MLflow is running: https://" in line), None)
    assert url, final.tail()

    resources = emulator.resources()
    counts = {kind: len(items) for kind, items in resources.items() if items}
    assert counts == {"vpcs": 1, "vswitches": 1, "security_groups": 1, "instances": 1, "db_instances": 1}, counts
    db_instance = resources["db_instances"][0]
    assert sorted(db_instance["accounts"]) == ["mlflow"] and sorted(db_instance["databases"]) == ["mlflow"], db_instance
    assert sorted(_labelled("container", cloud.label)) == sorted([cloud.ecs(), cloud.rds()])

    assert cloud.host("systemctl", "is-active", "mlflow")[1].strip() == "active"
    head = _get_latest_schema_revision()
    assert cloud.mlflow_sql("select version_num from alembic_version") == head
    # What an orphaned migration meets when a re-run starts another one: the second waits for the first's lock, then
    # finds the schema current and leaves it alone.
    answers = _two_migrations_at_once(cloud)
    assert sorted(answer["upgraded"] for answer in answers) == [False, True], answers
    assert all(answer["current"] == head for answer in answers), answers
    assert [answer["before"] for answer in answers if not answer["upgraded"]] == [head], answers
    admin_password = (secrets_dir / "admin-password").read_text(encoding="utf-8").strip()
    exercise_tracking_server(url, "admin", admin_password, tmp_path, cert_path=secrets_dir / "mlflow-server.crt")

    again = DeployRun("playbooks/deploy.yml", vars_file, env)
    assert again.finish() == 0, again.tail(150)
    recap = again.recap()
    assert recap and all(stats.get("changed", 0) == 0 for stats in recap.values()), again.tail()
    assert len(recap) == 2, recap  # localhost and the ECS host

    destroy = DeployRun("playbooks/destroy.yml", vars_file, env)
    assert destroy.finish() == 0, destroy.tail(150)
    left = {kind: items for kind, items in emulator.resources().items() if items}
    assert not left, left
    # The backend removes containers and networks in the background after the API said they are gone.
    deadline = time.monotonic() + 120
    while (_labelled("container", cloud.label) or _labelled("network", cloud.label)) and time.monotonic() < deadline:
        time.sleep(2)
    assert _labelled("container", cloud.label) == []
    assert _labelled("network", cloud.label) == []
