"""The container backend through the official SDKs: ECS instances are systemd containers reachable over SSH at their
private and public addresses, RDS instances are PostgreSQL containers behind their whitelist, and nothing is left
behind. Needs the Docker engine, $MLFLOW_TEST_IMAGE and the RDS image (scripts/build-rds-image.sh)."""
import ipaddress
import json
import os
import random
import secrets
import socket
import string
import subprocess
import time

import pytest

psycopg2 = pytest.importorskip("psycopg2")

from alibabacloud_rds20140815 import models as rds_models  # noqa: E402
from alicloud_emulator.container_backend import (  # noqa: E402
    DEFAULT_ECS_IMAGE, DEFAULT_RDS_IMAGE, LABEL, PUBLIC_RANGE, ContainerBackend, Docker, DockerError, cleanup,
    docker_subnets, host_routes, list_made, main, quote_identifier, quote_literal, redact,
)
from alicloud_emulator.models import DBInstance  # noqa: E402

DEBIAN_IMAGE = "debian_12_9_x64_20G_alibase_20250117.vhd"
ZONE = "cn-hangzhou-h"
ECS_IMAGE = os.environ.get("MLFLOW_TEST_IMAGE", DEFAULT_ECS_IMAGE)
RDS_IMAGE = os.environ.get("MLFLOW_RDS_IMAGE", DEFAULT_RDS_IMAGE)
# Every wait below is bounded: the whole module takes well under five minutes when things work.
WAIT_SECONDS = 90


def _docker_ready():
    docker = Docker()
    return docker.ok("image", "inspect", ECS_IMAGE) and docker.ok("image", "inspect", RDS_IMAGE)


@pytest.fixture(scope="module")
def docker_images():
    if not _docker_ready():
        pytest.skip(f"needs the Docker engine and the images {ECS_IMAGE} (scripts/build-image.sh) and {RDS_IMAGE} "
                    f"(scripts/build-rds-image.sh)")


def wait_for(what, probe, timeout=WAIT_SECONDS, interval=0.3):
    """Poll ``probe`` until it returns something true; fail naming ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what}: not reached within {timeout} s (last seen: {last!r})")


def free_vpc_cidr():
    """A 10.x.0.0/16 that neither the host nor any Docker network on this engine uses (engineers share it)."""
    taken = [route[1] for route in host_routes()] + docker_subnets(Docker())
    candidates = list(range(64, 250))
    random.shuffle(candidates)
    for second in candidates:
        vpc = ipaddress.ip_network(f"10.{second}.0.0/16")
        if not any(vpc.overlaps(other) for other in taken):
            return vpc
    pytest.fail("no free 10.x.0.0/16 on this Docker engine")


def random_password(specials):
    """A password the API accepts (three character classes and more), new for every run."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for position in range(12))
    return "Aa1" + secrets.choice(specials) + body


def inspect(name):
    output = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=False).stdout
    found = json.loads(output or "[]")
    return found[0] if found else None


@pytest.fixture
def container_backend(docker_images):
    backend = ContainerBackend(ecs_image=ECS_IMAGE, rds_image=RDS_IMAGE)
    yield backend
    # Whatever happened in the test: nothing labelled by this emulator survives it.
    cleanup(backend.emulator_id)


@pytest.fixture
def alicloud_emulator(alicloud_emulator_factory, container_backend):
    """Overrides the plugin's fixture, so conftest's ``api`` and ``rds`` clients talk to a container-backed cloud.
    Stopped here (again by the factory: harmless), before container_backend's clean-up runs."""
    emulator = alicloud_emulator_factory(backend=container_backend)
    yield emulator
    emulator.stop()


