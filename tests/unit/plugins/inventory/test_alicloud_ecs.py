"""Unit tests of the alicloud_ecs inventory plugin: pure logic, and the whole plugin over an in-memory fake cloud."""
import json
import os
import sys
import threading

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")

from ansible.errors import AnsibleError  # noqa: E402
from ansible.inventory.data import InventoryData  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import init_plugin_loader, inventory_loader  # noqa: E402
from ansible.template import trust_as_template  # noqa: E402

init_plugin_loader([COLLECTIONS])

from ansible_collections.computenest.mlflow.plugins.inventory import alicloud_ecs  # noqa: E402
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudApiError  # noqa: E402


def make_instance(instance_id, region="cn-hangzhou", status="Running", tags=None, public=None, eip=None,
                  private="10.0.0.1", name=None, zone=None, instance_type="ecs.g7.large"):
    return {
        "InstanceId": instance_id,
        "InstanceName": name or instance_id.replace("i-", "vm-"),
        "HostName": "host-" + instance_id,
        "Status": status,
        "InstanceType": instance_type,
        "RegionId": region,
        "ZoneId": zone or region + "-h",
        "VpcAttributes": {
            "VpcId": "vpc-1",
            "VSwitchId": "vsw-1",
            "PrivateIpAddress": {"IpAddress": [private] if private else []},
            "NatIpAddress": "",
        },
        "PublicIpAddress": {"IpAddress": [public] if public else []},
        "EipAddress": {"IpAddress": eip or "", "AllocationId": "eip-1" if eip else "", "InternetChargeType": ""},
        "InnerIpAddress": {"IpAddress": []},
        "SecurityGroupIds": {"SecurityGroupId": ["sg-1", "sg-2"]},
        "Tags": {"Tag": [{"TagKey": key, "TagValue": value} for key, value in (tags or {}).items()]},
        "OSType": "linux",
        "CreationTime": "2026-11-27T00:00Z",
    }


# Pure logic ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("camel, snake", [
    ("InstanceId", "instance_id"),
    ("OSType", "os_type"),
    ("OSNameEn", "os_name_en"),
    ("VSwitchId", "vswitch_id"),
    ("EipAddress", "eip_address"),
    ("GPUAmount", "gpu_amount"),
    ("InternetMaxBandwidthOut", "internet_max_bandwidth_out"),
    ("Cpu", "cpu"),
])
def test_camel_to_snake(camel, snake):
    assert alicloud_ecs.camel_to_snake(camel) == snake


def test_hostvars_are_prefixed_unwrapped_and_tags_are_a_dict():
    instance = make_instance("i-1", tags={"Role": "mlflow", "Deployment": "d1"}, public="47.1.1.1")
    hostvars = alicloud_ecs.instance_hostvars(instance)
    assert all(name.startswith("alicloud_") for name in hostvars)
    assert "tags" not in hostvars and "alicloud_tags_tag" not in hostvars
    assert hostvars["alicloud_tags"] == {"Role": "mlflow", "Deployment": "d1"}
    assert hostvars["alicloud_instance_id"] == "i-1"
    assert hostvars["alicloud_os_type"] == "linux"
    assert hostvars["alicloud_security_group_ids"] == ["sg-1", "sg-2"]
    assert hostvars["alicloud_public_ip_address"] == ["47.1.1.1"]
    assert hostvars["alicloud_vpc_attributes"]["private_ip_address"] == ["10.0.0.1"]
    assert hostvars["alicloud_vpc_attributes"]["vswitch_id"] == "vsw-1"
    assert hostvars["alicloud_public_ip"] == "47.1.1.1"
    assert hostvars["alicloud_eip"] is None
    assert hostvars["alicloud_private_ip"] == "10.0.0.1"
    assert (hostvars["alicloud_vpc_id"], hostvars["alicloud_vswitch_id"]) == ("vpc-1", "vsw-1")


def test_private_ip_falls_back_to_classic_network_address():
    instance = make_instance("i-1", private=None)
    instance["InnerIpAddress"] = {"IpAddress": ["192.168.0.9"]}
    assert alicloud_ecs.private_ip(instance) == "192.168.0.9"


