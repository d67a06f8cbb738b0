"""End-to-end deploy time on the local cloud, split into provisioning, configuration and verification.

Starts an emulator in this process with the container backend (ECS instances are systemd containers with sshd, RDS
instances are PostgreSQL containers), runs the unmodified playbooks/deploy.yml, timestamps each of its plays as
ansible-playbook prints them, then runs it again (no change) and tears the deployment down with destroy.yml. Prints
the figures; asserts nothing about timings.

    source scripts/env.sh && python bench/bench_deploy.py [--clock-speed 20]
"""
import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from alicloud_emulator.container_backend import ContainerBackend  # noqa: E402
from alicloud_emulator.server import Emulator  # noqa: E402
from conftest import base_env  # noqa: E402

INVENTORY = os.path.join(ROOT, "inventory", "mlflow.alicloud_ecs.yml")
# deploy.yml's three plays, in order, as the phases this benchmark reports.
PHASES = ("provisioning", "configuration", "verification")


def deployment_vars(secrets_dir):
    return {
        "alicloud_infra_name": "bench-e2e",
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_ecs_instance_type": "ecs.g7.large",
        "alicloud_infra_ecs_password": "Bench-" + secrets.token_hex(6) + "Q7",
        "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
        "alicloud_infra_rds_password": "Bench-" + secrets.token_hex(6) + "R8",
        # Not the default 192.168.0.0/24, which another deployment on this Docker engine may hold.
        "alicloud_infra_vpc_cidr": "10.217.0.0/16",
        "alicloud_infra_vswitch_cidr": "10.217.3.0/24",
        "alicloud_infra_ssh_allowed_cidrs": ["198.18.0.0/15"],
        "alicloud_infra_mlflow_allowed_cidrs": ["198.18.0.0/15"],
        "mlflow_deploy_secrets_dir": secrets_dir,
        "mlflow_deploy_approve_cost": True,
    }


def timed_run(playbook, extra_vars_file, env):
    """Run a playbook; return (rc, seconds per play in order, total seconds, recap lines)."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY, playbook,
           "-e", "@" + extra_vars_file]
    started = time.monotonic()
    play_starts = []
    recap = []
    in_recap = False
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            if line.startswith("PLAY RECAP"):
                in_recap = True
            elif line.startswith("PLAY ["):
                play_starts.append(time.monotonic())
            elif in_recap and line.strip():
                recap.append(line.rstrip())
        rc = proc.wait()
    finished = time.monotonic()
    bounds = play_starts + [finished]
    return rc, [round(b - a, 1) for a, b in zip(bounds, bounds[1:])], round(finished - started, 1), recap


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--clock-speed", type=float, default=20.0,
                        help="emulated seconds per real second (RDS creation is 480 emulated s; default 20)")
    options = parser.parse_args()

    backend = ContainerBackend()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as workdir:
        emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24),
                            clock_speed=options.clock_speed, backend=backend).start()
        try:
            vars_file = os.path.join(workdir, "deployment.json")
            with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
                json.dump(deployment_vars(os.path.join(workdir, "secrets")), handle)
            env = base_env(emulator.env())
            rows = []
            for label, playbook in (("deploy (fresh)", "playbooks/deploy.yml"),
                                    ("deploy (no change)", "playbooks/deploy.yml")):
                rc, plays, total, recap = timed_run(playbook, vars_file, env)
                rows.append((label, rc, plays, total, recap))
            rc, plays, total, recap = timed_run("playbooks/destroy.yml", vars_file, env)
            rows.append(("destroy", rc, plays, total, recap))
        finally:
            # Stopping the emulator makes the container backend remove every container and network it made.
            emulator.stop()

    print("clock speed %gx (emulated RDS creation %.0f s real)" % (options.clock_speed, 480 / options.clock_speed))
    print("%-20s %4s %14s %14s %14s %10s" % ("run", "rc", *PHASES, "total s"))
    for label, rc, plays, total, _recap in rows:
        phases = (plays + ["-"] * 3)[:3] if label.startswith("deploy") else ["-"] * 3
        print("%-20s %4d %14s %14s %14s %10.1f" % (label, rc, *phases, total))
    for label, _rc, _plays, _total, recap in rows:
        print("\n%s recap:\n  %s" % (label, "\n  ".join(recap)))
    return 0 if all(row[1] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
