"""VPC 2016-04-28: VPCs, VSwitches, tags, regions and zones."""
import ipaddress

from .. import models
from ..backend import usable_address_count
from ..catalog import REGIONS, region_endpoint, zones_of
from ..errors import ApiError, invalid_parameter
from ..state import event_handler
from . import api, iso_time, page_by_number, page_by_token, tag_filter

DEFAULT_VPC_CIDR = "172.16.0.0/12"
VPC_TAG_RESOURCE_TYPES = {"vpc": "VPC", "vswitch": "VSWITCH"}


def vpc_not_found(vpc_id):
    return ApiError("InvalidVpcId.NotFound", f"Specified VPC {vpc_id} does not exist.", status=404)


def vswitch_not_found(vswitch_id):
    return ApiError("InvalidVSwitchId.NotFound", f"Specified VSwitch {vswitch_id} does not exist.", status=404)


def parse_cidr(value, name, min_prefix, max_prefix):
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ApiError("InvalidCidrBlock.Malformed", f"Specified {name} is not valid.") from None
    if network.version != 4 or not min_prefix <= network.prefixlen <= max_prefix:
        raise ApiError("InvalidCidrBlock.Malformed",
                       f"Specified {name} is not valid: the mask must be between /{min_prefix} and /{max_prefix}.")
    return network


def check_name(params, name, code):
    value = params.get(name)
    if value is not None and (len(value) > 128 or value.startswith(("http://", "https://"))):
        raise ApiError(code, f"The specified {name} is not valid.")
    return value or ""


def vpc_tags(tags):
    return {"Tag": [{"Key": key, "Value": value} for key, value in tags.items()]}


def get_vpc(state, vpc_id, region_id=None):
    vpc = state.vpcs.get(vpc_id)
    if vpc is None or (region_id and vpc.region_id != region_id):
        raise vpc_not_found(vpc_id)
    return vpc


def get_vswitch(state, vswitch_id, region_id=None):
    vswitch = state.vswitches.get(vswitch_id)
    if vswitch is None or (region_id and vswitch.region_id != region_id):
        raise vswitch_not_found(vswitch_id)
    return vswitch


@event_handler("vpc_available")
def _vpc_available(state, vpc_id):
    vpc = state.vpcs.get(vpc_id)
    if vpc is not None and vpc.status == "Pending":
        vpc.status = "Available"


@event_handler("vswitch_available")
def _vswitch_available(state, vswitch_id):
    vswitch = state.vswitches.get(vswitch_id)
    if vswitch is not None and vswitch.status == "Pending":
        vswitch.status = "Available"


@api("vpc", "CreateVpc")
def create_vpc(ctx):
    region_id = ctx.region()
    params = ctx.params
    cidr = parse_cidr(params.get("CidrBlock", DEFAULT_VPC_CIDR), "CidrBlock", 8, 28)
    name = check_name(params, "VpcName", "InvalidVpcName.Malformed")
    description = check_name(params, "Description", "InvalidDescription.Malformed")
    tags = params.tags()
    if params.boolean("DryRun"):
        raise ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")

    def create():
        state = ctx.state
        vpc = models.Vpc(
            vpc_id=state.new_id("vpc-", region_id), region_id=region_id, cidr_block=str(cidr), name=name,
            description=description, status="Pending", vrouter_id=state.new_id("vrt-", region_id),
            route_table_id=state.new_id("vtb-", region_id), creation_time=state.now(),
            tags={key: value or "" for key, value in tags}, resource_group_id=params.get("ResourceGroupId", ""),
        )
        state.vpcs[vpc.vpc_id] = vpc
        state.schedule("vpc_create", "vpc_available", vpc.vpc_id)
        return {"VpcId": vpc.vpc_id, "VRouterId": vpc.vrouter_id, "RouteTableId": vpc.route_table_id,
                "ResourceGroupId": vpc.resource_group_id}
    return ctx.idempotent(region_id, create)