@pytest.mark.parametrize("preference, expected", [
    ("public_ip", "47.1.1.1"),
    ("eip", "39.2.2.2"),
    ("private_ip", "10.0.0.7"),
    ("instance_id", "i-7"),
    ("instance_name", "web-7"),
    ("host_name", "host-i-7"),
    ("tag:Name", "mlflow-7"),
    ("tag:Missing", None),
])
def test_each_hostname_preference(preference, expected):
    instance = make_instance("i-7", public="47.1.1.1", eip="39.2.2.2", private="10.0.0.7", name="web-7",
                             tags={"Name": "mlflow-7"})
    assert alicloud_ecs.hostname_candidate(instance, preference) == expected


def test_hostname_candidates_skip_what_is_missing_in_order():
    instance = make_instance("i-7", public=None, eip=None, private="10.0.0.7", tags={"Name": ""})
    assert alicloud_ecs.hostname_candidates(instance, ["public_ip", "tag:Name", "eip", "private_ip", "instance_id"]) \
        == ["10.0.0.7", "i-7"]


@pytest.mark.parametrize("preferences, message", [
    ([], "at least one"),
    (["dns_name"], "unknown preference 'dns_name'"),
    (["tag:"], "names no tag"),
    ([{"name": "public_ip"}], "must be a string"),
])
def test_bad_hostname_preferences_are_refused_by_name(preferences, message):
    with pytest.raises(alicloud_ecs.InventoryConfigError, match="hostnames") as caught:
        alicloud_ecs.validate_hostname_preferences(preferences)
    assert message in str(caught.value)


def test_build_query_tags_status_and_lists():
    query = alicloud_ecs.build_query(
        {"tags": {"Role": "mlflow", "Deployment": None}, "InstanceIds": ["i-1", "i-2"], "VpcId": "vpc-1",
         "DryRun": False},
        "filters", "Running")
    assert query == {
        # Sorted by key; a key alone sends no Value, so any value matches.
        "Tag.1.Key": "Deployment",
        "Tag.2.Key": "Role", "Tag.2.Value": "mlflow",
        "InstanceIds": json.dumps(["i-1", "i-2"]),
        "VpcId": "vpc-1",
        "DryRun": "false",
        "Status": "Running",
    }


def test_build_query_keeps_an_explicit_status_and_adds_none_when_not_asked():
    assert alicloud_ecs.build_query({"Status": "Stopped"}, "filters", "Running") == {"Status": "Stopped"}
    assert alicloud_ecs.build_query({"ZoneId": "z"}, "exclude_filters[0]", None) == {"ZoneId": "z"}


@pytest.mark.parametrize("selection, message", [
    ({"MaxResults": 10}, "MaxResults is set by the plugin"),
    ({"NextToken": "x"}, "NextToken is set by the plugin"),
    ({"RegionId": "cn-beijing"}, "RegionId is set by the plugin"),
    ({"Tag.1.Key": "a"}, "Tag.1.Key is set by the plugin"),
    ({"tags": ["Role"]}, "must be a dictionary"),
    ({"tags": {"k%d" % number: "v" for number in range(21)}}, "at most 20 tags"),
    ({"tags": {"": "v"}}, "must not be empty"),
])
def test_build_query_refuses_what_the_plugin_owns(selection, message):
    with pytest.raises(alicloud_ecs.InventoryConfigError, match="include_filters\\[2\\]") as caught:
        alicloud_ecs.build_query(selection, "include_filters[2]", "Running")
    assert message in str(caught.value)


def test_plan_queries_main_includes_and_excludes():
    includes, excludes = alicloud_ecs.plan_queries(
        {"Deployment": "d1"}, {"VpcId": "vpc-1"}, [{"Status": "Stopped", "tags": {"Deployment": "d1"}}],
        [{"InstanceName": "bastion"}])
    assert includes == [
        {"Tag.1.Key": "Deployment", "Tag.1.Value": "d1", "VpcId": "vpc-1", "Status": "Running"},
        {"Tag.1.Key": "Deployment", "Tag.1.Value": "d1", "Status": "Stopped"},
    ]
    # An exclusion without Status removes the instance whatever its state.
    assert excludes == [{"InstanceName": "bastion"}]


