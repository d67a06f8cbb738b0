"""Helpers of the emulator's tests: clients of the official SDKs pointed at an emulator, and a ready network.

A module of its own (not conftest) so that test modules import it by a name no other conftest.py shares.
"""
import importlib
import json

from alibabacloud_rds20140815.client import Client as RdsClient
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.client import AcsClient

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
DEBIAN_IMAGE = "debian_12_9_x64_20G_alibase_20250117.vhd"
# The clock of a "frozen" emulator: lifecycle moves only when a test advances it.
FROZEN_CLOCK_SPEED = 1e-9


def request_class(product, action):
    package = {"ecs": "aliyunsdkecs.request.v20140526", "vpc": "aliyunsdkvpc.request.v20160428"}[product]
    module = importlib.import_module(f"{package}.{action}Request")
    return getattr(module, f"{action}Request")


class LegacyApi:
    """The legacy core SDK with the ECS/VPC request classes, as modules use it: ``api('ecs', 'RunInstances',
    ImageId=...)`` calls the request's own setters (``set_ImageId``), so the wire format is the SDK's."""

    def __init__(self, emulator, access_key_id=None, secret=None, region="cn-hangzhou", auto_retry=False):
        self.emulator = emulator
        self.region = region
        self.client = AcsClient(access_key_id or emulator.access_key_id, secret or emulator.access_key_secret,
                                region, auto_retry=auto_retry, max_retry_time=3)

    def request(self, product, action, **params):
        request = request_class(product, action)()
        request.set_endpoint(self.emulator.endpoint)
        request.set_protocol_type("http")
        for name, value in params.items():
            if name == "RegionId" and not hasattr(request, "set_RegionId"):
                # Without it the SDK sends the client's region; modules of other regions set it like this.
                request.add_query_param("RegionId", value)
                continue
            setter = getattr(request, f"set_{name}", None)
            if setter is None:
                raise AttributeError(f"{action}Request has no setter for {name}")
            setter(value)
        return request

    def __call__(self, product, action, **params):
        return json.loads(self.client.do_action_with_exception(self.request(product, action, **params)))


def tea_rds_client(emulator, secret=None, access_key_id=None, signature_algorithm=None):
    config = Config(access_key_id=access_key_id or emulator.access_key_id,
                    access_key_secret=secret or emulator.access_key_secret, region_id="cn-hangzhou",
                    endpoint=emulator.endpoint, protocol="http")
    if signature_algorithm:
        config.signature_algorithm = signature_algorithm
    return RdsClient(config)


def build_network(api, emulator, region="cn-hangzhou", cidr="10.0.0.0/16", vswitch_cidr="10.0.1.0/24"):
    """A VPC, an Available VSwitch in the region's first zone, and a security group."""
    vpc_id = api("vpc", "CreateVpc", RegionId=region, CidrBlock=cidr, VpcName="net")["VpcId"]
    emulator.advance_clock(10)
    zone = f"{region}-" + {"cn-hangzhou": "h", "cn-shanghai": "e", "cn-beijing": "h", "cn-shenzhen": "a",
                           "ap-southeast-1": "a"}[region]
    vswitch_id = api("vpc", "CreateVSwitch", RegionId=region, VpcId=vpc_id, ZoneId=zone,
                     CidrBlock=vswitch_cidr)["VSwitchId"]
    emulator.advance_clock(10)
    group_id = api("ecs", "CreateSecurityGroup", RegionId=region, VpcId=vpc_id)["SecurityGroupId"]
    return {"vpc_id": vpc_id, "vswitch_id": vswitch_id, "security_group_id": group_id, "zone_id": zone,
            "region": region}
