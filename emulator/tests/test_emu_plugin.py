"""The pytest plugin's fixtures: what other test suites rely on."""
import socket

from .emu_helpers import LegacyApi


def test_fixture_object_contract(alicloud_emulator):
    host, port = alicloud_emulator.endpoint.split(":")
    assert host == "127.0.0.1" and int(port) > 0
    assert alicloud_emulator.url == f"http://{alicloud_emulator.endpoint}"
    assert alicloud_emulator.region == "cn-hangzhou"
    assert alicloud_emulator.env() == {
        "ALICLOUD_ACCESS_KEY": alicloud_emulator.access_key_id,
        "ALICLOUD_SECRET_KEY": alicloud_emulator.access_key_secret,
        "ALICLOUD_REGION": "cn-hangzhou",
        "ALICLOUD_ENDPOINT": alicloud_emulator.url,
    }
    # The default clock runs fast: a VPC is Available within a fraction of a second.
    api = LegacyApi(alicloud_emulator)
    vpc_id = api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16")["VpcId"]
    assert alicloud_emulator.clock.speed == 200
    entry = alicloud_emulator.requests()[-1]
    assert {"product", "action", "region", "params", "status", "code", "time"} <= set(entry)
    assert alicloud_emulator.resources()["vpcs"][0]["vpc_id"] == vpc_id


def test_each_fixture_has_its_own_keys(alicloud_emulator, alicloud_emulator_factory):
    other = alicloud_emulator_factory(region="cn-shanghai")
    assert other.port != alicloud_emulator.port
    assert other.access_key_secret != alicloud_emulator.access_key_secret
    assert other.env()["ALICLOUD_REGION"] == "cn-shanghai"


def test_stop_closes_the_port_and_may_be_repeated(alicloud_emulator_factory):
    emulator = alicloud_emulator_factory()
    port = emulator.port
    emulator.stop()
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", port)) != 0
