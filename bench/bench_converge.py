#!/usr/bin/env python
"""Time the mlflow_server role: a converge on a fresh container, then a second converge that changes nothing.

Uses the molecule `default` scenario (Debian 12 systemd container, local PostgreSQL). Two fresh variants:

* cached: MLflow installed from the controller's wheelhouse (.cache/molecule/wheelhouse, filled by the scenario's
  prepare step), PostgreSQL from the shared apt archive: what the test suite pays once the caches are warm;
* online (--online): the same converge with the wheelhouse switched off, so pip downloads ~190 MB from the index;
* wheel cache (--wheel-cache): the role's controller wheel cache (mlflow_server_wheel_cache_dir) with the wheelhouse
  off: "cache-first" starts from an empty cache (the host builds the wheels and sends them back), "cache-next" is a
  new container installing from that archive, as every later host of a fleet would.

Prints the figures; asserts nothing about them. Needs Docker and $MLFLOW_TEST_IMAGE; do not run it while the
molecule tests run (it uses the same container name). Run from the project venv: `python bench/bench_converge.py`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOLECULE = os.path.join(os.path.dirname(sys.executable), "molecule")


def molecule_env():
    """What scripts/env.sh gives a shell: the venv first on PATH, this checkout as the collection, no proxies."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".cache", "collections")
    env["ANSIBLE_ROLES_PATH"] = os.path.join(ROOT, "roles")
    if not env.get("MLFLOW_TEST_IMAGE"):
        raise SystemExit("MLFLOW_TEST_IMAGE is not set: source scripts/env.sh first")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["NO_COLOR"] = "1"
    return env


def molecule(action, scenario, *playbook_args, check=True):
    cmd = [MOLECULE, action, "-s", scenario]
    if playbook_args:
        cmd += ["--", *playbook_args]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=molecule_env(), capture_output=True, text=True, timeout=3600,
                          check=False)
    elapsed = time.monotonic() - started
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
        raise SystemExit(f"molecule {action} failed (rc {proc.returncode}):\n{tail}")
    return elapsed, proc.stdout


def changed_count(output):
    """The converge's 'changed=' total from the play recap (sum over plays and hosts)."""
    total = 0
    for line in output.splitlines():
        if "changed=" in line and "ok=" in line:
            total += int(line.split("changed=", 1)[1].split()[0])
    return total


def fresh_then_noop(scenario, extra_args):
    molecule("destroy", scenario, check=False)
    molecule("create", scenario)
    molecule("prepare", scenario)
    fresh, fresh_out = molecule("converge", scenario, *extra_args)
    noop, noop_out = molecule("converge", scenario, *extra_args)
    return {"fresh_s": round(fresh, 1), "fresh_changed": changed_count(fresh_out),
            "noop_s": round(noop, 1), "noop_changed": changed_count(noop_out)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--online", action="store_true", help="also time a fresh converge that downloads from PyPI")
    parser.add_argument("--wheel-cache", action="store_true",
                        help="also time the controller wheel cache: first host (builds it), next host (reuses it)")
    parser.add_argument("--keep", action="store_true", help="leave the last container running")
    args = parser.parse_args()

    results = {}
    try:
        if args.online:
            results["online"] = fresh_then_noop(args.scenario, ["-e", json.dumps({"mlflow_server_pip_wheelhouse_dir": ""})])
        if args.wheel_cache:
            with tempfile.TemporaryDirectory(prefix="bench-wheel-cache-") as cache_dir:
                cache_vars = ["-e", json.dumps({"mlflow_server_pip_wheelhouse_dir": "",
                                                "mlflow_server_wheel_cache_dir": cache_dir})]
                results["cache-first"] = fresh_then_noop(args.scenario, cache_vars)
                results["cache-next"] = fresh_then_noop(args.scenario, cache_vars)
        results["cached"] = fresh_then_noop(args.scenario, [])
    finally:
        if not args.keep:
            molecule("destroy", args.scenario, check=False)

    print(f"{'variant':<12} {'fresh converge':>15} {'changed':>8} {'no-change converge':>19} {'changed':>8}")
    for variant, figures in results.items():
        print(f"{variant:<12} {figures['fresh_s']:>14.1f}s {figures['fresh_changed']:>8} "
              f"{figures['noop_s']:>18.1f}s {figures['noop_changed']:>8}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine: noisy)")


if __name__ == "__main__":
    main()
