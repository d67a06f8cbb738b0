# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one Alibaba Cloud client for this collection's modules and inventory plugin.

Credential chain, endpoint overrides, a retrying API caller for both SDK generations (legacy core SDK for ECS and VPC,
Tea SDK for RDS), an exhaustive pager, deterministic ClientTokens and a waiter.  See docs/DEVELOPING.md, "The client
contract".
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import importlib
import ipaddress
import json
import logging
import os
import random
import re
import time
import traceback
from collections import Counter

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

CORE_SDK_IMPORT_ERROR = None
try:
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
    from aliyunsdkcore.acs_exception.exceptions import ClientException as CoreClientException
    from aliyunsdkcore.acs_exception.exceptions import ServerException as CoreServerException
    HAS_CORE_SDK = True
except ImportError:
    CORE_SDK_IMPORT_ERROR = traceback.format_exc()
    HAS_CORE_SDK = False

TEA_SDK_IMPORT_ERROR = None
try:
    from Tea.exceptions import TeaException
    from Tea.exceptions import UnretryableException as TeaUnretryableException
    HAS_TEA_SDK = True
except ImportError:
    TEA_SDK_IMPORT_ERROR = traceback.format_exc()
    HAS_TEA_SDK = False

    class TeaException(Exception):  # pylint: disable=missing-class-docstring
        pass

    class TeaUnretryableException(Exception):  # pylint: disable=missing-class-docstring
        pass

if not HAS_CORE_SDK:
    class CoreClientException(Exception):  # pylint: disable=missing-class-docstring
        pass

    class CoreServerException(Exception):  # pylint: disable=missing-class-docstring
        pass


PRODUCTS = ('ecs', 'vpc', 'rds')

# The legacy SDK package, API version and request-class package of each legacy product.
_LEGACY_PRODUCTS = {
    'ecs': ('aliyunsdkecs', 'v20140526'),
    'vpc': ('aliyunsdkvpc', 'v20160428'),
}

DEFAULT_SHARED_CREDENTIALS_FILE = os.path.join('~', '.aliyun', 'config.json')

ALICLOUD_COMMON_ARGS = dict(
    # The AccessKey ID identifies, the secret authenticates: only the latter two are secrets.
    access_key=dict(type='str', aliases=['alicloud_access_key', 'access_key_id'], no_log=False),
    secret_key=dict(type='str', aliases=['alicloud_secret_key', 'access_key_secret'], no_log=True),
    security_token=dict(type='str', aliases=['alicloud_security_token'], no_log=True),
    region=dict(type='str', aliases=['alicloud_region', 'region_id']),
    profile=dict(type='str', aliases=['alicloud_profile']),
    shared_credentials_file=dict(type='path', aliases=['alicloud_shared_credentials_file']),
    ecs_endpoint=dict(type='str'),
    vpc_endpoint=dict(type='str'),
    rds_endpoint=dict(type='str'),
    api_retries=dict(type='int', default=6),
    api_retry_max_delay=dict(type='float', default=20.0),
    api_timeout=dict(type='int', default=30),
)

_SOURCES_HINT = (
    "the access_key and secret_key options; ALICLOUD_ACCESS_KEY (or ALICLOUD_ACCESS_KEY_ID) and ALICLOUD_SECRET_KEY "
    "(or ALICLOUD_SECRET_ACCESS_KEY); ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET; or a profile of "
    "~/.aliyun/config.json (option profile or ALICLOUD_PROFILE, file option shared_credentials_file or "
    "ALICLOUD_SHARED_CREDENTIALS_FILE)"
)
_REGION_HINT = (
    "the region option, ALICLOUD_REGION, ALICLOUD_REGION_ID, ALIBABA_CLOUD_REGION_ID or region_id of the "
    "~/.aliyun/config.json profile"
)

_RETRYABLE_CODES = frozenset(['ServiceUnavailable', 'InternalError', 'SDK.HttpError'])

_REGION_PATTERN = re.compile(r'^[a-z0-9][a-z0-9-]{1,62}$')


class AlicloudError(Exception):
    """Base of the errors this module raises."""


class AlicloudConfigError(AlicloudError):
    """Missing or inconsistent configuration (credentials, region, endpoint, unknown API): found before any call."""


class AlicloudParameterError(AlicloudConfigError):
    """Bad module input, named by its option and the rule it breaks; raised before any API call."""


