"""Shared fixtures: run a collection module the way Ansible does, and run playbooks.

`run_module` executes plugins/modules/<name>.py in a subprocess with ANSIBLE_MODULE_ARGS, exactly as AnsiballZ hands
arguments to a module, so module code, argument parsing, check mode, diff and no_log all run for real.
`run_playbook` runs ansible-playbook with this checkout as the computenest.mlflow collection.
"""
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
MODULES = os.path.join(ROOT, "plugins", "modules")


def base_env(extra=None):
    """The environment for Ansible subprocesses: this collection, no proxies, no metadata-address fallback."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    env["ANSIBLE_ROLES_PATH"] = os.path.join(ROOT, "roles")
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    env["PYTHONPATH"] = COLLECTIONS + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env.setdefault("ANSIBLE_HOST_KEY_CHECKING", "False")
    # Keep the developer's own credentials out of tests: only what a test passes counts.
    for key in list(env):
        if key.startswith(("ALICLOUD_", "ALIBABA_CLOUD_")) and key != "ALIBABA_CLOUD_ECS_METADATA_DISABLED":
            del env[key]
    if extra:
        env.update(extra)
    return env


@dataclass
class ModuleResult:
    rc: int
    result: dict
    stdout: str
    stderr: str

    @property
    def failed(self):
        return self.rc != 0 or bool(self.result.get("failed"))

    @property
    def changed(self):
        return bool(self.result.get("changed"))

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)


def run_module(name, args, check=False, diff=False, env=None, timeout=600):
    """Run computenest.mlflow.<name> with args; returns a ModuleResult (never raises on module failure)."""
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check
    module_args["_ansible_diff"] = diff
    module_args.setdefault("_ansible_tmpdir", tempfile.gettempdir())
    module_args.setdefault("_ansible_remote_tmp", tempfile.gettempdir())
    module_args.setdefault("_ansible_keep_remote_files", False)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": module_args}, handle)
        args_path = handle.name
    try:
        proc = subprocess.run(
            [sys.executable, os.path.join(MODULES, name + ".py"), args_path],
            capture_output=True, text=True, env=base_env(env), timeout=timeout, check=False,
        )
    finally:
        os.unlink(args_path)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except (ValueError, IndexError):
        result = {"failed": True, "msg": "module printed no JSON", "raw": proc.stdout}
    return ModuleResult(proc.returncode, result, proc.stdout, proc.stderr)


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    recap: dict = field(default_factory=dict)

    def stat(self, host, key):
        return self.recap.get(host, {}).get(key, 0)


def _parse_recap(stdout):
    recap = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line and "=" in line:
            host, _sep, counters = line.partition(":")
            recap[host.strip()] = {
                k: int(v) for k, v in (item.split("=") for item in counters.split()) if v.isdigit()
            }
    return recap


def run_playbook(playbook, extra_vars=None, env=None, inventory=None, args=(), timeout=1800):
    """Run ansible-playbook; extra vars go through a file so no value ever lands on a command line."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook]
    cleanup = []
    if inventory:
        cmd += ["-i", inventory]
    if extra_vars:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(extra_vars, handle)
        os.chmod(handle.name, 0o600)
        cleanup.append(handle.name)
        cmd += ["-e", "@" + handle.name]
    cmd += list(args)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=base_env(env), cwd=ROOT,
                              timeout=timeout, check=False)
    finally:
        for path in cleanup:
            os.unlink(path)
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, _parse_recap(proc.stdout))


@pytest.fixture(name="run_module")
def run_module_fixture():
    return run_module


@pytest.fixture(name="run_playbook")
def run_playbook_fixture():
    return run_playbook
