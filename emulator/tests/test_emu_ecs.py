"""ECS through the ECS SDK: security groups and rules, instances and their states, tags, public addresses."""
import json

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from .emu_helpers import FROZEN_CLOCK_SPEED, DEBIAN_IMAGE, build_network


@pytest.fixture
def alicloud_emulator(alicloud_emulator_factory):
    """A nearly frozen clock for this module: tests see transient states (Creating, Pending, Starting) for sure,
    however busy the machine, and move time on with advance_clock."""
    return alicloud_emulator_factory(clock_speed=FROZEN_CLOCK_SPEED)


def error_of(call, *args, **kwargs):
    with pytest.raises(ServerException) as caught:
        call(*args, **kwargs)
    return caught.value.get_error_code(), caught.value.get_http_status()


def run(api, network, **params):
    params.setdefault("ImageId", DEBIAN_IMAGE)
    params.setdefault("InstanceType", "ecs.g7.large")
    params.setdefault("VSwitchId", network["vswitch_id"])
    params.setdefault("SecurityGroupId", network["security_group_id"])
    return api("ecs", "RunInstances", **params)["InstanceIdSets"]["InstanceIdSet"]


def describe(api, instance_id):
    return api("ecs", "DescribeInstances", InstanceIds=json.dumps([instance_id]))["Instances"]["Instance"][0]


# --- security groups --------------------------------------------------------------------------------------------
def test_security_group_rules_round_trip(api, network):
    group_id = network["security_group_id"]
    api("ecs", "AuthorizeSecurityGroup", SecurityGroupId=group_id, Permissions=[
        {"IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8", "Priority": "1",
         "Description": "ssh"},
        {"IpProtocol": "TCP", "PortRange": "5000/5000", "SourceCidrIp": "0.0.0.0/0", "Policy": "accept"}])
    # The same rule again is accepted without a copy.
    api("ecs", "AuthorizeSecurityGroup", SecurityGroupId=group_id, Permissions=[
        {"IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8", "Priority": "1"}])
    attribute = api("ecs", "DescribeSecurityGroupAttribute", SecurityGroupId=group_id, Direction="ingress")
    rules = attribute["Permissions"]["Permission"]
    assert [(r["IpProtocol"], r["PortRange"], r["SourceCidrIp"], r["Policy"], r["Priority"], r["Direction"])
            for r in rules] == [("TCP", "22/22", "10.0.0.0/8", "Accept", "1", "ingress"),
                                ("TCP", "5000/5000", "0.0.0.0/0", "Accept", "1", "ingress")]
    assert attribute["VpcId"] == network["vpc_id"]
    api("ecs", "RevokeSecurityGroup", SecurityGroupId=group_id, Permissions=[
        {"IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8", "Priority": "1"}])
    left = api("ecs", "DescribeSecurityGroupAttribute", SecurityGroupId=group_id)["Permissions"]["Permission"]
    assert [rule["PortRange"] for rule in left] == ["5000/5000"]


def test_security_group_rule_errors(api, network):
    group_id = network["security_group_id"]
    assert error_of(api, "ecs", "AuthorizeSecurityGroup", SecurityGroupId=group_id, Permissions=[
        {"IpProtocol": "tcp", "PortRange": "22-22", "SourceCidrIp": "0.0.0.0/0"}]) == \
        ("InvalidPortRange.Malformed", 400)
    assert error_of(api, "ecs", "AuthorizeSecurityGroup", SecurityGroupId=group_id, Permissions=[
        {"IpProtocol": "sctp", "PortRange": "1/2", "SourceCidrIp": "0.0.0.0/0"}]) == \
        ("InvalidIpProtocol.Malformed", 400)
    assert error_of(api, "ecs", "AuthorizeSecurityGroup", SecurityGroupId=group_id, Permissions=[
        {"IpProtocol": "tcp", "PortRange": "1/2"}]) == ("MissingParameter", 400)
    assert error_of(api, "ecs", "AuthorizeSecurityGroup", SecurityGroupId="sg-nope", Permissions=[
        {"IpProtocol": "tcp", "PortRange": "1/2", "SourceCidrIp": "0.0.0.0/0"}]) == \
        ("InvalidSecurityGroupId.NotFound", 404)
    assert error_of(api, "ecs", "CreateSecurityGroup", VpcId="vpc-nope") == ("InvalidVpcId.NotFound", 404)


