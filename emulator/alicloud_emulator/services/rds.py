"""RDS 2014-08-15, PostgreSQL: instances, accounts, databases, the IP whitelist, network information."""
import ipaddress
import json
import re

from .. import models
from ..catalog import RDS_CLASSES, RDS_ENGINES, REGIONS, zone_sells, zones_of
from ..errors import ApiError, invalid_parameter, missing_parameter
from ..state import event_handler
from . import api, iso_time, page_by_number, page_by_token
from .vpc import available_ip_count, get_vpc, get_vswitch

STATE_MESSAGE = "Current DB instance state does not support this operation."
RESERVED_ACCOUNT_NAMES = {"postgres", "root", "admin", "aliyun_root", "replicator", "pgadmin", "public",
                          "sa", "mysql", "rdsadmin", "superuser"}
PASSWORD_SPECIALS = set("!@#$%^&*()_+-=")
CHARACTER_SETS = ("UTF8", "LATIN1", "SQL_ASCII", "GBK", "BIG5", "EUC_CN", "EUC_JP", "EUC_KR", "WIN1252")
MAX_SECURITY_IPS = 1000


def db_not_found(db_instance_id):
    return ApiError("InvalidDBInstanceId.NotFound", f"The specified instance {db_instance_id} is not found.")


def incorrect_state():
    return ApiError("IncorrectDBInstanceState", STATE_MESSAGE, status=403)


def get_db_instance(state, db_instance_id):
    db_instance = state.db_instances.get(db_instance_id)
    if db_instance is None:
        raise db_not_found(db_instance_id)
    return db_instance


def require_running(db_instance):
    if db_instance.status != "Running":
        raise incorrect_state()


@event_handler("db_status")
def _db_status(state, db_instance_id, expected, target):
    db_instance = state.db_instances.get(db_instance_id)
    if db_instance is None or db_instance.status != expected:
        return
    if target == "Running" and expected == "Creating" and not state.backend.is_ready(db_instance):
        state.schedule_recheck("db_status", db_instance_id, expected, target)
        return
    db_instance.status = target
    if target == "Running":
        state.backend.on_db_instance_running(db_instance)


@event_handler("db_gone")
def _db_gone(state, db_instance_id):
    db_instance = state.db_instances.get(db_instance_id)
    if db_instance is not None and db_instance.status == "Deleting":
        state.remove_db_instance(db_instance)
        state.backend.on_db_instance_deleted(db_instance)


@event_handler("account_available")
def _account_available(state, db_instance_id, account_name):
    db_instance = state.db_instances.get(db_instance_id)
    account = db_instance.accounts.get(account_name) if db_instance else None
    if account is not None and account.status == "Unavailable":
        account.status = "Available"


@event_handler("database_running")
def _database_running(state, db_instance_id, database_name):
    db_instance = state.db_instances.get(db_instance_id)
    database = db_instance.databases.get(database_name) if db_instance else None
    if database is not None and database.status == "Creating":
        database.status = "Running"


def parse_security_ips(value, name="SecurityIPList"):
    entries = [item.strip() for item in value.split(",") if item.strip()]
    if not entries:
        raise ApiError("InvalidSecurityIPList.Malformed", f"The specified parameter {name} is not valid.")
    normalized = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ApiError("InvalidSecurityIPList.Malformed",
                           f"The specified parameter {name} is not valid: {entry}.") from None
        text = str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)
        if text not in normalized:
            normalized.append(text)
    if len(normalized) > MAX_SECURITY_IPS:
        raise ApiError("InvalidSecurityIPList.Malformed", f"{name} holds at most {MAX_SECURITY_IPS} entries.")
    return normalized


def _security_ip_list(db_instance):
    merged = []
    for ips in db_instance.security_ip_arrays.values():
        merged.extend(ip for ip in ips if ip not in merged)
    return ",".join(merged)


DAY = 86400.0


def _subscription_seconds(params):
    """Length of a Prepaid purchase from Period (Month/Year) and UsedTime (a month counted as 30 days). Without
    them one month, as the emulator has always sold it."""
    period = params.choice("Period", ("Month", "Year"), default="Month", code="InvalidPeriod.Malformed")
    used_time = params.integer("UsedTime", 1, minimum=1, maximum=9 if period == "Month" else 5,
                               code="InvalidUsedTime.Malformed")
    return used_time * (30 * DAY if period == "Month" else 365 * DAY)