@pytest.fixture
def vswitch(api, alicloud_emulator):
    vpc_cidr = free_vpc_cidr()
    vswitch_cidr = next(vpc_cidr.subnets(new_prefix=24))
    vpc_id = api("vpc", "CreateVpc", CidrBlock=str(vpc_cidr), VpcName="container-backend")["VpcId"]
    alicloud_emulator.advance_clock(10)
    vswitch_id = api("vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId=ZONE, CidrBlock=str(vswitch_cidr))["VSwitchId"]
    alicloud_emulator.advance_clock(10)
    group_id = api("ecs", "CreateSecurityGroup", VpcId=vpc_id)["SecurityGroupId"]
    return {"vpc_id": vpc_id, "vswitch_id": vswitch_id, "cidr": vswitch_cidr, "security_group_id": group_id}


def describe_instance(api, instance_id):
    found = api("ecs", "DescribeInstances", InstanceIds=json.dumps([instance_id]))["Instances"]["Instance"]
    return found[0] if found else None


def wait_instance_status(api, instance_id, status):
    def probe():
        instance = describe_instance(api, instance_id)
        return instance if instance and instance["Status"] == status else None
    return wait_for(f"instance {instance_id} {status}", probe)


def ssh_banner(address):
    try:
        with socket.create_connection((address, 22), timeout=3) as connection:
            connection.settimeout(3)
            return connection.recv(64).decode(errors="replace")
    except OSError as error:
        return f"unreachable: {error}"


def ssh_run(address, password, tmp_path, command):
    """Root password login with OpenSSH; the password comes from an askpass helper reading a 0600 file, never
    from arguments or the environment."""
    secret_file = tmp_path / "password"
    secret_file.touch(mode=0o600)
    secret_file.write_text(password)
    helper = tmp_path / "askpass"
    helper.write_text(f"#!/bin/sh\nexec cat '{secret_file}'\n")
    helper.chmod(0o700)
    environment = dict(os.environ, SSH_ASKPASS=str(helper), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
         "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10",
         "-o", "LogLevel=ERROR", f"root@{address}", command],
        env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False)


def container_addresses(container):
    return {name: settings["IPAddress"] for name, settings in container["NetworkSettings"]["Networks"].items()}


