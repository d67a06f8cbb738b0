"""Both paging styles of DescribeInstances over thousands of instances in several regions."""
import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from .emu_helpers import DEBIAN_IMAGE, LegacyApi, build_network

REGION_SIZES = {"cn-hangzhou": 3000, "cn-shanghai": 300, "cn-beijing": 200, "ap-southeast-1": 100}


@pytest.fixture(scope="module")
def crowded(request):
    """One emulator for the module: populating it is the expensive part, and these tests only read."""
    from alicloud_emulator import Emulator
    emulator = Emulator(access_key_id="LTAIpaging", access_key_secret="paging-secret", clock_speed=200).start()
    request.addfinalizer(emulator.stop)
    api = LegacyApi(emulator)
    created = {}
    for index, (region, size) in enumerate(REGION_SIZES.items()):
        network = build_network(api, emulator, region=region, cidr=f"10.{index}.0.0/16",
                                vswitch_cidr=f"10.{index}.0.0/20")
        ids = []
        for batch in range(size // 100):
            ids += api("ecs", "RunInstances", RegionId=region, ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                       VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"], Amount=100,
                       Tags=[{"Key": "batch", "Value": str(batch)}])["InstanceIdSets"]["InstanceIdSet"]
        created[region] = ids
    return emulator, api, created


def test_page_number_paging_returns_every_instance_once(crowded):
    api, created = crowded[1:]
    for region, ids in created.items():
        seen, page_number = [], 1
        while True:
            page = api("ecs", "DescribeInstances", RegionId=region, PageSize=100, PageNumber=page_number)
            assert page["TotalCount"] == len(ids) and page["PageSize"] == 100
            instances = page["Instances"]["Instance"]
            if not instances:
                break
            assert all(instance["RegionId"] == region for instance in instances)
            seen += [instance["InstanceId"] for instance in instances]
            page_number += 1
        assert seen == ids


def test_next_token_paging_returns_every_instance_once(crowded):
    api, created = crowded[1:]
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = api("ecs", "DescribeInstances", **params)
        seen += [instance["InstanceId"] for instance in page["Instances"]["Instance"]]
        pages += 1
        token = page["NextToken"]
        if not token:
            break
    assert seen == created["cn-hangzhou"] and pages == 30


def test_tag_filter_with_paging(crowded):
    api, created = crowded[1:]
    first = api("ecs", "DescribeInstances", RegionId="cn-shanghai", Tags=[{"Key": "batch", "Value": "2"}],
                MaxResults=60)
    second = api("ecs", "DescribeInstances", RegionId="cn-shanghai", Tags=[{"Key": "batch", "Value": "2"}],
                 MaxResults=60, NextToken=first["NextToken"])
    ids = [i["InstanceId"] for i in first["Instances"]["Instance"] + second["Instances"]["Instance"]]
    assert ids == created["cn-shanghai"][200:300] and second["NextToken"] == ""


@pytest.mark.parametrize("params", [{"PageSize": 101}, {"MaxResults": 101}, {"PageSize": 0}, {"PageNumber": 0}])
def test_page_size_limits(crowded, params):
    api = crowded[1]
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeInstances", **params)
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("InvalidParameter", 400)


def test_malformed_next_token(crowded):
    api = crowded[1]
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeInstances", MaxResults=10, NextToken="%%%not-a-token")
    assert caught.value.get_error_code() == "InvalidNextToken.Malformed"


def test_default_page_is_ten(crowded):
    api, created = crowded[1:]
    page = api("ecs", "DescribeInstances", RegionId="ap-southeast-1")
    assert [i["InstanceId"] for i in page["Instances"]["Instance"]] == created["ap-southeast-1"][:10]
    assert (page["PageNumber"], page["PageSize"]) == (1, 10)


def test_next_token_survives_deletion_between_pages(alicloud_emulator, api, network):
    ids = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large", Amount=30,
              VSwitchId=network["vswitch_id"],
              SecurityGroupId=network["security_group_id"])["InstanceIdSets"]["InstanceIdSet"]
    alicloud_emulator.advance_clock(60)
    first = api("ecs", "DescribeInstances", MaxResults=10)
    api("ecs", "DeleteInstances", InstanceIds=ids[:5], Force=True)
    rest, token = [], first["NextToken"]
    while token:
        page = api("ecs", "DescribeInstances", MaxResults=10, NextToken=token)
        rest += [i["InstanceId"] for i in page["Instances"]["Instance"]]
        token = page["NextToken"]
    assert rest == ids[10:]