def test_describe_security_groups_filters_and_paging(api, network):
    for n in range(5):
        api("ecs", "CreateSecurityGroup", VpcId=network["vpc_id"], SecurityGroupName=f"group-{n}",
            Tags=[{"Key": "n", "Value": str(n)}])
    listing = api("ecs", "DescribeSecurityGroups", VpcId=network["vpc_id"], PageSize=4)
    assert (listing["TotalCount"], len(listing["SecurityGroups"]["SecurityGroup"])) == (6, 4)
    named = api("ecs", "DescribeSecurityGroups", SecurityGroupName="group-3")["SecurityGroups"]["SecurityGroup"]
    assert [group["SecurityGroupName"] for group in named] == ["group-3"]
    tagged = api("ecs", "DescribeSecurityGroups", Tags=[{"Key": "n", "Value": "4"}])
    assert tagged["SecurityGroups"]["SecurityGroup"][0]["Tags"]["Tag"] == [{"TagKey": "n", "TagValue": "4"}]
    first = api("ecs", "DescribeSecurityGroups", MaxResults=4)
    second = api("ecs", "DescribeSecurityGroups", MaxResults=4, NextToken=first["NextToken"])
    assert second["NextToken"] == ""
    ids = [g["SecurityGroupId"] for g in first["SecurityGroups"]["SecurityGroup"] +
           second["SecurityGroups"]["SecurityGroup"]]
    assert len(ids) == len(set(ids)) == 6


def test_security_group_in_use_cannot_be_deleted(api, alicloud_emulator, network):
    (instance_id,) = run(api, network)
    assert error_of(api, "ecs", "DeleteSecurityGroup", SecurityGroupId=network["security_group_id"]) == \
        ("DependencyViolation", 403)
    alicloud_emulator.advance_clock(60)
    api("ecs", "DeleteInstance", InstanceId=instance_id, Force=True)
    api("ecs", "DeleteSecurityGroup", SecurityGroupId=network["security_group_id"])
    assert error_of(api, "ecs", "DescribeSecurityGroupAttribute",
                    SecurityGroupId=network["security_group_id"]) == ("InvalidSecurityGroupId.NotFound", 404)