def test_plan_queries_refuses_tags_inside_filters():
    with pytest.raises(alicloud_ecs.InventoryConfigError, match="filters: select tags with the top-level tags"):
        alicloud_ecs.plan_queries({}, {"tags": {"a": "b"}}, [], [])


def test_combine_query_results_unions_excludes_and_orders():
    first = [make_instance("i-3"), make_instance("i-1")]
    second = [make_instance("i-1", status="Stopped"), make_instance("i-2", status="Stopped")]
    combined = alicloud_ecs.combine_query_results([first, second], [[make_instance("i-2")]])
    assert [instance["InstanceId"] for instance in combined] == ["i-1", "i-3"]
    # The first query that found an instance provides its data.
    assert combined[0]["Status"] == "Running"


@pytest.mark.parametrize("code, refused", [
    ("Forbidden.RAM", True), ("Forbidden", True), ("NoPermission", True), ("InvalidAccessKeyId.NotFound", True),
    ("ForbiddenX", False), ("Throttling", False), ("InvalidRegionId.NotFound", False), (None, False),
])
def test_permission_errors(code, refused):
    assert alicloud_ecs.is_permission_error(AlicloudApiError(code, "m")) is refused


@pytest.mark.parametrize("path, accepted", [
    ("prod.alicloud_ecs.yml", True), ("prod.alicloud_ecs.yaml", True), ("alicloud.yml", True),
    ("x.alicloud.yaml", True), ("prod.aws_ec2.yml", False), ("alicloud_ecs.json", False),
])
def test_verify_file_accepts_the_documented_names(tmp_path, path, accepted):
    source = tmp_path / path
    source.write_text("plugin: computenest.mlflow.alicloud_ecs\n")
    assert inventory_loader.get("computenest.mlflow.alicloud_ecs").verify_file(str(source)) is accepted


# The whole plugin over a fake cloud ----------------------------------------------------------------------------------


class FakeCloud:
    """Regions of instances with the server-side Status and Tag filtering of DescribeInstances; records calls."""

    def __init__(self, regions):
        self.regions = regions
        self.calls = []
        self.refusing = {}
        self.failing = {}

    def client_class(self):
        cloud = self

        class FakeClient:
            def __init__(self, access_key, secret_key, region, security_token=None, endpoints=None, **kwargs):
                assert (access_key, secret_key) == ("AK", "SECRET")
                self.region = region
                self.endpoints = endpoints

            def call(self, product, action, params=None):
                cloud.calls.append((self.region, action, dict(params or {})))
                assert (product, action) == ("ecs", "DescribeRegions")
                return {"Regions": {"Region": [{"RegionId": region} for region in cloud.regions]}}

            def paginate(self, product, action, params, items_path, style="page", page_size=50, **kwargs):
                assert (product, action, items_path, style, page_size) == (
                    "ecs", "DescribeInstances", "Instances.Instance", "token", 100)
                region = params["RegionId"]
                cloud.calls.append((region, action, dict(params)))
                if region in cloud.refusing:
                    raise AlicloudApiError(cloud.refusing[region], "refused", http_status=403)
                if region in cloud.failing:
                    raise AlicloudApiError(cloud.failing[region], "broken", http_status=400)
                return [json.loads(json.dumps(instance)) for instance in cloud.regions[region]
                        if cloud.matches(instance, params)]

        return FakeClient

    @staticmethod
    def matches(instance, params):
        if params.get("Status") and instance["Status"] != params["Status"]:
            return False
        if params.get("InstanceName") and instance["InstanceName"] != params["InstanceName"]:
            return False
        if params.get("VpcId") and instance["VpcAttributes"]["VpcId"] != params["VpcId"]:
            return False
        tags = alicloud_ecs.tags_as_dict(instance)
        number = 1
        while "Tag.%d.Key" % number in params:
            key = params["Tag.%d.Key" % number]
            if key not in tags:
                return False
            if "Tag.%d.Value" % number in params and tags[key] != params["Tag.%d.Value" % number]:
                return False
            number += 1
        return True


class Warnings:
    def __init__(self):
        self.messages = []

    def __call__(self, message, *args, **kwargs):
        self.messages.append(message)


