"""ECS 2014-05-26: regions and zones, security groups and rules, instances, public addresses, tags, images, types."""
import base64
import hashlib
import ipaddress
import json
import re

from .. import models
from ..catalog import (LISTED_INSTANCE_TYPES, PUBLIC_IMAGES, REGIONS, image_os, instance_type_shape,
                       region_endpoint, zone_sells, zones_of)
from ..errors import ApiError, invalid_parameter, missing_parameter
from ..state import event_handler
from . import JsonArray, api, iso_time, page_by_number, page_by_token, tag_filter
from .vpc import available_ip_count, get_vpc, get_vswitch

INCORRECT_STATUS_MESSAGE = "The current status of the resource does not support this operation."
PROTOCOLS = ("TCP", "UDP", "ICMP", "GRE", "ALL", "ICMPV6")
ECS_TAG_RESOURCE_TYPES = ("instance", "securitygroup")
PASSWORD_SPECIALS = set("()`~!@#$%^&*-_+=|{}[]:;'<>,.?/")


def instance_not_found(instance_id):
    return ApiError("InvalidInstanceId.NotFound", f"The specified InstanceId {instance_id} does not exist.",
                    status=404)


def security_group_not_found(group_id):
    return ApiError("InvalidSecurityGroupId.NotFound", f"The specified SecurityGroupId {group_id} does not exist.",
                    status=404)


def key_pair_not_found(name):
    return ApiError("InvalidKeyPairName.NotFound", f"The specified KeyPairName {name} does not exist in our records.",
                    status=404)


def incorrect_instance_status(code="IncorrectInstanceStatus", message=INCORRECT_STATUS_MESSAGE):
    return ApiError(code, message, status=403)


def dry_run_passed():
    return ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")


def ecs_tags(tags):
    return {"Tag": [{"TagKey": key, "TagValue": value} for key, value in tags.items()]}


def get_instance(state, instance_id, region_id=None):
    instance = state.instances.get(instance_id)
    if instance is None or (region_id and instance.region_id != region_id):
        raise instance_not_found(instance_id)
    return instance


def get_security_group(state, group_id, region_id=None):
    group = state.security_groups.get(group_id)
    if group is None or (region_id and group.region_id != region_id):
        raise security_group_not_found(group_id)
    return group


# --- regions, zones, catalog ----------------------------------------------------------------------------------------
@api("ecs", "DescribeRegions")
def describe_regions(ctx):
    english = (ctx.params.get("AcceptLanguage") or "").lower().startswith("en")
    return {"Regions": {"Region": [
        {"RegionId": region_id, "LocalName": english_name if english else local,
         "RegionEndpoint": region_endpoint("ecs", region_id), "Status": "available"}
        for region_id, (local, english_name, _infix, _zones) in REGIONS.items()]}}


@api("ecs", "DescribeZones")
def describe_zones(ctx):
    region_id = ctx.region()
    english = (ctx.params.get("AcceptLanguage") or "").lower().startswith("en")
    zones = []
    for zone_id, local, english_name in zones_of(region_id):
        zones.append({
            "ZoneId": zone_id, "LocalName": english_name if english else local, "ZoneType": "AvailabilityZone",
            "AvailableResourceCreation": {"ResourceTypes": ["VSwitch", "IoOptimized", "Instance", "Disk"]},
            "AvailableInstanceTypes": {"InstanceTypes": list(LISTED_INSTANCE_TYPES)},
            "AvailableDiskCategories": {"DiskCategories": ["cloud_essd", "cloud_efficiency", "cloud_ssd"]},
        })
    return {"Zones": {"Zone": zones}}


@api("ecs", "DescribeAvailableResource")
def describe_available_resource(ctx):
    """What the console asks before it offers a type: the listed types each zone sells, with their stock. Only
    DestinationResource=InstanceType is modelled."""
    region_id = ctx.region()
    params = ctx.params
    params.choice("DestinationResource", ("Zone", "IoOptimized", "InstanceType", "SystemDisk", "DataDisk", "Network",
                                          "ddh"), required=True)
    if params.get("DestinationResource") != "InstanceType":
        raise invalid_parameter("DestinationResource", "The emulator answers only DestinationResource=InstanceType.")
    params.choice("InstanceChargeType", ("PrePaid", "PostPaid"), default="PostPaid")
    params.choice("ResourceType", ("instance", "disk", "reservedinstance", "ddh"), default="instance")
    zone_ids = [zone[0] for zone in zones_of(region_id)]
    wanted_zone = params.get("ZoneId")
    if wanted_zone is not None:
        if wanted_zone not in zone_ids:
            raise ApiError("InvalidZoneId.NotFound", f"The specified ZoneId {wanted_zone} does not exist.",
                           status=404)
        zone_ids = [wanted_zone]
    wanted_type = params.get("InstanceType")
    zones = []
    for zone_id in zone_ids:
        supported = []
        for instance_type in LISTED_INSTANCE_TYPES:
            status = zone_sells(zone_id, instance_type)
            if status is None or (wanted_type and instance_type != wanted_type):
                continue
            supported.append({"Value": instance_type, "Status": status,
                              "StatusCategory": "WithStock" if status == "Available" else "WithoutStock"})
        if not supported:
            continue
        zones.append({"ZoneId": zone_id, "RegionId": region_id, "Status": "Available", "StatusCategory": "WithStock",
                      "AvailableResources": {"AvailableResource": [
                          {"Type": "InstanceType", "SupportedResources": {"SupportedResource": supported}}]}})
    return {"AvailableZones": {"AvailableZone": zones}}


