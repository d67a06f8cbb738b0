# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dynamic inventory of Alibaba Cloud ECS instances."""

from __future__ import annotations

DOCUMENTATION = r"""
name: alicloud_ecs
short_description: Alibaba Cloud ECS instances as an Ansible inventory
version_added: 0.1.0
author:
  - computenest.mlflow maintainers (@computenest)
description:
  - Lists the ECS instances of one or more Alibaba Cloud regions and turns them into inventory hosts, so playbooks and
    AWX inventory sources reach the machines of a deployment without anyone writing addresses down.
  - The inventory source is a YAML file whose name ends with C(alicloud_ecs.yml), C(alicloud_ecs.yaml),
    C(alicloud.yml) or C(alicloud.yaml), and whose O(plugin) is C(computenest.mlflow.alicloud_ecs).
  - Every page of C(DescribeInstances) is read (C(MaxResults=100) with C(NextToken)), regions are queried
    concurrently, and throttled calls are retried with jittered backoff.
  - Only instances in the C(Running) state are listed unless a filter names another C(Status).
  - Every host gets its instance attributes as variables named C(alicloud_*) (the tags as a dictionary in
    C(alicloud_tags)), is placed in the group C(alicloud_ecs), and gets C(ansible_host) set to its chosen hostname.
  - Credentials and endpoints are resolved exactly as by the modules of this collection.
requirements:
  - aliyun-python-sdk-core
  - aliyun-python-sdk-ecs
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks the file as a source for this plugin.
    type: str
    required: true
    choices: [computenest.mlflow.alicloud_ecs]
  access_key:
    description:
      - Alibaba Cloud AccessKey ID.
      - When not set here or in the environment variables listed, the rest of the collection's credential chain is
        tried (C(ALIBABA_CLOUD_ACCESS_KEY_ID), then the profile of C(~/.aliyun/config.json)).
    type: str
    aliases: [access_key_id]
    env:
      - name: ALICLOUD_ACCESS_KEY
      - name: ALICLOUD_ACCESS_KEY_ID
  secret_key:
    description:
      - Alibaba Cloud AccessKey secret that belongs to O(access_key).
      - Prefer the environment or a profile to writing the secret into the inventory file.
    type: str
    aliases: [access_key_secret, secret_access_key]
    env:
      - name: ALICLOUD_SECRET_KEY
      - name: ALICLOUD_SECRET_ACCESS_KEY
  security_token:
    description: STS security token, for temporary credentials.
    type: str
    env:
      - name: ALICLOUD_SECURITY_TOKEN
  region:
    description:
      - The region in which C(DescribeRegions) is called when O(regions) is empty.
      - When unset, the region of the credential chain is used, and C(cn-hangzhou) when there is none.
    type: str
    aliases: [region_id]
    env:
      - name: ALICLOUD_REGION
      - name: ALICLOUD_REGION_ID
  profile:
    description: Profile of the Alibaba Cloud CLI configuration file to take credentials from.
    type: str
    env:
      - name: ALICLOUD_PROFILE
  shared_credentials_file:
    description: Path of the Alibaba Cloud CLI configuration file (default C(~/.aliyun/config.json)).
    type: path
    env:
      - name: ALICLOUD_SHARED_CREDENTIALS_FILE
  ecs_endpoint:
    description:
      - ECS API endpoint to use instead of the real regional one, as C(host:port) (https) or
        C(http(s)://host[:port]).
      - Meant for private endpoints and for testing against a local emulator.
    type: str
    env:
      - name: ALICLOUD_ECS_ENDPOINT
      - name: ALICLOUD_ENDPOINT
  regions:
    description:
      - Region IDs to list instances from, for example C(cn-hangzhou).
      - When empty, every region that C(DescribeRegions) returns is listed.
    type: list
    elements: str
    default: []
  tags:
    description:
      - Tags an instance must carry to be listed. A key mapped to a value requires that value; a key mapped to
        nothing (C(~) or an empty string) only requires the key.
      - Sent to the API as C(Tag.N.Key)/C(Tag.N.Value), so at most 20 tags.
    type: dict
    default: {}
  filters:
    description:
      - C(DescribeInstances) request parameters that select instances, spelled as the API spells them, for example
        C(Status), C(VpcId), C(VSwitchId), C(ZoneId), C(InstanceType), C(InstanceName) or C(InstanceIds) (a list).
      - Without C(Status), only C(Running) instances are listed.
      - Paging and region parameters (C(MaxResults), C(NextToken), C(PageNumber), C(PageSize), C(RegionId)) and
        C(Tag.N.*) are set by the plugin and refused here; select tags with O(tags).
    type: dict
    default: {}
  include_filters:
    description:
      - More queries whose instances are added to those selected by O(tags) and O(filters).
      - Each item is a dictionary of C(DescribeInstances) parameters like O(filters), and may hold a C(tags)
        dictionary like O(tags). An item without C(Status) only adds C(Running) instances.
    type: list
    elements: dict
    default: []
  exclude_filters:
    description:
      - Queries whose instances are removed from the inventory, whatever O(tags), O(filters) and
        O(include_filters) selected.
      - Each item has the shape of an O(include_filters) item. An item without C(Status) matches instances in any
        state.
    type: list
    elements: dict
    default: []
  hostnames:
    description:
      - The inventory hostname of an instance is the first of these that the instance has.
      - C(public_ip) is the first public address, C(eip) the elastic IP address bound to the instance,
        C(private_ip) the first private (VPC or classic) address, C(instance_id), C(instance_name), C(host_name)
        the operating system hostname, and C(tag:NAME) the value of tag C(NAME).
      - An instance that has none of them is left out with a warning. When two instances resolve to the same
        name, the later one (by region and instance ID) takes its next preference, or its instance ID.
      - C(ansible_host) is set to the chosen hostname; override it with O(compose) if needed, for example to
        connect to C(alicloud_private_ip) whatever the name.
    type: list
    elements: str
    default: [public_ip, eip, private_ip, instance_id]
  api_retries:
    description: How many times a throttled or failed call is retried, with jittered exponential backoff.
    type: int
    default: 6
  api_timeout:
    description: Seconds to wait for one API answer.
    type: int
    default: 30
  max_concurrent_regions:
    description: How many regions are queried at the same time.
    type: int
    default: 8
  strict:
    description:
      - If V(true), make invalid O(compose), O(groups) and O(keyed_groups) entries a fatal error, otherwise skip them
        and continue.
      - If V(true), a region that refuses permission (C(Forbidden*), C(NoPermission*), C(InvalidAccessKeyId*)) fails
        the inventory; otherwise that region is skipped with a warning. When every region refuses, the inventory
        fails either way.
    type: bool
    default: false
notes:
  - The cache key covers the inventory file and every option that changes what is queried (regions, tags, filters,
    endpoint, AccessKey ID), so editing the file never serves the answer of the previous query.
"""