def describe_vpc(state, vpc):
    vswitch_ids = [vsw.vswitch_id for vsw in state.vswitches.values() if vsw.vpc_id == vpc.vpc_id]
    answer = {
        "VpcId": vpc.vpc_id, "RegionId": vpc.region_id, "Status": vpc.status, "VpcName": vpc.name,
        "CreationTime": iso_time(vpc.creation_time), "CidrBlock": vpc.cidr_block, "Ipv6CidrBlock": "",
        "VRouterId": vpc.vrouter_id, "Description": vpc.description, "IsDefault": False,
        "ResourceGroupId": vpc.resource_group_id, "VSwitchIds": {"VSwitchId": vswitch_ids},
        "RouterTableIds": {"RouterTableIds": [vpc.route_table_id]}, "UserCidrs": {"UserCidr": []},
        "NatGatewayIds": {"NatGatewayIds": []}, "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "Tags": vpc_tags(vpc.tags),
    }
    return answer


@api("vpc", "DescribeVpcs")
def describe_vpcs(ctx):
    region_id = ctx.region()
    params = ctx.params
    wanted_ids = params.comma_list("VpcId")
    if wanted_ids is not None and len(wanted_ids) > 20:
        raise invalid_parameter("VpcId", "It holds at most 20 ids.")
    name = params.get("VpcName")
    matches_tags = tag_filter(params.tags())
    is_default = params.get("IsDefault")
    vpcs = [vpc for vpc in ctx.state.vpcs.values()
            if vpc.region_id == region_id
            and (wanted_ids is None or vpc.vpc_id in wanted_ids)
            and (name is None or vpc.name == name)
            and (is_default is None or is_default.lower() == "false")
            and matches_tags(vpc.tags)]
    page, number, size = page_by_number(params, vpcs, max_size=50)
    return {"Vpcs": {"Vpc": [describe_vpc(ctx.state, vpc) for vpc in page]}, "TotalCount": len(vpcs),
            "PageNumber": number, "PageSize": size}


@api("vpc", "ModifyVpcAttribute")
def modify_vpc_attribute(ctx):
    vpc = get_vpc(ctx.state, ctx.params.require("VpcId"))
    name = check_name(ctx.params, "VpcName", "InvalidVpcName.Malformed")
    description = check_name(ctx.params, "Description", "InvalidDescription.Malformed")
    if ctx.params.get("VpcName") is not None:
        vpc.name = name
    if ctx.params.get("Description") is not None:
        vpc.description = description
    return {}


@api("vpc", "DeleteVpc")
def delete_vpc(ctx):
    state = ctx.state
    vpc = get_vpc(state, ctx.params.require("VpcId"))
    if vpc.status != "Available":
        raise ApiError("IncorrectVpcStatus", "Current VPC status does not support this operation.")
    if any(vsw.vpc_id == vpc.vpc_id for vsw in state.vswitches.values()):
        raise ApiError("DependencyViolation.VSwitch", "Specified VPC still has VSwitches.")
    if any(group.vpc_id == vpc.vpc_id for group in state.security_groups.values()):
        raise ApiError("DependencyViolation.SecurityGroup", "Specified VPC still has security groups.")
    if ctx.params.boolean("DryRun"):
        raise ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")
    del state.vpcs[vpc.vpc_id]
    return {}


