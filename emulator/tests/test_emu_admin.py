"""The command, the admin endpoint and the state file, as an out-of-process user (a demo, ansible) sees them."""
import json
import os
import signal
import stat
import subprocess
import sys
import urllib.request

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from alicloud_emulator import Emulator
from .emu_helpers import DEBIAN_IMAGE, LegacyApi, build_network

NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# The admin token the command gets through its environment (start_cli), as scripts/local-cloud.sh passes it.
CLI_ADMIN_TOKEN = "cli-admin-token-" + "x" * 16


def admin(url, route, method="GET", document=None, token=CLI_ADMIN_TOKEN):
    data = json.dumps(document).encode() if document is not None else None
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(f"{url}/_emulator/{route}", data=data, method=method, headers=headers)
    with NO_PROXY_OPENER.open(request, timeout=10) as response:
        return json.loads(response.read())


class Served:
    """Just what LegacyApi needs of an emulator."""

    def __init__(self, url, access_key_id, access_key_secret):
        self.url = url
        self.endpoint = url[len("http://"):]
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret


@pytest.fixture
def start_cli(tmp_path):
    processes = []

    def start(*extra):
        env = dict(os.environ, ALICLOUD_EMULATOR_SECRET="cli-secret", ALICLOUD_EMULATOR_ADMIN_TOKEN=CLI_ADMIN_TOKEN)
        process = subprocess.Popen(
            [sys.executable, "-m", "alicloud_emulator", "--port", "0", "--access-key-id", "LTAIcli",
             "--clock-speed", "100", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        processes.append(process)
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line + process.stderr.read()
        return process, Served(line[len("listening on "):], "LTAIcli", "cli-secret")
    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def stop(process):
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_help_documents_every_option():
    result = subprocess.run([sys.executable, "-m", "alicloud_emulator", "--help"], capture_output=True, text=True,
                            check=True)
    for option in ("--host", "--port", "--access-key-id", "--access-key-secret", "--extra-key", "--clock-speed",
                   "--seed", "--fault", "--state-file", "throttling", "unavailable", "internal", "lost",
                   "/_emulator/requests"):
        assert option in result.stdout


def test_cli_serves_the_sdks_and_the_admin_endpoint(start_cli):
    process, served = start_cli("--fault", "throttling:DescribeZones:1", "--extra-key", "LTAItwo:two-secret")
    api = LegacyApi(served)
    assert api("ecs", "DescribeRegions")["Regions"]["Region"]
    assert LegacyApi(served, access_key_id="LTAItwo", secret="two-secret")("vpc", "DescribeRegions")
    with pytest.raises(ServerException) as caught:
        api("ecs", "DescribeZones")
    assert caught.value.get_error_code() == "Throttling.User"
    log = admin(served.url, "requests")["requests"]
    assert [(entry["product"], entry["action"], entry["code"]) for entry in log] == [
        ("ecs", "DescribeRegions", None), ("vpc", "DescribeRegions", None),
        ("ecs", "DescribeZones", "Throttling.User")]
    assert admin(served.url, "requests?since=2")["requests"][0]["action"] == "DescribeZones"
    admin(served.url, "faults", "POST", {"kind": "unavailable", "action": "DescribeVpcs"})
    assert admin(served.url, "faults")["faults"][-1]["kind"] == "unavailable"
    with pytest.raises(ServerException) as caught:
        api("vpc", "DescribeVpcs")
    assert caught.value.get_http_status() == 503
    admin(served.url, "faults", "DELETE")
    assert api("vpc", "DescribeVpcs")["TotalCount"] == 0
    vpc_id = api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16")["VpcId"]
    before = admin(served.url, "clock")["now"]
    assert admin(served.url, "clock", "POST", {"advance": 30})["now"] >= before + 30
    assert admin(served.url, "resources")["vpcs"][0]["status"] == "Available"
    assert admin(served.url, "resources")["vpcs"][0]["vpc_id"] == vpc_id
    admin(served.url, "reset", "POST", {})
    assert admin(served.url, "resources")["vpcs"] == []
    assert "cli-secret" not in json.dumps(admin(served.url, "requests"))
    stop(process)


def test_admin_endpoint_needs_the_token(start_cli):
    served = start_cli()[1]
    for token in (None, "wrong-token", CLI_ADMIN_TOKEN[:-1]):
        for route, method, document in (("requests", "GET", None), ("reset", "POST", {}), ("health", "GET", None),
                                        ("faults", "POST", {"kind": "internal"})):
            with pytest.raises(urllib.error.HTTPError) as caught:
                admin(served.url, route, method, document, token=token)
            assert caught.value.code == 401, (route, token)
            assert caught.value.headers["WWW-Authenticate"] == "Bearer"
    # Nothing the refused calls asked for happened.
    assert admin(served.url, "faults")["faults"] == []
    assert admin(served.url, "health")["status"] == "ok"


def test_cli_keeps_a_generated_token_in_a_private_file(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "ALICLOUD_EMULATOR_ADMIN_TOKEN"}
    env["ALICLOUD_EMULATOR_SECRET"] = "cli-secret"
    token_file = tmp_path / "admin-token"
    argv = [sys.executable, "-m", "alicloud_emulator", "--port", "0", "--access-key-id", "LTAIcli",
            "--admin-token-file", str(token_file)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = process.stdout.readline().strip()[len("listening on "):]
        assert process.stdout.readline().strip() == "admin token file: %s" % token_file
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32
        # The token is on no command line: not in the emulator's own argv.
        with open("/proc/%d/cmdline" % process.pid, "rb") as handle:
            assert token.encode() not in handle.read()
        assert admin(url, "health", token=token)["status"] == "ok"
    finally:
        stop(process)
    # A second start reads the same file; one readable by others is refused.
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = process.stdout.readline().strip()[len("listening on "):]
        assert admin(url, "health", token=token)["status"] == "ok"
    finally:
        stop(process)
    token_file.chmod(0o644)
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=60)
    assert refused.returncode == 2 and "readable by others" in refused.stderr


def test_admin_rejects_bad_input(start_cli):
    served = start_cli()[1]
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin(served.url, "faults", "POST", {"kind": "meteor"})
    assert caught.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin(served.url, "nothing-here")
    assert caught.value.code == 404


def test_cli_refuses_a_missing_secret():
    env = {key: value for key, value in os.environ.items() if key != "ALICLOUD_EMULATOR_SECRET"}
    result = subprocess.run([sys.executable, "-m", "alicloud_emulator", "--access-key-id", "AK"],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 2 and "--access-key-secret" in result.stderr


def test_state_file_survives_a_restart(start_cli, tmp_path):
    state_file = tmp_path / "cloud.json"
    process, served = start_cli("--state-file", str(state_file))
    api = LegacyApi(served)
    vpc_id = api("vpc", "CreateVpc", CidrBlock="10.0.0.0/16", VpcName="kept")["VpcId"]
    stop(process)
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert "cli-secret" not in state_file.read_text()
    process, served = start_cli("--state-file", str(state_file))
    api = LegacyApi(served)
    vpcs = api("vpc", "DescribeVpcs")["Vpcs"]["Vpc"]
    assert [(vpc["VpcId"], vpc["VpcName"]) for vpc in vpcs] == [(vpc_id, "kept")]
    assert api("vpc", "CreateVpc", CidrBlock="10.1.0.0/16")["VpcId"] != vpc_id
    stop(process)


def test_state_file_keeps_lifecycles_and_tokens_going(tmp_path):
    state_file = str(tmp_path / "cloud.json")
    first = Emulator(access_key_id="AK", access_key_secret="SK", clock_speed=1e-9, state_file=state_file).start()
    api = LegacyApi(first)
    network = build_network(api, first)
    ids = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large", Amount=2,
              VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"], Password="Passw0rd!x",
              ClientToken="resume-token")["InstanceIdSets"]["InstanceIdSet"]
    first.stop()
    assert "Passw0rd!x" not in open(state_file).read()
    second = Emulator(access_key_id="AK", access_key_secret="SK", clock_speed=1e-9, state_file=state_file).start()
    try:
        api = LegacyApi(second)
        listing = api("ecs", "DescribeInstances", InstanceIds=json.dumps(ids))["Instances"]["Instance"]
        assert [instance["Status"] for instance in listing] == ["Pending", "Pending"]
        second.advance_clock(60)
        listing = api("ecs", "DescribeInstances", InstanceIds=json.dumps(ids))["Instances"]["Instance"]
        assert [instance["Status"] for instance in listing] == ["Running", "Running"]
        again = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large", Amount=2,
                    VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"],
                    Password="Passw0rd!x", ClientToken="resume-token")["InstanceIdSets"]["InstanceIdSet"]
        assert again == ids
        more = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                   VSwitchId=network["vswitch_id"],
                   SecurityGroupId=network["security_group_id"])["InstanceIdSets"]["InstanceIdSet"]
        private_ips = {i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
                       for i in api("ecs", "DescribeInstances")["Instances"]["Instance"]}
        assert len(private_ips) == 3 and more[0] not in ids
    finally:
        second.stop()