class AlicloudApiError(AlicloudError):
    """An API call failed, normalised over both SDK generations."""

    def __init__(self, code, message, request_id=None, http_status=None, product=None, action=None,
                 retry_after=None, connection_error=False):
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.product = product
        self.action = action
        self.retry_after = retry_after  # seconds the server asked us to wait, if it did
        self.connection_error = connection_error
        super(AlicloudApiError, self).__init__(self.__str__())

    def __str__(self):
        where = '%s %s' % ((self.product or '').upper(), self.action or '')
        text = '%s failed: %s: %s' % (where.strip(), self.code, self.message)
        if self.http_status:
            text += ' (HTTP %s)' % self.http_status
        if self.request_id:
            text += ' (RequestId %s)' % self.request_id
        return text

    @property
    def retryable(self):
        return is_retryable(self)

    def to_result(self):
        """The fields a module's fail_json carries."""
        return dict(error_code=self.code, request_id=self.request_id, http_status=self.http_status,
                    product=self.product, action=self.action)


class AlicloudWaitError(AlicloudError):
    """A waiter gave up; the message names the last state seen."""

    def __init__(self, message, last_state=None):
        self.last_state = last_state
        super(AlicloudWaitError, self).__init__(message)


def is_retryable(error):
    """Throttling*, ServiceUnavailable, InternalError, any 5xx and connection errors are worth another attempt."""
    if error.connection_error:
        return True
    code = error.code or ''
    if code.startswith('Throttling') or code in _RETRYABLE_CODES:
        return True
    return bool(error.http_status and int(error.http_status) >= 500)


# --------------------------------------------------------------------------------------------------------------------
# Credentials and endpoints


def _first_env(environ, *names):
    for name in names:
        value = environ.get(name)
        if value:
            return value
    return None


def _read_profile(path, name, explicit):
    """Credentials of one profile of an aliyun CLI config file, or None when the file is absent and not asked for."""
    expanded = os.path.expanduser(path)
    if not os.path.exists(expanded):
        if explicit:
            raise AlicloudConfigError('The shared credentials file %s does not exist' % expanded)
        return None
    try:
        with open(expanded) as handle:
            config = json.load(handle)
    except (IOError, OSError, ValueError) as exc:
        raise AlicloudConfigError('Cannot read the shared credentials file %s: %s' % (expanded, exc))
    if not isinstance(config, dict):
        raise AlicloudConfigError('The shared credentials file %s is not a JSON object' % expanded)
    name = name or config.get('current') or 'default'
    for profile in config.get('profiles') or []:
        if isinstance(profile, dict) and profile.get('name') == name:
            break
    else:
        if explicit:
            raise AlicloudConfigError('Profile %r not found in %s' % (name, expanded))
        return None
    mode = profile.get('mode') or 'AK'
    if mode not in ('AK', 'StsToken'):
        raise AlicloudConfigError(
            'Profile %r in %s uses mode %s; only modes AK and StsToken are supported (no instance metadata or role '
            'assumption is attempted)' % (name, expanded, mode))
    access_key = profile.get('access_key_id')
    secret_key = profile.get('access_key_secret')
    if not access_key or not secret_key:
        raise AlicloudConfigError('Profile %r in %s has no access_key_id/access_key_secret' % (name, expanded))
    token = profile.get('sts_token') if mode == 'StsToken' else None
    if mode == 'StsToken' and not token:
        raise AlicloudConfigError('Profile %r in %s has mode StsToken but no sts_token' % (name, expanded))
    return dict(access_key=access_key, secret_key=secret_key, security_token=token,
                region=profile.get('region_id') or None, source='profile %s of %s' % (name, expanded))