@pytest.mark.docker
@pytest.mark.slow
def test_ecs_instance_is_a_systemd_container_reachable_over_ssh(api, alicloud_emulator, container_backend, vswitch,
                                                                tmp_path):
    password = random_password("!@#%^*-_+=")
    started = time.monotonic()
    instance_id = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                      SecurityGroupId=vswitch["security_group_id"], VSwitchId=vswitch["vswitch_id"],
                      InstanceName="mlflow-host", Password=password, InternetMaxBandwidthOut=5,
                      )["InstanceIdSets"]["InstanceIdSet"][0]
    instance = wait_instance_status(api, instance_id, "Running")
    print(f"RunInstances -> Running with sshd answering: {time.monotonic() - started:.1f} s")
    private_ip = instance["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    public_ip = instance["PublicIpAddress"]["IpAddress"][0]
    assert ipaddress.ip_address(private_ip) in vswitch["cidr"]
    assert ipaddress.ip_address(public_ip) in PUBLIC_RANGE
    # Alibaba keeps the first address of a VSwitch: the first instance gets the second one.
    assert private_ip == str(vswitch["cidr"].network_address + 1)

    name = container_backend.container_name(instance_id)
    container = inspect(name)
    assert container is not None and container["State"]["Running"]
    assert container["Config"]["Labels"][LABEL] == container_backend.emulator_id
    assert container["Config"]["Hostname"] == instance["HostName"]
    addresses = container_addresses(container)
    assert sorted(addresses.values()) == sorted([private_ip, public_ip])
    vswitch_network = f"{vswitch['vswitch_id']}-{container_backend.emulator_id}"
    assert addresses[vswitch_network] == private_ip
    subnets = [config["Subnet"] for config in inspect(vswitch_network)["IPAM"]["Config"]]
    assert subnets == [str(vswitch["cidr"])]
    for address in (private_ip, public_ip):
        assert ssh_banner(address).startswith("SSH-2.0-OpenSSH")

    # Stop and start keep the container and both addresses.
    api("ecs", "StopInstance", InstanceId=instance_id)
    wait_instance_status(api, instance_id, "Stopped")
    wait_for("container stopped", lambda: not inspect(name)["State"]["Running"])
    assert ssh_banner(private_ip).startswith("unreachable")
    started = time.monotonic()
    api("ecs", "StartInstance", InstanceId=instance_id)
    wait_instance_status(api, instance_id, "Running")
    print(f"StartInstance -> Running with sshd answering: {time.monotonic() - started:.1f} s")
    container = inspect(name)
    assert container["State"]["Running"]
    assert sorted(container_addresses(container).values()) == sorted([private_ip, public_ip])
    assert ssh_banner(public_ip).startswith("SSH-2.0-OpenSSH")

    # RebootInstance restarts the container while the instance is Starting.
    booted_at = container["State"]["StartedAt"]
    api("ecs", "RebootInstance", InstanceId=instance_id)
    wait_instance_status(api, instance_id, "Running")
    assert inspect(name)["State"]["StartedAt"] != booted_at
    assert ssh_banner(private_ip).startswith("SSH-2.0-OpenSSH")

    assert container_backend.login_methods(instance_id) == ("password",)
    for address in (private_ip, public_ip):
        result = ssh_run(address, password, tmp_path, "hostname; id -u")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [instance["HostName"], "0"]
    wrong = ssh_run(private_ip, password + "x", tmp_path, "true")
    assert wrong.returncode != 0 and "denied" in wrong.stderr.lower()

    api("ecs", "DeleteInstance", InstanceId=instance_id, Force=True)
    assert describe_instance(api, instance_id) is None
    wait_for("container removed", lambda: inspect(name) is None)
    # The VSwitch network and the public one went with their last user.
    wait_for("networks removed", lambda: list_made(container_backend.emulator_id) == ([], []))


@pytest.mark.docker
@pytest.mark.slow
def test_key_pair_gives_root_key_login(api, alicloud_emulator, container_backend, vswitch, tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    api("ecs", "ImportKeyPair", KeyPairName="deployer", PublicKeyBody=(tmp_path / "id_ed25519.pub").read_text())
    instance_id = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                      SecurityGroupId=vswitch["security_group_id"], VSwitchId=vswitch["vswitch_id"],
                      KeyPairName="deployer")["InstanceIdSets"]["InstanceIdSet"][0]
    instance = wait_instance_status(api, instance_id, "Running")
    private_ip = instance["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    assert instance["PublicIpAddress"]["IpAddress"] == []
    assert container_backend.login_methods(instance_id) == ("key",)
    command = ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
               "-o", "LogLevel=ERROR", f"root@{private_ip}"]
    result = subprocess.run(command + ["id", "-un"], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "root"), result.stderr
    # Every instance gets host keys of its own, never the image's.
    fingerprint = subprocess.run(command + ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], capture_output=True,
                                 text=True, timeout=60, check=False).stdout.split()[:2]
    assert len(fingerprint) == 2 and fingerprint[0] == "ssh-ed25519"
    other = subprocess.run(["docker", "run", "--rm", ECS_IMAGE, "sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"],
                           capture_output=True, text=True, timeout=60, check=False).stdout
    assert fingerprint[1] not in other
    api("ecs", "DeleteInstance", InstanceId=instance_id, Force=True)
    wait_for("everything removed", lambda: list_made(container_backend.emulator_id) == ([], []))


@pytest.mark.docker
@pytest.mark.slow
def test_an_instance_whose_container_fails_never_reports_running(api, alicloud_emulator, container_backend, vswitch):
    container_backend.ecs_image = "computenest-mlflow/no-such-image:0"
    instance_id = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                      SecurityGroupId=vswitch["security_group_id"], VSwitchId=vswitch["vswitch_id"],
                      )["InstanceIdSets"]["InstanceIdSet"][0]
    failure = wait_for("the failure recorded", lambda: container_backend.failure(instance_id), timeout=30)
    assert "no-such-image" in failure
    # Far past the emulated boot time (40 s, at 200x in 0.2 s): still not Running.
    time.sleep(2)
    assert describe_instance(api, instance_id)["Status"] == "Starting"
    assert not container_backend.is_ready(alicloud_emulator.state.instances[instance_id])