EXAMPLES = r"""
---
# mlflow.alicloud_ecs.yml: the MLflow hosts of one deployment, by tag, grouped by role, zone and instance type.
plugin: computenest.mlflow.alicloud_ecs
regions:
  - cn-hangzhou
tags:
  Deployment: mlflow-prod
hostnames:
  - eip
  - public_ip
  - private_ip
keyed_groups:
  - key: alicloud_tags.Role | default('none')
    prefix: role
  - key: alicloud_zone_id
    prefix: zone
  - key: alicloud_instance_type
    prefix: type
groups:
  mlflow_server: alicloud_tags.Role | default('') == 'mlflow'
compose:
  ansible_user: "'root'"

---
# all.alicloud.yml: every running instance of every region, named by their Name tag, the private address to connect.
plugin: computenest.mlflow.alicloud_ecs
hostnames:
  - tag:Name
  - instance_id
compose:
  ansible_host: alicloud_private_ip

---
# stopped_too.alicloud_ecs.yml: running and stopped instances of a VPC, without the bastion, cached for 10 minutes.
plugin: computenest.mlflow.alicloud_ecs
regions: [cn-shanghai]
filters:
  VpcId: vpc-uf6f7l4fg90oxmgmcemzr
include_filters:
  - VpcId: vpc-uf6f7l4fg90oxmgmcemzr
    Status: Stopped
exclude_filters:
  - tags:
      Role: bastion
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 600
"""