@api("ecs", "DescribeInstanceTypes")
def describe_instance_types(ctx):
    wanted = ctx.params.indexed("InstanceTypes")
    family = ctx.params.get("InstanceTypeFamily")
    rows = []
    for instance_type in LISTED_INSTANCE_TYPES:
        type_family = instance_type.rsplit(".", 1)[0]
        if (wanted and instance_type not in wanted) or (family and family != type_family):
            continue
        vcpus, memory_mib = instance_type_shape(instance_type)
        rows.append({"InstanceTypeId": instance_type, "InstanceTypeFamily": type_family, "CpuCoreCount": vcpus,
                     "MemorySize": memory_mib / 1024, "InstanceCategory": "General-purpose",
                     "CpuArchitecture": "X86", "EniQuantity": 3, "GPUAmount": 0})
    page, next_token = page_by_token(ctx.params, rows, key=lambda row: row["InstanceTypeId"], max_results=1600,
                                     default_results=1600)
    return {"InstanceTypes": {"InstanceType": page}, "NextToken": next_token}


@api("ecs", "DescribeImages")
def describe_images(ctx):
    region_id = ctx.region()
    wanted = ctx.params.comma_list("ImageId")
    name = ctx.params.get("ImageName")
    rows = []
    for image_id, platform, os_name, os_type in PUBLIC_IMAGES:
        if (wanted and image_id not in wanted) or (name and not re.fullmatch(name.replace("*", ".*"), image_id)):
            continue
        rows.append({"ImageId": image_id, "ImageName": image_id, "ImageOwnerAlias": "system", "Platform": platform,
                     "OSName": os_name, "OSNameEn": os_name.replace("64位", "64 bit"), "OSType": os_type,
                     "Architecture": "x86_64", "Status": "Available", "Size": 20, "IsPublic": True,
                     "CreationTime": "2025-01-17T00:00:00Z", "Usage": "instance", "RegionId": region_id})
    page, number, size = page_by_number(ctx.params, rows, max_size=100)
    return {"Images": {"Image": page}, "TotalCount": len(rows), "PageNumber": number, "PageSize": size,
            "RegionId": region_id}


# --- security groups ------------------------------------------------------------------------------------------------
@api("ecs", "CreateSecurityGroup")
def create_security_group(ctx):
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    vpc_id = params.get("VpcId")
    if vpc_id is None:
        raise missing_parameter("VpcId")  # classic network is gone: every group lives in a VPC
    vpc = get_vpc(state, vpc_id, region_id)
    name = params.get("SecurityGroupName", "")
    if name and (len(name) < 2 or len(name) > 128 or name.startswith(("http://", "https://"))):
        raise ApiError("InvalidSecurityGroupName.Malformed", "The specified SecurityGroupName is not valid.")
    group_type = params.choice("SecurityGroupType", ("normal", "enterprise"), default="normal")
    tags = params.tags()
    if params.boolean("DryRun"):
        raise dry_run_passed()

    def create():
        group = models.SecurityGroup(
            security_group_id=state.new_id("sg-", region_id), region_id=region_id, vpc_id=vpc.vpc_id, name=name,
            description=params.get("Description", ""), group_type=group_type, creation_time=state.now(),
            tags={key: value or "" for key, value in tags}, resource_group_id=params.get("ResourceGroupId", ""),
        )
        state.security_groups[group.security_group_id] = group
        return {"SecurityGroupId": group.security_group_id}
    return ctx.idempotent(region_id, create)


def _port_range(protocol, value):
    if protocol in ("ICMP", "GRE", "ALL", "ICMPV6"):
        if value not in (None, "-1/-1"):
            raise ApiError("InvalidPortRange.Malformed", f"The PortRange of protocol {protocol} must be -1/-1.")
        return "-1/-1"
    if value is None:
        raise missing_parameter("PortRange")
    match = re.fullmatch(r"(\d{1,5})/(\d{1,5})", value)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)) <= 65535:
        raise ApiError("InvalidPortRange.Malformed", f"The specified PortRange {value} is not valid.")
    return value


def _cidr(value, name):
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ApiError(f"Invalid{name}.Malformed", f"The specified {name} {value} is not valid.") from None


def _rules_from(params, direction):
    """The Permissions.N.* list, or the legacy top-level rule fields."""
    records = params.indexed_records("Permissions")
    if not records and params.get("IpProtocol"):
        legacy_fields = ("IpProtocol", "PortRange", "SourceCidrIp", "DestCidrIp", "Policy", "Priority",
                         "Description", "NicType", "SourceGroupId", "SourcePortRange")
        records = [{key: params.get(key) for key in legacy_fields if params.get(key)}]
    if not records:
        raise missing_parameter("Permissions.N.IpProtocol")
    rules = []
    for index, record in enumerate(records, start=1):
        protocol = (record.get("IpProtocol") or "").upper()
        if not protocol:
            raise missing_parameter(f"Permissions.{index}.IpProtocol")
        if protocol not in PROTOCOLS:
            raise ApiError("InvalidIpProtocol.Malformed", f"The specified IpProtocol {protocol} is not valid.")
        policy = (record.get("Policy") or "accept").lower()
        if policy not in ("accept", "drop"):
            raise invalid_parameter(f"Permissions.{index}.Policy", "Allowed values: accept, drop.")
        priority = record.get("Priority") or "1"
        if not priority.isdigit() or not 1 <= int(priority) <= 100:
            raise ApiError("InvalidPriority.Malformed", "The Priority must be an integer from 1 to 100.")
        peer_key = "SourceCidrIp" if direction == "ingress" else "DestCidrIp"
        peer = record.get(peer_key)
        if not peer and not record.get("SourceGroupId") and not record.get("DestGroupId"):
            raise missing_parameter(f"Permissions.{index}.{peer_key}")
        rules.append({
            "IpProtocol": protocol, "PortRange": _port_range(protocol, record.get("PortRange")),
            "SourceCidrIp": _cidr(peer, peer_key) if peer and direction == "ingress" else "",
            "DestCidrIp": _cidr(peer, peer_key) if peer and direction == "egress" else "",
            "SourceGroupId": record.get("SourceGroupId", ""), "DestGroupId": record.get("DestGroupId", ""),
            "Policy": "Accept" if policy == "accept" else "Drop", "Priority": str(int(priority)),
            "Direction": direction, "NicType": record.get("NicType", "intranet"),
            "Description": record.get("Description", ""), "SourcePortRange": record.get("SourcePortRange", ""),
        })
    return rules


