"""One MLflow deployment on the local cloud (container backend), shared by the slow tests that need a running server.

`local_deployment` (session scope) starts an emulator whose ECS instances are systemd containers and whose RDS
instances are PostgreSQL containers, runs the unmodified playbooks/deploy.yml at -vvv with fresh random secrets, and
meanwhile samples every process's command line on this controller and on the new host, and the emulator's log
records. Test modules import the fixture; the deployment is made once per session whichever module asks first, and
removed (containers and networks included) when the session ends.
"""
import json
import logging
import os
import re
import secrets
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode

import pytest

from conftest import run_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.path.join(ROOT, "inventory", "mlflow.alicloud_ecs.yml")
NAME = "resil-mlflow"
# Not the default 192.168.0.0/24: another deployment on the same Docker engine may hold that subnet.
VPC_CIDR = "10.213.0.0/16"
VSWITCH_CIDR = "10.213.7.0/24"
# Bounds of the samplers: seconds between samples, and how many samples at most.
CONTROLLER_SAMPLE_SECONDS = 0.5
HOST_SAMPLE_SECONDS = 2.0
MAX_SAMPLES = 4000

_SHARED = {}


def _password(prefix):
    """Random, meets the seed's rule (RDS specials only), unique enough never to appear by chance."""
    return prefix + "-" + secrets.token_hex(6) + "Q7"


def docker(*args, stdin=None, check=True, timeout=300):
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, check=check, timeout=timeout)