# --- instances --------------------------------------------------------------------------------------------------
def test_instance_lifecycle(frozen_api, frozen_emulator):
    network = build_network(frozen_api, frozen_emulator)
    (instance_id,) = run(frozen_api, network, InstanceName="web", InternetMaxBandwidthOut=5, Password="Passw0rd!x",
                         Tags=[{"Key": "role", "Value": "mlflow"}])
    instance = describe(frozen_api, instance_id)
    assert instance["Status"] == "Pending"
    assert instance["VpcAttributes"]["PrivateIpAddress"]["IpAddress"] == ["10.0.1.1"]
    assert len(instance["PublicIpAddress"]["IpAddress"]) == 1
    assert instance["Tags"]["Tag"] == [{"TagKey": "role", "TagValue": "mlflow"}]
    assert (instance["Cpu"], instance["Memory"], instance["OSType"]) == (2, 8192, "linux")
    frozen_emulator.advance_clock(11)
    assert describe(frozen_api, instance_id)["Status"] == "Starting"
    assert error_of(frozen_api, "ecs", "DeleteInstance", InstanceId=instance_id, Force=True) == \
        ("IncorrectInstanceStatus.Initializing", 403)
    frozen_emulator.advance_clock(30)
    assert describe(frozen_api, instance_id)["Status"] == "Running"
    assert error_of(frozen_api, "ecs", "StartInstance", InstanceId=instance_id) == ("IncorrectInstanceStatus", 403)
    assert error_of(frozen_api, "ecs", "DeleteInstance", InstanceId=instance_id) == ("IncorrectInstanceStatus", 403)
    frozen_api("ecs", "StopInstance", InstanceId=instance_id)
    assert describe(frozen_api, instance_id)["Status"] == "Stopping"
    assert error_of(frozen_api, "ecs", "StopInstance", InstanceId=instance_id) == ("IncorrectInstanceStatus", 403)
    frozen_emulator.advance_clock(11)
    assert describe(frozen_api, instance_id)["Status"] == "Stopped"
    frozen_api("ecs", "StartInstance", InstanceId=instance_id)
    assert describe(frozen_api, instance_id)["Status"] == "Starting"
    frozen_emulator.advance_clock(16)
    assert describe(frozen_api, instance_id)["Status"] == "Running"
    frozen_api("ecs", "StopInstance", InstanceId=instance_id)
    frozen_emulator.advance_clock(11)
    frozen_api("ecs", "DeleteInstance", InstanceId=instance_id)
    listing = frozen_api("ecs", "DescribeInstances", InstanceIds=json.dumps([instance_id]))
    assert (listing["TotalCount"], listing["Instances"]["Instance"]) == (0, [])
    assert error_of(frozen_api, "ecs", "DeleteInstance", InstanceId=instance_id) == \
        ("InvalidInstanceId.NotFound", 404)


def test_run_instances_amount_and_addresses(api, network):
    ids = run(api, network, Amount=5, InstanceName="node", UniqueSuffix=True)
    assert len(ids) == len(set(ids)) == 5
    instances = api("ecs", "DescribeInstances", InstanceIds=json.dumps(ids))["Instances"]["Instance"]
    assert [i["InstanceName"] for i in instances] == [f"node{n:03d}" for n in range(1, 6)]
    addresses = [i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0] for i in instances]
    assert len(set(addresses)) == 5 and all(address.startswith("10.0.1.") for address in addresses)
    assert all(i["PublicIpAddress"]["IpAddress"] == [] for i in instances)


def test_run_instances_validation(api, network):
    assert error_of(run, api, network, ImageId="ami-12345") == ("InvalidImageId.NotFound", 404)
    assert error_of(run, api, network, InstanceType="t2.micro") == ("InvalidInstanceType.ValueNotSupported", 400)
    assert error_of(run, api, network, Amount=101) == ("InvalidParameter", 400)
    assert error_of(run, api, network, VSwitchId="vsw-nope") == ("InvalidVSwitchId.NotFound", 404)
    assert error_of(run, api, network, ZoneId="cn-hangzhou-i") == ("InvalidVSwitchId.Mismatch", 400)
    assert error_of(run, api, network, Password="short") == ("InvalidPassword.Malformed", 400)
    assert error_of(run, api, network, SecurityGroupId="sg-nope") == ("InvalidSecurityGroupId.NotFound", 404)
    request = api.request("ecs", "RunInstances", VSwitchId=network["vswitch_id"], InstanceType="ecs.g7.large",
                          SecurityGroupId=network["security_group_id"])
    with pytest.raises(ServerException) as caught:
        api.client.do_action_with_exception(request)
    assert caught.value.get_error_code() == "MissingParameter" and "ImageId" in caught.value.get_error_msg()
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0


def test_run_instances_dry_run_creates_nothing(api, network):
    assert error_of(run, api, network, DryRun=True) == ("DryRunOperation", 400)
    assert error_of(run, api, network, DryRun=True, ImageId="bogus image") == ("InvalidImageId.NotFound", 404)
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0


def test_run_instances_client_token(api, network):
    first = run(api, network, Amount=3, ClientToken="deploy-42")
    assert run(api, network, Amount=3, ClientToken="deploy-42") == first
    assert api("ecs", "DescribeInstances")["TotalCount"] == 3
    assert error_of(run, api, network, Amount=2, ClientToken="deploy-42") == ("IdempotentParameterMismatch", 400)
    assert error_of(run, api, network, ClientToken="x" * 65) == ("InvalidClientToken.Malformed", 400)