@pytest.fixture(name="fake_cloud")
def fake_cloud_fixture(monkeypatch, tmp_path):
    cloud = FakeCloud({
        "cn-hangzhou": [
            make_instance("i-h1", tags={"Deployment": "d1", "Role": "mlflow"}, public="47.0.0.1", private="10.0.0.1"),
            make_instance("i-h2", tags={"Deployment": "d1", "Role": "db"}, private="10.0.0.2"),
            make_instance("i-h3", tags={"Deployment": "d1"}, status="Stopped", private="10.0.0.3"),
            make_instance("i-h4", tags={"Deployment": "other"}, private="10.0.0.4"),
        ],
        "cn-beijing": [
            make_instance("i-b1", region="cn-beijing", tags={"Deployment": "d1", "Role": "mlflow"}, eip="39.0.0.1",
                          private="10.1.0.1", instance_type="ecs.c7.xlarge"),
        ],
    })
    plugin_module = sys.modules[type(inventory_loader.get("computenest.mlflow.alicloud_ecs")).__module__]
    monkeypatch.setattr(plugin_module, "AlicloudClient", cloud.client_class())
    for name in list(os.environ):
        if name.startswith(("ALICLOUD_", "ALIBABA_CLOUD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ALICLOUD_ACCESS_KEY", "AK")
    monkeypatch.setenv("ALICLOUD_SECRET_KEY", "SECRET")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/.aliyun/config.json there
    return cloud


def run_inventory(tmp_path, config, monkeypatch=None, name="test.alicloud_ecs.yml"):
    """Parse one inventory file with the real plugin; returns (InventoryData, warnings)."""
    source = tmp_path / name
    source.write_text(json.dumps(dict({"plugin": "computenest.mlflow.alicloud_ecs"}, **config)))
    plugin = inventory_loader.get("computenest.mlflow.alicloud_ecs")
    warnings = Warnings()
    if monkeypatch is not None:
        monkeypatch.setattr(plugin.display, "warning", warnings)
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(source), cache=True)
    if config.get("cache"):
        # What ansible's InventoryManager does after parse: write the cache when it changed.
        plugin.update_cache_if_changed()
    return inventory, warnings


def group_hosts(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts()) if group in inventory.groups else []


def test_all_regions_by_tag_running_only(tmp_path, fake_cloud, monkeypatch):
    inventory, warnings = run_inventory(tmp_path, {"tags": {"Deployment": "d1"}}, monkeypatch)
    # Default preferences: public IP, EIP, private IP.
    assert sorted(inventory.hosts) == ["10.0.0.2", "39.0.0.1", "47.0.0.1"]
    assert group_hosts(inventory, "alicloud_ecs") == ["10.0.0.2", "39.0.0.1", "47.0.0.1"]
    host = inventory.get_host("47.0.0.1")
    assert host.vars["ansible_host"] == "47.0.0.1"
    assert host.vars["alicloud_tags"] == {"Deployment": "d1", "Role": "mlflow"}
    assert host.vars["alicloud_region_id"] == "cn-hangzhou"
    assert warnings.messages == []
    describe_regions = [call for call in fake_cloud.calls if call[1] == "DescribeRegions"]
    assert describe_regions == [("cn-hangzhou", "DescribeRegions", {})]
    queried = sorted(call[0] for call in fake_cloud.calls if call[1] == "DescribeInstances")
    assert queried == ["cn-beijing", "cn-hangzhou"]


def test_keyed_groups_groups_compose(tmp_path, fake_cloud):
    inventory, dummy_warnings = run_inventory(tmp_path, {
        "regions": ["cn-hangzhou", "cn-beijing"],
        "tags": {"Deployment": "d1"},
        "hostnames": ["instance_id"],
        "keyed_groups": [
            {"key": "alicloud_tags.Role | default('none')", "prefix": "role"},
            {"key": "alicloud_zone_id", "prefix": "zone"},
            {"key": "alicloud_instance_type", "prefix": "type"},
        ],
        "groups": {"trackers": "alicloud_tags.Role | default('') == 'mlflow'"},
        "compose": {"ansible_host": "alicloud_private_ip", "ansible_user": "'admin'"},
    })
    assert group_hosts(inventory, "role_mlflow") == ["i-b1", "i-h1"]
    assert group_hosts(inventory, "role_db") == ["i-h2"]
    assert group_hosts(inventory, "zone_cn_hangzhou_h") == ["i-h1", "i-h2"]
    assert group_hosts(inventory, "type_ecs_c7_xlarge") == ["i-b1"]
    assert group_hosts(inventory, "trackers") == ["i-b1", "i-h1"]
    assert inventory.get_host("i-b1").vars["ansible_host"] == "10.1.0.1"
    assert inventory.get_host("i-b1").vars["ansible_user"] == "admin"