_RULE_IDENTITY = ("IpProtocol", "PortRange", "SourceCidrIp", "DestCidrIp", "SourceGroupId", "DestGroupId", "Policy",
                  "Priority", "Direction", "NicType", "SourcePortRange")


def _same_rule(left, right):
    return all(left.get(key, "") == right.get(key, "") for key in _RULE_IDENTITY)


def _authorize(ctx, direction):
    state = ctx.state
    region_id = ctx.region()
    group = get_security_group(state, ctx.params.require("SecurityGroupId"), region_id)
    for rule in _rules_from(ctx.params, direction):
        # The API accepts an identical rule again without adding a copy.
        if any(_same_rule(rule, existing) for existing in group.permissions):
            continue
        if len(group.permissions) >= 200:
            raise ApiError("AuthorizationLimitExceed", "The number of rules in the security group exceeds 200.",
                           status=403)
        rule["SecurityGroupRuleId"] = state.new_id("sgr-", region_id)
        rule["CreateTime"] = iso_time(state.now())
        group.permissions.append(rule)
    return {}


def _revoke(ctx, direction):
    region_id = ctx.region()
    group = get_security_group(ctx.state, ctx.params.require("SecurityGroupId"), region_id)
    rule_ids = ctx.params.indexed("SecurityGroupRuleId")
    if rule_ids:
        group.permissions = [rule for rule in group.permissions if rule["SecurityGroupRuleId"] not in rule_ids]
        return {}
    for rule in _rules_from(ctx.params, direction):
        group.permissions = [existing for existing in group.permissions if not _same_rule(rule, existing)]
    return {}


@api("ecs", "AuthorizeSecurityGroup")
def authorize_security_group(ctx):
    return _authorize(ctx, "ingress")


@api("ecs", "AuthorizeSecurityGroupEgress")
def authorize_security_group_egress(ctx):
    return _authorize(ctx, "egress")


@api("ecs", "RevokeSecurityGroup")
def revoke_security_group(ctx):
    return _revoke(ctx, "ingress")


@api("ecs", "RevokeSecurityGroupEgress")
def revoke_security_group_egress(ctx):
    return _revoke(ctx, "egress")


@api("ecs", "DescribeSecurityGroupAttribute")
def describe_security_group_attribute(ctx):
    region_id = ctx.region()
    group = get_security_group(ctx.state, ctx.params.require("SecurityGroupId"), region_id)
    direction = ctx.params.choice("Direction", ("ingress", "egress", "all"), default="all")
    permissions = [dict(rule) for rule in group.permissions if direction == "all" or rule["Direction"] == direction]
    return {"SecurityGroupId": group.security_group_id, "SecurityGroupName": group.name,
            "Description": group.description, "VpcId": group.vpc_id, "RegionId": group.region_id,
            "InnerAccessPolicy": "Accept", "Permissions": {"Permission": permissions}}


def describe_security_group(state, group):
    answer = {"SecurityGroupId": group.security_group_id, "SecurityGroupName": group.name,
              "Description": group.description, "VpcId": group.vpc_id, "SecurityGroupType": group.group_type,
              "CreationTime": iso_time(group.creation_time), "ResourceGroupId": group.resource_group_id,
              "ServiceManaged": False, "RuleCount": len(group.permissions),
              "EcsCount": len(state.security_group_members.get(group.security_group_id, ())),
              "AvailableInstanceAmount": 2000 - len(state.security_group_members.get(group.security_group_id, ()))}
    if group.tags:
        answer["Tags"] = ecs_tags(group.tags)
    return answer


@api("ecs", "DescribeSecurityGroups")
def describe_security_groups(ctx):
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    vpc_id = params.get("VpcId")
    name = params.get("SecurityGroupName")
    wanted_ids = params.json_list("SecurityGroupIds", limit=100)
    single_id = params.get("SecurityGroupId")
    matches_tags = tag_filter(params.tags())
    groups = [group for group in state.security_groups.values()
              if group.region_id == region_id
              and (vpc_id is None or group.vpc_id == vpc_id)
              and (name is None or group.name == name)
              and (wanted_ids is None or group.security_group_id in wanted_ids)
              and (single_id is None or group.security_group_id == single_id)
              and matches_tags(group.tags)]
    answer = {"RegionId": region_id, "TotalCount": len(groups)}
    if params.get("MaxResults") is not None or params.get("NextToken") is not None:
        page, answer["NextToken"] = page_by_token(params, groups, key=lambda g: g.security_group_id,
                                                  max_results=100)
    else:
        page, answer["PageNumber"], answer["PageSize"] = page_by_number(params, groups, max_size=100)
    answer["SecurityGroups"] = {"SecurityGroup": [describe_security_group(state, group) for group in page]}
    return answer


@api("ecs", "ModifySecurityGroupAttribute")
def modify_security_group_attribute(ctx):
    group = get_security_group(ctx.state, ctx.params.require("SecurityGroupId"), ctx.region())
    if ctx.params.get("SecurityGroupName") is not None:
        group.name = ctx.params.get("SecurityGroupName")
    if ctx.params.get("Description") is not None:
        group.description = ctx.params.get("Description")
    return {}