def resolve_credentials(params, environ=None):
    """Access key pair, security token and region, first source found wins (docs/DEVELOPING.md).

    The key pair and its token always come from the same source; the region is looked up separately through the same
    order.  A module parameter `profile` is a module parameter, so it wins over environment keys.  Never contacts the
    instance metadata address.  Returns a dict with access_key, secret_key, security_token, region, source.
    """
    environ = os.environ if environ is None else environ
    params = params or {}
    profile_name = params.get('profile') or environ.get('ALICLOUD_PROFILE') or None
    profile_file = (params.get('shared_credentials_file') or environ.get('ALICLOUD_SHARED_CREDENTIALS_FILE')
                    or DEFAULT_SHARED_CREDENTIALS_FILE)
    profile_explicit = bool(profile_name or params.get('shared_credentials_file')
                            or environ.get('ALICLOUD_SHARED_CREDENTIALS_FILE'))

    def pair(access_key, secret_key, token, source, key_names):
        if access_key and secret_key:
            return dict(access_key=access_key, secret_key=secret_key, security_token=token or None, source=source)
        if access_key or secret_key:
            raise AlicloudConfigError('%s: %s is set but %s is not; set both' % (
                source, key_names[0] if access_key else key_names[1], key_names[1] if access_key else key_names[0]))
        return None

    profile = None
    found = pair(params.get('access_key'), params.get('secret_key'), params.get('security_token'),
                 'module options', ('access_key', 'secret_key'))
    if found is None and params.get('profile'):
        found = profile = _read_profile(profile_file, profile_name, True)
    if found is None:
        found = pair(_first_env(environ, 'ALICLOUD_ACCESS_KEY', 'ALICLOUD_ACCESS_KEY_ID'),
                     _first_env(environ, 'ALICLOUD_SECRET_KEY', 'ALICLOUD_SECRET_ACCESS_KEY'),
                     environ.get('ALICLOUD_SECURITY_TOKEN'), 'environment',
                     ('ALICLOUD_ACCESS_KEY', 'ALICLOUD_SECRET_KEY'))
    if found is None:
        found = pair(environ.get('ALIBABA_CLOUD_ACCESS_KEY_ID'), environ.get('ALIBABA_CLOUD_ACCESS_KEY_SECRET'),
                     environ.get('ALIBABA_CLOUD_SECURITY_TOKEN'), 'environment',
                     ('ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET'))
    if found is None:
        found = profile = _read_profile(profile_file, profile_name, profile_explicit)
    if found is None:
        raise AlicloudConfigError('No Alibaba Cloud credentials found. Set %s. (The instance metadata address is '
                                  'never consulted.)' % _SOURCES_HINT)

    region = (params.get('region')
              or _first_env(environ, 'ALICLOUD_REGION', 'ALICLOUD_REGION_ID', 'ALIBABA_CLOUD_REGION_ID'))
    if not region and profile is None:
        # Keys came from elsewhere; a profile may still name the region.  Its other faults do not matter here.
        try:
            profile = _read_profile(profile_file, profile_name, False)
        except AlicloudConfigError:
            profile = None
    if not region and profile:
        region = profile.get('region')
    if not region:
        raise AlicloudConfigError('No Alibaba Cloud region given. Set %s.' % _REGION_HINT)
    if not _REGION_PATTERN.match(region):
        raise AlicloudConfigError('region %r is not a valid region ID (like cn-hangzhou)' % region)
    result = dict(found)
    result['region'] = region
    return result


def parse_endpoint(value, option='endpoint'):
    """'host[:port]' or 'http(s)://host[:port]' -> (host[:port], scheme); no scheme means https."""
    text = (value or '').strip()
    scheme = 'https'
    match = re.match(r'^(https?)://(.*)$', text, re.IGNORECASE)
    if match:
        scheme, text = match.group(1).lower(), match.group(2)
    text = text.rstrip('/')
    host_port = r'^[A-Za-z0-9.-]+(:[0-9]{1,5})?$'
    ipv6_port = r'^\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?$'
    if not re.match(host_port, text) and not re.match(ipv6_port, text):
        raise AlicloudConfigError('%s %r is not host[:port] or http(s)://host[:port]' % (option, value))
    return text, scheme


def default_endpoint(product, region):
    """The real regional endpoint, as the official SDKs would resolve it without a location-service lookup."""
    if product in _LEGACY_PRODUCTS:
        package = _LEGACY_PRODUCTS[product][0]
        try:
            endpoint_data = importlib.import_module(package + '.endpoint').endpoint_data
            known = endpoint_data.getEndpointMap().get(region)
        except (ImportError, AttributeError):
            known = None
        return known or '%s.%s.aliyuncs.com' % (product, region)
    if product == 'rds':
        return 'rds.aliyuncs.com' if region in _RDS_CENTRAL_REGIONS else 'rds.%s.aliyuncs.com' % region
    raise AlicloudConfigError('Unknown product %r; expected one of %s' % (product, ', '.join(PRODUCTS)))


# Regions the RDS SDK's endpoint map sends to the central endpoint (alibabacloud_rds20140815 Client._endpoint_map).
_RDS_CENTRAL_REGIONS = frozenset([
    'cn-qingdao', 'cn-beijing', 'cn-hangzhou', 'cn-shanghai', 'cn-shenzhen', 'cn-heyuan', 'cn-hongkong',
    'ap-southeast-1', 'us-west-1', 'us-east-1',
])


def resolve_endpoint(product, params, region, environ=None):
    """(host[:port], scheme) for one product: option > ALICLOUD_<PRODUCT>_ENDPOINT > ALICLOUD_ENDPOINT > real."""
    environ = os.environ if environ is None else environ
    option = '%s_endpoint' % product
    for name, value in ((option, (params or {}).get(option)),
                        ('ALICLOUD_%s_ENDPOINT' % product.upper(), environ.get('ALICLOUD_%s_ENDPOINT' % product.upper())),
                        ('ALICLOUD_ENDPOINT', environ.get('ALICLOUD_ENDPOINT'))):
        if value:
            return parse_endpoint(value, name)
    return default_endpoint(product, region), 'https'


# --------------------------------------------------------------------------------------------------------------------
# Helpers for modules


