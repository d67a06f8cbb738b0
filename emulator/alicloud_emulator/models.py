"""Backend-independent resource models: what the emulated cloud knows, whatever runs the instances.

Times are emulated epoch seconds. Secrets (instance and account passwords) are never stored here: they are handed
to the InstanceBackend once and forgotten, so neither the resource view nor the state file can leak them.
"""
from dataclasses import dataclass, field, fields


@dataclass
class Vpc:
    vpc_id: str
    region_id: str
    cidr_block: str
    name: str
    description: str
    status: str
    vrouter_id: str
    route_table_id: str
    creation_time: float
    tags: dict = field(default_factory=dict)
    resource_group_id: str = ""


@dataclass
class VSwitch:
    vswitch_id: str
    vpc_id: str
    region_id: str
    zone_id: str
    cidr_block: str
    name: str
    description: str
    status: str
    creation_time: float
    tags: dict = field(default_factory=dict)


@dataclass
class SecurityGroup:
    security_group_id: str
    region_id: str
    vpc_id: str
    name: str
    description: str
    group_type: str
    creation_time: float
    tags: dict = field(default_factory=dict)
    # Each rule: IpProtocol, PortRange, SourceCidrIp, DestCidrIp, Policy, Priority, Direction, NicType, Description,
    # SecurityGroupRuleId, CreateTime, SourcePortRange.
    permissions: list = field(default_factory=list)
    resource_group_id: str = ""


@dataclass
class Instance:
    instance_id: str
    region_id: str
    zone_id: str
    name: str
    description: str
    host_name: str
    instance_type: str
    cpu: int
    memory: int
    image_id: str
    os_name: str
    os_type: str
    vpc_id: str
    vswitch_id: str
    security_group_ids: list
    status: str
    creation_time: float
    internet_max_bandwidth_out: int = 0
    internet_max_bandwidth_in: int = 0
    internet_charge_type: str = "PayByTraffic"
    instance_charge_type: str = "PostPaid"
    # Subscription (PrePaid) end, in the emulator clock's seconds; 0.0 for pay-as-you-go.
    expired_time: float = 0.0
    auto_renew: bool = False
    key_pair_name: str = ""
    system_disk_category: str = "cloud_essd"
    system_disk_size: int = 40
    private_ip: str = ""
    public_ip: str = ""
    start_time: float = 0.0
    tags: dict = field(default_factory=dict)
    resource_group_id: str = ""
    # Free-form data of the InstanceBackend (a container id, a published port ...), kept in the state file.
    backend_data: dict = field(default_factory=dict)


@dataclass
class KeyPair:
    name: str
    region_id: str
    public_key: str
    fingerprint: str
    creation_time: float
    tags: dict = field(default_factory=dict)
    resource_group_id: str = ""


@dataclass
class DBAccount:
    name: str
    account_type: str
    status: str
    description: str = ""
    # database name -> privilege (ReadWrite, ReadOnly, DBOwner ...)
    privileges: dict = field(default_factory=dict)


@dataclass
class Database:
    name: str
    character_set: str
    status: str
    description: str = ""
    owner: str = ""


@dataclass
class DBInstance:
    db_instance_id: str
    region_id: str
    zone_id: str
    engine: str
    engine_version: str
    db_instance_class: str
    cpu: int
    memory: int
    max_connections: int
    storage: int
    storage_type: str
    category: str
    pay_type: str
    net_type: str
    network_type: str
    vpc_id: str
    vswitch_id: str
    description: str
    status: str
    creation_time: float
    connection_string: str = ""
    port: str = "5432"
    ip_address: str = ""
    # whitelist group name -> list of IPs/CIDRs
    security_ip_arrays: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)    # name -> DBAccount
    databases: dict = field(default_factory=dict)   # name -> Database
    tags: dict = field(default_factory=dict)
    backend_data: dict = field(default_factory=dict)
    # Subscription (Prepaid) end, in the emulator clock's seconds; 0.0 for pay-as-you-go.
    expire_time: float = 0.0


_FIELD_NAMES = {}


def to_dict(resource):
    """Plain data of a resource (copies, so callers cannot change the cloud). Faster than dataclasses.asdict,
    which matters for the resource view of ten thousand instances."""
    model = type(resource)
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES[model] = tuple(f.name for f in fields(model))
    data = {}
    for name in names:
        value = getattr(resource, name)
        if isinstance(value, dict):
            value = {key: to_dict(item) if hasattr(item, "__dataclass_fields__") else _copy(item)
                     for key, item in value.items()}
        elif isinstance(value, list):
            value = [_copy(item) for item in value]
        data[name] = value
    return data


def _copy(value):
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def from_dict(model, data):
    known = {f.name for f in fields(model)}
    values = {key: value for key, value in data.items() if key in known}
    if model is DBInstance:
        values["accounts"] = {name: DBAccount(**account) for name, account in values.get("accounts", {}).items()}
        values["databases"] = {name: Database(**db) for name, db in values.get("databases", {}).items()}
    return model(**values)