@api("ecs", "DeleteSecurityGroup")
def delete_security_group(ctx):
    state = ctx.state
    group = get_security_group(state, ctx.params.require("SecurityGroupId"), ctx.region())
    if state.security_group_members.get(group.security_group_id):
        raise ApiError("DependencyViolation", "There is still instance(s) in the specified security group.",
                       status=403)
    referenced_by = [other for other in state.security_groups.values()
                     if any(rule.get("SourceGroupId") == group.security_group_id for rule in other.permissions)
                     and other is not group]
    if referenced_by:
        raise ApiError("DependencyViolation", "There is still other security group(s) that authorize this group.",
                       status=403)
    del state.security_groups[group.security_group_id]
    state.security_group_members.pop(group.security_group_id, None)
    return {}


# --- instances ------------------------------------------------------------------------------------------------------
@event_handler("instance_transition")
def _instance_transition(state, instance_id, expected, target):
    """Move an instance on if it is still where the transition was scheduled from (a delete or a stop wins)."""
    instance = state.instances.get(instance_id)
    if instance is None or instance.status != expected:
        return
    if target == "Running" and not state.backend.is_ready(instance):
        state.schedule_recheck("instance_transition", instance_id, expected, target)
        return
    instance.status = target
    if target == "Starting":
        state.schedule("instance_starting", "instance_transition", instance_id, "Starting", "Running")
    elif target == "Running":
        instance.start_time = state.now()
        state.backend.on_instance_started(instance)
    elif target == "Stopped":
        state.backend.on_instance_stopped(instance)


def _check_password(password):
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(c in PASSWORD_SPECIALS for c in password)))
    allowed = all(c.isalnum() and c.isascii() or c in PASSWORD_SPECIALS for c in password)
    if not 8 <= len(password) <= 30 or classes < 3 or not allowed:
        raise ApiError("InvalidPassword.Malformed",
                       "The specified parameter Password is not valid: 8 to 30 characters of at least three of "
                       "lowercase, uppercase, digits and special characters.")


def _security_group_ids(params):
    ids = params.indexed("SecurityGroupIds")
    single = params.get("SecurityGroupId")
    if single:
        ids = [single] + [group_id for group_id in ids if group_id != single]
    if not ids:
        raise missing_parameter("SecurityGroupId")
    if len(ids) > 5:
        raise invalid_parameter("SecurityGroupIds.N", "An instance can join at most 5 security groups.")
    return ids


# Subscription lengths RunInstances and ModifyInstanceChargeType sell, per PeriodUnit.
PREPAID_PERIODS = {"Month": (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60), "Week": (1, 2, 3, 4)}
DAY = 86400.0


def _subscription_seconds(params):
    """Length of a PrePaid purchase from Period/PeriodUnit (a month counted as 30 days)."""
    unit = params.choice("PeriodUnit", tuple(PREPAID_PERIODS), default="Month",
                         code="InvalidPeriodUnit.ValueNotSupported")
    period = params.integer("Period", code="InvalidPeriod")
    if period is None:
        raise missing_parameter("Period")
    if period not in PREPAID_PERIODS[unit]:
        raise ApiError("InvalidPeriod", f"The specified Period {period} is not valid for PeriodUnit {unit}: one of "
                       + ", ".join(str(p) for p in PREPAID_PERIODS[unit]) + ".")
    return period * (30 * DAY if unit == "Month" else 7 * DAY)


def charge_type_violation():
    """What DeleteInstance(s) answers for a subscription instance that has not expired."""
    return ApiError("ChargeTypeViolation", "The operation is not permitted due to charge type of the instance.",
                    status=403)