def test_describe_instances_filters(api, alicloud_emulator, network):
    web = run(api, network, Amount=3, InstanceName="web", Tags=[{"Key": "role", "Value": "web"}])
    db = run(api, network, Amount=2, InstanceName="db", Tags=[{"Key": "role", "Value": "db"},
                                                              {"Key": "tier", "Value": "data"}])
    alicloud_emulator.advance_clock(60)
    api("ecs", "StopInstance", InstanceId=web[0])
    alicloud_emulator.advance_clock(20)

    def ids(**filters):
        listing = api("ecs", "DescribeInstances", PageSize=100, **filters)
        return sorted(instance["InstanceId"] for instance in listing["Instances"]["Instance"])
    assert ids(Tags=[{"Key": "role", "Value": "web"}]) == sorted(web)
    assert ids(Tags=[{"Key": "tier"}]) == sorted(db)
    assert ids(Tags=[{"Key": "role", "Value": "db"}, {"Key": "tier", "Value": "data"}]) == sorted(db)
    assert ids(Status="Stopped") == [web[0]]
    assert ids(Status="Running") == sorted(web[1:] + db)
    assert ids(InstanceName="db") == sorted(db)
    assert ids(InstanceName="w*") == sorted(web)
    assert ids(VpcId=network["vpc_id"]) == sorted(web + db)
    assert ids(VpcId="vpc-other") == []
    assert ids(InstanceIds=json.dumps([db[1], "i-unknown"])) == [db[1]]
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeInstances", InstanceIds="i-not-json")
    assert caught.value.get_error_code() == "InvalidParameter"
    assert error_of(api, "ecs", "DescribeInstances", Status="Flying") == ("InvalidParameter", 400)


def test_delete_instances_batch(api, alicloud_emulator, network):
    ids = run(api, network, Amount=3)
    alicloud_emulator.advance_clock(60)
    assert error_of(api, "ecs", "DeleteInstances", InstanceIds=ids) == ("IncorrectInstanceStatus", 403)
    assert error_of(api, "ecs", "DeleteInstances", InstanceIds=ids, Force=True, DryRun=True) == \
        ("DryRunOperation", 400)
    api("ecs", "DeleteInstances", InstanceIds=ids, Force=True)
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0
    assert len(alicloud_emulator.resources()["instances"]) == 0


def test_allocate_public_ip(api, alicloud_emulator, network):
    (with_bandwidth,) = run(api, network, InternetMaxBandwidthOut=10, InternetChargeType="PayByTraffic")
    (without,) = run(api, network)
    assert error_of(api, "ecs", "AllocatePublicIpAddress", InstanceId=without) == ("IncorrectInstanceStatus", 403)
    alicloud_emulator.advance_clock(60)
    assert error_of(api, "ecs", "AllocatePublicIpAddress", InstanceId=without)[0] == \
        "InvalidInternetMaxBandwidthOut.ValueNotSupported"
    assert error_of(api, "ecs", "AllocatePublicIpAddress", InstanceId=with_bandwidth) == ("AllocatedAlready", 403)
    assert error_of(api, "ecs", "AllocatePublicIpAddress", InstanceId="i-nope") == \
        ("InvalidInstanceId.NotFound", 404)


