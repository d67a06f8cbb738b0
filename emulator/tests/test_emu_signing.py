"""Both signing schemes, accepted and rejected exactly as the real gateway does, through the official SDKs."""
import re

import pytest
from alibabacloud_tea_openapi import exceptions as tea_exceptions
from alibabacloud_tea_openapi import utils_models as open_api_util_models
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.utils import parameter_helper
from darabonba.runtime import RuntimeOptions

from .emu_helpers import LegacyApi, tea_rds_client

STALE_TIMESTAMP = "2020-01-01T00:00:00Z"


def last_logged(emulator):
    return emulator.requests()[-1]


def test_legacy_v1_signature_is_accepted_and_logged(api, alicloud_emulator):
    regions = api("ecs", "DescribeRegions")["Regions"]["Region"]
    assert "cn-hangzhou" in {region["RegionId"] for region in regions}
    entry = last_logged(alicloud_emulator)
    assert (entry["product"], entry["action"], entry["status"], entry["signature"]) == \
        ("ecs", "DescribeRegions", 200, "HMAC-SHA1")


@pytest.mark.parametrize("algorithm, scheme", [(None, "ACS3-HMAC-SHA256"), ("v2", "HMAC-SHA1")])
def test_tea_signatures_are_accepted(alicloud_emulator, algorithm, scheme):
    client = tea_rds_client(alicloud_emulator, signature_algorithm=algorithm)
    response = client.describe_regions(__import__("alibabacloud_rds20140815.models").models.DescribeRegionsRequest())
    assert any(region.region_id == "cn-shanghai" for region in response.body.regions.rdsregion)
    assert last_logged(alicloud_emulator)["signature"] == scheme


def test_extra_key_pairs_are_accepted(alicloud_emulator_factory):
    emulator = alicloud_emulator_factory(extra_credentials={"LTAIsecond": "second-secret"})
    api = LegacyApi(emulator, access_key_id="LTAIsecond", secret="second-secret")
    assert api("vpc", "DescribeRegions")["Regions"]["Region"]


def test_legacy_wrong_secret_gets_the_string_to_sign_the_sdk_recognises(alicloud_emulator):
    api = LegacyApi(alicloud_emulator, secret="not-the-secret")
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeRegions")
    # The SDK only says InvalidAccessKeySecret when the server's "string to sign" equals its own, byte for byte.
    assert caught.value.get_error_code() == "InvalidAccessKeySecret"
    assert caught.value.get_http_status() == 400
    assert last_logged(alicloud_emulator)["code"] == "SignatureDoesNotMatch"


def test_tea_acs3_wrong_secret(alicloud_emulator):
    from alibabacloud_rds20140815 import models
    client = tea_rds_client(alicloud_emulator, secret="not-the-secret")
    with pytest.raises(tea_exceptions.ClientException) as caught:
        client.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.status_code == 400
    assert re.search(r"server string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}$", caught.value.data["Message"])


def test_tea_v2_wrong_secret(alicloud_emulator):
    from alibabacloud_rds20140815 import models
    client = tea_rds_client(alicloud_emulator, secret="not-the-secret", signature_algorithm="v2")
    with pytest.raises(tea_exceptions.ClientException) as caught:
        client.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    assert caught.value.code == "SignatureDoesNotMatch"
    assert "server string to sign is:POST&%2F&AccessKeyId%3D" in caught.value.data["Message"]


def test_unknown_access_key_legacy_and_tea(alicloud_emulator):
    from alibabacloud_rds20140815 import models
    with pytest.raises(ServerException) as caught:
        LegacyApi(alicloud_emulator, access_key_id="LTAIunknown")("ecs", "DescribeRegions")
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("InvalidAccessKeyId.NotFound", 404)
    client = tea_rds_client(alicloud_emulator, access_key_id="LTAIunknown")
    with pytest.raises(tea_exceptions.ClientException) as tea_caught:
        client.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    assert (tea_caught.value.code, tea_caught.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def _anonymous_call(client):
    params = open_api_util_models.Params(action="DescribeRegions", version="2014-08-15", protocol="HTTPS",
                                         pathname="/", method="POST", auth_type="Anonymous", style="RPC",
                                         req_body_type="formData", body_type="json")
    return client.call_api(params, open_api_util_models.OpenApiRequest(query={}), RuntimeOptions())


def test_missing_signature_is_incomplete(alicloud_emulator):
    with pytest.raises(tea_exceptions.ClientException) as caught:
        _anonymous_call(tea_rds_client(alicloud_emulator))
    assert (caught.value.code, caught.value.status_code) == ("IncompleteSignature", 400)


def test_malformed_authorization_is_incomplete(alicloud_emulator, monkeypatch):
    from alibabacloud_rds20140815 import models
    monkeypatch.setattr(TeaUtils, "get_authorization",
                        staticmethod(lambda *args: f"ACS3-HMAC-SHA256 Credential={alicloud_emulator.access_key_id}"))
    with pytest.raises(tea_exceptions.ClientException) as caught:
        tea_rds_client(alicloud_emulator).describe_regions(models.DescribeRegionsRequest())
    assert (caught.value.code, caught.value.status_code) == ("IncompleteSignature", 400)


def test_legacy_replayed_nonce(api, monkeypatch):
    monkeypatch.setattr(parameter_helper, "get_uuid", lambda: "fixed-nonce-0001")
    api("ecs", "DescribeRegions")
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeRegions")
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("SignatureNonceUsed", 400)


def test_tea_replayed_nonce(alicloud_emulator, monkeypatch):
    from alibabacloud_rds20140815 import models
    monkeypatch.setattr(TeaUtils, "get_nonce", staticmethod(lambda: "fixed-tea-nonce"))
    client = tea_rds_client(alicloud_emulator)
    client.describe_regions(models.DescribeRegionsRequest())
    with pytest.raises(tea_exceptions.ClientException) as caught:
        client.describe_regions(models.DescribeRegionsRequest())
    assert (caught.value.code, caught.value.status_code) == ("SignatureNonceUsed", 400)


def test_legacy_stale_timestamp(api, monkeypatch):
    monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: STALE_TIMESTAMP)
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeRegions")
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("InvalidTimeStamp.Expired", 400)


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_tea_stale_timestamp(alicloud_emulator, monkeypatch, algorithm):
    from alibabacloud_rds20140815 import models
    monkeypatch.setattr(TeaUtils, "get_timestamp", staticmethod(lambda: STALE_TIMESTAMP))
    with pytest.raises(tea_exceptions.ClientException) as caught:
        tea_rds_client(alicloud_emulator, signature_algorithm=algorithm).describe_regions(
            models.DescribeRegionsRequest())
    assert (caught.value.code, caught.value.status_code) == ("InvalidTimeStamp.Expired", 400)


def test_a_rejected_request_changes_nothing(alicloud_emulator):
    api = LegacyApi(alicloud_emulator, secret="not-the-secret")
    with pytest.raises(ServerException):
        api("vpc", "CreateVpc", RegionId="cn-hangzhou", CidrBlock="10.0.0.0/16")
    assert alicloud_emulator.resources()["vpcs"] == []