def rds_wait_status(rds, db_instance_id, status):
    def probe():
        request = rds_models.DescribeDBInstanceAttributeRequest(dbinstance_id=db_instance_id)
        items = rds.describe_dbinstance_attribute(request).body.items.dbinstance_attribute
        return items[0] if items and items[0].dbinstance_status == status else None
    return wait_for(f"RDS {db_instance_id} {status}", probe)


def connect(address, user, password, database):
    return psycopg2.connect(host=address, port=5432, user=user, password=password, dbname=database,
                            connect_timeout=5)


def connection_error(address, user, password, database):
    try:
        connect(address, user, password, database).close()
    except psycopg2.OperationalError as error:
        return str(error)
    return None


@pytest.mark.docker
@pytest.mark.slow
def test_rds_instance_is_postgresql_behind_its_whitelist(rds, alicloud_emulator, container_backend, vswitch):
    cidr = vswitch["cidr"]
    # The host reaches the network through its bridge, the address the backend gives Docker's gateway.
    host_side = str(cidr.broadcast_address - 1)
    started = time.monotonic()
    created = rds.create_dbinstance(rds_models.CreateDBInstanceRequest(
        region_id="cn-hangzhou", engine="PostgreSQL", engine_version="15.0", dbinstance_class="pg.n2.2c.1m",
        dbinstance_storage=20, dbinstance_net_type="Intranet", pay_type="Postpaid", security_iplist=str(cidr),
        instance_network_type="VPC", vpcid=vswitch["vpc_id"], v_switch_id=vswitch["vswitch_id"], zone_id=ZONE,
    )).body
    db_id = created.dbinstance_id
    assert created.connection_string == f"{db_id}.pg.rds.aliyuncs.com" and created.port == "5432"
    rds_wait_status(rds, db_id, "Running")
    print(f"CreateDBInstance -> Running with PostgreSQL accepting connections: {time.monotonic() - started:.1f} s")
    net_info = rds.describe_dbinstance_net_info(rds_models.DescribeDBInstanceNetInfoRequest(
        dbinstance_id=db_id)).body.dbinstance_net_infos.dbinstance_net_info[0]
    address = net_info.ipaddress
    assert ipaddress.ip_address(address) in cidr

    name = container_backend.container_name(db_id)
    container = inspect(name)
    assert container["State"]["Running"]
    assert container["Config"]["Labels"][LABEL] == container_backend.emulator_id
    network = f"{vswitch['vswitch_id']}-{container_backend.emulator_id}"
    assert container_addresses(container) == {network: address}
    # The connection string resolves, by Docker's DNS, inside a container on the VSwitch (where ECS hosts live).
    resolved = subprocess.run(["docker", "run", "--rm", "--network", network, "--label",
                               f"{LABEL}={container_backend.emulator_id}", ECS_IMAGE, "getent", "hosts",
                               net_info.connection_string], capture_output=True, text=True, timeout=60, check=False)
    assert resolved.stdout.split()[:1] == [address], resolved.stderr

    password = random_password("!@#%^*-_+=")
    super_password = random_password("!@#%^*-_+=")
    rds.create_account(rds_models.CreateAccountRequest(dbinstance_id=db_id, account_name="mlflow",
                                                       account_password=password, account_type="Normal"))
    rds.create_account(rds_models.CreateAccountRequest(dbinstance_id=db_id, account_name="dbadmin",
                                                       account_password=super_password, account_type="Super"))
    rds.create_database(rds_models.CreateDatabaseRequest(dbinstance_id=db_id, dbname="mlflow",
                                                         character_set_name="UTF8", account_name="mlflow"))
    assert container_backend.wait(db_id, timeout=WAIT_SECONDS), container_backend.failure(db_id)

    with connect(address, "mlflow", password, "mlflow") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), pg_encoding_to_char(encoding), "
                       "pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert cursor.fetchone() == ("mlflow", "mlflow", "UTF8", "mlflow")
        # The owner can create its tables (what MLflow's migrations do).
        cursor.execute("CREATE TABLE experiments (id serial PRIMARY KEY, name text)")
        cursor.execute("SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = 'mlflow'")
        assert cursor.fetchone() == (False, False)
    connection.close()
    with connect(address, "dbadmin", super_password, "mlflow") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT rolcreatedb, rolcreaterole, rolsuper, pg_has_role('rds_superuser', 'member') "
                       "FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (True, True, False, True)
    connection.close()
    assert "password authentication failed" in connection_error(address, "mlflow", password + "x", "mlflow")

    # A whitelist of the lower half of the VSwitch (where instances get their addresses) shuts the host out ...
    lower_half = next(cidr.subnets(new_prefix=cidr.prefixlen + 1))
    rds.modify_security_ips(rds_models.ModifySecurityIpsRequest(dbinstance_id=db_id, security_ips=str(lower_half),
                                                                modify_mode="Cover"))
    refused = wait_for("the host refused by pg_hba.conf",
                       lambda: connection_error(address, "mlflow", password, "mlflow"), timeout=30)
    assert "no pg_hba.conf entry" in refused and host_side in refused
    # ... and appending the host's own address lets it in again: the whitelist, not breakage, decided.
    rds.modify_security_ips(rds_models.ModifySecurityIpsRequest(dbinstance_id=db_id, security_ips=host_side,
                                                                modify_mode="Append"))
    wait_for("the host admitted again", lambda: connection_error(address, "mlflow", password, "mlflow") is None,
             timeout=30)

    rds.delete_dbinstance(rds_models.DeleteDBInstanceRequest(dbinstance_id=db_id))
    wait_for("RDS container removed", lambda: inspect(name) is None)
    wait_for("VSwitch network removed", lambda: list_made(container_backend.emulator_id) == ([], []))