def test_include_and_exclude_filters(tmp_path, fake_cloud):
    inventory, dummy_warnings = run_inventory(tmp_path, {
        "regions": ["cn-hangzhou"],
        "tags": {"Deployment": "d1"},
        "hostnames": ["instance_id"],
        "include_filters": [{"Status": "Stopped", "tags": {"Deployment": "d1"}}],
        "exclude_filters": [{"tags": {"Role": "db"}}],
    })
    assert sorted(inventory.hosts) == ["i-h1", "i-h3"]
    exclude_calls = [call[2] for call in fake_cloud.calls if call[2].get("Tag.1.Key") == "Role"]
    assert exclude_calls and all("Status" not in params for params in exclude_calls)


def test_hostname_fallback_missing_and_duplicate(tmp_path, fake_cloud, monkeypatch):
    fake_cloud.regions["cn-hangzhou"].append(make_instance("i-h5", tags={"Deployment": "d1", "Name": "mlflow-a"}))
    fake_cloud.regions["cn-hangzhou"].append(make_instance("i-h6", tags={"Deployment": "d1", "Name": "mlflow-a"}))
    fake_cloud.regions["cn-hangzhou"].append(make_instance("i-h7", tags={"Deployment": "d1"}, private=None))
    inventory, warnings = run_inventory(tmp_path, {
        "regions": ["cn-hangzhou"], "tags": {"Deployment": "d1"}, "hostnames": ["tag:Name", "public_ip", "private_ip"],
    }, monkeypatch)
    # i-h5 owns its Name; i-h6 has the same Name and takes its next preference; i-h7 has none and is left out.
    assert sorted(inventory.hosts) == ["10.0.0.1", "10.0.0.2", "47.0.0.1", "mlflow-a"]
    assert inventory.get_host("mlflow-a").vars["alicloud_instance_id"] == "i-h5"
    assert inventory.get_host("10.0.0.1").vars["alicloud_instance_id"] == "i-h6"
    assert inventory.get_host("47.0.0.1").vars["alicloud_instance_id"] == "i-h1"
    assert len(warnings.messages) == 2
    assert "1 instance(s) have none of the hostnames" in warnings.messages[0] and "i-h7" in warnings.messages[0]
    assert "i-h6 (mlflow-a -> 10.0.0.1)" in warnings.messages[1]


def test_refused_region_is_skipped_with_a_warning(tmp_path, fake_cloud, monkeypatch):
    fake_cloud.refusing["cn-beijing"] = "Forbidden.RAM"
    inventory, warnings = run_inventory(tmp_path, {"tags": {"Deployment": "d1"}}, monkeypatch)
    assert sorted(inventory.hosts) == ["10.0.0.2", "47.0.0.1"]
    assert len(warnings.messages) == 1
    assert "skipping region cn-beijing" in warnings.messages[0] and "Forbidden.RAM" in warnings.messages[0]


def test_refused_region_fails_under_strict(tmp_path, fake_cloud):
    fake_cloud.refusing["cn-beijing"] = "Forbidden.RAM"
    with pytest.raises(AnsibleError, match="permission refused \\(strict is on\\): cn-beijing"):
        run_inventory(tmp_path, {"tags": {"Deployment": "d1"}, "strict": True})


def test_every_region_refused_fails(tmp_path, fake_cloud):
    fake_cloud.refusing.update({"cn-beijing": "Forbidden.RAM", "cn-hangzhou": "InvalidAccessKeyId.NotFound"})
    with pytest.raises(AnsibleError, match="every region refused permission"):
        run_inventory(tmp_path, {})


def test_other_api_errors_fail_and_name_the_region(tmp_path, fake_cloud):
    fake_cloud.failing["cn-beijing"] = "InvalidParameter"
    with pytest.raises(AnsibleError, match="listing instances in cn-beijing failed: .*InvalidParameter"):
        run_inventory(tmp_path, {})