class _RecordCollector(logging.Handler):
    """Keeps every log record of the emulator (and its container backend) made during the session."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage())
        except Exception:  # pylint: disable=broad-exception-caught
            self.lines.append(str(record.msg))


class LocalDeployment:
    """The emulator, the deployment's variables and secrets, and what was seen while deploy.yml ran."""

    def __init__(self, workdir):
        from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel
        from alicloud_emulator.server import Emulator  # pylint: disable=import-outside-toplevel

        self.workdir = workdir
        self.secrets_dir = os.path.join(workdir, "secrets")
        self.backend = ContainerBackend()
        self.label = "computenest.emulator=" + self.backend.emulator_id
        self.emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24),
                                 clock_speed=20, backend=self.backend)
        self.vars = {
            "alicloud_infra_name": NAME,
            "alicloud_infra_region": "cn-hangzhou",
            "alicloud_infra_zone_id": "cn-hangzhou-h",
            "alicloud_infra_pay_type": "PostPaid",
            "alicloud_infra_ecs_instance_type": "ecs.g7.large",
            "alicloud_infra_ecs_password": _password("Ecs"),
            "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
            "alicloud_infra_rds_password": _password("Rds"),
            "alicloud_infra_mlflow_port": 5000,
            "alicloud_infra_vpc_cidr": VPC_CIDR,
            "alicloud_infra_vswitch_cidr": VSWITCH_CIDR,
            "mlflow_server_artifacts_dir": "/data/mlflow/artifacts",
            "alicloud_infra_ssh_allowed_cidrs": ["198.18.0.0/15"],
            "alicloud_infra_mlflow_allowed_cidrs": ["198.18.0.0/15"],
            "mlflow_deploy_secrets_dir": self.secrets_dir,
            "mlflow_deploy_approve_cost": True,
        }
        self.run = None
        self.url = None
        # TLS is deploy.yml's default: the self-signed certificate it fetched, which clients must trust.
        self.cert_path = os.path.join(self.secrets_dir, "mlflow-server.crt")
        self.fingerprint = None
        self.admin_password = None
        self.controller_cmdlines = set()
        self.host_cmdlines = set()
        self.sample_counts = {"controller": 0, "host": 0}
        self.log_records = _RecordCollector()
        self._stop = threading.Event()

    # --- what tests use ----------------------------------------------------------------------------------------------
    def secrets(self):
        """Every secret of the deployment, by name."""
        return {
            "ECS password": self.vars["alicloud_infra_ecs_password"],
            "RDS password": self.vars["alicloud_infra_rds_password"],
            "MLflow admin password": self.admin_password,
            "access key secret": self.emulator.access_key_secret,
        }

    def _container(self, kind, id_field, name_field):
        for resource in self.emulator.resources()[kind]:
            if str(resource.get(name_field, "")).startswith(NAME):
                return self.backend.container_name(resource[id_field])
        return None

    @property
    def ecs_container(self):
        return self._container("instances", "instance_id", "name")

    @property
    def rds_container(self):
        return self._container("db_instances", "db_instance_id", "description")

    def host(self, *argv, stdin=None, check=True, timeout=300):
        """Run argv on the ECS host (as root, through docker exec); stdin keeps secrets out of argv."""
        args = ["exec", "-i", self.ecs_container, *argv] if stdin is not None else ["exec", self.ecs_container, *argv]
        return docker(*args, stdin=stdin, check=check, timeout=timeout)

    def get(self, path, timeout=10):
        """GET url+path as admin; returns (status, body) and never raises for an HTTP or connection error."""
        token = b64encode(("admin:" + self.admin_password).encode()).decode()
        request = urllib.request.Request(self.url + path, headers={"Authorization": "Basic " + token})
        context = ssl.create_default_context(cafile=self.cert_path)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")
        except (OSError, urllib.error.URLError) as error:
            return None, str(error)

    def wait_healthy(self, timeout=300, interval=2.0):
        """Poll /health until it answers 200; returns the seconds it took, or None if it never did."""
        started = time.monotonic()
        attempts = int(timeout / interval) + 1
        for _attempt in range(attempts):
            status, body = self.get("/health", timeout=5)
            if status == 200 and body.strip() == "OK":
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                break
            time.sleep(interval)
        return None

    def main_pid(self):
        out = self.host("systemctl", "show", "-p", "MainPID", "--value", "mlflow").stdout.strip()
        return int(out or 0)

    # --- the deployment ----------------------------------------------------------------------------------------------
    def _sample_controller(self):
        for _sample in range(MAX_SAMPLES):
            if self._stop.is_set():
                return
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(os.path.join("/proc", entry, "cmdline"), "rb") as handle:
                        raw = handle.read()
                except OSError:
                    continue
                if raw:
                    self.controller_cmdlines.add(raw.replace(b"\0", b" ").decode("utf-8", "replace"))
            self.sample_counts["controller"] += 1
            self._stop.wait(CONTROLLER_SAMPLE_SECONDS)

    def _sample_host(self):
        script = 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done'
        for _sample in range(MAX_SAMPLES):
            if self._stop.is_set():
                return
            try:
                name = self.ecs_container
                proc = docker("exec", name, "sh", "-c", script, check=False, timeout=60) if name else None
            except subprocess.TimeoutExpired:
                proc = None
            if proc is not None and proc.returncode == 0:
                self.host_cmdlines.update(line for line in proc.stdout.splitlines() if line.strip())
                self.sample_counts["host"] += 1
            self._stop.wait(HOST_SAMPLE_SECONDS)

    def deploy(self):
        self.emulator.start()
        logging.getLogger("alicloud_emulator").addHandler(self.log_records)
        logging.getLogger("alicloud_emulator").setLevel(logging.DEBUG)
        samplers = [threading.Thread(target=self._sample_controller, daemon=True),
                    threading.Thread(target=self._sample_host, daemon=True)]
        for thread in samplers:
            thread.start()
        try:
            self.run = run_playbook("playbooks/deploy.yml", extra_vars=self.vars, env=self.emulator.env(),
                                    inventory=INVENTORY, args=["-vvv"], timeout=2400)
        finally:
            self._stop.set()
            for thread in samplers:
                thread.join(timeout=90)
        if self.run.rc != 0:
            return
        match = re.search(r"MLflow is running: (https://[0-9.]+:443)", self.run.stdout)
        self.url = match.group(1) if match else None
        match = re.search(r"SHA-256 fingerprint:? ([0-9A-F]{2}(?::[0-9A-F]{2}){31})", self.run.stdout)
        self.fingerprint = match.group(1) if match else None
        with open(os.path.join(self.secrets_dir, "admin-password"), encoding="utf-8") as handle:
            self.admin_password = handle.read().strip()

    def tail(self, lines=150):
        return "\n".join((self.run.stdout + self.run.stderr).splitlines()[-lines:]) if self.run else "(not run)"

    def close(self):
        self._stop.set()
        logging.getLogger("alicloud_emulator").removeHandler(self.log_records)
        self.emulator.stop()

    def request_log_text(self):
        return json.dumps(self.emulator.requests())


@pytest.fixture(scope="session")
def local_deployment(request, tmp_path_factory):
    """The shared deployment; the test fails (not errors) the same way in every module if deploy.yml failed."""
    if "deployment" not in _SHARED:
        deployment = LocalDeployment(str(tmp_path_factory.mktemp("local-cloud")))
        _SHARED["deployment"] = deployment
        request.addfinalizer(deployment.close)
        deployment.deploy()
    deployment = _SHARED["deployment"]
    assert deployment.run is not None and deployment.run.rc == 0, deployment.tail()
    assert deployment.url and deployment.admin_password, deployment.tail()
    return deployment