def client_token(*parts):
    """A deterministic ClientToken (64 ASCII characters) from a resource's identity.

    The same identity always gives the same token, so a create retried after a lost reply returns the first resource.
    Dicts are order-independent; everything else keeps its order.
    """
    canonical = json.dumps(list(parts), sort_keys=True, separators=(',', ':'), default=str)
    return 'cnm-' + hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:60]


def backoff_delay(attempt, base=0.5, cap=20.0, rng=random):
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


def wait_until(fetch, ready, timeout=600, delay=1.0, max_delay=15.0, failed=None, describe=None, what='resource',
               sleep=time.sleep, clock=time.monotonic, rng=random):
    """Poll fetch() until ready(value); return that value.

    Delays grow by half each poll up to max_delay, with a little jitter.  failed(value) truthy stops at once.
    The AlicloudWaitError raised on timeout or failure names the last state seen (describe(value), default repr).
    """
    describe = describe or repr
    deadline = clock() + timeout
    value = None
    seen = False
    while True:
        value = fetch()
        seen = True
        if ready(value):
            return value
        if failed is not None and failed(value):
            raise AlicloudWaitError('%s reached a failed state: %s' % (what, describe(value)), describe(value))
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(min(remaining, delay * rng.uniform(0.8, 1.2)))
        delay = min(max_delay, delay * 1.5)
    last = describe(value) if seen else 'nothing'
    raise AlicloudWaitError('Timed out after %ss waiting for %s; last state seen: %s' % (timeout, what, last), last)


def dig(data, path, default=None):
    """data['A']['B'] for path 'A.B'; default when any step is missing."""
    current = data
    for key in path.split('.') if path else []:
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return current


def flatten_tags(tags, prefix='Tag'):
    """{'k': 'v'} -> {'Tag.1.Key': 'k', 'Tag.1.Value': 'v'} in sorted key order (stable requests, stable tokens)."""
    params = {}
    for index, key in enumerate(sorted(tags or {}), 1):
        params['%s.%d.Key' % (prefix, index)] = key
        params['%s.%d.Value' % (prefix, index)] = '' if tags[key] is None else str(tags[key])
    return params


def tags_to_dict(tags):
    """Tags of a Describe answer (Tags.Tag[] of {Key,Value} or {TagKey,TagValue}, or a bare list) -> dict."""
    if isinstance(tags, dict):
        tags = tags.get('Tag', [])
    result = {}
    for tag in tags or []:
        key = tag.get('Key', tag.get('TagKey'))
        if key is not None:
            result[key] = tag.get('Value', tag.get('TagValue', ''))
    return result


# --------------------------------------------------------------------------------------------------------------------
# Input validation shared by the modules: every check runs before the first API call.

def validate_name(value, option, min_length=2, max_length=128, extra_chars=''):
    """Alibaba Cloud resource names: min-max characters, start with a letter, then letters, digits, '_', '-', '.'."""
    if value is None:
        return None
    if not isinstance(value, str) or not min_length <= len(value) <= max_length:
        raise AlicloudParameterError('%s must be %d to %d characters long, got %r'
                                     % (option, min_length, max_length, value))
    if value.lower().startswith(('http://', 'https://')):
        raise AlicloudParameterError('%s must not start with http:// or https://, got %r' % (option, value))
    allowed = '._-' + extra_chars
    if not (value[0].isalpha() and all(ch.isalnum() or ch in allowed for ch in value)):
        raise AlicloudParameterError(
            '%s must start with a letter and contain only letters, digits and %s, got %r'
            % (option, ' '.join("'%s'" % ch for ch in allowed), value))
    return value


def validate_description(value, option='description'):
    if value is None or value == '':
        return value
    if len(value) > 256 or (len(value) < 2):
        raise AlicloudParameterError('%s must be 2 to 256 characters long' % option)
    if value.lower().startswith(('http://', 'https://')):
        raise AlicloudParameterError('%s must not start with http:// or https://' % option)
    return value


def validate_cidr(value, option, min_prefix=0, max_prefix=32, private=False):
    """A canonical IPv4 network (no host bits) with a prefix length in [min_prefix, max_prefix]."""
    if value is None:
        return None
    try:
        network = ipaddress.IPv4Network(str(value).strip(), strict=True)
    except (ValueError, ipaddress.AddressValueError, ipaddress.NetmaskValueError) as exc:
        raise AlicloudParameterError('%s must be an IPv4 CIDR block like 10.0.0.0/16 without host bits, got %r (%s)'
                                     % (option, value, exc))
    if '/' not in str(value):
        raise AlicloudParameterError('%s must carry a prefix length, like %s/32, got %r' % (option, value, value))
    if not min_prefix <= network.prefixlen <= max_prefix:
        raise AlicloudParameterError('%s must have a prefix length from /%d to /%d, got %r'
                                     % (option, min_prefix, max_prefix, value))
    if private and not any(network.subnet_of(ipaddress.IPv4Network(block)) for block in
                           ('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16')):
        raise AlicloudParameterError('%s must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, got %r'
                                     % (option, value))
    return str(network)