@api("rds", "CreateDBInstance")
def create_db_instance(ctx):
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    engine = params.choice("Engine", tuple(RDS_ENGINES), required=True, code="InvalidEngine.Malformed")
    engine_version = params.require("EngineVersion")
    if engine_version not in RDS_ENGINES[engine]:
        raise ApiError("InvalidEngineVersion.Malformed", f"The specified EngineVersion {engine_version} is not valid.")
    db_class = params.require("DBInstanceClass")
    if db_class not in RDS_CLASSES:
        raise ApiError("InvalidDBInstanceClass.NotFound", f"The specified DBInstanceClass {db_class} is not found.")
    storage = params.integer("DBInstanceStorage", required=True, code="InvalidDBInstanceStorage.Malformed")
    if not 20 <= storage <= 32000 or storage % 5:
        raise ApiError("InvalidDBInstanceStorage.Malformed",
                       "DBInstanceStorage must be 20 to 32000 GB in steps of 5 GB.")
    net_type = params.choice("DBInstanceNetType", ("Internet", "Intranet"), required=True)
    pay_type = params.choice("PayType", ("Postpaid", "Prepaid", "Serverless"), required=True,
                             code="InvalidPayType.Malformed")
    security_ips = parse_security_ips(params.require("SecurityIPList"))
    storage_type = params.choice("DBInstanceStorageType", ("cloud_essd", "cloud_essd2", "cloud_essd3",
                                                           "general_essd", "cloud_ssd", "local_ssd"),
                                 default="cloud_essd")
    category = params.choice("Category", ("Basic", "HighAvailability", "cluster", "serverless_basic"),
                             default="HighAvailability")
    vpc_id = params.get("VPCId")
    vswitch_id = params.get("VSwitchId")
    network_type = params.choice("InstanceNetworkType", ("VPC", "Classic"),
                                 default="VPC" if vpc_id or vswitch_id else "Classic")
    vswitch = None
    if network_type == "VPC":
        if vpc_id is None:
            raise missing_parameter("VPCId")
        if vswitch_id is None:
            raise missing_parameter("VSwitchId")
        vpc = get_vpc(state, vpc_id, region_id)
        vswitch = get_vswitch(state, vswitch_id.split(",")[0], region_id)
        if vswitch.vpc_id != vpc.vpc_id:
            raise ApiError("InvalidVSwitchId.NotFound", "The specified VSwitch is not in the specified VPC.",
                           status=404)
        if vswitch.status != "Available":
            raise ApiError("IncorrectVSwitchStatus", "The current status of the VSwitch does not support this "
                           "operation.", status=403)
    zone_id = params.get("ZoneId") or (vswitch.zone_id if vswitch else zones_of(region_id)[0][0])
    if vswitch and zone_id != vswitch.zone_id:
        raise ApiError("InvalidVSwitchId.Mismatch", "The specified VSwitch is not in the specified zone.")
    if zone_id not in {zone[0] for zone in zones_of(region_id)}:
        raise ApiError("InvalidZoneId.NotFound", f"The specified ZoneId {zone_id} does not exist.")
    if zone_sells(zone_id, db_class) != "Available":
        raise ApiError("InvalidDBInstanceClass.NotFound",
                       f"The specified DBInstanceClass {db_class} is not available in zone {zone_id}.")
    description = params.get("DBInstanceDescription", "")
    if len(description) > 256:
        raise invalid_parameter("DBInstanceDescription", "At most 256 characters.")
    tags = params.tags()
    subscription_seconds = _subscription_seconds(params) if pay_type == "Prepaid" else 0
    if params.boolean("DryRun"):
        return {"DryRun": True, "DryRunResult": True, "Message": "Request validation passed (DryRun)."}

    def create():
        if vswitch is not None and available_ip_count(state, vswitch) < 1:
            raise ApiError("InvalidVSwitchId.IpNotEnough", "The specified VSwitch has no free IP address.")
        cpu, memory, max_connections = RDS_CLASSES[db_class]
        db_instance = models.DBInstance(
            db_instance_id=state.new_id("pgm-", region_id), region_id=region_id, zone_id=zone_id, engine=engine,
            engine_version=engine_version, db_instance_class=db_class, cpu=cpu, memory=memory,
            max_connections=max_connections, storage=storage, storage_type=storage_type, category=category,
            pay_type=pay_type, net_type=net_type, network_type=network_type,
            vpc_id=vswitch.vpc_id if vswitch else "", vswitch_id=vswitch.vswitch_id if vswitch else "",
            description=description, status="Creating", creation_time=state.now(),
            security_ip_arrays={"default": security_ips}, tags={key: value or "" for key, value in tags},
            expire_time=state.now() + subscription_seconds if subscription_seconds else 0.0,
        )
        state.backend.on_db_instance_created(db_instance, vswitch)
        state.add_db_instance(db_instance)
        state.schedule("db_create", "db_status", db_instance.db_instance_id, "Creating", "Running")
        return {"DBInstanceId": db_instance.db_instance_id, "OrderId": state.new_number(15),
                "ConnectionString": db_instance.connection_string, "Port": db_instance.port,
                "TaskId": state.new_number(9)}
    return ctx.idempotent(region_id, create)


