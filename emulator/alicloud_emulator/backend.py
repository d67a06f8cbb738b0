"""Where lifecycle side effects go: the InstanceBackend interface and the default simulated backend.

The API layer owns the resource models and their states; a backend decides what an instance or a database *is*:
the simulated backend only hands out addresses, a container backend can run a real host per instance and a real
PostgreSQL per RDS instance. Hooks run under the emulator's state lock, in API order; they must not call back into
the API. They may store their own data in ``resource.backend_data`` (it is saved in the state file).
"""
import ipaddress

# Alibaba Cloud keeps the first address and the last three of every VSwitch for itself.
RESERVED_LOW = 1
RESERVED_HIGH = 3


def usable_address_count(cidr_block):
    return max(ipaddress.ip_network(cidr_block).num_addresses - RESERVED_LOW - RESERVED_HIGH, 0)


class InstanceBackend:
    """Interface. Every hook has a no-op default except address assignment, which a backend must provide."""

    name = "abstract"

    def restore(self, state):
        """Called once after a state file was loaded, with the CloudState (re-attach to running containers...)."""

    def on_instance_created(self, instance, vswitch, password=None, public_key=None):
        """RunInstances accepted the instance (status Pending). Must set ``instance.private_ip``. ``password`` is
        the request's Password in plain text, ``public_key`` the OpenSSH public key of its KeyPairName (each None
        when not given); use them once, never store them in clear."""
        raise NotImplementedError

    def is_ready(self, resource):
        """Whether an Instance or DBInstance may become Running now. The emulator asks when the clock says the
        start is due and, while this is False, asks again shortly after: a backend whose machines take time to
        come up keeps the API's status honest."""
        return True

    def on_instance_password_changed(self, instance, password):
        """ModifyInstanceAttribute with Password."""

    def on_instance_started(self, instance):
        """The instance reached Running (first boot or StartInstance)."""

    def on_instance_stopped(self, instance):
        """The instance reached Stopped."""

    def on_instance_deleted(self, instance):
        """The instance is gone; release what it held."""

    def allocate_public_ip(self, instance):
        """Return a public IPv4 address for the instance (RunInstances with bandwidth, AllocatePublicIpAddress)."""
        raise NotImplementedError

    def on_db_instance_created(self, db_instance, vswitch):
        """CreateDBInstance accepted the instance (Creating). Must set ``connection_string``, ``port`` (a string,
        as the API returns it) and ``ip_address``. ``vswitch`` is None for a classic-network instance."""
        raise NotImplementedError

    def on_db_instance_running(self, db_instance):
        """The RDS instance reached Running."""

    def on_db_instance_deleted(self, db_instance):
        """The RDS instance is gone."""

    def on_account_created(self, db_instance, account_name, password, account_type):
        """A database account was created; ``password`` is plain text and must not be stored in clear."""

    def on_account_password_reset(self, db_instance, account_name, password):
        """ResetAccountPassword."""

    def on_account_deleted(self, db_instance, account_name):
        """DeleteAccount."""

    def on_database_created(self, db_instance, database):
        """CreateDatabase; ``database.owner`` names the owning account ('' when none)."""

    def on_database_deleted(self, db_instance, database_name):
        """DeleteDatabase."""

    def on_security_ips_changed(self, db_instance):
        """ModifySecurityIps changed ``db_instance.security_ip_arrays``."""

    def reset(self):
        """The emulator's state was cleared (``reset()``, POST /_emulator/reset): forget the old cloud."""

    def close(self):
        """The emulator stops."""


class SimulatedBackend(InstanceBackend):
    """No real machines: private addresses come from the VSwitch CIDR, public ones from a fixed pool."""

    name = "simulated"
    PUBLIC_POOL = ipaddress.ip_network("47.96.0.0/12")

    def __init__(self):
        self._used_private = {}   # vswitch id -> set of addresses in use
        self._next_public = 1
        self._public_in_use = set()

    def reset(self):
        self._used_private.clear()
        self._public_in_use.clear()
        self._next_public = 1

    def restore(self, state):
        self._used_private.clear()
        self._public_in_use.clear()
        for instance in state.instances.values():
            self._used_private.setdefault(instance.vswitch_id, set()).add(instance.private_ip)
            if instance.public_ip:
                self._public_in_use.add(instance.public_ip)
        for db_instance in state.db_instances.values():
            if db_instance.vswitch_id and db_instance.ip_address:
                self._used_private.setdefault(db_instance.vswitch_id, set()).add(db_instance.ip_address)
        self._next_public = len(self._public_in_use) + 1

    def _allocate_private(self, vswitch):
        used = self._used_private.setdefault(vswitch.vswitch_id, set())
        network = ipaddress.ip_network(vswitch.cidr_block)
        first = int(network.network_address) + RESERVED_LOW
        last = int(network.broadcast_address) - RESERVED_HIGH
        # Start after the addresses already handed out so that a big VSwitch allocates in O(1) on average.
        start = first + len(used)
        for candidate in range(start, last + 1):
            address = str(ipaddress.ip_address(candidate))
            if address not in used:
                used.add(address)
                return address
        for candidate in range(first, min(start, last + 1)):
            address = str(ipaddress.ip_address(candidate))
            if address not in used:
                used.add(address)
                return address
        return None

    def _release_private(self, vswitch_id, address):
        self._used_private.get(vswitch_id, set()).discard(address)

    def on_instance_created(self, instance, vswitch, password=None, public_key=None):
        address = self._allocate_private(vswitch)
        if address is None:
            raise RuntimeError("no free address")  # the API layer checks capacity first
        instance.private_ip = address

    def on_instance_deleted(self, instance):
        self._release_private(instance.vswitch_id, instance.private_ip)
        self._public_in_use.discard(instance.public_ip)

    def allocate_public_ip(self, instance):
        while True:
            address = str(self.PUBLIC_POOL.network_address + self._next_public)
            self._next_public += 1
            if address not in self._public_in_use and not address.endswith((".0", ".255")):
                self._public_in_use.add(address)
                return address

    def on_db_instance_created(self, db_instance, vswitch):
        db_instance.connection_string = f"{db_instance.db_instance_id}.pg.rds.aliyuncs.com"
        db_instance.port = "5432"
        db_instance.ip_address = self._allocate_private(vswitch) if vswitch else "100.100.0.1"

    def on_db_instance_deleted(self, db_instance):
        if db_instance.vswitch_id:
            self._release_private(db_instance.vswitch_id, db_instance.ip_address)
