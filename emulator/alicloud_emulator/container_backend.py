"""The container backend: real hosts and real databases behind the emulated APIs.

Every VSwitch becomes a Docker bridge network whose subnet is the VSwitch CIDR, every ECS instance a Debian 12
systemd container with sshd on it (its PrivateIpAddress is the container's address), every public IP an address on
one more network carved from 198.18.0.0/15, and every RDS instance a PostgreSQL container reachable by its
connection string (a network alias) whose pg_hba.conf follows the whitelist. emulator/CONTAINER_BACKEND.md has the
whole mapping.

Hooks run under the emulator's state lock, so they only reserve addresses and queue the slow Docker work on a
per-resource worker (one thread each, so a resource's jobs run in API order). The Running hooks wait for that work,
bounded by ``hook_wait`` (they hold the emulator's lock), so that Running means "sshd answers" or "PostgreSQL accepts
connections" whenever the containers come up in that time; ``is_ready`` lets an emulator gate the transition itself.

Only the docker CLI is used (the emulator stays standard-library only). Secrets never reach process arguments:
chpasswd and psql read them on stdin, and error text is redacted before it is logged.

Standalone clean-up for CI: ``python -m alicloud_emulator.container_backend --cleanup --all``.
"""
import argparse
import io
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout

from .backend import RESERVED_HIGH, RESERVED_LOW, InstanceBackend

LABEL = "computenest.emulator"
RESOURCE_LABEL = "computenest.emulator.resource"
DEFAULT_ECS_IMAGE = "computenest-mlflow/debian12-systemd:bookworm-2"
DEFAULT_RDS_IMAGE = "computenest-mlflow/rds-postgresql:15"
# RFC 2544 benchmarking range: neither private nor routed on the internet, so a "public" address handed out here can
# never be mistaken for (or reach) a real host.
PUBLIC_RANGE = ipaddress.ip_network("198.18.0.0/15")
PUBLIC_PREFIX = 24
SSH_PORT = 22
PG_PORT = 5432
PG_CONFIG_DIR = "/etc/postgresql/15/main"
# Alibaba's PostgreSQL gives Super accounts this role; here it only groups them.
SUPER_GROUP = "rds_superuser"
# PostgreSQL encodings that cannot be a server encoding (client-only); such databases are created as UTF8.
CLIENT_ONLY_ENCODINGS = {"GBK", "BIG5"}

# What containers.md found to run systemd as PID 1 on this kind of host (--privileged fails). SIGRTMIN+3 is systemd's
# "halt" request: docker stop then shuts the instance down cleanly instead of waiting for the kill timeout.
SYSTEMD_OPTIONS = ("--cap-add", "SYS_ADMIN", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                   "--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3")

SSHD_DROP_IN = """\
# Written by the alicloud emulator's container backend: root logs in with the instance password (or key pair),
# as on an Alibaba Cloud image.
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
"""

log = logging.getLogger(__name__)


class DockerError(RuntimeError):
    pass


def redact(text, secret_values):
    """Text fit for a log: secrets replaced, and psql's echo of the failing statement ("LINE 1: ...") dropped."""
    for value in secret_values:
        if value:
            text = text.replace(value, "***")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("LINE "))


class Docker:
    """The docker CLI. Arguments never carry secrets; ``stdin`` does."""

    def __init__(self, binary=None, timeout=120):
        self.binary = binary or os.environ.get("ALICLOUD_EMULATOR_DOCKER") or shutil.which("docker") or "docker"
        self.timeout = timeout

    def __call__(self, *args, stdin=None, check=True, timeout=None, secret_values=()):
        if isinstance(stdin, str):
            stdin = stdin.encode()
        try:
            completed = subprocess.run([self.binary, *args], input=stdin, capture_output=True, check=False,
                                       timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise DockerError(f"docker {args[0]} timed out after {timeout or self.timeout} s") from None
        except FileNotFoundError:
            raise DockerError(f"the docker CLI ({self.binary}) is not installed") from None
        output = completed.stdout.decode(errors="replace")
        if check and completed.returncode != 0:
            error = redact(completed.stderr.decode(errors="replace").strip(), secret_values)
            raise DockerError(f"docker {' '.join(args[:2])} failed ({completed.returncode}): {error}")
        return output

    def ok(self, *args, **kwargs):
        try:
            self(*args, **kwargs)
            return True
        except DockerError:
            return False


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    # standard_conforming_strings is on (the default): only the quote needs doubling.
    return "'" + value.replace("'", "''") + "'"


def host_routes():
    """IPv4 networks routed by the host on interfaces that are not Docker bridges, from /proc/net/route."""
    routes = []
    try:
        with open("/proc/net/route", encoding="ascii") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) < 8:
                    continue
                interface, destination, mask = fields[0], fields[1], fields[7]
                if interface == "docker0" or interface.startswith("br-"):
                    continue
                netmask = int.from_bytes(bytes.fromhex(mask), "little")
                if netmask == 0:
                    continue  # the default route overlaps everything and matters to nobody here
                address = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(destination), "little"))
                prefix = bin(netmask).count("1")
                routes.append((interface, ipaddress.ip_network(f"{address}/{prefix}", strict=False)))
    except OSError:
        pass
    return routes


