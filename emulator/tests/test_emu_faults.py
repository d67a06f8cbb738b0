"""Injected faults surface through the SDKs as the same exception classes and codes the real cloud produces."""
import json

import pytest
from alibabacloud_rds20140815 import models
from alibabacloud_tea_openapi import exceptions as tea_exceptions
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from darabonba.exceptions import UnretryableException

from .emu_helpers import DEBIAN_IMAGE, LegacyApi, build_network, tea_rds_client


def run_one(api, network, **params):
    return api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
               VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"], **params)


def test_throttling_legacy_sdk(api, alicloud_emulator):
    alicloud_emulator.inject_fault("throttling", product="ecs")
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeInstances")
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("Throttling.User", 400)
    assert "flow control" in caught.value.get_error_msg()
    assert api("vpc", "DescribeVpcs")["TotalCount"] == 0  # the rule names ECS only
    entry = alicloud_emulator.requests()[-2]
    assert (entry["fault"], entry["code"], entry["status"]) == ("throttling", "Throttling.User", 400)


def test_throttling_tea_sdk_is_a_throttling_exception(rds, alicloud_emulator):
    alicloud_emulator.inject_fault("throttling", action="DescribeDBInstances")
    with pytest.raises(tea_exceptions.ThrottlingException) as caught:
        rds.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    assert caught.value.code == "Throttling" and caught.value.retry_after > 0
    assert caught.value.status_code == 400


@pytest.mark.parametrize("kind, code, status", [("unavailable", "ServiceUnavailable", 503),
                                                ("internal", "InternalError", 500)])
def test_server_errors(alicloud_emulator, kind, code, status):
    alicloud_emulator.inject_fault(kind)
    with pytest.raises(ServerException) as caught:
        LegacyApi(alicloud_emulator)("vpc", "DescribeVpcs")
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == (code, status)
    with pytest.raises(tea_exceptions.ServerException) as tea_caught:
        tea_rds_client(alicloud_emulator).describe_regions(models.DescribeRegionsRequest())
    assert (tea_caught.value.code, tea_caught.value.status_code) == (code, status)


def test_legacy_sdk_retries_describe_through_a_counted_fault(alicloud_emulator):
    alicloud_emulator.inject_fault("unavailable", action="DescribeInstances", count=2)
    api = LegacyApi(alicloud_emulator, auto_retry=True)
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0
    outcomes = [entry["code"] for entry in alicloud_emulator.requests() if entry["action"] == "DescribeInstances"]
    assert outcomes == ["ServiceUnavailable", "ServiceUnavailable", None]


def test_lost_reply_legacy_sdk_and_the_instance_exists(api, alicloud_emulator, network):
    alicloud_emulator.inject_fault("lost", action="RunInstances", count=1)
    with pytest.raises(ClientException) as caught:
        run_one(api, network, ClientToken="lost-token")
    assert caught.value.get_error_code() == "SDK.HttpError"
    instances = api("ecs", "DescribeInstances")["Instances"]["Instance"]
    assert len(instances) == 1
    # The client retries with its ClientToken and learns the id of the instance it already made.
    assert run_one(api, network, ClientToken="lost-token")["InstanceIdSets"]["InstanceIdSet"] == \
        [instances[0]["InstanceId"]]
    assert api("ecs", "DescribeInstances")["TotalCount"] == 1


def test_lost_reply_tea_sdk_and_the_db_exists(rds, alicloud_emulator, network):
    alicloud_emulator.inject_fault("lost", product="rds", action="CreateDBInstance")
    request = models.CreateDBInstanceRequest(
        region_id="cn-hangzhou", engine="PostgreSQL", engine_version="16.0", dbinstance_class="pg.n2.medium.2c",
        dbinstance_storage=20, dbinstance_net_type="Intranet", pay_type="Postpaid", security_iplist="10.0.0.0/16",
        vpcid=network["vpc_id"], v_switch_id=network["vswitch_id"])
    with pytest.raises(UnretryableException):
        rds.create_dbinstance(request)
    listing = rds.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou")).body
    assert listing.total_record_count == 1


def test_rate_faults_repeat_with_the_seed(alicloud_emulator_factory):
    def outcomes(seed):
        emulator = alicloud_emulator_factory(seed=seed, faults=["throttling:0.3"])
        api = LegacyApi(emulator)
        results = []
        for _attempt in range(30):
            try:
                api("vpc", "DescribeVpcs")
                results.append("ok")
            except ServerException as error:
                results.append(error.get_error_code())
        return results
    first, again, other = outcomes(7), outcomes(7), outcomes(8)
    assert first == again
    assert 0 < first.count("Throttling.User") < 30
    assert first != other


def test_clear_faults_and_cli_style_specs(alicloud_emulator_factory):
    emulator = alicloud_emulator_factory(faults=["internal:DescribeZones:2"])
    api = LegacyApi(emulator)
    for _attempt in range(2):
        with pytest.raises(ServerException):
            api("ecs", "DescribeZones")
    assert api("ecs", "DescribeZones")["Zones"]["Zone"]
    emulator.inject_fault("unavailable")
    with pytest.raises(ServerException):
        api("ecs", "DescribeRegions")
    emulator.clear_faults()
    assert api("ecs", "DescribeRegions")["Regions"]["Region"]


def test_reset_rearms_start_faults_and_clears_state(alicloud_emulator_factory):
    emulator = alicloud_emulator_factory(faults=["throttling:DescribeRegions:1"])
    api = LegacyApi(emulator)
    build_network(api, emulator)
    with pytest.raises(ServerException):
        api("ecs", "DescribeRegions")
    emulator.reset()
    assert emulator.resources()["vpcs"] == [] and emulator.requests() == []
    with pytest.raises(ServerException):
        api("ecs", "DescribeRegions")


def test_fault_on_a_rejected_signature_is_not_drawn(alicloud_emulator):
    alicloud_emulator.inject_fault("internal", count=1)
    with pytest.raises(ServerException) as caught:
        LegacyApi(alicloud_emulator, secret="wrong")("ecs", "DescribeRegions")
    assert caught.value.get_error_code() == "InvalidAccessKeySecret"
    with pytest.raises(ServerException) as caught:
        LegacyApi(alicloud_emulator)("ecs", "DescribeRegions")
    assert caught.value.get_error_code() == "InternalError"
    assert json.dumps(alicloud_emulator.requests())  # the log is JSON-serialisable


def test_reset_starts_the_same_cloud_again(alicloud_emulator):
    def build():
        api = LegacyApi(alicloud_emulator)
        network = build_network(api, alicloud_emulator)
        created = run_one(api, network, Amount=2)["InstanceIdSets"]["InstanceIdSet"]
        listing = api("ecs", "DescribeInstances", InstanceIds=json.dumps(created))["Instances"]["Instance"]
        return network, [(i["InstanceId"], i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"]) for i in listing]
    first = build()
    alicloud_emulator.reset()
    # Ids come from the seeded generator and addresses from a backend that forgot the old cloud.
    assert build() == first