@api("vpc", "CreateVSwitch")
def create_vswitch(ctx):
    state, params = ctx.state, ctx.params
    region_id = ctx.region()
    vpc = get_vpc(state, params.require("VpcId"), region_id)
    zone_id = params.require("ZoneId")
    cidr = parse_cidr(params.require("CidrBlock"), "CidrBlock", 16, 29)
    name = check_name(params, "VSwitchName", "InvalidVSwitchName.Malformed")
    description = check_name(params, "Description", "InvalidDescription.Malformed")
    tags = params.tags()
    if zone_id not in {zone[0] for zone in zones_of(region_id)}:
        raise ApiError("InvalidZoneId.NotFound", f"The specified ZoneId {zone_id} does not exist.", status=404)

    def create():
        if vpc.status != "Available":
            raise ApiError("IncorrectVpcStatus", "Current VPC status does not support this operation.")
        if not cidr.subnet_of(ipaddress.ip_network(vpc.cidr_block)):
            raise ApiError("InvalidCidrBlock.Malformed", "Specified CidrBlock is not within the CIDR block of the VPC.")
        for other in state.vswitches.values():
            if other.vpc_id == vpc.vpc_id and cidr.overlaps(ipaddress.ip_network(other.cidr_block)):
                raise ApiError("InvalidCidrBlock.Overlapped",
                               f"Specified CIDR block overlaps with the VSwitch {other.vswitch_id}.")
        vswitch = models.VSwitch(
            vswitch_id=state.new_id("vsw-", region_id), vpc_id=vpc.vpc_id, region_id=region_id, zone_id=zone_id,
            cidr_block=str(cidr), name=name, description=description, status="Pending", creation_time=state.now(),
            tags={key: value or "" for key, value in tags},
        )
        state.vswitches[vswitch.vswitch_id] = vswitch
        state.schedule("vswitch_create", "vswitch_available", vswitch.vswitch_id)
        return {"VSwitchId": vswitch.vswitch_id}
    return ctx.idempotent(region_id, create)


def available_ip_count(state, vswitch):
    return usable_address_count(vswitch.cidr_block) - len(state.vswitch_members.get(vswitch.vswitch_id, ()))


def describe_vswitch(state, vswitch):
    vpc = state.vpcs.get(vswitch.vpc_id)
    return {
        "VSwitchId": vswitch.vswitch_id, "VpcId": vswitch.vpc_id, "Status": vswitch.status,
        "CidrBlock": vswitch.cidr_block, "Ipv6CidrBlock": "", "ZoneId": vswitch.zone_id,
        "AvailableIpAddressCount": available_ip_count(state, vswitch), "Description": vswitch.description,
        "VSwitchName": vswitch.name, "CreationTime": iso_time(vswitch.creation_time), "IsDefault": False,
        "ResourceGroupId": "", "NetworkAclId": "", "OwnerId": 0, "ShareType": "",
        "RouteTable": {"RouteTableId": vpc.route_table_id if vpc else "", "RouteTableType": "System"},
        "Tags": vpc_tags(vswitch.tags),
    }


@api("vpc", "DescribeVSwitches")
def describe_vswitches(ctx):
    params = ctx.params
    region_id = ctx.region(required=False)
    vpc_id = params.get("VpcId")
    if region_id is None and vpc_id is None:
        raise ApiError("MissingParameter", 'The input parameter "RegionId" or "VpcId" is not supplied.')
    wanted_ids = params.comma_list("VSwitchId")
    zone_id = params.get("ZoneId")
    name = params.get("VSwitchName")
    matches_tags = tag_filter(params.tags())
    vswitches = [vsw for vsw in ctx.state.vswitches.values()
                 if (region_id is None or vsw.region_id == region_id)
                 and (vpc_id is None or vsw.vpc_id == vpc_id)
                 and (wanted_ids is None or vsw.vswitch_id in wanted_ids)
                 and (zone_id is None or vsw.zone_id == zone_id)
                 and (name is None or vsw.name == name)
                 and matches_tags(vsw.tags)]
    page, number, size = page_by_number(params, vswitches, max_size=50)
    return {"VSwitches": {"VSwitch": [describe_vswitch(ctx.state, vsw) for vsw in page]},
            "TotalCount": len(vswitches), "PageNumber": number, "PageSize": size}


@api("vpc", "ModifyVSwitchAttribute")
def modify_vswitch_attribute(ctx):
    vswitch = get_vswitch(ctx.state, ctx.params.require("VSwitchId"))
    if ctx.params.get("VSwitchName") is not None:
        vswitch.name = check_name(ctx.params, "VSwitchName", "InvalidVSwitchName.Malformed")
    if ctx.params.get("Description") is not None:
        vswitch.description = check_name(ctx.params, "Description", "InvalidDescription.Malformed")
    return {}


