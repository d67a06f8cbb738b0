"""VPC and VSwitch: happy paths, states, dependency violations, paging, tags, ClientToken, through the VPC SDK."""
import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from .emu_helpers import DEBIAN_IMAGE


def error_of(call, *args, **kwargs):
    with pytest.raises(ServerException) as caught:
        call(*args, **kwargs)
    return caught.value.get_error_code(), caught.value.get_http_status()


def test_vpc_goes_pending_then_available(frozen_api, frozen_emulator):
    created = frozen_api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16", VpcName="demo", Description="d",
                         Tags=[{"Key": "app", "Value": "mlflow"}])
    assert created["VpcId"].startswith("vpc-bp1") and created["VRouterId"].startswith("vrt-")
    assert created["RouteTableId"].startswith("vtb-")
    vpc = frozen_api("vpc", "DescribeVpcs", VpcId=created["VpcId"])["Vpcs"]["Vpc"][0]
    assert vpc["Status"] == "Pending"
    assert (vpc["CidrBlock"], vpc["VpcName"], vpc["Description"]) == ("10.0.0.0/16", "demo", "d")
    assert vpc["Tags"]["Tag"] == [{"Key": "app", "Value": "mlflow"}]
    frozen_emulator.advance_clock(6)
    assert frozen_api("vpc", "DescribeVpcs", VpcId=created["VpcId"])["Vpcs"]["Vpc"][0]["Status"] == "Available"


def test_vswitch_needs_an_available_vpc(frozen_api, frozen_emulator):
    vpc_id = frozen_api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16")["VpcId"]
    assert error_of(frozen_api, "vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-h",
                    CidrBlock="10.0.1.0/24") == ("IncorrectVpcStatus", 400)
    frozen_emulator.advance_clock(6)
    vswitch_id = frozen_api("vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-h",
                            CidrBlock="10.0.1.0/24", VSwitchName="a")["VSwitchId"]
    vswitch = frozen_api("vpc", "DescribeVSwitches", VSwitchId=vswitch_id)["VSwitches"]["VSwitch"][0]
    assert (vswitch["Status"], vswitch["ZoneId"], vswitch["VpcId"]) == ("Pending", "cn-hangzhou-h", vpc_id)
    # 256 addresses minus the first and the last three, which the VSwitch keeps.
    assert vswitch["AvailableIpAddressCount"] == 252
    frozen_emulator.advance_clock(4)
    assert frozen_api("vpc", "DescribeVSwitches", VpcId=vpc_id)["VSwitches"]["VSwitch"][0]["Status"] == "Available"


def test_vswitch_cidr_rules(api, alicloud_emulator):
    vpc_id = api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16")["VpcId"]
    alicloud_emulator.advance_clock(6)
    api("vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-h", CidrBlock="10.0.1.0/24")
    assert error_of(api, "vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-i",
                    CidrBlock="10.0.1.128/25") == ("InvalidCidrBlock.Overlapped", 400)
    assert error_of(api, "vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-i",
                    CidrBlock="192.168.0.0/24") == ("InvalidCidrBlock.Malformed", 400)
    assert error_of(api, "vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-zz",
                    CidrBlock="10.0.2.0/24") == ("InvalidZoneId.NotFound", 404)
    assert error_of(api, "vpc", "CreateVSwitch", VpcId="vpc-missing", ZoneId="cn-hangzhou-h",
                    CidrBlock="10.0.2.0/24") == ("InvalidVpcId.NotFound", 404)
    assert error_of(api, "vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-h") == ("MissingParameter", 400)


def test_vpc_parameter_checks(api):
    assert error_of(api, "vpc", "CreateVpc", CidrBlock="10.0.0.0/33") == ("InvalidCidrBlock.Malformed", 400)
    assert error_of(api, "vpc", "CreateVpc", CidrBlock="10.0.0.1/16") == ("InvalidCidrBlock.Malformed", 400)
    assert error_of(api, "vpc", "CreateVpc", VpcName="http://bad") == ("InvalidVpcName.Malformed", 400)
    assert error_of(api, "vpc", "DescribeVpcs", PageSize=51) == ("InvalidParameter", 400)
    assert api("vpc", "CreateVpc")["VpcId"]  # the CIDR block is optional: 172.16.0.0/12
    assert api("vpc", "DescribeVpcs")["Vpcs"]["Vpc"][0]["CidrBlock"] == "172.16.0.0/12"


def test_delete_vpc_dependencies(api, alicloud_emulator, network):
    vpc_id = network["vpc_id"]
    assert error_of(api, "vpc", "DeleteVpc", VpcId=vpc_id) == ("DependencyViolation.VSwitch", 400)
    api("vpc", "DeleteVSwitch", VSwitchId=network["vswitch_id"])
    assert error_of(api, "vpc", "DeleteVpc", VpcId=vpc_id) == ("DependencyViolation.SecurityGroup", 400)
    api("ecs", "DeleteSecurityGroup", SecurityGroupId=network["security_group_id"])
    api("vpc", "DeleteVpc", VpcId=vpc_id)
    assert api("vpc", "DescribeVpcs", VpcId=vpc_id)["TotalCount"] == 0
    assert error_of(api, "vpc", "DeleteVpc", VpcId=vpc_id) == ("InvalidVpcId.NotFound", 404)
    assert error_of(api, "vpc", "DeleteVSwitch", VSwitchId=network["vswitch_id"]) == \
        ("InvalidVSwitchId.NotFound", 404)