@api("ecs", "RunInstances")
def run_instances(ctx):
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    image_id = params.require("ImageId")
    instance_type = params.require("InstanceType")
    amount = params.integer("Amount", 1, minimum=1, maximum=100)
    minimum_amount = params.integer("MinAmount", amount, minimum=1, maximum=amount)
    os_facts = image_os(image_id)
    if os_facts is None:
        raise ApiError("InvalidImageId.NotFound", f"The specified ImageId {image_id} does not exist.", status=404)
    shape = instance_type_shape(instance_type)
    if shape is None:
        raise ApiError("InvalidInstanceType.ValueNotSupported",
                       f"The specified InstanceType {instance_type} does not exist or is not supported.")
    vswitch_id = params.get("VSwitchId")
    if vswitch_id is None:
        raise missing_parameter("VSwitchId")  # instances live in VPCs only
    vswitch = get_vswitch(state, vswitch_id, region_id)
    zone_id = params.get("ZoneId", vswitch.zone_id)
    if zone_id != vswitch.zone_id:
        raise ApiError("InvalidVSwitchId.Mismatch", "Specified virtual switch is not in the specified zone.")
    if instance_type in LISTED_INSTANCE_TYPES and zone_sells(zone_id, instance_type) != "Available":
        raise ApiError("OperationDenied.NoStock" if zone_sells(zone_id, instance_type) else
                       "InvalidInstanceType.NotSupported",
                       f"The requested resource {instance_type} is sold out or not sold in zone {zone_id}.",
                       status=403)
    groups = [get_security_group(state, group_id, region_id) for group_id in _security_group_ids(params)]
    for group in groups:
        if group.vpc_id != vswitch.vpc_id:
            raise ApiError("InvalidSecurityGroupId.VPCMismatch",
                           "Specified security group and virtual switch are not in the same VPC.")
    password = params.get("Password")
    if password is not None:
        _check_password(password)
    key_pair_name = params.get("KeyPairName", "")
    key_pair = None
    if key_pair_name:
        key_pair = state.key_pairs.get((region_id, key_pair_name))
        if key_pair is None:
            raise key_pair_not_found(key_pair_name)
    bandwidth_out = params.integer("InternetMaxBandwidthOut", 0, minimum=0, maximum=200,
                                   code="InvalidInternetMaxBandwidthOut.Malformed")
    bandwidth_in = params.integer("InternetMaxBandwidthIn", 0, minimum=0, maximum=200)
    charge_type = params.choice("InternetChargeType", ("PayByTraffic", "PayByBandwidth"), default="PayByTraffic")
    instance_charge = params.choice("InstanceChargeType", ("PostPaid", "PrePaid"), default="PostPaid",
                                    code="InvalidInstanceChargeType.ValueNotSupported")
    subscription_seconds = _subscription_seconds(params) if instance_charge == "PrePaid" else 0
    auto_renew = params.boolean("AutoRenew") if instance_charge == "PrePaid" else False
    disk_category = params.choice("SystemDisk.Category", ("cloud_essd", "cloud_efficiency", "cloud_ssd", "cloud",
                                                          "cloud_auto", "cloud_essd_entry"), default="cloud_essd")
    disk_size = params.integer("SystemDisk.Size", 40, minimum=20, maximum=2048,
                               code="InvalidSystemDiskSize.ValueNotSupported")
    name = params.get("InstanceName", "")
    if name and (len(name) < 2 or len(name) > 128 or name.startswith(("http://", "https://"))):
        raise ApiError("InvalidInstanceName.Malformed", "The specified InstanceName is not valid.")
    host_name = params.get("HostName", "")
    tags = params.tags()
    if vswitch.status != "Available":
        raise ApiError("IncorrectVSwitchStatus", "The current status of the virtual switch does not support this "
                       "operation.", status=403)
    if params.boolean("DryRun"):
        raise dry_run_passed()

    def create():
        if available_ip_count(state, vswitch) < minimum_amount:
            raise ApiError("InvalidVSwitchId.IpNotEnough", "The specified VSwitch has not enough IP addresses.")
        count = min(amount, available_ip_count(state, vswitch))
        unique_suffix = params.boolean("UniqueSuffix")
        created = []
        for index in range(count):
            instance_id = state.new_id("i-", region_id)
            instance_name = name or instance_id
            if unique_suffix and amount > 1:
                instance_name = f"{instance_name}{index + 1:03d}"
            instance = models.Instance(
                instance_id=instance_id, region_id=region_id, zone_id=vswitch.zone_id, name=instance_name,
                description=params.get("Description", ""), host_name=host_name or f"iZ{instance_id[2:]}Z",
                instance_type=instance_type, cpu=shape[0], memory=shape[1], image_id=image_id,
                os_name=os_facts[1], os_type=os_facts[2], vpc_id=vswitch.vpc_id, vswitch_id=vswitch.vswitch_id,
                security_group_ids=[group.security_group_id for group in groups], status="Pending",
                creation_time=state.now(), internet_max_bandwidth_out=bandwidth_out,
                internet_max_bandwidth_in=bandwidth_in or (200 if bandwidth_out else 0),
                internet_charge_type=charge_type, instance_charge_type=instance_charge,
                expired_time=state.now() + subscription_seconds if subscription_seconds else 0.0,
                auto_renew=auto_renew,
                key_pair_name=key_pair_name, system_disk_category=disk_category, system_disk_size=disk_size,
                tags={key: value or "" for key, value in tags}, resource_group_id=params.get("ResourceGroupId", ""),
            )
            state.backend.on_instance_created(instance, vswitch, password=password,
                                              public_key=key_pair.public_key if key_pair else None)
            if bandwidth_out > 0:
                instance.public_ip = state.backend.allocate_public_ip(instance)
            state.add_instance(instance)
            state.schedule("instance_pending", "instance_transition", instance_id, "Pending", "Starting")
            created.append(instance_id)
        return {"InstanceIdSets": {"InstanceIdSet": created}, "OrderId": state.new_number(15),
                "TradePrice": 0.0}
    return ctx.idempotent(region_id, create)


def encoded_instance(instance, cache):
    """The DescribeInstances entry as JSON text, rebuilt only when the instance changed: inventories page through
    thousands of instances, most of which do not change between two calls."""
    key = (instance.status, instance.name, instance.description, instance.host_name, instance.public_ip,
           instance.start_time, instance.internet_max_bandwidth_out, tuple(instance.tags.items()),
           tuple(instance.security_group_ids), instance.instance_charge_type, instance.expired_time,
           instance.auto_renew)
    cached = cache.get(instance.instance_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    text = json.dumps(describe_instance(instance), ensure_ascii=False, separators=(",", ":"))
    cache[instance.instance_id] = (key, text)
    return text


def describe_instance(instance):
    answer = {
        "InstanceId": instance.instance_id, "InstanceName": instance.name, "Description": instance.description,
        "HostName": instance.host_name, "Status": instance.status, "InstanceType": instance.instance_type,
        "InstanceTypeFamily": instance.instance_type.rsplit(".", 1)[0], "Cpu": instance.cpu,
        "Memory": instance.memory, "ZoneId": instance.zone_id, "RegionId": instance.region_id,
        "ImageId": instance.image_id, "OSName": instance.os_name,
        "OSNameEn": instance.os_name.replace("64位", "64 bit"), "OSType": instance.os_type,
        "InstanceNetworkType": "vpc",
        "VpcAttributes": {"VpcId": instance.vpc_id, "VSwitchId": instance.vswitch_id, "NatIpAddress": "",
                          "PrivateIpAddress": {"IpAddress": [instance.private_ip]}},
        "PublicIpAddress": {"IpAddress": [instance.public_ip] if instance.public_ip else []},
        "InnerIpAddress": {"IpAddress": []},
        "EipAddress": {"IpAddress": "", "AllocationId": "", "InternetChargeType": "", "Bandwidth": 0},
        "SecurityGroupIds": {"SecurityGroupId": list(instance.security_group_ids)},
        "InternetChargeType": instance.internet_charge_type,
        "InternetMaxBandwidthOut": instance.internet_max_bandwidth_out,
        "InternetMaxBandwidthIn": instance.internet_max_bandwidth_in,
        "InstanceChargeType": instance.instance_charge_type, "CreationTime": iso_time(instance.creation_time, False),
        "StartTime": iso_time(instance.start_time, False) if instance.start_time else "",
        "ExpiredTime": iso_time(instance.expired_time, False) if instance.expired_time else "2099-12-31T15:59Z",
        "KeyPairName": instance.key_pair_name,
        "StoppedMode": "KeepCharging" if instance.status == "Stopped" else "Not-applicable",
        "SerialNumber": _serial_number(instance.instance_id), "ResourceGroupId": instance.resource_group_id,
        "IoOptimized": True, "DeviceAvailable": True, "DeletionProtection": False, "Recyclable": False,
        "GPUAmount": 0, "LocalStorageAmount": 0, "LocalStorageCapacity": 0, "CreditSpecification": "",
        "NetworkInterfaces": {"NetworkInterface": [{
            "NetworkInterfaceId": "eni-" + instance.instance_id[2:], "PrimaryIpAddress": instance.private_ip,
            "Type": "Primary", "MacAddress": _mac_address(instance.instance_id),
            "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": instance.private_ip, "Primary": True}]}}]},
        "OperationLocks": {"LockReason": []},
    }
    if instance.tags:
        answer["Tags"] = ecs_tags(instance.tags)
    return answer


