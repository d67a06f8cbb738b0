"""Wall time and API calls of the alicloud_ecs inventory for 1,000 and 10,000 instances, cold and cached.

Starts its own emulator (in this process, on a free loopback port), fills four regions with instances through the
collection's client (RunInstances, Amount=100), then runs `ansible-inventory --list` on an inventory file with the
jsonfile cache: once with an empty cache (cold) and once more within the cache timeout (cached). API calls are
counted from the emulator's request log. Prints figures; asserts nothing about timings.

    source scripts/env.sh && python bench/bench_inventory.py [--sizes 1000 10000] [--regions 4]
"""
import argparse
import collections
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from alicloud_emulator.catalog import REGIONS  # noqa: E402
from alicloud_emulator.server import Emulator  # noqa: E402
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudClient  # noqa: E402
from conftest import base_env  # noqa: E402

ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
IMAGE_ID = "debian_12_9_x64_20G_alibase_20250117.vhd"
BATCH = 100


def populate(emulator, regions, total):
    """total instances spread evenly over regions, tagged Deployment=bench; returns the count per region."""
    per_region = {region: total // len(regions) + (1 if index < total % len(regions) else 0)
                  for index, region in enumerate(regions)}
    endpoint = (emulator.endpoint, "http")
    for number, (region, count) in enumerate(per_region.items(), start=1):
        client = AlicloudClient(emulator.access_key_id, emulator.access_key_secret, region,
                                endpoints={"ecs": endpoint, "vpc": endpoint, "rds": endpoint})
        vpc_id = client.call("vpc", "CreateVpc", {"RegionId": region, "CidrBlock": "10.%d.0.0/16" % number})["VpcId"]
        emulator.advance_clock(60)
        zone = client.call("ecs", "DescribeZones", {"RegionId": region})["Zones"]["Zone"][0]["ZoneId"]
        vswitch_id = client.call("vpc", "CreateVSwitch", {"RegionId": region, "VpcId": vpc_id, "ZoneId": zone,
                                                          "CidrBlock": "10.%d.0.0/17" % number})["VSwitchId"]
        emulator.advance_clock(60)
        group_id = client.call("ecs", "CreateSecurityGroup", {"RegionId": region, "VpcId": vpc_id})["SecurityGroupId"]
        created = 0
        while created < count:
            amount = min(BATCH, count - created)
            client.call("ecs", "RunInstances", {
                "RegionId": region, "ZoneId": zone, "ImageId": IMAGE_ID, "InstanceType": "ecs.g7.large",
                "SecurityGroupId": group_id, "VSwitchId": vswitch_id, "Amount": amount,
                "Tag.1.Key": "Deployment", "Tag.1.Value": "bench"})
            created += amount
    # Every instance past Pending and Starting without waiting for them.
    emulator.advance_clock(600)
    return per_region


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_inventory(emulator, inventory_file):
    """(wall seconds, CPU seconds, host count, API calls by action) of one `ansible-inventory --list`.

    CPU time is reported too because wall time on a shared machine mostly measures the neighbours.
    """
    before = len(emulator.requests())
    started, cpu_before = time.monotonic(), children_cpu_seconds()
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", inventory_file, "--list"], capture_output=True, text=True,
                          env=base_env(emulator.env()), check=False)
    elapsed, cpu = time.monotonic() - started, children_cpu_seconds() - cpu_before
    if proc.returncode != 0:
        raise SystemExit("ansible-inventory failed:\n" + proc.stderr)
    hosts = len(json.loads(proc.stdout).get("_meta", {}).get("hostvars", {}))
    calls = collections.Counter(entry["action"] for entry in emulator.requests(since=before))
    return elapsed, cpu, hosts, calls


def bench_size(emulator, regions, total, workdir):
    emulator.reset()
    per_region = populate(emulator, regions, total)
    cache_dir = os.path.join(workdir, "cache-%d" % total)
    inventory_file = os.path.join(workdir, "bench-%d.alicloud_ecs.yml" % total)
    with open(inventory_file, "w", encoding="utf-8") as handle:
        json.dump({"plugin": "computenest.mlflow.alicloud_ecs", "regions": regions,
                   "tags": {"Deployment": "bench"}, "hostnames": ["private_ip", "instance_id"],
                   "keyed_groups": [{"key": "alicloud_region_id", "prefix": "region"},
                                    {"key": "alicloud_zone_id", "prefix": "zone"}],
                   "cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": cache_dir,
                   "cache_timeout": 3600}, handle)
    rows = []
    for label in ("cold", "cached"):
        elapsed, cpu, hosts, calls = run_inventory(emulator, inventory_file)
        if hosts != total:
            raise SystemExit("%s run listed %d hosts, expected %d" % (label, hosts, total))
        rows.append((total, label, elapsed, cpu, sum(calls.values()), calls.get("DescribeInstances", 0)))
    expected_pages = sum(-(-count // BATCH) for count in per_region.values())
    return rows, expected_pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(REGIONS) + 1))
    args = parser.parse_args()
    regions = sorted(REGIONS)[:args.regions]
    workdir = tempfile.mkdtemp(prefix="bench-inventory-")
    emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24),
                        clock_speed=1.0).start()
    try:
        print("alicloud_ecs inventory over %d regions (%s); emulator at %s"
              % (len(regions), ", ".join(regions), emulator.url))
        header = ("instances", "run", "wall (s)", "CPU (s)", "API calls", "DescribeInstances", "expected pages")
        print("%-9s %-7s %10s %10s %10s %18s %16s" % header)
        for total in args.sizes:
            rows, expected_pages = bench_size(emulator, regions, total, workdir)
            for size, label, elapsed, cpu, calls, pages in rows:
                expected = expected_pages if label == "cold" else "-"
                print("%-9d %-7s %10.2f %10.2f %10d %18d %16s" % (size, label, elapsed, cpu, calls, pages, expected))
            sys.stdout.flush()
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