def validate_tags(tags, option='tags'):
    """At most 20 tags; keys 1-128 and values 0-128 characters; no aliyun/acs: prefix and no http(s)://."""
    if not tags:
        return {}
    if len(tags) > 20:
        raise AlicloudParameterError('%s may hold at most 20 tags, got %d' % (option, len(tags)))
    result = {}
    for key, value in tags.items():
        key = str(key)
        value = '' if value is None else str(value)
        if not 1 <= len(key) <= 128 or len(value) > 128:
            raise AlicloudParameterError('%s: key %r must be 1-128 characters and its value at most 128'
                                         % (option, key))
        for text, what in ((key, 'key'), (value, 'value')):
            if text.lower().startswith(('aliyun', 'acs:')) or 'http://' in text or 'https://' in text:
                raise AlicloudParameterError('%s: tag %s %r must not start with aliyun or acs: nor contain http(s)://'
                                             % (option, what, text))
        result[key] = value
    return result


def validate_zone_in_region(zone_id, region, option='zone_id'):
    """Zone IDs are '<region>-<letter(s)>': a zone of another region is caught without asking the API."""
    if zone_id is None:
        return None
    if not re.match(r'^[a-z0-9-]+-[a-z0-9]+$', zone_id):
        raise AlicloudParameterError('%s %r is not a zone ID like cn-hangzhou-h' % (option, zone_id))
    if not zone_id.startswith(region + '-') or '-' in zone_id[len(region) + 1:]:
        raise AlicloudParameterError('%s %r is not a zone of region %s (zone IDs of that region look like %s-h)'
                                     % (option, zone_id, region, region))
    return zone_id


def tag_changes(current, desired, purge):
    """(tags to set, tag keys to remove) to go from current to desired."""
    current = current or {}
    desired = desired or {}
    to_set = dict((k, v) for k, v in desired.items() if current.get(k) != v)
    to_remove = sorted(k for k in current if k not in desired) if purge else []
    return to_set, to_remove


_SECRET_PARAMS = ('Password', 'AccountPassword', 'SecretKey')


def mask_secret_params(params):
    return dict((k, '********' if k in _SECRET_PARAMS else v) for k, v in (params or {}).items() if v is not None)


# --------------------------------------------------------------------------------------------------------------------
# The client


def _snake_key(name):
    return name.replace('_', '').lower()