def _serial_number(instance_id):
    digits = "".join(f"{ord(c):02x}" for c in instance_id[2:])[:32].ljust(32, "0")
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:32]}"


def _mac_address(instance_id):
    digits = "".join(f"{ord(c):02x}" for c in instance_id[-5:])[:10]
    return "00:16:3e:" + ":".join(digits[i:i + 2] for i in range(0, 6, 2))


_INSTANCE_STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")


@api("ecs", "DescribeInstances")
def describe_instances(ctx):
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    wanted_ids = params.json_list("InstanceIds", limit=100)
    status = params.choice("Status", _INSTANCE_STATUSES)
    vpc_id = params.get("VpcId")
    vswitch_id = params.get("VSwitchId")
    zone_id = params.get("ZoneId")
    name = params.get("InstanceName")
    group_id = params.get("SecurityGroupId")
    instance_type = params.get("InstanceType")
    image_id = params.get("ImageId")
    private_ips = params.json_list("PrivateIpAddresses") or params.json_list("InnerIpAddresses")
    public_ips = params.json_list("PublicIpAddresses")
    tags = params.tags(limit=20)
    matches_tags = tag_filter(tags)
    by_token = params.get("MaxResults") is not None or params.get("NextToken") is not None
    region_instances = state.instances_by_region.get(region_id, {})
    if wanted_ids is not None:
        candidates = [region_instances[i] for i in dict.fromkeys(wanted_ids) if i in region_instances]
    else:
        candidates = list(region_instances.values())
    name_pattern = None
    if name is not None and "*" in name:
        name_pattern = re.compile("^" + ".*".join(re.escape(part) for part in name.split("*")) + "$")
    filters = (status, vpc_id, vswitch_id, zone_id, name, group_id, instance_type, image_id, private_ips,
               public_ips)
    if tags or any(value is not None for value in filters):
        candidates = [instance for instance in candidates
                      if (status is None or instance.status == status)
                      and (vpc_id is None or instance.vpc_id == vpc_id)
                      and (vswitch_id is None or instance.vswitch_id == vswitch_id)
                      and (zone_id is None or instance.zone_id == zone_id)
                      and (name is None or (name_pattern.match(instance.name) if name_pattern
                                            else instance.name == name))
                      and (group_id is None or group_id in instance.security_group_ids)
                      and (instance_type is None or instance.instance_type == instance_type)
                      and (image_id is None or instance.image_id == image_id)
                      and (private_ips is None or instance.private_ip in private_ips)
                      and (public_ips is None or instance.public_ip in public_ips)
                      and matches_tags(instance.tags)]
    answer = {"TotalCount": len(candidates)}
    if by_token:
        page, answer["NextToken"] = page_by_token(params, candidates, key=lambda i: i.instance_id, max_results=100)
    else:
        page, answer["PageNumber"], answer["PageSize"] = page_by_number(params, candidates, max_size=100)
        answer["NextToken"] = ""
    answer["Instances"] = {"Instance": JsonArray([encoded_instance(instance, state.render_cache)
                                                  for instance in page])}
    return answer


@api("ecs", "DescribeInstanceStatus")
def describe_instance_status(ctx):
    region_id = ctx.region()
    wanted = ctx.params.indexed("InstanceId")
    instances = [i for i in ctx.state.instances_by_region.get(region_id, {}).values()
                 if not wanted or i.instance_id in wanted]
    page, number, size = page_by_number(ctx.params, instances, max_size=50)
    return {"InstanceStatuses": {"InstanceStatus": [{"InstanceId": i.instance_id, "Status": i.status}
                                                    for i in page]},
            "TotalCount": len(instances), "PageNumber": number, "PageSize": size}


@api("ecs", "StartInstance")
def start_instance(ctx):
    instance = get_instance(ctx.state, ctx.params.require("InstanceId"))
    if instance.status != "Stopped":
        raise incorrect_instance_status()
    if ctx.params.boolean("DryRun"):
        raise dry_run_passed()
    instance.status = "Starting"
    ctx.state.schedule("instance_restart", "instance_transition", instance.instance_id, "Starting", "Running")
    return {}


def _stop(state, instance):
    instance.status = "Stopping"
    state.schedule("instance_stopping", "instance_transition", instance.instance_id, "Stopping", "Stopped")