@api("vpc", "DeleteVSwitch")
def delete_vswitch(ctx):
    state = ctx.state
    vswitch = get_vswitch(state, ctx.params.require("VSwitchId"))
    if vswitch.status != "Available":
        raise ApiError("IncorrectVSwitchStatus", "The current status of the VSwitch does not support this operation.")
    if state.vswitch_members.get(vswitch.vswitch_id):
        raise ApiError("DependencyViolation", "Specified VSwitch still has instances or database instances in it.")
    del state.vswitches[vswitch.vswitch_id]
    state.vswitch_members.pop(vswitch.vswitch_id, None)
    return {}


def _tag_targets(ctx):
    resource_type = ctx.params.require("ResourceType")
    kind = VPC_TAG_RESOURCE_TYPES.get(resource_type.lower())
    if kind is None:
        raise invalid_parameter("ResourceType", "Allowed values: VPC, VSWITCH.")
    collection = ctx.state.vpcs if kind == "VPC" else ctx.state.vswitches
    return kind, collection


@api("vpc", "TagResources")
def tag_resources(ctx):
    region_id = ctx.region()
    kind, collection = _tag_targets(ctx)
    resource_ids = ctx.params.indexed("ResourceId")
    if not resource_ids:
        raise ApiError("MissingParameter", 'The input parameter "ResourceId.N" is not supplied.')
    tags = ctx.params.tags()
    if not tags:
        raise ApiError("MissingParameter", 'The input parameter "Tag.N" is not supplied.')
    resources = []
    for resource_id in resource_ids:
        resource = collection.get(resource_id)
        if resource is None or resource.region_id != region_id:
            raise (vpc_not_found if kind == "VPC" else vswitch_not_found)(resource_id)
        resources.append(resource)
    for resource in resources:
        for key, value in tags:
            resource.tags[key] = value or ""
        if len(resource.tags) > 20:
            raise ApiError("InvalidTagCount", "A resource can have at most 20 tags.")
    return {}


@api("vpc", "UnTagResources")
def untag_resources(ctx):
    ctx.region()
    kind, collection = _tag_targets(ctx)
    keys = ctx.params.indexed("TagKey")
    remove_all = ctx.params.boolean("All")
    for resource_id in ctx.params.indexed("ResourceId"):
        resource = collection.get(resource_id)
        if resource is None:
            raise (vpc_not_found if kind == "VPC" else vswitch_not_found)(resource_id)
        for key in list(resource.tags):
            if remove_all or key in keys:
                del resource.tags[key]
    return {}


@api("vpc", "ListTagResources")
def list_tag_resources(ctx):
    region_id = ctx.region()
    kind, collection = _tag_targets(ctx)
    resource_ids = ctx.params.indexed("ResourceId")
    matches_tags = tag_filter(ctx.params.tags())
    rows = []
    for resource_id, resource in collection.items():
        if resource.region_id != region_id or (resource_ids and resource_id not in resource_ids):
            continue
        if not matches_tags(resource.tags):
            continue
        rows.extend({"ResourceId": resource_id, "ResourceType": kind, "TagKey": key, "TagValue": value}
                    for key, value in resource.tags.items())
    page, next_token = page_by_token(ctx.params, rows, key=lambda row: f"{row['ResourceId']}/{row['TagKey']}",
                                     max_results=50, default_results=50)
    return {"TagResources": {"TagResource": page}, "NextToken": next_token}


@api("vpc", "DescribeRegions")
def describe_regions(ctx):
    english = (ctx.params.get("AcceptLanguage") or "").lower().startswith("en")
    return {"Regions": {"Region": [
        {"RegionId": region_id, "LocalName": english_name if english else local,
         "RegionEndpoint": region_endpoint("vpc", region_id)}
        for region_id, (local, english_name, _infix, _zones) in REGIONS.items()]}}


@api("vpc", "DescribeZones")
def describe_zones(ctx):
    region_id = ctx.region()
    english = (ctx.params.get("AcceptLanguage") or "").lower().startswith("en")
    return {"Zones": {"Zone": [{"ZoneId": zone_id, "LocalName": english_name if english else local,
                                "ZoneType": "AvailabilityZone"}
                               for zone_id, local, english_name in zones_of(region_id)]}}