def test_bad_options_fail_before_any_call(tmp_path, fake_cloud):
    with pytest.raises(AnsibleError, match="hostnames: unknown preference 'fqdn'"):
        run_inventory(tmp_path, {"hostnames": ["fqdn"]})
    with pytest.raises(AnsibleError, match="filters: NextToken is set by the plugin"):
        run_inventory(tmp_path, {"filters": {"NextToken": "abc"}})
    assert fake_cloud.calls == []


def test_missing_credentials_fail_with_the_chain(tmp_path, fake_cloud, monkeypatch):
    monkeypatch.delenv("ALICLOUD_ACCESS_KEY")
    monkeypatch.delenv("ALICLOUD_SECRET_KEY")
    with pytest.raises(AnsibleError, match="No Alibaba Cloud credentials found"):
        run_inventory(tmp_path, {})


def test_cache_second_run_makes_no_call_and_query_changes_miss(tmp_path, fake_cloud):
    cache_dir = tmp_path / "cache"
    config = {"tags": {"Deployment": "d1"}, "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(cache_dir), "cache_timeout": 600}
    first, dummy_warnings = run_inventory(tmp_path, config)
    calls_after_first = len(fake_cloud.calls)
    assert calls_after_first > 0 and os.listdir(cache_dir)
    second, dummy_warnings = run_inventory(tmp_path, config)
    assert len(fake_cloud.calls) == calls_after_first
    assert sorted(second.hosts) == sorted(first.hosts)
    assert second.get_host("47.0.0.1").vars == first.get_host("47.0.0.1").vars
    # Another selection in the same file is another question: it goes to the API.
    run_inventory(tmp_path, dict(config, tags={"Deployment": "other"}))
    assert len(fake_cloud.calls) > calls_after_first


VARIABLES = {"alicloud_zone_id": "cn-hangzhou-h", "alicloud_tags": {"Role": "mlflow", "items": "x"},
             "alicloud_vpc_attributes": {"private_ip_address": ["10.0.0.1"]}, "empty": ""}


@pytest.mark.parametrize("expression, expected", [
    ("alicloud_zone_id", "cn-hangzhou-h"),
    (" alicloud_tags.Role ", "mlflow"),
    ("alicloud_vpc_attributes.private_ip_address", ["10.0.0.1"]),
    ("empty", ""),
])
def test_plain_paths_are_looked_up_directly(expression, expected):
    assert alicloud_ecs.lookup_plain_path(expression, VARIABLES) == expected


@pytest.mark.parametrize("expression", [
    "alicloud_tags.items",  # a dict method name: Jinja's attribute-first rule decides
    "alicloud_tags.Missing", "missing", "alicloud_zone_id.foo", "alicloud_tags['Role']",
    "alicloud_tags.Role | upper", "'literal'", 42,
])
def test_everything_else_is_left_to_jinja(expression):
    assert alicloud_ecs.lookup_plain_path(expression, VARIABLES) is alicloud_ecs._NOT_FOUND  # pylint: disable=protected-access


@pytest.mark.parametrize("expression", [
    "alicloud_zone_id", "alicloud_tags.Role", "alicloud_tags.items", "alicloud_tags.Role | upper",
    "alicloud_vpc_attributes.private_ip_address",
])
def test_compose_gives_what_jinja_gives(expression):
    plugin = inventory_loader.get("computenest.mlflow.alicloud_ecs")
    plugin.loader = DataLoader()
    plugin.set_options(direct={"plugin": "computenest.mlflow.alicloud_ecs"})
    # Expressions of an inventory file are trusted templates, as ansible loads them.
    expression = trust_as_template(expression)

    def outcome(compose):
        try:
            return "value", compose(expression, VARIABLES)
        except AnsibleError as error:
            return "error", type(error)
    fast = outcome(plugin._compose)  # pylint: disable=protected-access
    jinja = outcome(super(type(plugin), plugin)._compose)  # pylint: disable=protected-access,bad-super-call
    assert fast == jinja


def test_missing_sdk_is_a_clear_error(tmp_path, fake_cloud, monkeypatch):
    plugin_module = sys.modules[type(inventory_loader.get("computenest.mlflow.alicloud_ecs")).__module__]
    monkeypatch.setattr(plugin_module, "ALICLOUD_IMPORT_ERROR", "the Python package aliyun-python-sdk-core is not "
                        "installed")
    with pytest.raises(AnsibleError, match="needs the Alibaba Cloud SDK: the Python package aliyun-python-sdk-core"):
        run_inventory(tmp_path, {})
    assert fake_cloud.calls == []


def test_documented_examples_work(tmp_path, fake_cloud):
    examples = list(yaml.safe_load_all(alicloud_ecs.EXAMPLES))
    assert [example["plugin"] for example in examples] == ["computenest.mlflow.alicloud_ecs"] * 3
    fake_cloud.regions["cn-hangzhou"].append(
        make_instance("i-p1", tags={"Deployment": "mlflow-prod", "Role": "mlflow"}, eip="39.9.9.9"))
    fake_cloud.regions["cn-shanghai"] = [
        make_instance("i-s1", region="cn-shanghai", tags={"Name": "shanghai-1"}, private="10.2.0.1"),
        make_instance("i-s2", region="cn-shanghai", tags={"Role": "bastion"}, private="10.2.0.2"),
        make_instance("i-s3", region="cn-shanghai", status="Stopped", private="10.2.0.3"),
    ]
    for instance in fake_cloud.regions["cn-shanghai"]:
        instance["VpcAttributes"]["VpcId"] = "vpc-uf6f7l4fg90oxmgmcemzr"

    prod, dummy_warnings = run_inventory(tmp_path, examples[0])
    assert sorted(prod.hosts) == ["39.9.9.9"]
    assert group_hosts(prod, "mlflow_server") == group_hosts(prod, "role_mlflow") == ["39.9.9.9"]
    assert prod.get_host("39.9.9.9").vars["ansible_user"] == "root"

    everything, dummy_warnings = run_inventory(tmp_path, examples[1])
    assert everything.get_host("shanghai-1").vars["ansible_host"] == "10.2.0.1"
    assert "i-h1" in everything.hosts and "i-s3" not in everything.hosts

    examples[2]["cache_connection"] = str(tmp_path / "cache")
    shanghai, dummy_warnings = run_inventory(tmp_path, examples[2])
    assert sorted(shanghai.hosts) == ["10.2.0.1", "10.2.0.3"]


def test_regions_are_listed_concurrently(tmp_path, fake_cloud, monkeypatch):
    # Each region's listing waits until the other region's has started: only a concurrent fan-out gets through.
    both_regions_listing = threading.Barrier(2, timeout=10)
    fake_client = fake_cloud.client_class()
    original_paginate = fake_client.paginate

    def paginate_together(self, *args, **kwargs):
        both_regions_listing.wait()
        return original_paginate(self, *args, **kwargs)
    monkeypatch.setattr(fake_client, "paginate", paginate_together)
    plugin_module = sys.modules[type(inventory_loader.get("computenest.mlflow.alicloud_ecs")).__module__]
    monkeypatch.setattr(plugin_module, "AlicloudClient", fake_client)
    inventory, dummy_warnings = run_inventory(tmp_path, {"regions": ["cn-hangzhou", "cn-beijing"],
                                                         "tags": {"Deployment": "d1"}, "hostnames": ["instance_id"]})
    assert sorted(inventory.hosts) == ["i-b1", "i-h1", "i-h2"]

    one_at_a_time = threading.Barrier(2, timeout=1)

    def paginate_alone(self, *args, **kwargs):
        one_at_a_time.wait()
        return original_paginate(self, *args, **kwargs)
    monkeypatch.setattr(fake_client, "paginate", paginate_alone)
    with pytest.raises(threading.BrokenBarrierError):
        run_inventory(tmp_path, {"regions": ["cn-hangzhou", "cn-beijing"], "max_concurrent_regions": 1})


def test_max_concurrent_regions_must_be_positive(tmp_path, fake_cloud):
    with pytest.raises(AnsibleError, match="max_concurrent_regions: must be at least 1"):
        run_inventory(tmp_path, {"max_concurrent_regions": 0})
    assert fake_cloud.calls == []