def test_delete_pending_vpc_and_vswitch_is_refused(frozen_api, frozen_emulator):
    vpc_id = frozen_api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16")["VpcId"]
    assert error_of(frozen_api, "vpc", "DeleteVpc", VpcId=vpc_id) == ("IncorrectVpcStatus", 400)
    frozen_emulator.advance_clock(6)
    vswitch_id = frozen_api("vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId="cn-hangzhou-h",
                            CidrBlock="10.0.1.0/24")["VSwitchId"]
    assert error_of(frozen_api, "vpc", "DeleteVSwitch", VSwitchId=vswitch_id) == ("IncorrectVSwitchStatus", 400)


def test_vswitch_with_instances_cannot_be_deleted(api, alicloud_emulator, network):
    api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large", VSwitchId=network["vswitch_id"],
        SecurityGroupId=network["security_group_id"])
    assert error_of(api, "vpc", "DeleteVSwitch", VSwitchId=network["vswitch_id"]) == ("DependencyViolation", 400)
    vswitch = api("vpc", "DescribeVSwitches", VSwitchId=network["vswitch_id"])["VSwitches"]["VSwitch"][0]
    assert vswitch["AvailableIpAddressCount"] == 251


def test_describe_vpcs_paging_and_filters(api):
    ids = [api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16", VpcName=f"vpc-{n}",
               Tags=[{"Key": "team", "Value": "a" if n % 2 else "b"}])["VpcId"] for n in range(12)]
    first = api("vpc", "DescribeVpcs")
    assert (first["TotalCount"], first["PageNumber"], first["PageSize"]) == (12, 1, 10)
    second = api("vpc", "DescribeVpcs", PageNumber=2)
    seen = [vpc["VpcId"] for vpc in first["Vpcs"]["Vpc"] + second["Vpcs"]["Vpc"]]
    assert seen == ids
    assert api("vpc", "DescribeVpcs", VpcName="vpc-3")["Vpcs"]["Vpc"][0]["VpcId"] == ids[3]
    tagged = api("vpc", "DescribeVpcs", Tags=[{"Key": "team", "Value": "a"}], PageSize=50)
    assert [vpc["VpcId"] for vpc in tagged["Vpcs"]["Vpc"]] == ids[1::2]
    assert api("vpc", "DescribeVpcs", VpcId=f"{ids[0]},{ids[5]}")["TotalCount"] == 2
    assert api("vpc", "DescribeVpcs", RegionId="cn-shanghai")["TotalCount"] == 0


def test_vpc_client_token_replay_and_mismatch(api):
    first = api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16", ClientToken="token-1")
    again = api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16", ClientToken="token-1")
    assert again["VpcId"] == first["VpcId"] and again["RequestId"] != first["RequestId"]
    assert api("vpc", "DescribeVpcs")["TotalCount"] == 1
    assert error_of(api, "vpc", "CreateVpc", CidrBlock="10.1.0.0/16", ClientToken="token-1") == \
        ("IdempotentParameterMismatch", 400)


def test_vpc_tags_api(api, network):
    api("vpc", "TagResources", ResourceType="VPC", ResourceIds=[network["vpc_id"]],
        Tags=[{"Key": "owner", "Value": "ml"}, {"Key": "env", "Value": "dev"}])
    listed = api("vpc", "ListTagResources", ResourceType="VPC", ResourceIds=[network["vpc_id"]])
    assert {(row["TagKey"], row["TagValue"]) for row in listed["TagResources"]["TagResource"]} == \
        {("owner", "ml"), ("env", "dev")}
    assert error_of(api, "vpc", "TagResources", ResourceType="VPC", ResourceIds=["vpc-nope"],
                    Tags=[{"Key": "a", "Value": "b"}]) == ("InvalidVpcId.NotFound", 404)
    api("vpc", "TagResources", ResourceType="VSWITCH", ResourceIds=[network["vswitch_id"]],
        Tags=[{"Key": "tier", "Value": "db"}])
    found = api("vpc", "DescribeVSwitches", VpcId=network["vpc_id"], Tags=[{"Key": "tier", "Value": "db"}])
    assert found["VSwitches"]["VSwitch"][0]["VSwitchId"] == network["vswitch_id"]


def test_regions_and_zones(api):
    regions = {region["RegionId"] for region in api("vpc", "DescribeRegions")["Regions"]["Region"]}
    assert {"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "ap-southeast-1"} <= regions
    zones = api("vpc", "DescribeZones", RegionId="cn-beijing")["Zones"]["Zone"]
    assert zones and all(zone["ZoneId"].startswith("cn-beijing-") for zone in zones)
    assert error_of(api, "vpc", "DescribeZones", RegionId="mars-north-1") == ("InvalidRegionId.NotFound", 404)