def _summary(db_instance):
    return {
        "DBInstanceId": db_instance.db_instance_id, "DBInstanceDescription": db_instance.description,
        "DBInstanceStatus": db_instance.status, "Engine": db_instance.engine,
        "EngineVersion": db_instance.engine_version, "DBInstanceClass": db_instance.db_instance_class,
        "DBInstanceCPU": str(db_instance.cpu), "DBInstanceMemory": db_instance.memory,
        "DBInstanceType": "Primary", "DBInstanceNetType": db_instance.net_type,
        "DBInstanceStorageType": db_instance.storage_type, "Category": db_instance.category,
        "InstanceNetworkType": db_instance.network_type, "VpcId": db_instance.vpc_id,
        "VSwitchId": db_instance.vswitch_id, "ZoneId": db_instance.zone_id, "RegionId": db_instance.region_id,
        "ConnectionString": db_instance.connection_string, "ConnectionMode": "Standard",
        "PayType": db_instance.pay_type, "LockMode": "Unlock", "LockReason": "", "MutriORsignle": False,
        "CreateTime": iso_time(db_instance.creation_time),
        "ExpireTime": iso_time(db_instance.expire_time) if db_instance.expire_time else "", "DeletionProtection": False,
        "ResourceGroupId": "", "ReadOnlyDBInstanceIds": {"ReadOnlyDBInstanceId": []},
    }


def _matches_tags(db_instance, raw_tags):
    if not raw_tags:
        return True
    try:
        wanted = json.loads(raw_tags)
    except ValueError:
        raise invalid_parameter("Tags", 'It must be JSON, e.g. {"key":"value"}.') from None
    if isinstance(wanted, dict):
        pairs = list(wanted.items())
    elif isinstance(wanted, list):
        pairs = [(item.get("Key") or item.get("key"), item.get("Value", item.get("value"))) for item in wanted]
    else:
        raise invalid_parameter("Tags", 'It must be JSON, e.g. {"key":"value"}.')
    return all(key in db_instance.tags and (value is None or db_instance.tags[key] == value) for key, value in pairs)


@api("rds", "DescribeDBInstances")
def describe_db_instances(ctx):
    params = ctx.params
    region_id = ctx.region()
    wanted_ids = params.comma_list("DBInstanceId")
    engine = params.get("Engine")
    status = params.get("DBInstanceStatus")
    vpc_id = params.get("VpcId")
    vswitch_id = params.get("VSwitchId")
    raw_tags = params.get("Tags")
    items = [db for db in ctx.state.db_instances.values()
             if db.region_id == region_id
             and (wanted_ids is None or db.db_instance_id in wanted_ids)
             and (engine is None or db.engine.lower() == engine.lower())
             and (status is None or db.status == status)
             and (vpc_id is None or db.vpc_id == vpc_id)
             and (vswitch_id is None or db.vswitch_id == vswitch_id)
             and _matches_tags(db, raw_tags)]
    answer = {"TotalRecordCount": len(items)}
    if params.get("MaxResults") is not None or params.get("NextToken") is not None:
        page, answer["NextToken"] = page_by_token(params, items, key=lambda db: db.db_instance_id, max_results=100,
                                                  default_results=30)
    else:
        page, answer["PageNumber"] = page_by_number(params, items, max_size=100, default_size=30)[:2]
    answer["PageRecordCount"] = len(page)
    answer["Items"] = {"DBInstance": [_summary(db) for db in page]}
    return answer