def test_tag_resources_and_list(api, network):
    ids = run(api, network, Amount=2)
    api("ecs", "TagResources", ResourceType="instance", ResourceIds=ids, Tags=[{"Key": "owner", "Value": "ml"}])
    listed = api("ecs", "ListTagResources", ResourceType="instance", ResourceIds=ids)
    assert sorted((row["ResourceId"], row["TagKey"], row["TagValue"])
                  for row in listed["TagResources"]["TagResource"]) == sorted((i, "owner", "ml") for i in ids)
    by_tag = api("ecs", "ListTagResources", ResourceType="instance", Tags=[{"Key": "owner", "Value": "ml"}])
    assert {row["ResourceId"] for row in by_tag["TagResources"]["TagResource"]} == set(ids)
    assert describe(api, ids[0])["Tags"]["Tag"] == [{"TagKey": "owner", "TagValue": "ml"}]
    assert error_of(api, "ecs", "TagResources", ResourceType="instance", ResourceIds=["i-nope"],
                    Tags=[{"Key": "a", "Value": "b"}]) == ("InvalidInstanceId.NotFound", 404)
    assert error_of(api, "ecs", "TagResources", ResourceType="instance", ResourceIds=ids,
                    Tags=[{"Key": "aliyun-reserved", "Value": "b"}]) == ("InvalidTagKey.Malformed", 400)