import functools
import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
        HAS_CORE_SDK,
        AlicloudApiError,
        AlicloudClient,
        AlicloudConfigError,
        resolve_credentials,
        resolve_endpoint,
    )
except ImportError as exc:  # an installation without this collection's module_utils on the controller
    ALICLOUD_IMPORT_ERROR = exc
else:
    ALICLOUD_IMPORT_ERROR = None if HAS_CORE_SDK else "the Python package aliyun-python-sdk-core is not installed"

ACCEPTED_FILE_SUFFIXES = ("alicloud_ecs.yml", "alicloud_ecs.yaml", "alicloud.yml", "alicloud.yaml")
HOSTVAR_PREFIX = "alicloud_"
ALL_HOSTS_GROUP = "alicloud_ecs"
DEFAULT_HOME_REGION = "cn-hangzhou"
# DescribeInstances answers at most 100 instances a page.
PAGE_SIZE = 100
MAX_TAGS_PER_QUERY = 20

ADDRESS_PREFERENCES = ("public_ip", "eip", "private_ip")
NAME_PREFERENCES = ("instance_id", "instance_name", "host_name")
TAG_PREFERENCE_PREFIX = "tag:"

# Parameters the plugin owns in every request; a user value would break paging or region fan-out.
RESERVED_QUERY_KEYS = frozenset(("RegionId", "MaxResults", "NextToken", "PageNumber", "PageSize"))

# A region that answers with one of these is refused to this identity: skipped with a warning unless strict.
PERMISSION_CODE_PREFIXES = ("Forbidden", "NoPermission", "InvalidAccessKeyId", "Unauthorized")

# A keyed_groups key that only names a variable, or a path of dictionary keys into one (alicloud_tags.Role).
PLAIN_VARIABLE_PATH = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\s*$")

# camelCase words that a mechanical split would mangle.
SNAKE_CASE_EXCEPTIONS = {"VSwitchId": "vswitch_id", "VSwitchIds": "vswitch_ids"}


class InventoryConfigError(AnsibleError):
    """An option of the inventory file breaks a rule; the message names the option."""


@functools.lru_cache(maxsize=1024)
def camel_to_snake(name):
    """InstanceId -> instance_id, OSType -> os_type, VSwitchId -> vswitch_id."""
    if name in SNAKE_CASE_EXCEPTIONS:
        return SNAKE_CASE_EXCEPTIONS[name]
    # An upper-case run followed by a capitalised word ends before the word (OSType -> OS_Type).
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced)
    return spaced.replace("-", "_").lower()