class AlicloudClient(object):
    """Calls ECS and VPC through the legacy core SDK and RDS through the Tea SDK, with our own retries.

    `call_counts` counts every attempt sent, per (product, action); `retry_counts` the retries among them.
    """

    def __init__(self, access_key, secret_key, region, security_token=None, endpoints=None, retries=6,
                 retry_max_delay=20.0, retry_base_delay=0.5, timeout=30, connect_timeout=10, sleep=time.sleep,
                 rng=random):
        if not access_key or not secret_key:
            raise AlicloudConfigError('AlicloudClient needs an access key and secret: set %s' % _SOURCES_HINT)
        if not region:
            raise AlicloudConfigError('AlicloudClient needs a region: set %s' % _REGION_HINT)
        if retries is None or retries < 0:
            raise AlicloudConfigError('api_retries must be 0 or more, got %r' % retries)
        self.access_key = access_key
        self._secret_key = secret_key
        self._security_token = security_token
        self.region = region
        self.endpoints = dict((product, (default_endpoint(product, region), 'https')) for product in PRODUCTS)
        self.endpoints.update(endpoints or {})
        self.retries = retries
        self.retry_max_delay = retry_max_delay
        self.retry_base_delay = retry_base_delay
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._sleep = sleep
        self._rng = rng
        self.call_counts = Counter()
        self.retry_counts = Counter()
        self._core_client = None
        self._rds_client = None
        self._rds_methods = None

    @classmethod
    def from_params(cls, params, environ=None, **kwargs):
        """A client from module options (ALICLOUD_COMMON_ARGS) and the environment."""
        environ = os.environ if environ is None else environ
        creds = resolve_credentials(params, environ)
        endpoints = dict((product, resolve_endpoint(product, params, creds['region'], environ))
                         for product in PRODUCTS)
        for option, key in (('api_retries', 'retries'), ('api_retry_max_delay', 'retry_max_delay'),
                            ('api_timeout', 'timeout')):
            if params.get(option) is not None:
                kwargs.setdefault(key, params[option])
        return cls(creds['access_key'], creds['secret_key'], creds['region'], security_token=creds['security_token'],
                   endpoints=endpoints, **kwargs)

    # ---- public API

    def call(self, product, action, params=None):
        """Run one API action with retries; returns the response body as a plain dict."""
        if product not in PRODUCTS:
            raise AlicloudConfigError('Unknown product %r; expected one of %s' % (product, ', '.join(PRODUCTS)))
        params = dict((k, v) for k, v in (params or {}).items() if v is not None)
        attempt = 0
        while True:
            self.call_counts[(product, action)] += 1
            try:
                if product == 'rds':
                    return self._call_rds(action, params)
                return self._call_legacy(product, action, params)
            except AlicloudApiError as error:
                if not error.retryable or attempt >= self.retries:
                    raise
                delay = backoff_delay(attempt, self.retry_base_delay, self.retry_max_delay, self._rng)
                if error.retry_after:
                    delay = max(delay, min(float(error.retry_after), self.retry_max_delay))
                attempt += 1
                self.retry_counts[(product, action)] += 1
                self._sleep(delay)

    def paginate(self, product, action, params, items_path, style='page', page_size=50, total_key=None,
                 max_pages=10000):
        """Every item of every page of a Describe call, as one list.

        style 'page' sends PageNumber/PageSize and stops at the total count (TotalCount or TotalRecordCount), a short
        page or an empty one; style 'token' sends MaxResults/NextToken and stops when NextToken is empty.
        """
        items = []
        base = dict(params or {})
        if style == 'page':
            page_number = 1
            while page_number <= max_pages:
                query = dict(base, PageNumber=page_number, PageSize=page_size)
                body = self.call(product, action, query)
                page = _as_list(dig(body, items_path))
                items.extend(page)
                total = body.get(total_key) if total_key else body.get('TotalCount', body.get('TotalRecordCount'))
                if not page or len(page) < page_size or (total is not None and len(items) >= int(total)):
                    return items
                page_number += 1
        elif style == 'token':
            token = None
            seen_tokens = set()
            for dummy in range(max_pages):
                query = dict(base, MaxResults=page_size)
                if token:
                    query['NextToken'] = token
                body = self.call(product, action, query)
                items.extend(_as_list(dig(body, items_path)))
                token = body.get('NextToken')
                if not token or token in seen_tokens:
                    return items
                seen_tokens.add(token)
        else:
            raise AlicloudConfigError("paginate style must be 'page' or 'token', not %r" % style)
        raise AlicloudApiError('PagingLimit', 'more than %d pages' % max_pages, product=product, action=action)

    # ---- legacy core SDK (ECS, VPC)

    def _legacy_client(self):
        if not HAS_CORE_SDK:
            raise AlicloudConfigError(missing_required_lib('aliyun-python-sdk-core') + ': ' + CORE_SDK_IMPORT_ERROR)
        if self._core_client is None:
            kwargs = dict(region_id=self.region, auto_retry=False, max_retry_time=0, timeout=self.timeout,
                          connect_timeout=self.connect_timeout)
            if self._security_token:
                credential = StsTokenCredential(self.access_key, self._secret_key, self._security_token)
                kwargs['credential'] = credential
            else:
                kwargs.update(ak=self.access_key, secret=self._secret_key)
            self._core_client = AcsClient(**kwargs)
            if self._security_token:
                # The core SDK prefers ALIYUN_ACCESS_KEY_ID/_SECRET from the environment over a passed credential
                # object; the credentials this module resolved must be the ones that sign.
                self._core_client._signer = StsTokenSigner(credential)
        return self._core_client

    def _legacy_request(self, product, action):
        package, version = _LEGACY_PRODUCTS[product]
        module_name = '%s.request.%s.%sRequest' % (package, version, action)
        try:
            request_module = importlib.import_module(module_name)
        except ImportError:
            raise AlicloudConfigError('%s has no API action %s (no %s; is %s installed?)' % (
                product.upper(), action, module_name, package.replace('aliyunsdk', 'aliyun-python-sdk-')))
        return getattr(request_module, action + 'Request')()

    def _call_legacy(self, product, action, params):
        client = self._legacy_client()
        request = self._legacy_request(product, action)
        host, scheme = self.endpoints[product]
        request.set_endpoint(host)
        request.set_protocol_type(scheme)
        request.set_accept_format('JSON')
        for key, value in sorted(params.items()):
            if isinstance(value, bool):
                value = 'true' if value else 'false'
            elif isinstance(value, (list, dict)):
                value = json.dumps(value)
            request.add_query_param(key, value)
        try:
            body = client.do_action_with_exception(request)
        except CoreServerException as exc:
            raise AlicloudApiError(exc.get_error_code(), exc.get_error_msg(), request_id=exc.get_request_id(),
                                   http_status=exc.get_http_status(), product=product, action=action)
        except CoreClientException as exc:
            code = exc.get_error_code()
            raise AlicloudApiError(code, exc.get_error_msg(), product=product, action=action,
                                   connection_error=(code == 'SDK.HttpError'))
        except (IOError, OSError) as exc:
            raise AlicloudApiError('ConnectionError', str(exc), product=product, action=action,
                                   connection_error=True)
        try:
            return json.loads(body.decode('utf-8') if isinstance(body, bytes) else body)
        except ValueError:
            # A 2xx reply that is not JSON is a broken reply (e.g. cut short): worth another attempt.
            raise AlicloudApiError('InvalidResponse', 'reply is not JSON: %r' % body[:200], product=product,
                                   action=action, connection_error=True)

    # ---- Tea SDK (RDS)

    def _tea_client(self):
        if self._rds_client is None:
            try:
                from alibabacloud_rds20140815.client import Client as RdsClient
                from alibabacloud_tea_openapi.models import Config
            except ImportError:
                raise AlicloudConfigError(missing_required_lib('alibabacloud-rds20140815') + ': '
                                          + traceback.format_exc())
            host, scheme = self.endpoints['rds']
            config = Config(access_key_id=self.access_key, access_key_secret=self._secret_key,
                            security_token=self._security_token, region_id=self.region, endpoint=host,
                            protocol=scheme, read_timeout=self.timeout * 1000,
                            connect_timeout=self.connect_timeout * 1000)
            self._rds_client = RdsClient(config)
            self._rds_methods = dict((_snake_key(name[:-len('_with_options')]), name)
                                     for name in dir(RdsClient) if name.endswith('_with_options'))
        return self._rds_client

    def _call_rds(self, action, params):
        client = self._tea_client()
        from alibabacloud_rds20140815 import models as rds_models
        try:
            from darabonba.runtime import RuntimeOptions
        except ImportError:
            from alibabacloud_tea_util.models import RuntimeOptions
        method_name = self._rds_methods.get(action.lower())
        model = getattr(rds_models, action + 'Request', None)
        if method_name is None or model is None:
            raise AlicloudConfigError('RDS has no API action %s in alibabacloud-rds20140815' % action)
        request = model().from_map(params)
        unknown = sorted(set(params) - set(request.to_map()))
        if unknown:
            raise AlicloudConfigError('RDS %s has no parameter(s) %s' % (action, ', '.join(unknown)))
        try:
            response = getattr(client, method_name)(request, RuntimeOptions(autoretry=False))
        except TeaUnretryableException as exc:
            inner = getattr(exc, 'inner_exception', exc)
            raise AlicloudApiError('ConnectionError', '%s' % (inner,), product='rds', action=action,
                                   connection_error=True)
        except TeaException as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            status = getattr(exc, 'status_code', None) or data.get('statusCode')
            retry_after = getattr(exc, 'retry_after', None)
            code = data.get('Code') or data.get('code') or exc.code
            raise AlicloudApiError(code if code and code != 'None' else 'Unknown',
                                   data.get('Message') or data.get('message') or exc.message,
                                   request_id=data.get('RequestId') or getattr(exc, 'request_id', None),
                                   http_status=status, product='rds', action=action,
                                   retry_after=(retry_after / 1000.0) if retry_after else None)
        except (IOError, OSError) as exc:
            raise AlicloudApiError('ConnectionError', str(exc), product='rds', action=action, connection_error=True)
        body = response.body
        return body.to_map() if body is not None else {}


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------------------------------
# The module base class