@pytest.mark.docker
@pytest.mark.slow
def test_stopping_the_emulator_removes_everything_it_made(rds, alicloud_emulator, container_backend, vswitch):
    rds.create_dbinstance(rds_models.CreateDBInstanceRequest(
        region_id="cn-hangzhou", engine="PostgreSQL", engine_version="15.0", dbinstance_class="pg.n2.2c.1m",
        dbinstance_storage=20, dbinstance_net_type="Intranet", pay_type="Postpaid", security_iplist="127.0.0.1",
        instance_network_type="VPC", vpcid=vswitch["vpc_id"], v_switch_id=vswitch["vswitch_id"], zone_id=ZONE,
    ))

    def made_so_far():
        made = list_made(container_backend.emulator_id)
        return made if made[0] else None
    containers, networks = wait_for("the RDS container exists", made_so_far)
    assert len(containers) == 1 and len(networks) == 1
    alicloud_emulator.stop()
    assert list_made(container_backend.emulator_id) == ([], [])


@pytest.mark.docker
@pytest.mark.slow
def test_cleanup_command_removes_only_the_named_emulators_things(docker_images):
    docker = Docker()
    mine, other = "e" + secrets.token_hex(4), "e" + secrets.token_hex(4)
    made = []
    try:
        for emulator_id in (mine, other):
            name = f"cleanup-probe-{emulator_id}"
            docker("network", "create", "--label", f"{LABEL}={emulator_id}", name)
            made.append(name)
        assert main(["--emulator-id", mine]) == 0  # listing only
        assert list_made(mine)[1] == [f"cleanup-probe-{mine}"]
        assert main(["--cleanup", "--emulator-id", mine]) == 0
        assert list_made(mine) == ([], [])
        assert list_made(other)[1] == [f"cleanup-probe-{other}"]
    finally:
        for name in made:
            docker("network", "rm", name, check=False)


