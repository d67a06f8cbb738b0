"""Protocol-level behaviour and the smaller APIs: routing by version, error bodies, attribute changes, untagging."""
import json

import pytest
from alibabacloud_rds20140815 import models
from alibabacloud_tea_openapi import exceptions as tea_exceptions
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import CommonRequest

from .emu_helpers import FROZEN_CLOCK_SPEED, DEBIAN_IMAGE


@pytest.fixture
def alicloud_emulator(alicloud_emulator_factory):
    """A nearly frozen clock for this module: tests see transient states (Creating, Pending, Starting) for sure,
    however busy the machine, and move time on with advance_clock."""
    return alicloud_emulator_factory(clock_speed=FROZEN_CLOCK_SPEED)


def common_request(emulator, version, action, **params):
    request = CommonRequest(domain=emulator.endpoint, version=version, action_name=action)
    request.set_protocol_type("http")
    request.set_method("POST")
    for name, value in params.items():
        request.add_query_param(name, value)
    return request


def test_common_request_reaches_each_product(api, alicloud_emulator):
    for version, key in (("2014-05-26", "Regions"), ("2016-04-28", "Regions"), ("2014-08-15", "Regions")):
        answer = json.loads(api.client.do_action_with_exception(
            common_request(alicloud_emulator, version, "DescribeRegions")))
        assert answer[key]
    assert [entry["product"] for entry in alicloud_emulator.requests()] == ["ecs", "vpc", "rds"]


def test_unknown_action_and_version(api, alicloud_emulator):
    with pytest.raises(ServerException) as caught:
        api.client.do_action_with_exception(common_request(alicloud_emulator, "2014-05-26", "LaunchRockets"))
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("InvalidAction.NotFound", 404)
    with pytest.raises(ServerException) as caught:
        api.client.do_action_with_exception(common_request(alicloud_emulator, "2099-01-01", "DescribeRegions"))
    assert caught.value.get_error_code() == "InvalidVersion"


def test_error_body_shape(rds):
    with pytest.raises(tea_exceptions.ClientException) as caught:
        rds.describe_dbinstance_attribute(models.DescribeDBInstanceAttributeRequest(dbinstance_id="pgm-missing"))
    body = caught.value.data
    assert {"RequestId", "HostId", "Code", "Message", "Recommend"} <= set(body)
    assert body["Code"] == "InvalidDBInstanceId.NotFound" and caught.value.request_id == body["RequestId"]


def test_missing_region_is_a_missing_parameter(rds):
    with pytest.raises(tea_exceptions.ClientException) as caught:
        rds.describe_dbinstances(models.DescribeDBInstancesRequest())
    assert (caught.value.code, caught.value.status_code) == ("MissingParameter", 400)
    assert "RegionId" in caught.value.data["Message"]


def test_attribute_changes_and_untagging(api, alicloud_emulator, network):
    api("vpc", "ModifyVpcAttribute", VpcId=network["vpc_id"], VpcName="renamed", Description="new")
    vpc = api("vpc", "DescribeVpcs", VpcId=network["vpc_id"])["Vpcs"]["Vpc"][0]
    assert (vpc["VpcName"], vpc["Description"]) == ("renamed", "new")
    api("vpc", "ModifyVSwitchAttribute", VSwitchId=network["vswitch_id"], VSwitchName="sw")
    assert api("vpc", "DescribeVSwitches", VSwitchName="sw")["TotalCount"] == 1
    api("ecs", "ModifySecurityGroupAttribute", SecurityGroupId=network["security_group_id"],
        SecurityGroupName="web-sg")
    assert api("ecs", "DescribeSecurityGroups", SecurityGroupName="web-sg")["TotalCount"] == 1
    (instance_id,) = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                         VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"],
                         Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])["InstanceIdSets"][
        "InstanceIdSet"]
    api("ecs", "UntagResources", ResourceType="instance", ResourceIds=[instance_id], TagKeys=["a"])
    listed = api("ecs", "ListTagResources", ResourceType="instance", ResourceIds=[instance_id])
    assert [(row["TagKey"], row["TagValue"]) for row in listed["TagResources"]["TagResource"]] == [("b", "2")]
    api("vpc", "TagResources", ResourceType="VPC", ResourceIds=[network["vpc_id"]], Tags=[{"Key": "x", "Value": "y"}])
    api("vpc", "UnTagResources", ResourceType="VPC", ResourceIds=[network["vpc_id"]], TagKeys=["x"])
    assert api("vpc", "DescribeVpcs", VpcId=network["vpc_id"])["Vpcs"]["Vpc"][0]["Tags"]["Tag"] == []
    api("ecs", "ModifyInstanceAttribute", InstanceId=instance_id, InstanceName="renamed-host")
    alicloud_emulator.advance_clock(60)
    statuses = api("ecs", "DescribeInstanceStatus", InstanceIds=[instance_id])
    assert statuses["InstanceStatuses"]["InstanceStatus"] == [{"InstanceId": instance_id, "Status": "Running"}]
    api("ecs", "RebootInstance", InstanceId=instance_id)
    instance = api("ecs", "DescribeInstances", InstanceName="renamed-host")["Instances"]["Instance"][0]
    assert instance["Status"] == "Starting"


def test_grant_account_privilege(rds, alicloud_emulator, network):
    db_instance_id = rds.create_dbinstance(models.CreateDBInstanceRequest(
        region_id="cn-hangzhou", engine="PostgreSQL", engine_version="15.0", dbinstance_class="pg.n2.medium.2c",
        dbinstance_storage=20, dbinstance_net_type="Intranet", pay_type="Postpaid", security_iplist="10.0.0.0/16",
        vpcid=network["vpc_id"], v_switch_id=network["vswitch_id"])).body.dbinstance_id
    alicloud_emulator.advance_clock(500)
    rds.create_account(models.CreateAccountRequest(dbinstance_id=db_instance_id, account_name="reader",
                                                   account_password="Str0ng!Pass"))
    rds.create_database(models.CreateDatabaseRequest(dbinstance_id=db_instance_id, dbname="mlflow",
                                                     character_set_name="UTF8"))
    rds.grant_account_privilege(models.GrantAccountPrivilegeRequest(dbinstance_id=db_instance_id,
                                                                    account_name="reader", dbname="mlflow",
                                                                    account_privilege="ReadOnly"))
    account = rds.describe_accounts(models.DescribeAccountsRequest(
        dbinstance_id=db_instance_id)).body.accounts.dbinstance_account[0]
    assert [(p.dbname, p.account_privilege) for p in account.database_privileges.database_privilege] == \
        [("mlflow", "ReadOnly")]
    with pytest.raises(tea_exceptions.ClientException) as caught:
        rds.grant_account_privilege(models.GrantAccountPrivilegeRequest(
            dbinstance_id=db_instance_id, account_name="reader", dbname="other", account_privilege="ReadOnly"))
    assert caught.value.code == "InvalidDBName.NotFound"