def test_regions_zones_images_types(api):
    regions = api("ecs", "DescribeRegions")["Regions"]["Region"]
    expected = {"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "ap-southeast-1"}
    assert {r["RegionId"] for r in regions} >= expected
    assert next(r for r in regions if r["RegionId"] == "cn-hangzhou")["RegionEndpoint"] == \
        "ecs-cn-hangzhou.aliyuncs.com"
    zones = api("ecs", "DescribeZones", RegionId="ap-southeast-1")["Zones"]["Zone"]
    assert [zone["ZoneId"] for zone in zones] == ["ap-southeast-1-a", "ap-southeast-1-b", "ap-southeast-1-c"]
    images = api("ecs", "DescribeImages", ImageName="debian_12*")["Images"]["Image"]
    assert [image["ImageId"] for image in images] == [DEBIAN_IMAGE]
    types = api("ecs", "DescribeInstanceTypes", InstanceTypess=["ecs.g7.large"])["InstanceTypes"]["InstanceType"]
    assert (types[0]["CpuCoreCount"], types[0]["MemorySize"]) == (2, 8.0)


# --- subscription (PrePaid) instances -----------------------------------------------------------------------------
def test_prepaid_instance_expiry_and_charge_type(api, alicloud_emulator, network):
    (instance_id,) = run(api, network, InstanceChargeType="PrePaid", Period=1, PeriodUnit="Week", AutoRenew=True)
    item = describe(api, instance_id)
    assert item["InstanceChargeType"] == "PrePaid"
    assert item["ExpiredTime"] != "2099-12-31T15:59Z"
    created = item["CreationTime"]
    assert item["ExpiredTime"] > created
    (postpaid,) = run(api, network)
    assert describe(api, postpaid)["InstanceChargeType"] == "PostPaid"
    assert describe(api, postpaid)["ExpiredTime"] == "2099-12-31T15:59Z"


def test_prepaid_period_validation(api, network):
    assert error_of(run, api, network, InstanceChargeType="PrePaid") == ("MissingParameter", 400)
    assert error_of(run, api, network, InstanceChargeType="PrePaid", Period=10, PeriodUnit="Month") == \
        ("InvalidPeriod", 400)
    assert error_of(run, api, network, InstanceChargeType="PrePaid", Period=5, PeriodUnit="Week") == \
        ("InvalidPeriod", 400)
    assert error_of(run, api, network, InstanceChargeType="PrePaid", Period=1, PeriodUnit="Year")[0] == \
        "InvalidPeriodUnit.ValueNotSupported"
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0


def test_prepaid_instance_delete_refused_until_converted(api, alicloud_emulator, network):
    (instance_id,) = run(api, network, InstanceChargeType="PrePaid", Period=1, PeriodUnit="Month")
    alicloud_emulator.advance_clock(60)
    assert error_of(api, "ecs", "DeleteInstance", InstanceId=instance_id, Force=True) == ("ChargeTypeViolation", 403)
    assert error_of(api, "ecs", "DeleteInstances", InstanceIds=[instance_id], Force=True) == \
        ("ChargeTypeViolation", 403)
    assert error_of(api, "ecs", "ModifyInstanceChargeType", InstanceIds=json.dumps([instance_id]),
                    InstanceChargeType="PostPaid", DryRun=True) == ("DryRunOperation", 400)
    assert describe(api, instance_id)["InstanceChargeType"] == "PrePaid"
    reply = api("ecs", "ModifyInstanceChargeType", InstanceIds=json.dumps([instance_id]),
                InstanceChargeType="PostPaid")
    assert reply["OrderId"]
    item = describe(api, instance_id)
    assert (item["InstanceChargeType"], item["ExpiredTime"]) == ("PostPaid", "2099-12-31T15:59Z")
    # Converting again to what it already is, is refused.
    assert error_of(api, "ecs", "ModifyInstanceChargeType", InstanceIds=json.dumps([instance_id]),
                    InstanceChargeType="PostPaid")[0] == "InvalidInstanceChargeType.ValueNotSupported"
    api("ecs", "DeleteInstance", InstanceId=instance_id, Force=True)
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0


def test_expired_prepaid_instance_can_be_deleted(api, alicloud_emulator, network):
    (instance_id,) = run(api, network, InstanceChargeType="PrePaid", Period=1, PeriodUnit="Week")
    alicloud_emulator.advance_clock(8 * 86400)
    api("ecs", "DeleteInstance", InstanceId=instance_id, Force=True)
    assert api("ecs", "DescribeInstances")["TotalCount"] == 0


# --- what a zone sells ------------------------------------------------------------------------------------------
def sold_in(api, zone_id, **params):
    body = api("ecs", "DescribeAvailableResource", RegionId="cn-hangzhou", ZoneId=zone_id,
               DestinationResource="InstanceType", **params)
    zones = body["AvailableZones"]["AvailableZone"]
    assert [zone["ZoneId"] for zone in zones] == [zone_id]
    (resource,) = zones[0]["AvailableResources"]["AvailableResource"]
    assert resource["Type"] == "InstanceType"
    return {entry["Value"]: entry["Status"] for entry in resource["SupportedResources"]["SupportedResource"]}


def test_available_resource_lists_what_each_zone_sells(api):
    zone_i = sold_in(api, "cn-hangzhou-i", InstanceChargeType="PostPaid")
    assert zone_i["ecs.g7.large"] == "Available" and zone_i["ecs.g8i.large"] == "Available"
    # Zone H does not sell the 8th generation at all; zone K sells ecs.r7.large but has none in stock.
    zone_h = sold_in(api, "cn-hangzhou-h", InstanceChargeType="PrePaid")
    assert "ecs.g8i.large" not in zone_h and zone_h["ecs.g7.large"] == "Available"
    assert sold_in(api, "cn-hangzhou-k")["ecs.r7.large"] == "SoldOut"
    assert sold_in(api, "cn-hangzhou-i", InstanceType="ecs.c7.large") == {"ecs.c7.large": "Available"}


@pytest.mark.parametrize("params, code", [
    ({"ZoneId": "cn-hangzhou-z", "DestinationResource": "InstanceType"}, "InvalidZoneId.NotFound"),
    ({"ZoneId": "cn-hangzhou-i"}, "MissingParameter"),
    ({"ZoneId": "cn-hangzhou-i", "DestinationResource": "InstanceType", "InstanceChargeType": "Monthly"},
     "InvalidParameter"),
])
def test_available_resource_refuses_what_it_cannot_answer(api, params, code):
    assert error_of(api, "ecs", "DescribeAvailableResource", RegionId="cn-hangzhou", **params)[0] == code


def test_a_type_the_zone_does_not_sell_is_not_run(api, alicloud_emulator, network):
    assert network["zone_id"] == "cn-hangzhou-h"
    assert error_of(run, api, network, InstanceType="ecs.g8i.large")[0] == "InvalidInstanceType.NotSupported"
    assert alicloud_emulator.resources()["instances"] == []
    assert run(api, network, InstanceType="ecs.g7.large")