@api("ecs", "StopInstance")
def stop_instance(ctx):
    instance = get_instance(ctx.state, ctx.params.require("InstanceId"))
    if instance.status != "Running":
        raise incorrect_instance_status()
    if ctx.params.boolean("DryRun"):
        raise dry_run_passed()
    _stop(ctx.state, instance)
    return {}


@api("ecs", "RebootInstance")
def reboot_instance(ctx):
    instance = get_instance(ctx.state, ctx.params.require("InstanceId"))
    if instance.status != "Running":
        raise incorrect_instance_status()
    instance.status = "Starting"
    ctx.state.schedule("instance_restart", "instance_transition", instance.instance_id, "Starting", "Running")
    return {}


def _check_deletable(state, instance, force):
    if instance.instance_charge_type == "PrePaid" and instance.expired_time > state.now():
        raise charge_type_violation()
    if instance.status in ("Pending", "Starting") and instance.start_time == 0.0:
        raise incorrect_instance_status("IncorrectInstanceStatus.Initializing",
                                        "The specified instance is in initializing status.")
    if instance.status != "Stopped" and not force:
        raise incorrect_instance_status()


def _delete(state, instance):
    state.remove_instance(instance)
    state.backend.on_instance_deleted(instance)


@api("ecs", "DeleteInstance")
def delete_instance(ctx):
    instance = get_instance(ctx.state, ctx.params.require("InstanceId"))
    _check_deletable(ctx.state, instance, ctx.params.boolean("Force"))
    _delete(ctx.state, instance)
    return {}


@api("ecs", "DeleteInstances")
def delete_instances(ctx):
    region_id = ctx.region()
    instance_ids = ctx.params.indexed("InstanceId")
    if not instance_ids:
        raise missing_parameter("InstanceId.N")
    if len(instance_ids) > 100:
        raise invalid_parameter("InstanceId.N", "At most 100 instances per call.")
    instances = [get_instance(ctx.state, instance_id, region_id) for instance_id in instance_ids]
    force = ctx.params.boolean("Force")
    for instance in instances:
        _check_deletable(ctx.state, instance, force)
    if ctx.params.boolean("DryRun"):
        raise dry_run_passed()
    for instance in instances:
        _delete(ctx.state, instance)
    return {}


@api("ecs", "ModifyInstanceChargeType")
def modify_instance_charge_type(ctx):
    """Subscription <-> pay-as-you-go for up to 20 Running or Stopped instances, all or none."""
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    instance_ids = params.json_list("InstanceIds", limit=20)
    if not instance_ids:
        raise missing_parameter("InstanceIds")
    target = params.choice("InstanceChargeType", ("PostPaid", "PrePaid"), default="PrePaid",
                           code="InvalidInstanceChargeType.ValueNotSupported")
    seconds = _subscription_seconds(params) if target == "PrePaid" else 0
    instances = [get_instance(state, instance_id, region_id) for instance_id in instance_ids]
    for instance in instances:
        if instance.status not in ("Running", "Stopped"):
            raise incorrect_instance_status()
        if instance.instance_charge_type == target:
            raise ApiError("InvalidInstanceChargeType.ValueNotSupported",
                           f"The instance {instance.instance_id} is already {target}.", status=403)
    if params.boolean("DryRun"):
        raise dry_run_passed()
    for instance in instances:
        instance.instance_charge_type = target
        instance.expired_time = state.now() + seconds if seconds else 0.0
        instance.auto_renew = False
    return {"OrderId": state.new_number(15), "FeeOfInstances": {"FeeOfInstance": [
        {"InstanceId": instance.instance_id, "Fee": "0", "Currency": "CNY"} for instance in instances]}}


@api("ecs", "ModifyInstanceAttribute")
def modify_instance_attribute(ctx):
    instance = get_instance(ctx.state, ctx.params.require("InstanceId"))
    if ctx.params.get("InstanceName") is not None:
        instance.name = ctx.params.get("InstanceName")
    if ctx.params.get("Description") is not None:
        instance.description = ctx.params.get("Description")
    if ctx.params.get("HostName") is not None:
        instance.host_name = ctx.params.get("HostName")
    password = ctx.params.get("Password")
    if password is not None:
        _check_password(password)
        ctx.backend.on_instance_password_changed(instance, password)
    return {}


@api("ecs", "AllocatePublicIpAddress")
def allocate_public_ip_address(ctx):
    instance = get_instance(ctx.state, ctx.params.require("InstanceId"))
    if instance.status not in ("Running", "Stopped"):
        raise incorrect_instance_status()
    if instance.internet_max_bandwidth_out <= 0:
        raise ApiError("InvalidInternetMaxBandwidthOut.ValueNotSupported",
                       "The instance has no public bandwidth (InternetMaxBandwidthOut is 0).", status=403)
    if instance.public_ip:
        raise ApiError("AllocatedAlready", "The instance already has a public IP address.", status=403)
    instance.public_ip = ctx.backend.allocate_public_ip(instance)
    return {"IpAddress": instance.public_ip}


# --- tags -----------------------------------------------------------------------------------------------------------
def _tag_collection(ctx):
    resource_type = ctx.params.choice("ResourceType", ECS_TAG_RESOURCE_TYPES, required=True)
    if resource_type == "instance":
        return resource_type, ctx.state.instances, instance_not_found
    return resource_type, ctx.state.security_groups, security_group_not_found