def _unwrap(value):
    """Alibaba wraps every list in a one-key object ({"IpAddress": [...]}); hand out the list itself."""
    if isinstance(value, dict):
        if len(value) == 1:
            only = next(iter(value.values()))
            if isinstance(only, list):
                return [_unwrap(item) for item in only]
        return {camel_to_snake(key): _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def tags_as_dict(instance):
    """ECS answers tags as Tags.Tag[{TagKey, TagValue}]; the inventory wants {key: value}."""
    wrapper = instance.get("Tags") or {}
    items = wrapper.get("Tag", []) if isinstance(wrapper, dict) else wrapper
    return {item.get("TagKey", item.get("Key")): item.get("TagValue", item.get("Value", "")) for item in items or []}


def _addresses(wrapper):
    if isinstance(wrapper, dict):
        wrapper = wrapper.get("IpAddress", [])
    return [address for address in wrapper or [] if address]


def public_ip(instance):
    addresses = _addresses(instance.get("PublicIpAddress"))
    return addresses[0] if addresses else None


def elastic_ip(instance):
    return (instance.get("EipAddress") or {}).get("IpAddress") or None


def private_ip(instance):
    vpc_addresses = _addresses((instance.get("VpcAttributes") or {}).get("PrivateIpAddress"))
    if vpc_addresses:
        return vpc_addresses[0]
    classic_addresses = _addresses(instance.get("InnerIpAddress"))
    return classic_addresses[0] if classic_addresses else None


def instance_hostvars(instance):
    """Every attribute of a DescribeInstances item as alicloud_<snake_case>, plus the handy shortcuts."""
    hostvars = {}
    for key, value in instance.items():
        if key == "Tags":
            continue
        hostvars[HOSTVAR_PREFIX + camel_to_snake(key)] = _unwrap(value)
    vpc = instance.get("VpcAttributes") or {}
    hostvars.update({
        HOSTVAR_PREFIX + "tags": tags_as_dict(instance),
        HOSTVAR_PREFIX + "public_ip": public_ip(instance),
        HOSTVAR_PREFIX + "eip": elastic_ip(instance),
        HOSTVAR_PREFIX + "private_ip": private_ip(instance),
        HOSTVAR_PREFIX + "vpc_id": vpc.get("VpcId") or None,
        HOSTVAR_PREFIX + "vswitch_id": vpc.get("VSwitchId") or None,
    })
    return hostvars


_NOT_FOUND = object()


def lookup_plain_path(expression, variables):
    """The value a plain `name.key.key` expression has in variables, or _NOT_FOUND when Jinja must decide.

    Jinja resolves `a.b` as an attribute first, so a key that is also a dict method name (items, keys ...) is left to
    Jinja, as is anything missing (its undefined-variable rules then apply unchanged).
    """
    if not isinstance(expression, str) or not PLAIN_VARIABLE_PATH.match(expression):
        return _NOT_FOUND
    name, *keys = expression.strip().split(".")
    value = variables.get(name, _NOT_FOUND)
    for key in keys:
        if not isinstance(value, dict) or hasattr(dict, key) or key not in value:
            return _NOT_FOUND
        value = value[key]
    return value


def validate_hostname_preferences(preferences):
    if not preferences:
        raise InventoryConfigError("hostnames: give at least one preference")
    allowed = ADDRESS_PREFERENCES + NAME_PREFERENCES
    for preference in preferences:
        if not isinstance(preference, str):
            raise InventoryConfigError("hostnames: every item must be a string, got %r" % (preference,))
        if preference.startswith(TAG_PREFERENCE_PREFIX):
            if not preference[len(TAG_PREFERENCE_PREFIX):]:
                raise InventoryConfigError("hostnames: %r names no tag; write tag:NAME" % preference)
        elif preference not in allowed:
            raise InventoryConfigError(
                "hostnames: unknown preference %r; use one of %s or tag:NAME" % (preference, ", ".join(allowed))
            )


def hostname_candidate(instance, preference):
    """The value of one hostname preference for this instance, or None when it has none."""
    if preference == "public_ip":
        return public_ip(instance)
    if preference == "eip":
        return elastic_ip(instance)
    if preference == "private_ip":
        return private_ip(instance)
    if preference == "instance_id":
        return instance.get("InstanceId") or None
    if preference == "instance_name":
        return instance.get("InstanceName") or None
    if preference == "host_name":
        return instance.get("HostName") or None
    if preference.startswith(TAG_PREFERENCE_PREFIX):
        value = tags_as_dict(instance).get(preference[len(TAG_PREFERENCE_PREFIX):])
        return to_native(value) if value not in (None, "") else None
    raise InventoryConfigError("hostnames: unknown preference %r" % (preference,))


def hostname_candidates(instance, preferences):
    """Values of the preferences this instance has, in preference order, without repeats."""
    candidates = []
    for preference in preferences:
        value = hostname_candidate(instance, preference)
        if value and value not in candidates:
            candidates.append(value)
    return candidates


def _tag_params(tags, option_name):
    if not isinstance(tags, dict):
        raise InventoryConfigError("%s: must be a dictionary of tag key to value (or to nothing)" % option_name)
    if len(tags) > MAX_TAGS_PER_QUERY:
        raise InventoryConfigError(
            "%s: at most %d tags per query, got %d" % (option_name, MAX_TAGS_PER_QUERY, len(tags))
        )
    params = {}
    for number, (key, value) in enumerate(sorted(tags.items(), key=lambda item: str(item[0])), start=1):
        if key in (None, ""):
            raise InventoryConfigError("%s: a tag key must not be empty" % option_name)
        params["Tag.%d.Key" % number] = to_native(key)
        # A key alone selects every value of the tag.
        if value not in (None, ""):
            params["Tag.%d.Value" % number] = to_native(value)
    return params


def build_query(selection, option_name, default_status):
    """DescribeInstances parameters for one selection: API parameters plus an optional `tags` dictionary.

    default_status is added when the selection names no Status (None adds nothing).
    """
    if not isinstance(selection, dict):
        raise InventoryConfigError("%s: each selection must be a dictionary of DescribeInstances parameters" % option_name)
    params = {}
    for key, value in selection.items():
        if key == "tags":
            params.update(_tag_params(value, "%s.tags" % option_name))
            continue
        if not isinstance(key, str) or not key:
            raise InventoryConfigError("%s: parameter names must be non-empty strings, got %r" % (option_name, key))
        if key in RESERVED_QUERY_KEYS or key.startswith("Tag."):
            raise InventoryConfigError(
                "%s: %s is set by the plugin; select tags with the tags option and leave paging and regions to it"
                % (option_name, key)
            )
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            # The API takes list parameters (InstanceIds, PrivateIpAddresses ...) as JSON array strings.
            params[key] = json.dumps([to_native(item) for item in value])
        elif isinstance(value, bool):
            params[key] = "true" if value else "false"
        else:
            params[key] = to_native(value)
    if "Status" not in params and default_status:
        params["Status"] = default_status
    return params


def plan_queries(tags, filters, include_filters, exclude_filters):
    """The queries one region needs: (includes, excludes), each a list of DescribeInstances parameter dicts."""
    main = dict(filters or {})
    if "tags" in main:
        raise InventoryConfigError("filters: select tags with the top-level tags option")
    main["tags"] = tags or {}
    includes = [build_query(main, "filters", "Running")]
    for index, selection in enumerate(include_filters or []):
        includes.append(build_query(selection, "include_filters[%d]" % index, "Running"))
    excludes = [
        build_query(selection, "exclude_filters[%d]" % index, None)
        for index, selection in enumerate(exclude_filters or [])
    ]
    return includes, excludes


def is_permission_error(error):
    code = getattr(error, "code", None) or ""
    return any(code == prefix or code.startswith(prefix + ".") for prefix in PERMISSION_CODE_PREFIXES)


def combine_query_results(include_results, exclude_results):
    """Instances selected by any include query and by no exclude query, each once, in a stable order."""
    excluded = set()
    for instances in exclude_results:
        excluded.update(instance["InstanceId"] for instance in instances)
    selected = {}
    for instances in include_results:
        for instance in instances:
            instance_id = instance["InstanceId"]
            if instance_id not in excluded:
                selected.setdefault(instance_id, instance)
    return [selected[instance_id] for instance_id in sorted(selected)]


class RegionRefused(Exception):
    """A region answered a query with a permission error."""

    def __init__(self, region, error):
        super().__init__("%s: %s" % (region, to_native(error)))
        self.region = region
        self.error = error


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Alibaba Cloud ECS inventory: one host per instance selected by tags and filters."""

    NAME = "computenest.mlflow.alicloud_ecs"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        if path.endswith(ACCEPTED_FILE_SUFFIXES):
            return True
        self.display.vvv(
            "Skipping %s: an alicloud_ecs inventory file name ends with %s" % (path, " or ".join(ACCEPTED_FILE_SUFFIXES))
        )
        return False

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path)
        self._read_config_data(path)
        if ALICLOUD_IMPORT_ERROR is not None:
            raise AnsibleError(
                "The alicloud_ecs inventory needs the Alibaba Cloud SDK: %s" % to_native(ALICLOUD_IMPORT_ERROR)
            )
        preferences = self.get_option("hostnames")
        validate_hostname_preferences(preferences)
        includes, excludes = plan_queries(
            self.get_option("tags"), self.get_option("filters"),
            self.get_option("include_filters"), self.get_option("exclude_filters"),
        )
        if self.get_option("max_concurrent_regions") < 1:
            raise InventoryConfigError("max_concurrent_regions: must be at least 1")

        # The legacy SDK logs every error answer to stderr; the plugin reports them better itself.
        logging.getLogger("aliyunsdkcore").setLevel(logging.CRITICAL)
        credentials = self._credentials()
        cache_key = self._cache_key(path, includes, excludes, credentials)
        use_cache = bool(self.get_option("cache"))
        instances = None
        if use_cache and cache:
            try:
                instances = self._cache[cache_key]
            except KeyError:
                instances = None
        if instances is None:
            instances = self._list_instances(credentials, includes, excludes)
            if use_cache:
                self._cache[cache_key] = instances
        self._populate(instances, preferences)

    # Credentials and clients ---------------------------------------------------------------------------------------

    def _credentials(self):
        """The collection's credential chain; the region only matters for DescribeRegions, so it may default."""
        params = {
            "access_key": self.get_option("access_key"),
            "secret_key": self.get_option("secret_key"),
            "security_token": self.get_option("security_token"),
            "region": self.get_option("region"),
            "profile": self.get_option("profile"),
            "shared_credentials_file": self.get_option("shared_credentials_file"),
        }
        try:
            return resolve_credentials(params)
        except AlicloudConfigError as first_error:
            if params["region"]:
                raise AnsibleError("alicloud_ecs inventory: %s" % to_native(first_error))
            # Asked again with a region: if that works, the region was all that was missing, and listing a fixed
            # set of regions (or DescribeRegions in the default one) needs no configured region.
            configured = self.get_option("regions") or []
            params["region"] = configured[0] if configured else DEFAULT_HOME_REGION
            try:
                return resolve_credentials(params)
            except AlicloudConfigError:
                raise AnsibleError("alicloud_ecs inventory: %s" % to_native(first_error))

    def _client(self, credentials, region):
        try:
            endpoint = resolve_endpoint("ecs", {"ecs_endpoint": self.get_option("ecs_endpoint")}, region)
            return AlicloudClient(
                credentials["access_key"], credentials["secret_key"], region,
                security_token=credentials.get("security_token"),
                endpoints={"ecs": endpoint},
                retries=self.get_option("api_retries"),
                timeout=self.get_option("api_timeout"),
            )
        except AlicloudConfigError as error:
            raise AnsibleError("alicloud_ecs inventory: %s" % to_native(error))

    def _cache_key(self, path, includes, excludes, credentials):
        """The per-file key plus a digest of everything that changes the answer."""
        query_identity = {
            "regions": sorted(self.get_option("regions") or []),
            "home_region": self._home_region(credentials),
            "includes": includes,
            "excludes": excludes,
            "endpoint": self.get_option("ecs_endpoint"),
            "access_key_id": credentials["access_key"],
        }
        digest = hashlib.sha256(json.dumps(query_identity, sort_keys=True).encode("utf-8")).hexdigest()[:16]
        return "%s_%s" % (self.get_cache_key(path), digest)

    def _home_region(self, credentials):
        return self.get_option("region") or credentials.get("region") or DEFAULT_HOME_REGION

    # Listing --------------------------------------------------------------------------------------------------------

    def _regions(self, credentials):
        configured = self.get_option("regions") or []
        if configured:
            seen = []
            for region in configured:
                if region not in seen:
                    seen.append(region)
            return seen
        home = self._home_region(credentials)
        try:
            answer = self._client(credentials, home).call("ecs", "DescribeRegions", {})
        except (AlicloudApiError, AlicloudConfigError) as error:
            raise AnsibleError(
                "alicloud_ecs inventory: DescribeRegions in %s failed, and regions is empty: %s" % (home, to_native(error))
            )
        regions = [item["RegionId"] for item in (answer.get("Regions") or {}).get("Region", [])]
        if not regions:
            raise AnsibleError("alicloud_ecs inventory: DescribeRegions in %s returned no region" % home)
        return regions

    def _describe_instances(self, client, region, query):
        """Every instance of one query in one region, page by page with the largest page the API allows."""
        wanted_status = query.get("Status")
        instances = []
        for instance in client.paginate("ecs", "DescribeInstances", dict(query, RegionId=region),
                                        "Instances.Instance", style="token", page_size=PAGE_SIZE):
            # The server filters by Status already; checking again keeps a lax endpoint from widening the list.
            if wanted_status and instance.get("Status") != wanted_status:
                continue
            instance.setdefault("RegionId", region)
            instances.append(instance)
        return instances

    def _list_region(self, credentials, region, includes, excludes):
        client = self._client(credentials, region)
        try:
            include_results = [self._describe_instances(client, region, query) for query in includes]
            exclude_results = [self._describe_instances(client, region, query) for query in excludes]
        except AlicloudApiError as error:
            if is_permission_error(error):
                raise RegionRefused(region, error)
            raise AnsibleError("alicloud_ecs inventory: listing instances in %s failed: %s" % (region, to_native(error)))
        except AlicloudConfigError as error:
            raise AnsibleError("alicloud_ecs inventory: %s" % to_native(error))
        return combine_query_results(include_results, exclude_results)

    def _list_instances(self, credentials, includes, excludes):
        regions = self._regions(credentials)
        workers = min(self.get_option("max_concurrent_regions"), len(regions))
        listed = {}
        refused = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alicloud-ecs-inventory") as pool:
            futures = {
                region: pool.submit(self._list_region, credentials, region, includes, excludes) for region in regions
            }
            for region, future in futures.items():
                try:
                    listed[region] = future.result()
                except RegionRefused as refusal:
                    refused.append(refusal)
        if refused:
            detail = "; ".join(to_native(refusal) for refusal in refused)
            if len(refused) == len(regions):
                raise AnsibleError("alicloud_ecs inventory: every region refused permission: %s" % detail)
            if self.get_option("strict"):
                raise AnsibleError("alicloud_ecs inventory: permission refused (strict is on): %s" % detail)
            for refusal in refused:
                self.display.warning(
                    "alicloud_ecs inventory: skipping region %s, which refused permission: %s"
                    % (refusal.region, to_native(refusal.error))
                )
        return [instance for region in regions if region in listed for instance in listed[region]]

    # Populating -----------------------------------------------------------------------------------------------------

    def _compose(self, template, variables, disable_lookups=...):
        """Constructed's evaluation, without compiling a Jinja expression per host for a plain variable path.

        keyed_groups keys are usually plain paths (alicloud_zone_id, alicloud_tags.Role); compiling them once per host
        is most of the time an inventory of thousands of hosts takes.
        """
        if not self.get_option("use_extra_vars"):
            value = lookup_plain_path(template, variables)
            if value is not _NOT_FOUND:
                return value
        return super()._compose(template, variables)

    def _populate(self, instances, preferences):
        strict = self.get_option("strict")
        taken = set()
        nameless = []
        renamed = []
        self.inventory.add_group(ALL_HOSTS_GROUP)
        for instance in instances:
            candidates = hostname_candidates(instance, preferences)
            if not candidates:
                nameless.append(instance.get("InstanceId", "?"))
                continue
            hostname = next((name for name in candidates if name not in taken), None)
            if hostname is None:
                # Every preferred name is someone else's: the instance ID is unique within an account.
                hostname = instance["InstanceId"]
            if hostname != candidates[0]:
                renamed.append("%s (%s -> %s)" % (instance.get("InstanceId"), candidates[0], hostname))
            taken.add(hostname)

            self.inventory.add_host(hostname, group=ALL_HOSTS_GROUP)
            hostvars = instance_hostvars(instance)
            hostvars["ansible_host"] = hostname
            for name, value in hostvars.items():
                self.inventory.set_variable(hostname, name, value)
            # The hostvars are passed whole, so there is no need to read them back from the inventory per host.
            self._set_composite_vars(self.get_option("compose"), hostvars, hostname, strict=strict)
            all_vars = self.inventory.get_host(hostname).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), all_vars, hostname, strict=strict,
                                              fetch_hostvars=False)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), all_vars, hostname, strict=strict,
                                           fetch_hostvars=False)
        if nameless:
            self.display.warning(
                "alicloud_ecs inventory: %d instance(s) have none of the hostnames %s and were left out: %s"
                % (len(nameless), ", ".join(preferences), _sample(nameless))
            )
        if renamed:
            self.display.warning(
                "alicloud_ecs inventory: %d instance(s) share a preferred hostname with another and took their next "
                "one: %s" % (len(renamed), _sample(renamed))
            )


def _sample(items, limit=10):
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else "%s and %d more" % (shown, len(items) - limit)