@pytest.mark.docker
@pytest.mark.slow
def test_a_restarted_emulator_adopts_the_containers_of_its_state_file(docker_images, alicloud_emulator_factory, api,
                                                                      tmp_path):
    """``api`` is only used for its class: the SDK client of conftest, pointed at each emulator in turn."""
    state_file = tmp_path / "cloud.json"
    first_backend = ContainerBackend(ecs_image=ECS_IMAGE, rds_image=RDS_IMAGE, keep_on_close=True)
    try:
        first = alicloud_emulator_factory(backend=first_backend, state_file=str(state_file))
        first_api = type(api)(first)
        vpc_cidr = free_vpc_cidr()
        vswitch_cidr = next(vpc_cidr.subnets(new_prefix=24))
        vpc_id = first_api("vpc", "CreateVpc", CidrBlock=str(vpc_cidr))["VpcId"]
        first.advance_clock(10)
        vswitch_id = first_api("vpc", "CreateVSwitch", VpcId=vpc_id, ZoneId=ZONE,
                               CidrBlock=str(vswitch_cidr))["VSwitchId"]
        first.advance_clock(10)
        group_id = first_api("ecs", "CreateSecurityGroup", VpcId=vpc_id)["SecurityGroupId"]
        password = random_password("!@#%^*-_+=")
        instance_id = first_api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                                SecurityGroupId=group_id, VSwitchId=vswitch_id, Password=password,
                                InternetMaxBandwidthOut=5)["InstanceIdSets"]["InstanceIdSet"][0]
        before = wait_instance_status(first_api, instance_id, "Running")
        first.stop()
        assert password not in state_file.read_text()
        containers, networks = list_made(first_backend.emulator_id)
        assert containers == [first_backend.container_name(instance_id)] and len(networks) == 2
        assert inspect(containers[0])["State"]["Running"]

        second_backend = ContainerBackend(ecs_image=ECS_IMAGE, rds_image=RDS_IMAGE)
        second = alicloud_emulator_factory(backend=second_backend, state_file=str(state_file))
        second_api = type(api)(second)
        assert second_backend.emulator_id == first_backend.emulator_id
        after = describe_instance(second_api, instance_id)
        assert after["Status"] == "Running"
        assert after["VpcAttributes"] == before["VpcAttributes"]
        public_ip = after["PublicIpAddress"]["IpAddress"][0]
        assert public_ip == before["PublicIpAddress"]["IpAddress"][0]
        assert second_backend.wait(instance_id, timeout=WAIT_SECONDS), second_backend.failure(instance_id)
        # The root password set by the first run still works: the container is the same machine.
        result = ssh_run(public_ip, password, tmp_path, "id -u")
        assert (result.returncode, result.stdout.strip()) == (0, "0"), result.stderr
        # Addresses in use are known again: the next instance gets the next address.
        next_id = second_api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                             SecurityGroupId=group_id, VSwitchId=vswitch_id,
                             )["InstanceIdSets"]["InstanceIdSet"][0]
        next_instance = wait_instance_status(second_api, next_id, "Running")
        assert next_instance["VpcAttributes"]["PrivateIpAddress"]["IpAddress"] == [
            str(vswitch_cidr.network_address + 2)]
        second.stop()
        assert list_made(first_backend.emulator_id) == ([], [])
    finally:
        cleanup(first_backend.emulator_id)


# --- without Docker: the pieces that decide what goes into the containers --------------------------------------------
def make_db_instance(security_ip_arrays):
    return DBInstance(
        db_instance_id="pgm-bp1test", region_id="cn-hangzhou", zone_id=ZONE, engine="PostgreSQL",
        engine_version="15.0", db_instance_class="pg.n2.2c.1m", cpu=2, memory=4096, max_connections=400, storage=20,
        storage_type="cloud_essd", category="Basic", pay_type="Postpaid", net_type="Intranet", network_type="VPC",
        vpc_id="vpc-1", vswitch_id="vsw-1", description="", status="Running", creation_time=0.0,
        security_ip_arrays=security_ip_arrays)