class AlicloudModule(AnsibleModule):
    """AnsibleModule with the shared options merged in, a lazily built client and API errors as fail_json."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(ALICLOUD_COMMON_ARGS)
        spec.update(argument_spec or {})
        super(AlicloudModule, self).__init__(argument_spec=spec, **kwargs)
        self._alicloud_client = None
        # Every mutating call made, or in check mode that would be made: the honest report of what the module does.
        self.api_calls = []
        if not HAS_CORE_SDK:
            self.fail_json(msg=missing_required_lib('aliyun-python-sdk-core'), exception=CORE_SDK_IMPORT_ERROR)
        # The legacy SDK logs every error response at ERROR level to stderr; our own messages say it better.
        logging.getLogger('aliyunsdkcore').setLevel(logging.CRITICAL)

    @property
    def client(self):
        if self._alicloud_client is None:
            try:
                self._alicloud_client = AlicloudClient.from_params(self.params)
            except AlicloudConfigError as exc:
                self.fail_json(msg=str(exc))
        return self._alicloud_client

    @property
    def region(self):
        return self.client.region

    def fail_alicloud(self, error, msg=None, **result):
        """fail_json for any AlicloudError, with code and request id when it is an API error."""
        if isinstance(error, AlicloudApiError):
            result.update(error.to_result())
        elif isinstance(error, AlicloudWaitError):
            result['last_state'] = error.last_state
        self.fail_json(msg=('%s: %s' % (msg, error)) if msg else str(error), **result)

    def run(self, function, *args, **kwargs):
        """Call function; an AlicloudError it raises ends the module with fail_json."""
        try:
            return function(*args, **kwargs)
        except AlicloudError as error:
            self.fail_alicloud(error)

    def delete_when_settled(self, product, action, params, what, not_found_codes, busy_code, blocked_advice,
                            timeout, fetch=None):
        """Delete a resource that refuses while it is still settling (busy_code), retrying until it accepts.

        Already gone (one of not_found_codes) is success.  DependencyViolation* becomes a parameter error that names
        what and says blocked_advice.  With fetch (returns the resource or None), also wait until it is gone.
        """
        def attempt():
            try:
                self.mutate(product, action, params)
            except AlicloudApiError as error:
                if error.code in not_found_codes:
                    return True
                if error.code.startswith('DependencyViolation'):
                    raise AlicloudParameterError('%s cannot be deleted while resources still use it (%s: %s); %s'
                                                 % (what, error.code, error.message, blocked_advice))
                if error.code == busy_code:
                    return False
                raise
            return True

        if self.check_mode:
            attempt()
            return
        if not attempt():
            wait_until(attempt, bool, timeout=timeout, describe=lambda accepted: busy_code,
                       what='%s to accept deletion' % what)
        if fetch is not None:
            wait_until(fetch, lambda current: current is None, timeout=timeout,
                       describe=lambda current: current.get('Status') if current else 'gone',
                       what='%s to be deleted' % what)

    def mutate(self, product, action, params):
        """A call that changes something: recorded in api_calls; in check mode recorded only, returns None."""
        self.api_calls.append(dict(product=product, action=action, params=mask_secret_params(params)))
        if self.check_mode:
            return None
        return self.client.call(product, action, params)

    def create_with_client_token(self, product, action, request, identity, extract_id, lookup, grace=8.0,
                                 generations=4):
        """Create once per identity, safe against lost replies and against tokens the cloud still remembers.

        The ClientToken is client_token(*identity), so a retried create returns the first resource.  A token also
        outlives the resource it made: after a delete, the same token answers with the deleted ID.  When lookup(id)
        still finds nothing after `grace` seconds, the next token of the deterministic sequence
        client_token(*identity, 'generation', n) is used.  Returns (id, resource found), or (None, None) in check
        mode.
        """
        for generation in range(generations):
            parts = list(identity) + (['generation', generation] if generation else [])
            try:
                reply = self.mutate(product, action, dict(request, ClientToken=client_token(*parts)))
            except AlicloudApiError as error:
                # The token made an earlier resource with parameters that differ only in what is not identity
                # (a password, a description): that resource is gone or it would have been found; use the next one.
                if error.code == 'IdempotentParameterMismatch':
                    continue
                raise
            if reply is None:
                return None, None
            resource_id = extract_id(reply)
            try:
                found = wait_until(lambda: lookup(resource_id), lambda found: found is not None, timeout=grace,
                                   delay=0.5, max_delay=2.0, describe=lambda found: 'not found',
                                   what='%s %s' % (action, resource_id))
            except AlicloudWaitError:
                continue
            return resource_id, found
        raise AlicloudApiError('StaleClientToken', '%s kept answering with resources that do not exist or with '
                               'IdempotentParameterMismatch, %d tokens tried' % (action, generations),
                               product=product, action=action)

    def sync_tags(self, product, resource_type, resource_id, current, desired, purge):
        """TagResources / UntagResources so the resource carries the desired tags; True when something changed."""
        to_set, to_remove = tag_changes(current, desired, purge)
        if to_set:
            params = dict(flatten_tags(to_set), ResourceType=resource_type, RegionId=self.region)
            params['ResourceId.1'] = resource_id
            self.mutate(product, 'TagResources', params)
        if to_remove:
            params = dict(('TagKey.%d' % index, key) for index, key in enumerate(to_remove, 1))
            params.update(ResourceType=resource_type, RegionId=self.region)
            params['ResourceId.1'] = resource_id
            # ECS spells it UntagResources, VPC UnTagResources.
            self.mutate(product, 'UntagResources' if product == 'ecs' else 'UnTagResources', params)
        return bool(to_set or to_remove)

    def finish(self, changed, diff_before=None, diff_after=None, **result):
        """exit_json with changed, api_calls and, when diff mode is on, the before/after views."""
        if self._diff:
            result['diff'] = dict(before=diff_before or {}, after=diff_after or {})
        self.exit_json(changed=changed, api_calls=self.api_calls, **result)