@api("rds", "DescribeDBInstanceAttribute")
def describe_db_instance_attribute(ctx):
    ids = ctx.params.comma_list("DBInstanceId")
    if not ids:
        raise missing_parameter("DBInstanceId")
    attributes = []
    for db_instance_id in ids:
        db = get_db_instance(ctx.state, db_instance_id)
        attribute = _summary(db)
        attribute.pop("CreateTime")
        attribute.pop("MutriORsignle")
        attribute.update({
            "CreationTime": iso_time(db.creation_time), "Port": db.port, "DBInstanceStorage": db.storage,
            "SecurityIPList": _security_ip_list(db), "SecurityIPMode": "normal", "IPType": "IPv4",
            "MaxConnections": db.max_connections, "MaxIOPS": 3000 + 50 * db.storage, "AccountMaxQuantity": 999999,
            "DBMaxQuantity": 999999, "MasterZone": db.zone_id, "MaintainTime": "18:00Z-22:00Z",
            "TimeZone": "UTC", "Collation": "", "SupportCompression": False, "TipsLevel": 0,
            "DBInstanceDiskUsed": "0", "SlaveZones": {"SlaveZone": []},
        })
        attributes.append(attribute)
    return {"Items": {"DBInstanceAttribute": attributes}}


@api("rds", "ModifyDBInstanceDescription")
def modify_db_instance_description(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    db.description = ctx.params.require("DBInstanceDescription")
    return {}


@api("rds", "ModifyDBInstanceSpec")
def modify_db_instance_spec(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    require_running(db)
    new_class = ctx.params.get("DBInstanceClass")
    new_storage = ctx.params.integer("DBInstanceStorage", code="InvalidDBInstanceStorage.Malformed")
    if new_class is None and new_storage is None:
        raise missing_parameter("DBInstanceClass")
    if new_class is not None and new_class not in RDS_CLASSES:
        raise ApiError("InvalidDBInstanceClass.NotFound", f"The specified DBInstanceClass {new_class} is not found.")
    if new_storage is not None and (new_storage < db.storage or new_storage > 32000 or new_storage % 5):
        raise ApiError("InvalidDBInstanceStorage.Malformed",
                       "DBInstanceStorage cannot shrink and must be a multiple of 5 GB up to 32000.")
    if new_class is not None:
        db.db_instance_class = new_class
        db.cpu, db.memory, db.max_connections = RDS_CLASSES[new_class]
    if new_storage is not None:
        db.storage = new_storage
    db.status = "DBInstanceClassChanging"
    ctx.state.schedule("db_modify", "db_status", db.db_instance_id, "DBInstanceClassChanging", "Running")
    return {"DBInstanceId": db.db_instance_id, "OrderId": ctx.state.new_number(15)}


@api("rds", "DeleteDBInstance")
def delete_db_instance(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    if db.pay_type == "Prepaid" and db.expire_time > ctx.state.now():
        raise ApiError("OperationDenied.DBInstancePayType",
                       "The operation is not permitted due to the pay type of the instance.", status=403)
    if db.status in ("Creating", "Deleting"):
        raise incorrect_state()
    db.status = "Deleting"
    ctx.state.schedule("db_delete", "db_gone", db.db_instance_id)
    return {}


@api("rds", "TransformDBInstancePayType")
def transform_db_instance_pay_type(ctx):
    """Pay-as-you-go <-> subscription of a Running instance; takes effect at once, as an order that is paid."""
    state, params = ctx.state, ctx.params
    db = get_db_instance(state, params.require("DBInstanceId"))
    target = params.choice("PayType", ("Postpaid", "Prepaid"), required=True, code="InvalidPayType.Malformed")
    seconds = _subscription_seconds(params) if target == "Prepaid" else 0
    require_running(db)
    if db.pay_type == target:
        raise ApiError("InvalidPayType.Malformed", f"The instance {db.db_instance_id} is already {target}.")
    db.pay_type = target
    db.expire_time = state.now() + seconds if seconds else 0.0
    return {"DBInstanceId": db.db_instance_id, "OrderId": int(state.new_number(15)), "ChargeType": target,
            "ExpiredTime": iso_time(db.expire_time) if db.expire_time else ""}


# --- accounts -------------------------------------------------------------------------------------------------------
def _check_account_name(name):
    if (not re.fullmatch(r"[a-z][a-z0-9_]{0,61}[a-z0-9]", name) or name in RESERVED_ACCOUNT_NAMES
            or name.startswith("pg")):
        raise ApiError("InvalidAccountName.Malformed", "The specified account name is not valid: 2 to 63 lowercase "
                       "letters, digits or underscores, starting with a letter; reserved names are refused.")


def _check_account_password(password):
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(c in PASSWORD_SPECIALS for c in password)))
    allowed = all((c.isascii() and c.isalnum()) or c in PASSWORD_SPECIALS for c in password)
    if not 8 <= len(password) <= 32 or classes < 3 or not allowed:
        raise ApiError("InvalidAccountPassword.Malformed", "The specified account password is not valid: 8 to 32 "
                       "characters from at least three of uppercase, lowercase, digits and !@#$%^&*()_+-=.")


def _account_not_found(name):
    return ApiError("InvalidAccountName.NotFound", f"The specified account {name} does not exist.", status=404)


@api("rds", "CreateAccount")
def create_account(ctx):
    params = ctx.params
    db = get_db_instance(ctx.state, params.require("DBInstanceId"))
    name = params.require("AccountName")
    password = params.require("AccountPassword")
    account_type = params.choice("AccountType", ("Normal", "Super"), default="Normal")
    _check_account_name(name)
    _check_account_password(password)
    require_running(db)
    if name in db.accounts:
        raise ApiError("InvalidAccountName.Duplicate", "The specified account name already exists.")
    account = models.DBAccount(name=name, account_type=account_type, status="Unavailable",
                               description=params.get("AccountDescription", ""))
    db.accounts[name] = account
    ctx.backend.on_account_created(db, name, password, account_type)
    ctx.state.schedule("account_create", "account_available", db.db_instance_id, name)
    return {}


@api("rds", "ResetAccountPassword")
def reset_account_password(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.require("AccountName")
    password = ctx.params.require("AccountPassword")
    _check_account_password(password)
    require_running(db)
    if name not in db.accounts:
        raise _account_not_found(name)
    ctx.backend.on_account_password_reset(db, name, password)
    return {}


@api("rds", "ModifyAccountDescription")
def modify_account_description(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.require("AccountName")
    description = ctx.params.require("AccountDescription")
    if len(description) > 256 or description.startswith(("http://", "https://")):
        raise invalid_parameter("AccountDescription", "At most 256 characters, not starting with http(s)://.")
    require_running(db)
    if name not in db.accounts:
        raise _account_not_found(name)
    db.accounts[name].description = description
    return {}


@api("rds", "DescribeAccounts")
def describe_accounts(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.get("AccountName")
    accounts = [account for account in db.accounts.values() if name is None or account.name == name]
    page, number = page_by_number(ctx.params, accounts, max_size=200, default_size=30)[:2]
    rows = [{
        "DBInstanceId": db.db_instance_id, "AccountName": account.name, "AccountStatus": account.status,
        "AccountType": account.account_type, "AccountDescription": account.description, "PrivExceeded": "0",
        "DatabasePrivileges": {"DatabasePrivilege": [
            {"DBName": db_name, "AccountPrivilege": privilege, "AccountPrivilegeDetail": ""}
            for db_name, privilege in account.privileges.items()]},
    } for account in page]
    return {"Accounts": {"DBInstanceAccount": rows}, "PageNumber": number, "TotalRecordCount": len(accounts)}


@api("rds", "DeleteAccount")
def delete_account(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.require("AccountName")
    require_running(db)
    if name not in db.accounts:
        raise _account_not_found(name)
    del db.accounts[name]
    for database in db.databases.values():
        if database.owner == name:
            database.owner = ""
    ctx.backend.on_account_deleted(db, name)
    return {}


@api("rds", "GrantAccountPrivilege")
def grant_account_privilege(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.require("AccountName")
    db_names = ctx.params.comma_list("DBName") or []
    privileges = ctx.params.comma_list("AccountPrivilege") or []
    require_running(db)
    if name not in db.accounts:
        raise _account_not_found(name)
    if not db_names:
        raise missing_parameter("DBName")
    if len(privileges) not in (1, len(db_names)):
        raise invalid_parameter("AccountPrivilege", "Give one privilege, or one per database.")
    for index, db_name in enumerate(db_names):
        if db_name not in db.databases:
            raise ApiError("InvalidDBName.NotFound", f"The specified database {db_name} does not exist.",
                           status=404)
        privilege = privileges[index] if len(privileges) > 1 else privileges[0]
        if privilege not in ("ReadWrite", "ReadOnly", "DDLOnly", "DMLOnly", "DBOwner"):
            raise invalid_parameter("AccountPrivilege", "Allowed values: ReadWrite, ReadOnly, DDLOnly, DMLOnly, "
                                    "DBOwner.")
        db.accounts[name].privileges[db_name] = privilege
    return {}


# --- databases ------------------------------------------------------------------------------------------------------
@api("rds", "CreateDatabase")
def create_database(ctx):
    params = ctx.params
    db = get_db_instance(ctx.state, params.require("DBInstanceId"))
    name = params.require("DBName")
    charset = params.require("CharacterSetName")
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", name) or name in ("postgres", "template0", "template1"):
        raise ApiError("InvalidDBName.Malformed", "The specified database name is not valid: up to 63 lowercase "
                       "letters, digits, underscores or hyphens, starting with a letter.")
    charset_name = charset.split(",")[0]
    if charset_name.upper() not in CHARACTER_SETS:
        raise ApiError("InvalidCharacterSetName.Malformed", f"The specified CharacterSetName {charset} is not valid.")
    owner = params.get("AccountName", "")
    require_running(db)
    if name in db.databases:
        raise ApiError("InvalidDBName.Duplicate", "The specified database name already exists.")
    if owner and owner not in db.accounts:
        raise _account_not_found(owner)
    database = models.Database(name=name, character_set=charset_name.upper(), status="Creating",
                               description=params.get("DBDescription", ""), owner=owner)
    db.databases[name] = database
    if owner:
        db.accounts[owner].privileges[name] = "DBOwner"
    ctx.backend.on_database_created(db, database)
    ctx.state.schedule("database_create", "database_running", db.db_instance_id, name)
    return {}


@api("rds", "DescribeDatabases")
def describe_databases(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.get("DBName")
    status = ctx.params.get("DBStatus")
    databases = [database for database in db.databases.values()
                 if (name is None or database.name == name) and (status is None or database.status == status)]
    page = page_by_number(ctx.params, databases, max_size=100, default_size=30)[0]
    rows = []
    for database in page:
        privileges = [{"Account": account.name, "AccountPrivilege": account.privileges[database.name],
                       "AccountPrivilegeDetail": ""}
                      for account in db.accounts.values() if database.name in account.privileges]
        rows.append({"DBName": database.name, "DBInstanceId": db.db_instance_id, "Engine": db.engine,
                     "DBStatus": database.status, "CharacterSetName": database.character_set,
                     "DBDescription": database.description, "Collate": "C", "Ctype": "en_US.utf8",
                     "ConnLimit": "-1", "Tablespace": "pg_default",
                     "Accounts": {"AccountPrivilegeInfo": privileges}})
    return {"Databases": {"Database": rows}}


@api("rds", "ModifyDBDescription")
def modify_db_description(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.require("DBName")
    description = ctx.params.require("DBDescription")
    if len(description) > 256 or description.startswith(("http://", "https://")):
        raise invalid_parameter("DBDescription", "At most 256 characters, not starting with http(s)://.")
    require_running(db)
    if name not in db.databases:
        raise ApiError("InvalidDBName.NotFound", f"The specified database {name} does not exist.", status=404)
    db.databases[name].description = description
    return {}


@api("rds", "DeleteDatabase")
def delete_database(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    name = ctx.params.require("DBName")
    require_running(db)
    if name not in db.databases:
        raise ApiError("InvalidDBName.NotFound", f"The specified database {name} does not exist.", status=404)
    del db.databases[name]
    for account in db.accounts.values():
        account.privileges.pop(name, None)
    ctx.backend.on_database_deleted(db, name)
    return {}


# --- whitelist and network ------------------------------------------------------------------------------------------
@api("rds", "ModifySecurityIps")
def modify_security_ips(ctx):
    params = ctx.params
    db = get_db_instance(ctx.state, params.require("DBInstanceId"))
    ips = parse_security_ips(params.require("SecurityIps"), "SecurityIps")
    group = params.get("DBInstanceIPArrayName", "default")
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,119}", group):
        raise invalid_parameter("DBInstanceIPArrayName", "2 to 120 lowercase letters, digits or underscores.")
    mode = params.choice("ModifyMode", ("Cover", "Append", "Delete"), default="Cover")
    if db.status not in ("Running",):
        raise incorrect_state()
    current = list(db.security_ip_arrays.get(group, []))
    if mode == "Cover":
        current = ips
    elif mode == "Append":
        current.extend(ip for ip in ips if ip not in current)
    else:
        current = [ip for ip in current if ip not in ips]
    if len(current) > MAX_SECURITY_IPS:
        raise ApiError("InvalidSecurityIPList.Malformed", f"A whitelist holds at most {MAX_SECURITY_IPS} entries.")
    if current:
        db.security_ip_arrays[group] = current
    elif group == "default":
        # The default group never disappears; emptied, it holds the deny-all address.
        db.security_ip_arrays[group] = ["127.0.0.1"]
    else:
        db.security_ip_arrays.pop(group, None)
    ctx.backend.on_security_ips_changed(db)
    return {"TaskId": ctx.state.new_number(9)}


@api("rds", "DescribeDBInstanceIPArrayList")
def describe_db_instance_ip_array_list(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    return {"Items": {"DBInstanceIPArray": [
        {"DBInstanceIPArrayName": name, "DBInstanceIPArrayAttribute": "", "SecurityIPType": "IPv4",
         "SecurityIPList": ",".join(ips), "WhitelistNetworkType": "MIX"}
        for name, ips in db.security_ip_arrays.items()]}}


@api("rds", "DescribeDBInstanceNetInfo")
def describe_db_instance_net_info(ctx):
    db = get_db_instance(ctx.state, ctx.params.require("DBInstanceId"))
    ip_type = "Private" if db.network_type == "VPC" else "Inner"
    return {"InstanceNetworkType": db.network_type, "SecurityIPMode": "normal",
            "DBInstanceNetInfos": {"DBInstanceNetInfo": [{
                "ConnectionString": db.connection_string, "IPAddress": db.ip_address, "IPType": ip_type,
                "Port": db.port, "VPCId": db.vpc_id, "VSwitchId": db.vswitch_id, "Upgradeable": "Disable",
                "ConnectionStringType": "Normal",
                "SecurityIPGroups": {"securityIPGroup": [
                    {"SecurityIPGroupName": name, "SecurityIPs": ",".join(ips)}
                    for name, ips in db.security_ip_arrays.items()]},
            }]}}


# --- tags -----------------------------------------------------------------------------------------------------------
def _tagged_instances(ctx, region_id, required=True):
    ctx.params.choice("ResourceType", ("INSTANCE",), required=True)
    resource_ids = ctx.params.indexed("ResourceId")
    if not resource_ids and required:
        raise missing_parameter("ResourceId.N")
    instances = []
    for resource_id in resource_ids:
        db = get_db_instance(ctx.state, resource_id)
        if db.region_id != region_id:
            raise db_not_found(resource_id)
        instances.append(db)
    return instances


@api("rds", "TagResources")
def tag_resources(ctx):
    region_id = ctx.region()
    instances = _tagged_instances(ctx, region_id)
    tags = ctx.params.tags()
    if not tags:
        raise missing_parameter("Tag.N.Key")
    for db in instances:
        merged = dict(db.tags)
        merged.update((key, value or "") for key, value in tags)
        if len(merged) > 20:
            raise ApiError("InvalidTagCount", "A resource can have at most 20 tags.")
        db.tags = merged
    return {}


@api("rds", "UntagResources")
def untag_resources(ctx):
    region_id = ctx.region()
    keys = ctx.params.indexed("TagKey")
    remove_all = ctx.params.boolean("All")
    if not keys and not remove_all:
        raise missing_parameter("TagKey.N")
    for db in _tagged_instances(ctx, region_id):
        db.tags = {key: value for key, value in db.tags.items() if not (remove_all or key in keys)}
    return {}


@api("rds", "ListTagResources")
def list_tag_resources(ctx):
    region_id = ctx.region()
    instances = _tagged_instances(ctx, region_id, required=False)
    wanted = ctx.params.tags()
    if not instances and not wanted:
        raise missing_parameter("ResourceId.N")
    sources = instances or [db for db in ctx.state.db_instances.values() if db.region_id == region_id]
    rows = [{"ResourceId": db.db_instance_id, "ResourceType": "ALIYUN::RDS::INSTANCE", "TagKey": key,
             "TagValue": value}
            for db in sources
            if all(key in db.tags and (value is None or db.tags[key] == value) for key, value in wanted)
            for key, value in db.tags.items()]
    page, next_token = page_by_token(ctx.params, rows, key=lambda row: f"{row['ResourceId']}/{row['TagKey']}",
                                     max_results=50, default_results=50)
    return {"TagResources": {"TagResource": page}, "NextToken": next_token}


@api("rds", "DescribeRegions")
def describe_regions(ctx):
    english = (ctx.params.get("AcceptLanguage") or "").lower().startswith("en")
    rows = []
    for region_id, (local, english_name, _infix, _zones) in REGIONS.items():
        for zone_id, zone_local, zone_english in zones_of(region_id):
            rows.append({"RegionId": region_id, "ZoneId": zone_id, "LocalName": english_name if english else local,
                         "ZoneName": zone_english if english else zone_local,
                         "RegionEndpoint": "rds.aliyuncs.com"})
    return {"Regions": {"RDSRegion": rows}}


@api("rds", "DescribeAvailableClasses")
def describe_available_classes(ctx):
    """The classes a zone sells for an engine, version, storage type, edition and billing, as the console's order
    page asks. A class out of stock is not offered."""
    params = ctx.params
    region_id = ctx.region()
    zone_id = params.require("ZoneId")
    if zone_id not in {zone[0] for zone in zones_of(region_id)}:
        raise ApiError("InvalidZoneId.NotFound", f"The specified ZoneId {zone_id} does not exist.")
    engine = params.choice("Engine", tuple(RDS_ENGINES), required=True, code="InvalidEngine.Malformed")
    engine_version = params.require("EngineVersion")
    if engine_version not in RDS_ENGINES[engine]:
        raise ApiError("InvalidEngineVersion.Malformed", f"The specified EngineVersion {engine_version} is not valid.")
    params.choice("DBInstanceStorageType", ("cloud_essd", "cloud_essd2", "cloud_essd3", "general_essd", "cloud_ssd",
                                            "local_ssd"), required=True)
    params.choice("Category", ("Basic", "HighAvailability", "cluster", "serverless_basic"), required=True)
    params.choice("InstanceChargeType", ("Prepaid", "Postpaid", "Serverless"), required=True)
    classes = [{"DBInstanceClass": db_class, "ReferencePrice": "",
                "DBInstanceStorageRange": {"MinValue": 20, "MaxValue": 32000, "Step": 5}}
               for db_class in sorted(RDS_CLASSES) if zone_sells(zone_id, db_class) == "Available"]
    return {"DBInstanceClasses": classes}
