"""RAM policy enforcement: a key bound to a policy gets 403 Forbidden.RAM for every action it does not allow."""
import json
import secrets
import subprocess
import sys

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from alibabacloud_rds20140815 import models
from alibabacloud_tea_openapi import exceptions as tea_exceptions

from alicloud_emulator.ram import RamPolicy

from .emu_helpers import LegacyApi, tea_rds_client

POLICY = {"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": ["ecs:Describe*", "vpc:CreateVpc", "rds:DescribeRegions"], "Resource": "*"},
    {"Effect": "Deny", "Action": "ecs:DescribeInstances", "Resource": "acs:ecs:*:*:instance/*"},
    {"Effect": "Allow", "Action": "RDS:DescribePrice", "Resource": "acs:ecs:*:*:*"},
]}


@pytest.fixture
def bound(alicloud_emulator_factory):
    """An emulator with the owner key and a second key bound to POLICY."""
    key, secret = "LTAIbound" + secrets.token_hex(4), secrets.token_urlsafe(18)
    emulator = alicloud_emulator_factory(extra_credentials={key: secret}, ram_policies={key: POLICY})
    return emulator, LegacyApi(emulator, access_key_id=key, secret=secret), tea_rds_client(
        emulator, access_key_id=key, secret=secret), key


def test_allowed_actions_pass_and_others_are_forbidden_naming_the_action(bound):
    emulator, api, _rds, key = bound
    assert api("ecs", "DescribeRegions")["Regions"]["Region"]
    assert api("vpc", "CreateVpc", RegionId="cn-hangzhou", CidrBlock="10.0.0.0/16")["VpcId"]
    with pytest.raises(ServerException) as caught:
        api("ecs", "CreateSecurityGroup", RegionId="cn-hangzhou")
    assert caught.value.get_http_status() == 403
    assert caught.value.get_error_code() == "Forbidden.RAM"
    assert caught.value.get_error_msg().startswith("User not authorized to operate on the specified resource")
    last = emulator.requests()[-1]
    assert (last["action"], last["status"], last["code"]) == ("CreateSecurityGroup", 403, "Forbidden.RAM")
    # The owner key is not bound: the same call passes.
    assert LegacyApi(emulator)("ecs", "DescribeSecurityGroups", RegionId="cn-hangzhou")["RequestId"]
    assert key


def test_explicit_deny_wins_and_the_body_says_which_action(bound):
    emulator, api, _rds, _key = bound
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeInstances", RegionId="cn-hangzhou")
    assert caught.value.get_error_code() == "Forbidden.RAM"
    request = api.request("ecs", "DescribeInstances", RegionId="cn-hangzhou")
    status, _headers, body, _error = api.client._implementation_of_do_action(request)
    detail = json.loads(body)["AccessDeniedDetail"]
    assert status == 403
    assert detail["AuthAction"] == "ecs:DescribeInstances" and detail["NoPermissionType"] == "ExplicitDeny"
    assert emulator.resources()["instances"] == []


def test_tea_sdk_sees_forbidden_and_resource_scoped_to_another_product_does_not_allow(bound):
    _emulator, _api, rds, _key = bound
    assert rds.describe_regions(models.DescribeRegionsRequest()).body.regions
    with pytest.raises(tea_exceptions.ClientException) as caught:
        rds.describe_price(models.DescribePriceRequest(
            region_id="cn-hangzhou", engine="PostgreSQL", engine_version="16.0", dbinstance_class="pg.n2.2c.1m",
            dbinstance_storage=20, pay_type="Postpaid", quantity=1))
    assert caught.value.code == "Forbidden.RAM"
    assert caught.value.status_code == 403
    assert caught.value.data["AccessDeniedDetail"]["NoPermissionType"] == "ImplicitDeny"


@pytest.mark.parametrize("document, fragment", [
    ({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, "Effect"),
    ({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}, "Action"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]}, "Condition"),
    ({"Version": "1"}, "Statement"),
])
def test_malformed_policies_are_refused(document, fragment):
    with pytest.raises(ValueError, match=fragment):
        RamPolicy(document)


def test_cli_refuses_an_unreadable_policy(tmp_path):
    bad = tmp_path / "policy.json"
    bad.write_text("{not json")
    result = subprocess.run([sys.executable, "-m", "alicloud_emulator", "--access-key-id", "AK",
                             "--access-key-secret", "S", "--ram-policy", f"AK={bad}"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "--ram-policy" in result.stderr and str(bad) in result.stderr
