"""The alicloud_ecs inventory plugin against the local emulator, through `ansible-inventory` as users run it.

Instances are created through the collection's own client (RunInstances with Amount up to 100); what the plugin
lists is checked against what was created, and API calls are counted from the emulator's request log.
"""
import collections
import json
import math
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import base_env  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudClient  # noqa: E402

ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
IMAGE_ID = "debian_12_9_x64_20G_alibase_20250117.vhd"
# One VPC per region, each its own /16, so that private addresses never repeat across regions.
REGION_CIDRS = {"cn-hangzhou": "10.1", "cn-shanghai": "10.2", "cn-beijing": "10.3", "cn-shenzhen": "10.4",
                "ap-southeast-1": "10.5"}
MAX_AMOUNT = 100


class Cloud:
    """Just enough of a tenant to populate the emulator: networks and batches of instances, per region."""

    def __init__(self, emulator, cidrs=None):
        self.emulator = emulator
        self.cidrs = dict(REGION_CIDRS, **(cidrs or {}))
        self._clients = {}
        self._networks = {}

    def client(self, region):
        if region not in self._clients:
            endpoint = (self.emulator.endpoint, "http")
            self._clients[region] = AlicloudClient(
                self.emulator.access_key_id, self.emulator.access_key_secret, region,
                endpoints={"ecs": endpoint, "vpc": endpoint, "rds": endpoint})
        return self._clients[region]

    def network(self, region):
        """(zone, vswitch id, security group id) of the region's test network, created on first use."""
        if region not in self._networks:
            client = self.client(region)
            prefix = self.cidrs[region]
            vpc_id = client.call("vpc", "CreateVpc", {"RegionId": region, "CidrBlock": prefix + ".0.0/16",
                                                      "VpcName": "inventory-test"})["VpcId"]
            self._wait(lambda: client.call("vpc", "DescribeVpcs", {"RegionId": region, "VpcId": vpc_id})
                       ["Vpcs"]["Vpc"][0]["Status"] == "Available")
            zone = client.call("ecs", "DescribeZones", {"RegionId": region})["Zones"]["Zone"][0]["ZoneId"]
            # A /18 leaves room for thousands of instances.
            vswitch_id = client.call("vpc", "CreateVSwitch", {"RegionId": region, "VpcId": vpc_id, "ZoneId": zone,
                                                              "CidrBlock": prefix + ".0.0/18"})["VSwitchId"]
            self._wait(lambda: client.call("vpc", "DescribeVSwitches", {"RegionId": region, "VSwitchId": vswitch_id})
                       ["VSwitches"]["VSwitch"][0]["Status"] == "Available")
            group_id = client.call("ecs", "CreateSecurityGroup", {"RegionId": region, "VpcId": vpc_id,
                                                                  "SecurityGroupName": "inventory-test"})
            self._networks[region] = (zone, vswitch_id, group_id["SecurityGroupId"])
        return self._networks[region]

    def run_instances(self, region, count, tags, name="vm", instance_type="ecs.g7.large", public_ip=False,
                      **extra):
        """Create count instances (batches of Amount <= 100) and wait until they are Running; returns their ids."""
        zone, vswitch_id, group_id = self.network(region)
        client = self.client(region)
        created = []
        while len(created) < count:
            amount = min(MAX_AMOUNT, count - len(created))
            params = {"RegionId": region, "ZoneId": zone, "ImageId": IMAGE_ID, "InstanceType": instance_type,
                      "SecurityGroupId": group_id, "VSwitchId": vswitch_id, "InstanceName": name,
                      "Amount": amount, "InternetMaxBandwidthOut": 5 if public_ip else 0}
            params.update(extra)
            for number, (key, value) in enumerate(sorted(tags.items()), start=1):
                params["Tag.%d.Key" % number] = key
                params["Tag.%d.Value" % number] = value
            created += client.call("ecs", "RunInstances", params)["InstanceIdSets"]["InstanceIdSet"]
        self.wait_status(region, created, "Running")
        return created

    def describe(self, region, instance_ids):
        found = []
        for start in range(0, len(instance_ids), MAX_AMOUNT):
            chunk = instance_ids[start:start + MAX_AMOUNT]
            found += self.client(region).call("ecs", "DescribeInstances", {
                "RegionId": region, "InstanceIds": json.dumps(chunk), "MaxResults": MAX_AMOUNT,
            })["Instances"]["Instance"]
        return found

    def wait_status(self, region, instance_ids, status):
        # Jump the emulated clock past the transition instead of polling thousands of instances for a minute.
        self.emulator.advance_clock(300)

        def reached():
            described = self.describe(region, instance_ids)
            return len(described) == len(instance_ids) and all(item["Status"] == status for item in described)
        self._wait(reached)

    def stop(self, region, instance_id):
        self.client(region).call("ecs", "StopInstance", {"InstanceId": instance_id})
        self.wait_status(region, [instance_id], "Stopped")

    @staticmethod
    def _wait(ready, timeout=120):
        deadline = time.monotonic() + timeout
        while not ready():
            assert time.monotonic() < deadline, "the emulator did not reach the expected state in time"
            time.sleep(0.2)