def docker_subnets(docker):
    """Subnets of every Docker network on this engine (ours and everybody else's)."""
    ids = docker("network", "ls", "-q").split()
    if not ids:
        return []
    text = docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids, check=False)
    subnets = []
    for word in text.split():
        try:
            subnets.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    return subnets


class _Network:
    """A Docker network of ours: its address plan and who is on it."""

    def __init__(self, key, name, subnet, gateway, first, last):
        self.key = key
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.first = first
        self.last = last
        self.used = set()
        self.users = set()

    def allocate(self):
        # Start after the addresses in use, like the simulated backend, so that addresses are handed out in order.
        start = self.first + len(self.used)
        for candidate in list(range(start, self.last + 1)) + list(range(self.first, min(start, self.last + 1))):
            address = str(ipaddress.ip_address(candidate))
            if address not in self.used:
                self.used.add(address)
                return address
        return None


class ContainerBackend(InstanceBackend):
    """ECS instances as systemd containers, RDS instances as PostgreSQL containers, VSwitches as Docker networks."""

    name = "containers"

    def __init__(self, ecs_image=None, rds_image=None, emulator_id=None, docker=None, ready_timeout=90.0,
                 wait_in_hooks=True, hook_wait=8.0, keep_on_close=False):
        self.ecs_image = ecs_image or os.environ.get("MLFLOW_TEST_IMAGE") or DEFAULT_ECS_IMAGE
        self.rds_image = rds_image or os.environ.get("MLFLOW_RDS_IMAGE") or DEFAULT_RDS_IMAGE
        self.emulator_id = emulator_id or "e" + secrets.token_hex(4)
        self.docker = docker or Docker()
        self.ready_timeout = ready_timeout
        # With an emulator that asks is_ready() before a Running transition, the hooks need not block at all.
        # Otherwise they wait, but less than the SDKs' 10 s read timeout: they hold the emulator's state lock.
        self.wait_in_hooks = wait_in_hooks
        self.hook_wait = hook_wait
        self.keep_on_close = keep_on_close
        self._network_lock = threading.Lock()
        self._networks = {}        # vswitch id or "public" -> _Network
        self._jobs_lock = threading.Lock()
        self._workers = {}         # resource id -> single-thread executor
        self._last_job = {}        # resource id -> Future of its latest job
        self._failures = {}        # resource id -> what went wrong (redacted)
        self._retired = []         # futures of deletions still running
        self._login_methods = {}   # instance id -> how root can log in ("password", "key"); never the secret
        self._up = {}              # instance id -> its container runs and sshd answers
        self._handled_boot = {}    # instance id -> the start_time whose restart was already queued
        self._closed = False

    # --- naming ----------------------------------------------------------------------------------------------------
    def container_name(self, resource_id):
        # The emulator id keeps two emulators with the same seed (same resource ids) apart on one engine.
        return f"{resource_id}-{self.emulator_id}"

    def _labels(self, resource_id):
        return ("--label", f"{LABEL}={self.emulator_id}", "--label", f"{RESOURCE_LABEL}={resource_id}")

    # --- background jobs -------------------------------------------------------------------------------------------
    def _submit(self, resource_id, description, work):
        with self._jobs_lock:
            if self._closed:
                return None
            worker = self._workers.get(resource_id)
            if worker is None:
                worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"container-{resource_id}")
                self._workers[resource_id] = worker
            future = worker.submit(self._run_job, resource_id, description, work)
            self._last_job[resource_id] = future
            return future

    def _run_job(self, resource_id, description, work):
        started = time.monotonic()
        try:
            work()
            log.debug("%s %s: %.1f s", resource_id, description, time.monotonic() - started)
        except Exception as error:  # a job failure is the resource's state, not the emulator's crash
            message = f"{description}: {error}"
            with self._jobs_lock:
                self._failures[resource_id] = message
            log.error("container backend, %s: %s", resource_id, message)

    def _retire(self, resource_id):
        """The resource is gone: let its queued jobs (the removal) finish, then drop the worker."""
        with self._jobs_lock:
            worker = self._workers.pop(resource_id, None)
            last = self._last_job.pop(resource_id, None)
            self._failures.pop(resource_id, None)
            self._login_methods.pop(resource_id, None)
            self._up.pop(resource_id, None)
            self._handled_boot.pop(resource_id, None)
            if last is not None:
                self._retired = [future for future in self._retired if not future.done()] + [last]
        if worker is not None:
            worker.shutdown(wait=False)

    def _live(self, *args, **kwargs):
        """A docker command that makes or starts something: refused once close() began, so that a job still running
        then cannot bring back what the clean-up removed."""
        if self._closed:
            raise DockerError("the emulator is stopping")
        return self.docker(*args, **kwargs)

    def wait(self, resource_id, timeout=None):
        """Wait until the resource's queued Docker work is done; True when it all succeeded."""
        with self._jobs_lock:
            future = self._last_job.get(resource_id)
        if future is not None:
            try:
                future.result(timeout=self.ready_timeout if timeout is None else timeout)
            except FutureTimeout:
                log.warning("container backend, %s: still not ready after %.0f s", resource_id,
                            self.ready_timeout if timeout is None else timeout)
                return False
        return self.failure(resource_id) is None

    def failure(self, resource_id):
        with self._jobs_lock:
            return self._failures.get(resource_id)

    def is_ready(self, resource):
        """Whether the resource may become Running: its queued Docker work is done and succeeded. Asked by the
        emulator when a start is due (and again while False), it also brings a stopped container up, and restarts a
        running one for RebootInstance, so that the start happens in the Starting state, as on the cloud. A failed
        resource stays out of Running (the error is logged and in failure()) until a new start retries it."""
        instance_id = getattr(resource, "instance_id", None)
        resource_id = instance_id or resource.db_instance_id
        with self._jobs_lock:
            # start_time is set at each Running: it tells this start (or reboot) from the ones already handled.
            boot = getattr(resource, "start_time", None)
            new_boot = (instance_id is not None and resource.status == "Starting" and boot
                        and self._handled_boot.get(resource_id) != boot)
            if new_boot:
                self._handled_boot[resource_id] = boot
                self._failures.pop(resource_id, None)
            future = self._last_job.get(resource_id)
            busy = future is not None and not future.done()
            failed = resource_id in self._failures
            up = self._up.get(resource_id, False)
        if new_boot:
            # After a stop: start. While running (RebootInstance): restart, once the queued work is through.
            self._queue_start(resource, restart=up)
            return False
        if busy or failed:
            return False
        return instance_id is None or resource.status != "Starting" or up

    # --- networks --------------------------------------------------------------------------------------------------
    def _vswitch_network(self, vswitch, resource_id):
        """The VSwitch's network (created on first use) with ``resource_id`` counted as a user."""
        with self._network_lock:
            network = self._networks.get(vswitch.vswitch_id)
            if network is None:
                network = self._create_vswitch_network(vswitch.vswitch_id, vswitch.cidr_block)
            network.users.add(resource_id)
            return network

    def _create_vswitch_network(self, vswitch_id, cidr_block):
        subnet = ipaddress.ip_network(cidr_block)
        if subnet.num_addresses < 8:
            raise DockerError(f"VSwitch {vswitch_id}: {cidr_block} is smaller than the /29 Alibaba Cloud allows")
        for interface, routed in host_routes():
            if routed.overlaps(subnet):
                raise DockerError(f"VSwitch {vswitch_id}: {cidr_block} overlaps the host's network {routed} on "
                                  f"{interface}; the container backend needs a CIDR the host does not use")
        # Docker's bridge takes the gateway address. Alibaba keeps the first address and the last three of a VSwitch
        # for itself, so the bridge gets the second-to-last one: every address the API may hand out stays free.
        first = int(subnet.network_address) + RESERVED_LOW
        last = int(subnet.broadcast_address) - RESERVED_HIGH
        gateway = str(subnet.broadcast_address - 1)
        name = f"{vswitch_id}-{self.emulator_id}"
        self._create_network(name, subnet, gateway, ("--label", f"{RESOURCE_LABEL}={vswitch_id}"))
        network = _Network(vswitch_id, name, subnet, gateway, first, last)
        self._networks[vswitch_id] = network
        return network

    def _create_network(self, name, subnet, gateway, extra=()):
        if self.docker.ok("network", "inspect", name):
            return  # adopted after a restart (restore) or left over by an interrupted run of this emulator
        self.docker("network", "create", "--driver", "bridge", "--subnet", str(subnet), "--gateway", gateway,
                    "--label", f"{LABEL}={self.emulator_id}", *extra, name)

    def _public_network(self, resource_id):
        """The network of "public" addresses (created on first use), with ``resource_id`` counted as a user."""
        with self._network_lock:
            network = self._networks.get("public")
            if network is None:
                network = self._create_public_network()
            network.users.add(resource_id)
            return network

    def _create_public_network(self):
        name = f"public-{self.emulator_id}"
        taken = docker_subnets(self.docker)
        candidates = list(PUBLIC_RANGE.subnets(new_prefix=PUBLIC_PREFIX))
        # A random start keeps emulators running side by side on one engine from racing for the same /24.
        offset = secrets.randbelow(len(candidates))
        last_error = None
        for subnet in candidates[offset:] + candidates[:offset]:
            if any(subnet.overlaps(other) for other in taken):
                continue
            gateway = str(subnet.network_address + 1)
            try:
                self._create_network(name, subnet, gateway, ("--label", f"{RESOURCE_LABEL}=public"))
            except DockerError as error:
                last_error = error
                if "overlap" not in str(error).lower():
                    raise
                taken = docker_subnets(self.docker)  # another engine user took it meanwhile: look again
                continue
            network = _Network("public", name, subnet, gateway, int(subnet.network_address) + 2,
                               int(subnet.broadcast_address) - 1)
            self._networks["public"] = network
            return network
        raise DockerError(f"no free /{PUBLIC_PREFIX} left in {PUBLIC_RANGE} for public addresses ({last_error})")

    def _reserve(self, network, resource_id):
        with self._network_lock:
            address = network.allocate()
            if address is None:
                network.users.discard(resource_id)
                raise DockerError(f"no free address left in {network.subnet}")
            return address

    def _leave(self, key, resource_id, address):
        """Give back an address now (the API may reuse it at once); the network goes later, with its last user."""
        with self._network_lock:
            network = self._networks.get(key)
            if network is not None:
                network.used.discard(address)
                network.users.discard(resource_id)

    def _remove_unused_networks(self, keys):
        with self._network_lock:
            for key in keys:
                network = self._networks.get(key)
                if network is None or network.users:
                    continue
                if self.docker.ok("network", "rm", network.name):
                    del self._networks[key]
                else:
                    log.warning("container backend: network %s still in use, kept", network.name)

    # --- ECS -------------------------------------------------------------------------------------------------------
    def on_instance_created(self, instance, vswitch, password=None, public_key=None):
        """Reserve the address and queue the container. ``password`` / ``public_key`` (when the emulator passes
        them) give root its login; they are used once and not kept."""
        network = self._vswitch_network(vswitch, instance.instance_id)
        instance.private_ip = self._reserve(network, instance.instance_id)
        name = self.container_name(instance.instance_id)
        instance.backend_data.update({"backend": self.name, "emulator_id": self.emulator_id, "container": name,
                                      "network": network.name})
        address, host_name, instance_id = instance.private_ip, instance.host_name, instance.instance_id
        with self._jobs_lock:
            self._login_methods[instance_id] = tuple(method for method, given in
                                                     (("password", password), ("key", public_key)) if given)

        def create():
            self._live("create", "--name", name, "--hostname", host_name, *self._labels(instance_id),
                       "--network", network.name, "--ip", address, *SYSTEMD_OPTIONS, self.ecs_image)
            self._live("cp", "-", f"{name}:/", stdin=self._login_files(public_key, host_name))
            self._live("start", name)
            if password:
                self._set_root_password(name, password)
            self._wait_for_ssh(address)
            self._set_up(instance_id, True)
        self._submit(instance_id, "create the instance container", create)

    def login_methods(self, instance_id):
        """How root can log in to the instance: ("password",), ("key",), both, or () when the request gave none."""
        with self._jobs_lock:
            return self._login_methods.get(instance_id, ())

    def on_instance_password_changed(self, instance, password):
        """ModifyInstanceAttribute Password (applied on the next start on the real cloud; at once here)."""
        name = self.container_name(instance.instance_id)
        with self._jobs_lock:
            self._login_methods[instance.instance_id] = tuple(
                sorted(set(self._login_methods.get(instance.instance_id, ())) | {"password"}))
        self._submit(instance.instance_id, "set the root password", lambda: self._set_root_password(name, password))

    @staticmethod
    def _host_keys(host_name):
        """Fresh SSH host keys for one instance, made on the controller so that sshd finds them at its first start
        (the image has none, and must not: every instance needs its own). Ed25519 and ECDSA: quick to make."""
        keys = {}
        if shutil.which("ssh-keygen") is None:
            log.warning("container backend: no ssh-keygen on the controller; the image must make host keys itself")
            return keys
        with tempfile.TemporaryDirectory(prefix="emulator-hostkeys-") as directory:
            for kind in ("ed25519", "ecdsa"):
                path = os.path.join(directory, f"ssh_host_{kind}_key")
                subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{host_name}", "-f", path],
                               check=True, capture_output=True, timeout=30)
                for suffix, mode in (("", 0o600), (".pub", 0o644)):
                    with open(path + suffix, "rb") as key_file:
                        keys[f"etc/ssh/ssh_host_{kind}_key{suffix}"] = (key_file.read(), mode)
        return keys

    @classmethod
    def _login_files(cls, public_key, host_name):
        """A tar stream for `docker cp -`: host keys, the sshd drop-in and, with a key pair, root's authorized_keys."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            def add(path, data, mode):
                entry = tarfile.TarInfo(path)
                entry.size, entry.mode, entry.mtime = len(data), mode, int(time.time())
                archive.addfile(entry, io.BytesIO(data))

            def add_directory(path, mode):
                entry = tarfile.TarInfo(path)
                entry.type, entry.mode, entry.mtime = tarfile.DIRTYPE, mode, int(time.time())
                archive.addfile(entry)
            add("etc/ssh/sshd_config.d/60-computenest-emulator.conf", SSHD_DROP_IN.encode(), 0o644)
            for path, (data, mode) in cls._host_keys(host_name).items():
                add(path, data, mode)
            if public_key:
                add_directory("root/.ssh", 0o700)
                add("root/.ssh/authorized_keys", public_key.strip().encode() + b"\n", 0o600)
        return buffer.getvalue()

    def _set_root_password(self, name, password):
        self.docker("exec", "-i", name, "chpasswd", stdin=f"root:{password}\n", secret_values=(password,))

    def _wait_for_ssh(self, address, timeout=60.0):
        """Until sshd at ``address`` sends its banner (the address is our own container's)."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((address, SSH_PORT), timeout=2) as connection:
                    connection.settimeout(3)
                    if connection.recv(64).startswith(b"SSH-"):
                        return
            except OSError as error:
                last_error = error
            time.sleep(0.3)
        raise DockerError(f"sshd at {address}:{SSH_PORT} not answering after {timeout:.0f} s ({last_error})")

    def allocate_public_ip(self, instance):
        network = self._public_network(instance.instance_id)
        address = self._reserve(network, instance.instance_id)
        instance.backend_data["public_network"] = network.name
        name = self.container_name(instance.instance_id)

        def connect():
            self._live("network", "connect", "--ip", address, network.name, name)
            if self._running(name):
                self._wait_for_ssh(address)
        self._submit(instance.instance_id, "connect the public address", connect)
        return address

    def _running(self, name):
        state = self.docker("inspect", "--format", "{{.State.Running}}", name, check=False).strip()
        return state == "true"

    def on_instance_started(self, instance):
        # With an emulator that asks is_ready() first, the container is up by now and nothing is queued here.
        if not self._is_up(instance.instance_id):
            self._queue_start(instance)
        if self.wait_in_hooks:
            self.wait(instance.instance_id, timeout=self.hook_wait)

    def _is_up(self, resource_id):
        with self._jobs_lock:
            return self._up.get(resource_id, False)

    def _set_up(self, resource_id, up):
        with self._jobs_lock:
            self._up[resource_id] = up

    def _queue_start(self, instance, restart=False):
        name = self.container_name(instance.instance_id)
        addresses = [a for a in (instance.private_ip, instance.public_ip) if a]
        instance_id = instance.instance_id

        def start():
            self._live("restart" if restart else "start", name)
            for address in addresses:
                self._wait_for_ssh(address)
            self._set_up(instance_id, True)
        self._set_up(instance_id, False)
        self._submit(instance_id, "restart the instance container" if restart else "start the instance container",
                     start)

    def on_instance_stopped(self, instance):
        name = self.container_name(instance.instance_id)
        self._set_up(instance.instance_id, False)
        # systemd takes SIGRTMIN+3 (the container's stop signal) as "shut down": a second or two.
        self._submit(instance.instance_id, "stop the instance container",
                     lambda: self.docker("stop", "-t", "30", name))
        if self.wait_in_hooks:
            self.wait(instance.instance_id, timeout=self.hook_wait)

    def on_instance_deleted(self, instance):
        self._remove_resource(instance.instance_id, instance.vswitch_id, instance.private_ip,
                              instance.public_ip if instance.backend_data.get("public_network") else "")

    def _remove_resource(self, resource_id, network_key, address, public_address=""):
        self._leave(network_key, resource_id, address)
        keys = [network_key]
        if public_address:
            self._leave("public", resource_id, public_address)
            keys.append("public")
        name = self.container_name(resource_id)

        def remove():
            self.docker("rm", "--force", "--volumes", name)
            self._remove_unused_networks(keys)
        self._submit(resource_id, "remove the container", remove)
        self._retire(resource_id)

    # --- RDS -------------------------------------------------------------------------------------------------------
    def on_db_instance_created(self, db_instance, vswitch):
        db_id = db_instance.db_instance_id
        if vswitch is not None:
            network = self._vswitch_network(vswitch, db_id)
        else:
            # A classic-network instance has no VPC: it gets an address among the "public" ones.
            network = self._public_network(db_id)
        db_instance.ip_address = self._reserve(network, db_id)
        db_instance.connection_string = f"{db_id}.pg.rds.aliyuncs.com"
        db_instance.port = str(PG_PORT)
        name = self.container_name(db_id)
        db_instance.backend_data.update({"backend": self.name, "emulator_id": self.emulator_id, "container": name,
                                         "network": network.name, "network_key": network.key})
        address, alias, hba = db_instance.ip_address, db_instance.connection_string, self._pg_hba(db_instance)

        def create():
            # The alias makes the connection string resolve, by Docker's DNS, inside every container on the network.
            self._live("run", "--detach", "--name", name, "--hostname", db_id, *self._labels(db_id),
                       "--network", network.name, "--ip", address, "--network-alias", alias, self.rds_image)
            self._wait_for_postgres(name)
            self._write_pg_hba(name, hba)
            self._psql(name, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                             f"{quote_literal(SUPER_GROUP)}) THEN CREATE ROLE {quote_identifier(SUPER_GROUP)} "
                             f"NOLOGIN; END IF; END $$;")
        self._submit(db_id, "create the PostgreSQL container", create)

    def _psql(self, name, sql, database="postgres", secret_values=()):
        """Run SQL as the postgres superuser over the local socket; the SQL (and any password in it) goes on stdin."""
        return self.docker("exec", "-i", "--user", "postgres", name, "psql", "--no-psqlrc", "--quiet",
                           "--no-align", "--tuples-only", "--set", "ON_ERROR_STOP=1", "--dbname", database,
                           stdin=sql, secret_values=secret_values)

    def _wait_for_postgres(self, name, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._psql(name, "SELECT 1;").strip() == "1":
                    return
            except DockerError:
                if not self._running(name):
                    tail = self.docker("logs", "--tail", "20", name, check=False)
                    raise DockerError(f"the PostgreSQL container stopped: {tail.strip()}") from None
            time.sleep(0.3)
        raise DockerError(f"PostgreSQL in {name} not accepting connections after {timeout:.0f} s")

    @staticmethod
    def _pg_hba(db_instance):
        """pg_hba.conf from the whitelist groups: one password (scram) rule per allowed network."""
        lines = ["# Written by the alicloud emulator's container backend from the RDS whitelist (ModifySecurityIps).",
                 "local all postgres peer",
                 "# Local administration, as on RDS where 127.0.0.1 is always the instance itself.",
                 "host all all 127.0.0.1/32 scram-sha-256"]
        seen = {ipaddress.ip_network("127.0.0.1/32")}
        for group, entries in sorted(db_instance.security_ip_arrays.items()):
            for entry in entries:
                try:
                    network = ipaddress.ip_network(entry.strip(), strict=False)
                except ValueError:
                    log.warning("container backend, %s: whitelist entry %r ignored", db_instance.db_instance_id,
                                entry)
                    continue
                if network in seen:
                    continue
                seen.add(network)
                lines.append(f"host all all {network} scram-sha-256  # {group}")
        return "\n".join(lines) + "\n"

    def _write_pg_hba(self, name, content):
        # Written beside and renamed, so a reload never reads half a file.
        self.docker("exec", "-i", "--user", "postgres", name, "sh", "-c",
                    f"umask 077 && cat > {PG_CONFIG_DIR}/pg_hba.conf.new && "
                    f"mv {PG_CONFIG_DIR}/pg_hba.conf.new {PG_CONFIG_DIR}/pg_hba.conf", stdin=content)
        self._psql(name, "SELECT pg_reload_conf();")

    def on_db_instance_running(self, db_instance):
        if self.wait_in_hooks:
            self.wait(db_instance.db_instance_id, timeout=self.hook_wait)

    def on_account_created(self, db_instance, account_name, password, account_type):
        options = "LOGIN"
        if account_type == "Super":
            options += f" CREATEDB CREATEROLE IN ROLE {quote_identifier(SUPER_GROUP)}"
        sql = f"CREATE ROLE {quote_identifier(account_name)} {options} PASSWORD {quote_literal(password)};"
        self._queue_sql(db_instance, f"create account {account_name}", sql, secret_values=(password,))

    def on_account_password_reset(self, db_instance, account_name, password):
        sql = f"ALTER ROLE {quote_identifier(account_name)} PASSWORD {quote_literal(password)};"
        self._queue_sql(db_instance, f"reset the password of {account_name}", sql, secret_values=(password,))

    def on_account_deleted(self, db_instance, account_name):
        name = self.container_name(db_instance.db_instance_id)
        role = quote_identifier(account_name)

        def drop():
            # What the role owns goes to postgres first, in every database: DROP ROLE refuses an owner.
            databases = self._psql(name, "SELECT datname FROM pg_database WHERE datallowconn;").split()
            for database in databases:
                self._psql(name, f"REASSIGN OWNED BY {role} TO postgres; DROP OWNED BY {role};", database=database)
            self._psql(name, f"DROP ROLE IF EXISTS {role};")
        self._submit(db_instance.db_instance_id, f"drop account {account_name}", drop)

    def on_database_created(self, db_instance, database):
        encoding = database.character_set.upper() or "UTF8"
        if encoding in CLIENT_ONLY_ENCODINGS:
            log.warning("container backend: %s is a client-only encoding in PostgreSQL; %s is created as UTF8",
                        encoding, database.name)
            encoding = "UTF8"
        # The image only has the C locales: C.UTF-8 for UTF8, plain C (which takes any encoding) otherwise.
        locale = "C.UTF-8" if encoding == "UTF8" else "C"
        owner = f" OWNER {quote_identifier(database.owner)}" if database.owner else ""
        sql = (f"CREATE DATABASE {quote_identifier(database.name)}{owner} ENCODING {quote_literal(encoding)} "
               f"LC_COLLATE {quote_literal(locale)} LC_CTYPE {quote_literal(locale)} TEMPLATE template0;")
        self._queue_sql(db_instance, f"create database {database.name}", sql)

    def on_database_deleted(self, db_instance, database_name):
        sql = f"DROP DATABASE IF EXISTS {quote_identifier(database_name)} WITH (FORCE);"
        self._queue_sql(db_instance, f"drop database {database_name}", sql)

    def _queue_sql(self, db_instance, description, sql, secret_values=()):
        name = self.container_name(db_instance.db_instance_id)
        self._submit(db_instance.db_instance_id, description,
                     lambda: self._psql(name, sql, secret_values=secret_values))

    def on_security_ips_changed(self, db_instance):
        name, hba = self.container_name(db_instance.db_instance_id), self._pg_hba(db_instance)
        self._submit(db_instance.db_instance_id, "apply the whitelist", lambda: self._write_pg_hba(name, hba))

    def on_db_instance_deleted(self, db_instance):
        key = db_instance.backend_data.get("network_key") or db_instance.vswitch_id or "public"
        self._remove_resource(db_instance.db_instance_id, key, db_instance.ip_address)

    # --- restart and shutdown --------------------------------------------------------------------------------------
    def restore(self, state):
        """After a state file was loaded: take over the networks and containers made by the saved emulator."""
        saved_ids = {resource.backend_data.get("emulator_id") for resource in
                     list(state.instances.values()) + list(state.db_instances.values())} - {None}
        if len(saved_ids) == 1:
            self.emulator_id = saved_ids.pop()
        with self._network_lock:
            self._networks.clear()
            for vswitch_id in set(state.vswitch_members):
                members = state.vswitch_members[vswitch_id]
                vswitch = state.vswitches.get(vswitch_id)
                if members and vswitch is not None:
                    network = self._create_vswitch_network(vswitch_id, vswitch.cidr_block)
                    network.users.update(members)
        for instance in state.instances.values():
            network = self._networks.get(instance.vswitch_id)
            if network is not None:
                network.used.add(instance.private_ip)
            if instance.public_ip and instance.backend_data.get("public_network"):
                self._adopt_public(instance.instance_id, instance.public_ip)
            if self._adopted(instance.instance_id) and instance.status in ("Pending", "Starting", "Running"):
                self._queue_start(instance)
        for db_instance in state.db_instances.values():
            key = db_instance.backend_data.get("network_key") or db_instance.vswitch_id
            if key == "public":
                self._adopt_public(db_instance.db_instance_id, db_instance.ip_address)
            elif key in self._networks:
                self._networks[key].used.add(db_instance.ip_address)
            if self._adopted(db_instance.db_instance_id):
                self._queue_database_start(db_instance.db_instance_id)

    def _queue_database_start(self, db_id):
        name = self.container_name(db_id)

        def start():
            self._live("start", name)
            self._wait_for_postgres(name)
        self._submit(db_id, "start the adopted PostgreSQL container", start)

    def _adopt_public(self, resource_id, address):
        with self._network_lock:
            network = self._networks.get("public")
            if network is None:
                name = f"public-{self.emulator_id}"
                subnet = self.docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
                                     name, check=False).strip()
                if not subnet:
                    log.warning("container backend: public network %s is gone; %s keeps an unreachable address",
                                name, resource_id)
                    return
                subnet = ipaddress.ip_network(subnet)
                network = _Network("public", name, subnet, str(subnet.network_address + 1),
                                   int(subnet.network_address) + 2, int(subnet.broadcast_address) - 1)
                self._networks["public"] = network
            network.used.add(address)
            network.users.add(resource_id)

    def _adopted(self, resource_id):
        """Whether the resource's container survived; a lost one is marked failed (it stays out of Running)."""
        name = self.container_name(resource_id)
        if self.docker.ok("inspect", name):
            return True
        # The password is not kept anywhere, so a lost instance cannot be rebuilt as it was.
        with self._jobs_lock:
            self._failures[resource_id] = f"container {name} is gone"
        log.warning("container backend: container %s of %s is gone", name, resource_id)
        return False

    def close(self):
        """The emulator stops: finish what is queued (bounded), then remove everything this backend made, unless
        ``keep_on_close`` (an emulator with a state file, whose next run adopts the containers in restore())."""
        self._drain_jobs()
        if self.keep_on_close:
            log.info("container backend: containers and networks of %s kept for the next run", self.emulator_id)
        else:
            cleanup(self.emulator_id, docker=self.docker)
        with self._network_lock:
            self._networks.clear()

    def reset(self):
        """The emulator's state was cleared (POST /_emulator/reset): nothing of the old cloud may survive, and the
        backend serves the new one."""
        self._drain_jobs()
        cleanup(self.emulator_id, docker=self.docker)
        with self._network_lock:
            self._networks.clear()
        with self._jobs_lock:
            self._failures.clear()
            self._login_methods.clear()
            self._up.clear()
            self._handled_boot.clear()
            self._closed = False

    def _drain_jobs(self, timeout=30.0):
        with self._jobs_lock:
            self._closed = True
            pending = list(self._last_job.values()) + self._retired
            workers = list(self._workers.values())
            self._workers.clear()
            self._last_job.clear()
            self._retired = []
        deadline = time.monotonic() + timeout
        for future in pending:
            try:
                future.result(timeout=max(deadline - time.monotonic(), 0.1))
            except FutureTimeout:
                log.warning("container backend: jobs still running at shutdown; removing their containers anyway")
                break
        for worker in workers:
            worker.shutdown(wait=False, cancel_futures=True)


def cleanup(emulator_id=None, docker=None):
    """Remove the containers and networks labelled by one emulator (or by any, when ``emulator_id`` is None).
    Returns (containers removed, networks removed)."""
    docker = docker or Docker()
    selector = f"label={LABEL}={emulator_id}" if emulator_id else f"label={LABEL}"
    containers = docker("ps", "--all", "--quiet", "--filter", selector).split()
    if containers:
        docker("rm", "--force", "--volumes", *containers)
    networks = docker("network", "ls", "--quiet", "--filter", selector).split()
    if networks:
        docker("network", "rm", *networks)
    return len(containers), len(networks)


def list_made(emulator_id=None, docker=None):
    """Names of the containers and networks labelled by one emulator (or by any)."""
    docker = docker or Docker()
    selector = f"label={LABEL}={emulator_id}" if emulator_id else f"label={LABEL}"
    containers = docker("ps", "--all", "--filter", selector, "--format", "{{.Names}}").split()
    networks = docker("network", "ls", "--filter", selector, "--format", "{{.Name}}").split()
    return containers, networks


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m alicloud_emulator.container_backend",
        description="List or remove the Docker containers and networks made by the emulator's container backend "
                    f"(everything labelled {LABEL}=<emulator id>).")
    parser.add_argument("--cleanup", action="store_true", help="remove them (default: only list them)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--emulator-id", help="only what this emulator made")
    which.add_argument("--all", action="store_true", help="what any emulator made on this Docker engine")
    options = parser.parse_args(argv)
    emulator_id = None if options.all else options.emulator_id
    try:
        containers, networks = list_made(emulator_id)
        for name in containers:
            print(f"container {name}")
        for name in networks:
            print(f"network {name}")
        if options.cleanup:
            removed = cleanup(emulator_id)
            print(f"removed {removed[0]} containers and {removed[1]} networks")
    except DockerError as error:
        print(f"container backend: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
