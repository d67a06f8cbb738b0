"""Wall time of the alicloud_infra role next to the emulator's RDS and ECS creation times, and API calls per action.

Starts its own emulator (in this process, on a free loopback port) at a chosen clock speed, so that creating an RDS
instance takes 480 emulated seconds (480 / speed real seconds) and an ECS instance 40; runs playbooks/provision.yml
(deploy), then the same again (no change), then the teardown, and prints for each the wall time and the API calls
made, counted per action from the emulator's request log. Because the role requests RDS first and waits for it last,
the deploy's wall time should sit near the RDS creation time plus Ansible's own overhead, not near the sum of the
creation times. Prints figures; asserts nothing about timings.

    source scripts/env.sh && python bench/bench_provision.py [--clock-speed 10] [--faults]
"""
import argparse
import collections
import json
import os
import secrets
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from alicloud_emulator.server import Emulator  # noqa: E402
from alicloud_emulator.state import DURATIONS  # noqa: E402
from conftest import run_playbook  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "playbooks", "provision.yml")
SEED = {
    "alicloud_infra_name": "mlflow-bench",
    "alicloud_infra_region": "cn-hangzhou",
    "alicloud_infra_zone_id": "cn-hangzhou-i",
    "alicloud_infra_ecs_instance_type": "ecs.g7.large",
    "alicloud_infra_ecs_password": "Bench(Ecs)42",
    "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
    "alicloud_infra_rds_password": "Bench-Rds-42",
    "alicloud_infra_ssh_allowed_cidrs": ["203.0.113.0/24"],
    "alicloud_infra_mlflow_allowed_cidrs": ["203.0.113.0/24"],
}


def run_phase(emulator, label, state):
    mark = len(emulator.requests())
    started = time.monotonic()
    run = run_playbook(PLAYBOOK, extra_vars=dict(SEED, alicloud_infra_state=state), env=emulator.env())
    elapsed = time.monotonic() - started
    if run.rc != 0:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-2000:])
        raise SystemExit("%s failed (rc %d)" % (label, run.rc))
    entries = emulator.requests(mark)
    return dict(label=label, seconds=elapsed, changed=run.stat("localhost", "changed"), entries=entries)


def print_calls(phase):
    per_action = collections.Counter((entry["product"], entry["action"]) for entry in phase["entries"])
    refused = collections.Counter((entry["product"], entry["action"]) for entry in phase["entries"]
                                  if entry["status"] != 200)
    print("  API calls per action (%d in all, %d answered with an error or a lost reply):"
          % (sum(per_action.values()), sum(refused.values())))
    for (product, action), count in sorted(per_action.items(), key=lambda item: (-item[1], item[0])):
        extra = " (%d not 200)" % refused[(product, action)] if refused[(product, action)] else ""
        print("    %-4s %-32s %4d%s" % (product, action, count, extra))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock-speed", type=float, default=10.0,
                        help="emulated seconds per real second (10: RDS takes 48 s, ECS 4 s)")
    parser.add_argument("--faults", action="store_true",
                        help="inject 10%% throttling and 5%% 5xx answers during the deploy")
    args = parser.parse_args()

    emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24),
                        clock_speed=args.clock_speed).start()
    try:
        rds_seconds = DURATIONS["db_create"] / args.clock_speed
        ecs_seconds = (DURATIONS["instance_pending"] + DURATIONS["instance_starting"]) / args.clock_speed
        network_seconds = (DURATIONS["vpc_create"] + DURATIONS["vswitch_create"]) / args.clock_speed
        print("emulator clock x%g: RDS creation %.1f s, ECS creation %.1f s, VPC+VSwitch %.1f s (real seconds)"
              % (args.clock_speed, rds_seconds, ecs_seconds, network_seconds))
        print("one after the other the cloud alone would take %.1f s; in parallel, about %.1f s"
              % (rds_seconds + ecs_seconds + network_seconds, rds_seconds + network_seconds))
        if args.faults:
            emulator.inject_fault("throttling", rate=0.1)
            emulator.inject_fault("unavailable", rate=0.05)
        phases = [run_phase(emulator, "deploy", "present")]
        emulator.clear_faults()
        phases.append(run_phase(emulator, "deploy again (no change)", "present"))
        no_change = phases[-1]["seconds"]
        phases.append(run_phase(emulator, "teardown", "absent"))
        for phase in phases:
            print("\n%s: %.1f s wall time, %d tasks changed" % (phase["label"], phase["seconds"], phase["changed"]))
            print_calls(phase)
        deploy = phases[0]["seconds"]
        print("\nsummary: deploy %.1f s = RDS creation %.1f s + %.1f s; a run with nothing to do (Ansible and "
              "Describe calls only) takes %.1f s" % (deploy, rds_seconds, deploy - rds_seconds, no_change))
        # RDS is being built while the other tasks run, so this difference can come out below the RDS creation
        # time; under CPU contention both runs' Ansible overhead varies, so read it as a rough figure.
        print("wall time the cloud adds (deploy minus the no-change run): %.1f s; RDS alone takes %.1f s, RDS, ECS "
              "and network one after the other %.1f s"
              % (deploy - no_change, rds_seconds + network_seconds, rds_seconds + ecs_seconds + network_seconds))
        print(json.dumps({"clock_speed": args.clock_speed, "rds_create_s": round(rds_seconds, 2),
                          "ecs_create_s": round(ecs_seconds, 2), "deploy_s": round(deploy, 2),
                          "deploy_again_s": round(no_change, 2), "teardown_s": round(phases[2]["seconds"], 2),
                          "deploy_api_calls": len(phases[0]["entries"]),
                          "deploy_again_api_calls": len(phases[1]["entries"]),
                          "teardown_api_calls": len(phases[2]["entries"])}))
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