@pytest.fixture(name="cloud")
def cloud_fixture(alicloud_emulator):
    return Cloud(alicloud_emulator)


def describe_instance_calls(emulator, since=0):
    """DescribeInstances requests answered since the log had `since` entries, counted per region."""
    counts = collections.Counter()
    for entry in emulator.requests()[since:]:
        if entry["action"] == "DescribeInstances":
            counts[entry["region"]] += 1
    return counts


def run_inventory(emulator, tmp_path, config, *args, name="test.alicloud_ecs.yml", env=None, timeout=900):
    """ansible-inventory over one inventory file; returns the CompletedProcess (stdout is the answer)."""
    source = tmp_path / name
    source.write_text(json.dumps(dict({"plugin": "computenest.mlflow.alicloud_ecs"}, **config), indent=2))
    environment = base_env(emulator.env())
    environment.update(env or {})
    return subprocess.run([ANSIBLE_INVENTORY, "-i", str(source)] + list(args or ["--list"]),
                          capture_output=True, text=True, env=environment, cwd=str(tmp_path), timeout=timeout,
                          check=False)


def plain(value):
    """ansible-inventory marks strings from an inventory source as {"__ansible_unsafe": ...}; read the values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def inventory_list(emulator, tmp_path, config, **kwargs):
    proc = run_inventory(emulator, tmp_path, config, "--list", **kwargs)
    assert proc.returncode == 0, proc.stderr
    return plain(json.loads(proc.stdout)), proc.stderr


def hostvars_of(listing):
    return listing.get("_meta", {}).get("hostvars", {})


def members(listing, group):
    return sorted(listing.get(group, {}).get("hosts", []))


def test_deployment_host_found_by_tag_under_its_chosen_hostname(alicloud_emulator, cloud, tmp_path):
    server = cloud.run_instances("cn-hangzhou", 1, {"Deployment": "mlflow-prod", "Role": "mlflow"},
                                 name="mlflow-server", public_ip=True)[0]
    cloud.run_instances("cn-hangzhou", 2, {"Deployment": "mlflow-staging", "Role": "mlflow"}, public_ip=True)
    described = cloud.describe("cn-hangzhou", [server])[0]
    public_address = described["PublicIpAddress"]["IpAddress"][0]

    listing, stderr = inventory_list(alicloud_emulator, tmp_path, {
        "regions": ["cn-hangzhou"], "tags": {"Deployment": "mlflow-prod"}, "hostnames": ["public_ip", "private_ip"],
    })
    assert members(listing, "alicloud_ecs") == [public_address]
    hostvars = hostvars_of(listing)[public_address]
    assert hostvars["ansible_host"] == public_address
    assert hostvars["alicloud_instance_id"] == server
    assert hostvars["alicloud_tags"] == {"Deployment": "mlflow-prod", "Role": "mlflow"}
    assert hostvars["alicloud_private_ip"] == described["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    assert "tags" not in hostvars
    assert "[WARNING]" not in stderr

    graph = run_inventory(alicloud_emulator, tmp_path, {
        "regions": ["cn-hangzhou"], "tags": {"Deployment": "mlflow-prod"}, "hostnames": ["instance_name"],
    }, "--graph")
    assert graph.returncode == 0, graph.stderr
    assert "@alicloud_ecs:" in graph.stdout and "--mlflow-server" in graph.stdout


def test_keyed_groups_compose_and_groups(alicloud_emulator, cloud, tmp_path):
    trackers = cloud.run_instances("cn-hangzhou", 2, {"Deployment": "d1", "Role": "mlflow"}, name="tracker",
                                   instance_type="ecs.c7.large")
    databases = cloud.run_instances("cn-shanghai", 1, {"Deployment": "d1", "Role": "db"}, name="db",
                                    instance_type="ecs.r7.large")
    cloud.run_instances("cn-shanghai", 1, {"Deployment": "d2", "Role": "db"}, name="other")
    zones = {region: cloud.network(region)[0] for region in ("cn-hangzhou", "cn-shanghai")}

    listing, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, {
        "regions": ["cn-hangzhou", "cn-shanghai"],
        "tags": {"Deployment": "d1"},
        "hostnames": ["instance_id"],
        "keyed_groups": [
            {"key": "alicloud_tags.Role", "prefix": "role"},
            {"key": "alicloud_zone_id", "prefix": "zone"},
            {"key": "alicloud_instance_type", "prefix": "type"},
            {"key": "alicloud_tags", "prefix": "tag"},
        ],
        "groups": {"mlflow_servers": "alicloud_tags.Role == 'mlflow'"},
        "compose": {"ansible_host": "alicloud_private_ip", "mlflow_port": "5000 + 1"},
    })
    assert members(listing, "role_mlflow") == sorted(trackers)
    assert members(listing, "role_db") == databases
    assert members(listing, "zone_" + zones["cn-hangzhou"].replace("-", "_")) == sorted(trackers)
    assert members(listing, "zone_" + zones["cn-shanghai"].replace("-", "_")) == databases
    assert members(listing, "type_ecs_c7_large") == sorted(trackers)
    assert members(listing, "type_ecs_r7_large") == databases
    assert members(listing, "tag_Deployment_d1") == sorted(trackers + databases)
    assert members(listing, "mlflow_servers") == sorted(trackers)
    for instance_id in trackers + databases:
        hostvars = hostvars_of(listing)[instance_id]
        assert hostvars["ansible_host"] == hostvars["alicloud_private_ip"]
        assert hostvars["ansible_host"].startswith(("10.1.", "10.2."))
        assert hostvars["mlflow_port"] == 5001


def test_include_and_exclude_filters(alicloud_emulator, cloud, tmp_path):
    running = cloud.run_instances("cn-beijing", 3, {"Deployment": "d1"}, name="worker")
    bastion = cloud.run_instances("cn-beijing", 1, {"Deployment": "d1", "Role": "bastion"}, name="bastion")[0]
    cloud.stop("cn-beijing", running[0])
    base = {"regions": ["cn-beijing"], "tags": {"Deployment": "d1"}, "hostnames": ["instance_id"]}

    listing, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, base)
    assert members(listing, "alicloud_ecs") == sorted(running[1:] + [bastion]), "only Running without a Status filter"

    listing, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, dict(
        base,
        include_filters=[{"Status": "Stopped", "tags": {"Deployment": "d1"}}],
        exclude_filters=[{"tags": {"Role": "bastion"}}],
    ))
    assert members(listing, "alicloud_ecs") == sorted(running)
    assert hostvars_of(listing)[running[0]]["alicloud_status"] == "Stopped"

    listing, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, dict(base, filters={"Status": "Stopped"}))
    assert members(listing, "alicloud_ecs") == [running[0]]


def test_hostname_falls_back_when_the_preferred_one_is_missing(alicloud_emulator, cloud, tmp_path):
    with_public = cloud.run_instances("cn-shenzhen", 1, {"Deployment": "d1"}, name="public", public_ip=True)[0]
    private_only = cloud.run_instances("cn-shenzhen", 1, {"Deployment": "d1", "Name": "mlflow-1"}, name="private")[0]
    described = {item["InstanceId"]: item for item in cloud.describe("cn-shenzhen", [with_public, private_only])}

    listing, stderr = inventory_list(alicloud_emulator, tmp_path, {
        "regions": ["cn-shenzhen"], "tags": {"Deployment": "d1"}, "hostnames": ["public_ip", "tag:Name", "private_ip"],
    })
    public_address = described[with_public]["PublicIpAddress"]["IpAddress"][0]
    assert members(listing, "alicloud_ecs") == sorted([public_address, "mlflow-1"])
    assert hostvars_of(listing)["mlflow-1"]["alicloud_instance_id"] == private_only
    assert hostvars_of(listing)["mlflow-1"]["alicloud_public_ip"] is None
    assert "[WARNING]" not in stderr

    listing, stderr = inventory_list(alicloud_emulator, tmp_path, {
        "regions": ["cn-shenzhen"], "tags": {"Deployment": "d1"}, "hostnames": ["public_ip"],
    })
    assert members(listing, "alicloud_ecs") == [public_address]
    assert "have none of the hostnames public_ip" in stderr and private_only in stderr


def test_every_region_when_regions_is_empty(alicloud_emulator, cloud, tmp_path):
    ids = {region: cloud.run_instances(region, 1, {"Deployment": "everywhere"}) for region in REGION_CIDRS}
    before = len(alicloud_emulator.requests())
    listing, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, {
        "tags": {"Deployment": "everywhere"}, "hostnames": ["instance_id"],
    })
    assert members(listing, "alicloud_ecs") == sorted(sum(ids.values(), []))
    actions = collections.Counter(entry["action"] for entry in alicloud_emulator.requests()[before:])
    assert actions["DescribeRegions"] == 1
    assert set(describe_instance_calls(alicloud_emulator, before)) == set(REGION_CIDRS)


def test_cache_second_run_makes_no_api_call(alicloud_emulator, cloud, tmp_path):
    created = cloud.run_instances("cn-hangzhou", 150, {"Deployment": "cached"})
    config = {"tags": {"Deployment": "cached"}, "hostnames": ["instance_id"], "cache": True,
              "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache"),
              "cache_timeout": 600}
    before = len(alicloud_emulator.requests())
    first, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, config)
    after_first = len(alicloud_emulator.requests())
    assert members(first, "alicloud_ecs") == sorted(created)
    # DescribeRegions once, then two pages in the region that has them and one in each other region.
    assert after_first - before == 1 + len(REGION_CIDRS) + 1

    second, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, config)
    assert len(alicloud_emulator.requests()) == after_first, "a cached run must not call the API"
    assert second == first

    # --flush-cache asks the API again.
    proc = run_inventory(alicloud_emulator, tmp_path, config, "--list", "--flush-cache")
    assert proc.returncode == 0, proc.stderr
    assert len(alicloud_emulator.requests()) > after_first


def test_throttled_listing_is_still_complete(alicloud_emulator, cloud, tmp_path):
    created = {region: cloud.run_instances(region, 450, {"Deployment": "busy"})
               for region in ("cn-hangzhou", "cn-beijing")}
    alicloud_emulator.inject_fault("throttling", rate=0.3, action="DescribeInstances")
    before = len(alicloud_emulator.requests())
    listing, dummy_stderr = inventory_list(alicloud_emulator, tmp_path, {
        "regions": ["cn-hangzhou", "cn-beijing"], "tags": {"Deployment": "busy"}, "hostnames": ["instance_id"],
    })
    alicloud_emulator.clear_faults()
    assert members(listing, "alicloud_ecs") == sorted(sum(created.values(), []))
    answers = collections.Counter(entry["code"] or "OK" for entry in alicloud_emulator.requests()[before:]
                                  if entry["action"] == "DescribeInstances")
    assert answers["Throttling.User"] > 0, "the fault was never injected: %s" % answers
    # Each region needs five successful pages for 450 instances.
    assert answers["OK"] == 2 * 5


@pytest.fixture(name="refuse_region")
def refuse_region_fixture(monkeypatch):
    """Make the emulator answer DescribeInstances in the given regions with 403 Forbidden.RAM.

    The emulator has no permission fault yet, so this wraps its DescribeInstances handler: the refusal still travels
    as a real HTTP answer through the SDK and the collection's client.
    """
    from alicloud_emulator.errors import ApiError  # pylint: disable=import-outside-toplevel
    from alicloud_emulator.services import ACTIONS  # pylint: disable=import-outside-toplevel

    describe_instances = ACTIONS[("ecs", "DescribeInstances")]
    refused = set()

    def guarded(context):
        if context.params.get("RegionId") in refused:
            raise ApiError("Forbidden.RAM", "User not authorized to operate on the specified resource, or this API "
                           "doesn't support RAM.", status=403)
        return describe_instances(context)
    monkeypatch.setitem(ACTIONS, ("ecs", "DescribeInstances"), guarded)
    return refused.update


def test_region_that_refuses_permission_is_skipped_or_fails_under_strict(alicloud_emulator, cloud, tmp_path,
                                                                         refuse_region):
    allowed = cloud.run_instances("cn-hangzhou", 2, {"Deployment": "d1"})
    cloud.run_instances("cn-beijing", 2, {"Deployment": "d1"})
    refuse_region(["cn-beijing"])
    config = {"regions": ["cn-hangzhou", "cn-beijing"], "tags": {"Deployment": "d1"}, "hostnames": ["instance_id"]}

    listing, stderr = inventory_list(alicloud_emulator, tmp_path, config)
    assert members(listing, "alicloud_ecs") == sorted(allowed)
    assert "skipping region cn-beijing, which refused permission" in stderr and "Forbidden.RAM" in stderr

    proc = run_inventory(alicloud_emulator, tmp_path, dict(config, strict=True), "--list",
                         env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert proc.returncode != 0
    assert "permission refused (strict is on): cn-beijing" in proc.stderr


def test_wrong_credentials_fail_instead_of_listing_nothing(alicloud_emulator, cloud, tmp_path):
    cloud.run_instances("cn-hangzhou", 1, {"Deployment": "d1"})
    # ansible-inventory only warns about a source that failed unless told otherwise; users of AWX should set this too.
    strict_sources = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    config = {"regions": ["cn-hangzhou", "cn-beijing"], "tags": {"Deployment": "d1"}}

    unknown_key = dict(strict_sources, ALICLOUD_ACCESS_KEY="LTAInotakeyoftheemulator")
    proc = run_inventory(alicloud_emulator, tmp_path, config, "--list", env=unknown_key)
    assert proc.returncode != 0
    assert "every region refused permission" in proc.stderr and "InvalidAccessKeyId.NotFound" in proc.stderr

    wrong_secret = dict(strict_sources, ALICLOUD_SECRET_KEY="not-the-secret")
    proc = run_inventory(alicloud_emulator, tmp_path, config, "--list", env=wrong_secret)
    assert proc.returncode != 0
    # The core SDK reports a SignatureDoesNotMatch answer as InvalidAccessKeySecret.
    assert "InvalidAccessKeySecret" in proc.stderr
    assert "not-the-secret" not in proc.stderr and alicloud_emulator.access_key_secret not in proc.stderr

    # Without regions the plugin asks DescribeRegions first, and says so when that is refused.
    proc = run_inventory(alicloud_emulator, tmp_path, {"tags": {"Deployment": "d1"}}, "--list", env=unknown_key)
    assert proc.returncode != 0 and "DescribeRegions in cn-hangzhou failed" in proc.stderr


@pytest.mark.slow
def test_ten_thousand_instances_over_four_regions(alicloud_emulator, cloud, tmp_path):
    regions = ["cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen"]
    per_region = 2500
    created = {region: cloud.run_instances(region, per_region, {"Deployment": "fleet"}) for region in regions}
    before = len(alicloud_emulator.requests())
    listing, stderr = inventory_list(alicloud_emulator, tmp_path, {
        "regions": regions, "tags": {"Deployment": "fleet"},
        "keyed_groups": [{"key": "alicloud_region_id", "prefix": "region"}],
    })
    hostvars = hostvars_of(listing)
    listed_ids = [variables["alicloud_instance_id"] for variables in hostvars.values()]
    assert len(listed_ids) == len(set(listed_ids)) == per_region * len(regions)
    assert set(listed_ids) == set(sum(created.values(), []))
    for region in regions:
        assert len(members(listing, "region_" + region.replace("-", "_"))) == per_region
    calls = describe_instance_calls(alicloud_emulator, before)
    assert calls == {region: math.ceil(per_region / 100) for region in regions}
    assert "[WARNING]" not in stderr


def free_private_prefix():
    """A 10.x prefix whose /16 neither the host nor any Docker network uses (engineers share the Docker engine)."""
    from alicloud_emulator.container_backend import Docker, docker_subnets, host_routes  # pylint: disable=import-outside-toplevel
    import ipaddress  # pylint: disable=import-outside-toplevel
    taken = [route[1] for route in host_routes()] + docker_subnets(Docker())
    for second in range(200, 250):
        candidate = ipaddress.ip_network("10.%d.0.0/16" % second)
        if not any(candidate.overlaps(other) for other in taken):
            return "10.%d" % second
    pytest.fail("no free 10.x.0.0/16 on this Docker engine")


@pytest.mark.docker
def test_listed_host_is_reachable_over_ssh_by_its_chosen_hostname(alicloud_emulator_factory, tmp_path):
    from alicloud_emulator.container_backend import (  # pylint: disable=import-outside-toplevel
        DEFAULT_ECS_IMAGE, ContainerBackend, Docker, cleanup, list_made)
    image = os.environ.get("MLFLOW_TEST_IMAGE", DEFAULT_ECS_IMAGE)
    if not Docker().ok("image", "inspect", image):
        pytest.skip("needs the Docker engine and the image %s (scripts/build-image.sh)" % image)
    backend = ContainerBackend(ecs_image=image)
    emulator = None
    try:
        emulator = alicloud_emulator_factory(backend=backend)
        cloud = Cloud(emulator, cidrs={"cn-hangzhou": free_private_prefix()})
        key_file = tmp_path / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)], check=True)
        cloud.client("cn-hangzhou").call("ecs", "ImportKeyPair", {
            "RegionId": "cn-hangzhou", "KeyPairName": "inventory-e2e",
            "PublicKeyBody": (tmp_path / "id_ed25519.pub").read_text()})
        server = cloud.run_instances("cn-hangzhou", 1, {"Deployment": "e2e", "Role": "mlflow"}, public_ip=True,
                                     KeyPairName="inventory-e2e")[0]
        described = cloud.describe("cn-hangzhou", [server])[0]
        public_address = described["PublicIpAddress"]["IpAddress"][0]

        source = tmp_path / "e2e.alicloud_ecs.yml"
        source.write_text(json.dumps({
            "plugin": "computenest.mlflow.alicloud_ecs", "regions": ["cn-hangzhou"], "tags": {"Deployment": "e2e"},
            "hostnames": ["public_ip", "private_ip"],
            "keyed_groups": [{"key": "alicloud_tags.Role", "prefix": "role"}],
            "compose": {"ansible_user": "'root'", "ansible_ssh_private_key_file": repr(str(key_file)),
                        "ansible_ssh_common_args": "'-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"},
        }))
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible"), "role_mlflow", "-i", str(source),
             "-m", "ansible.builtin.command", "-a", "hostname"],
            capture_output=True, text=True, env=base_env(emulator.env()), cwd=str(tmp_path), timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # The play reached the instance under its public address, and the machine there is that instance.
        assert "%s | CHANGED | rc=0 >>" % public_address in proc.stdout
        assert proc.stdout.strip().splitlines()[-1] == described["HostName"]
    finally:
        # Stopped before the clean-up (the factory stopping it again later is harmless), then no container survives.
        if emulator is not None:
            emulator.stop()
        cleanup(backend.emulator_id)
    assert list_made(backend.emulator_id) == ([], []), "containers or networks left behind"