@api("ecs", "TagResources")
def tag_resources(ctx):
    region_id = ctx.region()
    collection, not_found = _tag_collection(ctx)[1:]
    resource_ids = ctx.params.indexed("ResourceId")
    if not resource_ids:
        raise missing_parameter("ResourceId.N")
    tags = ctx.params.tags()
    if not tags:
        raise missing_parameter("Tag.N.Key")
    resources = []
    for resource_id in resource_ids:
        resource = collection.get(resource_id)
        if resource is None or resource.region_id != region_id:
            raise not_found(resource_id)
        resources.append(resource)
    for resource in resources:
        merged = dict(resource.tags)
        merged.update((key, value or "") for key, value in tags)
        if len(merged) > 20:
            raise ApiError("InvalidTagCount", "A resource can have at most 20 tags.")
        resource.tags = merged
    return {}


@api("ecs", "UntagResources")
def untag_resources(ctx):
    region_id = ctx.region()
    collection, not_found = _tag_collection(ctx)[1:]
    keys = ctx.params.indexed("TagKey")
    remove_all = ctx.params.boolean("All")
    for resource_id in ctx.params.indexed("ResourceId"):
        resource = collection.get(resource_id)
        if resource is None or resource.region_id != region_id:
            raise not_found(resource_id)
        resource.tags = {key: value for key, value in resource.tags.items()
                         if not (remove_all or key in keys)}
    return {}


@api("ecs", "ListTagResources")
def list_tag_resources(ctx):
    region_id = ctx.region()
    resource_type, collection = _tag_collection(ctx)[:2]
    resource_ids = ctx.params.indexed("ResourceId")
    matches_tags = tag_filter(ctx.params.tags())
    if not resource_ids and not ctx.params.tags():
        raise missing_parameter("ResourceId.N")
    sources = ([collection[i] for i in resource_ids if i in collection] if resource_ids
               else list(collection.values()))
    rows = []
    for resource in sources:
        if resource.region_id != region_id or not matches_tags(resource.tags):
            continue
        resource_id = getattr(resource, "instance_id", None) or resource.security_group_id
        rows.extend({"ResourceType": resource_type, "ResourceId": resource_id, "TagKey": key, "TagValue": value}
                    for key, value in resource.tags.items())
    page, next_token = page_by_token(ctx.params, rows, key=lambda row: f"{row['ResourceId']}/{row['TagKey']}",
                                     max_results=50, default_results=50)
    return {"TagResources": {"TagResource": page}, "NextToken": next_token}


# --- key pairs ------------------------------------------------------------------------------------------------------
_PUBLIC_KEY = re.compile(r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) ([A-Za-z0-9+/]+={0,2})( .*)?$")


def _fingerprint(public_key):
    """MD5 of the key blob in colon-separated hex, as the console shows it."""
    blob = base64.b64decode(_PUBLIC_KEY.match(public_key).group(3))
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324  (a fingerprint format, not a security use)
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _key_pair_name(params):
    name = params.require("KeyPairName")
    well_formed = re.fullmatch(r"[A-Za-z\u4e00-\u9fa5][\w.:\-\u4e00-\u9fa5]{1,127}", name)
    if not well_formed or name.startswith(("http://", "https://")):
        raise ApiError("InvalidKeyPairName.Malformed", f"The specified KeyPairName {name} is not valid.")
    return name


def describe_key_pair(key_pair):
    answer = {"KeyPairName": key_pair.name, "KeyPairFingerPrint": key_pair.fingerprint,
              "CreationTime": iso_time(key_pair.creation_time), "ResourceGroupId": key_pair.resource_group_id}
    if key_pair.tags:
        answer["Tags"] = ecs_tags(key_pair.tags)
    return answer


@api("ecs", "ImportKeyPair")
def import_key_pair(ctx):
    region_id = ctx.region()
    name = _key_pair_name(ctx.params)
    public_key = ctx.params.require("PublicKeyBody").strip()
    match = _PUBLIC_KEY.match(public_key)
    try:
        valid = match is not None and len(base64.b64decode(match.group(3), validate=True)) > 16
    except ValueError:
        valid = False
    if not valid:
        raise ApiError("InvalidPublicKeyBody.Malformed", "The specified PublicKeyBody is not a valid OpenSSH key.")
    if (region_id, name) in ctx.state.key_pairs:
        raise ApiError("KeyPair.AlreadyExist", f"The key pair {name} already exists.", status=409)
    key_pair = models.KeyPair(name=name, region_id=region_id, public_key=public_key,
                              fingerprint=_fingerprint(public_key), creation_time=ctx.state.now(),
                              tags={key: value or "" for key, value in ctx.params.tags()},
                              resource_group_id=ctx.params.get("ResourceGroupId", ""))
    ctx.state.key_pairs[(region_id, name)] = key_pair
    return {"KeyPairName": name, "KeyPairFingerPrint": key_pair.fingerprint}


@api("ecs", "DescribeKeyPairs")
def describe_key_pairs(ctx):
    region_id = ctx.region()
    name = ctx.params.get("KeyPairName")
    fingerprint = ctx.params.get("KeyPairFingerPrint")
    matches_tags = tag_filter(ctx.params.tags())
    pairs = [pair for (region, _name), pair in ctx.state.key_pairs.items()
             if region == region_id and (name is None or pair.name == name)
             and (fingerprint is None or pair.fingerprint == fingerprint) and matches_tags(pair.tags)]
    page, number, size = page_by_number(ctx.params, pairs, max_size=50)
    return {"KeyPairs": {"KeyPair": [describe_key_pair(pair) for pair in page]}, "TotalCount": len(pairs),
            "PageNumber": number, "PageSize": size}


@api("ecs", "DeleteKeyPairs")
def delete_key_pairs(ctx):
    region_id = ctx.region()
    names = ctx.params.json_list("KeyPairNames", limit=100)
    if not names:
        raise missing_parameter("KeyPairNames")
    # Unknown names are skipped, as the real API does; instances keep running with the key they were given.
    for name in names:
        ctx.state.key_pairs.pop((region_id, name), None)
    return {}