def test_pg_hba_follows_every_whitelist_group_and_always_keeps_local_admin():
    hba = ContainerBackend._pg_hba(make_db_instance({
        "default": ["127.0.0.1", "10.0.1.0/24", "10.0.1.7"], "app": ["10.0.1.0/24", "192.168.5.9/32", "bogus"]}))
    rules = [line.split("#")[0].split() for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules == [["local", "all", "postgres", "peer"],
                     ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
                     ["host", "all", "all", "10.0.1.0/24", "scram-sha-256"],      # app (groups sorted), once
                     ["host", "all", "all", "192.168.5.9/32", "scram-sha-256"],
                     ["host", "all", "all", "10.0.1.7/32", "scram-sha-256"]]      # a bare address is a /32
    # The deny-all whitelist of a fresh instance lets only local administration in.
    closed = ContainerBackend._pg_hba(make_db_instance({"default": ["127.0.0.1"]}))
    assert [line for line in closed.splitlines() if line.startswith("host")] == [
        "host all all 127.0.0.1/32 scram-sha-256"]


def test_sql_quoting_and_log_redaction():
    assert quote_identifier('we"ird') == '"we""ird"'
    assert quote_literal("it's") == "'it''s'"
    psql_error = ('ERROR:  syntax error at or near "x"\n'
                  "LINE 1: CREATE ROLE \"a\" LOGIN PASSWORD 'Secret-1x' x;\n"
                  "                                                  ^")
    logged = redact(psql_error, ["Secret-1x"])
    assert "Secret-1x" not in logged and "LINE" not in logged and logged.startswith("ERROR:")
    assert redact("chpasswd: root:Secret-1x bad", ["Secret-1x"]) == "chpasswd: root:*** bad"


def test_docker_errors_name_the_command_but_never_the_secret(tmp_path):
    fake = tmp_path / "docker"
    # A stand-in CLI that fails and echoes its stdin on stderr, as a careless tool might.
    fake.write_text("#!/bin/sh\ncat >&2\nexit 3\n")
    fake.chmod(0o700)
    with pytest.raises(DockerError) as caught:
        Docker(binary=str(fake))("exec", "-i", "box", "chpasswd", stdin="root:Secret-1x\n",
                                 secret_values=("Secret-1x",))
    assert "docker exec -i failed (3)" in str(caught.value)
    assert "Secret-1x" not in str(caught.value) and "root:***" in str(caught.value)


def test_login_files_carry_the_sshd_drop_in_the_key_and_private_host_keys():
    import io
    import tarfile
    stream = ContainerBackend._login_files("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzZXI= user@host\n", "iZtestZ")
    with tarfile.open(fileobj=io.BytesIO(stream)) as archive:
        members = {member.name: member for member in archive.getmembers()}
        drop_in = archive.extractfile("etc/ssh/sshd_config.d/60-computenest-emulator.conf").read().decode()
        authorized = archive.extractfile("root/.ssh/authorized_keys").read().decode()
    assert "PermitRootLogin yes" in drop_in and "PasswordAuthentication yes" in drop_in
    assert authorized == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzZXI= user@host\n"
    assert members["root/.ssh"].isdir() and members["root/.ssh"].mode == 0o700
    assert members["root/.ssh/authorized_keys"].mode == 0o600
    for kind in ("ed25519", "ecdsa"):
        assert members[f"etc/ssh/ssh_host_{kind}_key"].mode == 0o600
        assert members[f"etc/ssh/ssh_host_{kind}_key.pub"].mode == 0o644
    assert all(member.uid == 0 and member.gid == 0 for member in members.values())
    # Without a key pair root has no authorized_keys at all.
    with tarfile.open(fileobj=io.BytesIO(ContainerBackend._login_files(None, "iZtestZ"))) as archive:
        assert not any(name.startswith("root/") for name in archive.getnames())
