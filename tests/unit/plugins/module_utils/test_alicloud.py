"""Unit tests of plugins/module_utils/alicloud.py: credential chain, endpoints, retries, pager, tokens, waiter.

The SDK wiring tests run the real official SDKs against a tiny canned HTTP server on loopback, so the request shape
and the error normalisation are those of the installed SDK versions.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from ansible_collections.computenest.mlflow.plugins.module_utils import alicloud
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError, AlicloudClient, AlicloudConfigError, AlicloudWaitError, client_token, resolve_credentials,
    resolve_endpoint, wait_until,
)

FULL_ENV = {
    'ALICLOUD_ACCESS_KEY': 'env-ak', 'ALICLOUD_SECRET_KEY': 'env-secret', 'ALICLOUD_SECURITY_TOKEN': 'env-token',
    'ALICLOUD_REGION': 'cn-shanghai',
    'ALIBABA_CLOUD_ACCESS_KEY_ID': 'sdk-ak', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'sdk-secret',
    'ALIBABA_CLOUD_SECURITY_TOKEN': 'sdk-token', 'ALIBABA_CLOUD_REGION_ID': 'cn-beijing',
}


def write_profiles(tmp_path, profiles, current=None):
    path = tmp_path / 'config.json'
    data = {'profiles': profiles}
    if current:
        data['current'] = current
    path.write_text(json.dumps(data))
    return str(path)


# ---------------------------------------------------------------------------------------------------- credentials

def test_module_options_win_over_everything(tmp_path):
    creds = resolve_credentials({'access_key': 'p-ak', 'secret_key': 'p-secret', 'region': 'cn-hangzhou'},
                                dict(FULL_ENV, HOME=str(tmp_path)))
    assert (creds['access_key'], creds['secret_key'], creds['security_token'], creds['region']) == \
        ('p-ak', 'p-secret', None, 'cn-hangzhou')


def test_alicloud_env_comes_before_alibaba_cloud_env():
    creds = resolve_credentials({}, FULL_ENV)
    assert (creds['access_key'], creds['secret_key'], creds['security_token']) == ('env-ak', 'env-secret', 'env-token')
    assert creds['region'] == 'cn-shanghai'


def test_alicloud_alternative_env_names():
    env = {'ALICLOUD_ACCESS_KEY_ID': 'a2', 'ALICLOUD_SECRET_ACCESS_KEY': 's2', 'ALICLOUD_REGION_ID': 'eu-central-1'}
    creds = resolve_credentials({}, env)
    assert (creds['access_key'], creds['secret_key'], creds['region']) == ('a2', 's2', 'eu-central-1')


def test_alibaba_cloud_env_used_when_alicloud_env_absent():
    env = dict((k, v) for k, v in FULL_ENV.items() if not k.startswith('ALICLOUD_'))
    creds = resolve_credentials({}, env)
    assert (creds['access_key'], creds['secret_key'], creds['security_token'], creds['region']) == \
        ('sdk-ak', 'sdk-secret', 'sdk-token', 'cn-beijing')


def test_token_never_mixed_across_sources():
    env = {'ALICLOUD_SECURITY_TOKEN': 'stray', 'ALIBABA_CLOUD_ACCESS_KEY_ID': 'k', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 's',
           'ALICLOUD_REGION': 'cn-hangzhou'}
    assert resolve_credentials({}, env)['security_token'] is None


def test_half_a_key_pair_is_an_error_naming_the_missing_half():
    with pytest.raises(AlicloudConfigError, match='secret_key'):
        resolve_credentials({'access_key': 'only-id', 'region': 'cn-hangzhou'}, {})
    with pytest.raises(AlicloudConfigError, match='ALICLOUD_ACCESS_KEY'):
        resolve_credentials({}, {'ALICLOUD_SECRET_KEY': 's', 'ALICLOUD_REGION': 'cn-hangzhou'})


def test_profile_file_ak_mode_current_profile(tmp_path, monkeypatch):
    path = write_profiles(tmp_path, [
        {'name': 'default', 'mode': 'AK', 'access_key_id': 'd-ak', 'access_key_secret': 'd-s', 'region_id': 'cn-hangzhou'},
        {'name': 'work', 'mode': 'AK', 'access_key_id': 'w-ak', 'access_key_secret': 'w-s', 'region_id': 'ap-southeast-1'},
    ], current='work')
    creds = resolve_credentials({}, {'ALICLOUD_SHARED_CREDENTIALS_FILE': path})
    assert (creds['access_key'], creds['secret_key'], creds['region']) == ('w-ak', 'w-s', 'ap-southeast-1')
    creds = resolve_credentials({'shared_credentials_file': path}, {'ALICLOUD_PROFILE': 'default'})
    assert creds['access_key'] == 'd-ak'


def test_profile_file_default_location(tmp_path, monkeypatch):
    (tmp_path / '.aliyun').mkdir()
    (tmp_path / '.aliyun' / 'config.json').write_text(json.dumps({'profiles': [
        {'name': 'default', 'mode': 'AK', 'access_key_id': 'home-ak', 'access_key_secret': 'home-s',
         'region_id': 'cn-qingdao'}]}))
    monkeypatch.setenv('HOME', str(tmp_path))
    creds = resolve_credentials({}, {})
    assert (creds['access_key'], creds['region']) == ('home-ak', 'cn-qingdao')
    # Keys from the environment, region from the profile when nothing else names one.
    creds = resolve_credentials({}, {'ALICLOUD_ACCESS_KEY': 'e', 'ALICLOUD_SECRET_KEY': 's'})
    assert (creds['access_key'], creds['region']) == ('e', 'cn-qingdao')


def test_profile_sts_token_mode(tmp_path):
    path = write_profiles(tmp_path, [{'name': 'sts', 'mode': 'StsToken', 'access_key_id': 'STS.a',
                                      'access_key_secret': 's', 'sts_token': 'tok', 'region_id': 'cn-hangzhou'}])
    creds = resolve_credentials({'profile': 'sts', 'shared_credentials_file': path}, {})
    assert (creds['access_key'], creds['security_token']) == ('STS.a', 'tok')


def test_profile_option_wins_over_environment_keys(tmp_path):
    path = write_profiles(tmp_path, [{'name': 'p', 'mode': 'AK', 'access_key_id': 'p-ak', 'access_key_secret': 's',
                                      'region_id': 'cn-hangzhou'}])
    creds = resolve_credentials({'profile': 'p', 'shared_credentials_file': path}, FULL_ENV)
    assert creds['access_key'] == 'p-ak'
    # From ALICLOUD_PROFILE it comes after the environment keys.
    creds = resolve_credentials({'shared_credentials_file': path}, dict(FULL_ENV, ALICLOUD_PROFILE='p'))
    assert creds['access_key'] == 'env-ak'


@pytest.mark.parametrize('profile, message', [
    ({'name': 'r', 'mode': 'EcsRamRole', 'ram_role_name': 'x'}, 'only modes AK and StsToken'),
    ({'name': 'r', 'mode': 'AK', 'access_key_id': 'a'}, 'no access_key_id/access_key_secret'),
    ({'name': 'r', 'mode': 'StsToken', 'access_key_id': 'a', 'access_key_secret': 's'}, 'no sts_token'),
])
def test_unusable_profiles_are_clear_errors(tmp_path, profile, message):
    path = write_profiles(tmp_path, [profile])
    with pytest.raises(AlicloudConfigError, match=message):
        resolve_credentials({'profile': 'r', 'shared_credentials_file': path, 'region': 'cn-hangzhou'}, {})


def test_named_profile_missing(tmp_path):
    path = write_profiles(tmp_path, [{'name': 'a', 'mode': 'AK', 'access_key_id': 'x', 'access_key_secret': 'y'}])
    with pytest.raises(AlicloudConfigError, match="Profile 'nope' not found"):
        resolve_credentials({'profile': 'nope', 'shared_credentials_file': path}, {})
    with pytest.raises(AlicloudConfigError, match='does not exist'):
        resolve_credentials({'profile': 'a', 'shared_credentials_file': str(tmp_path / 'absent.json')}, {})


def test_nothing_found_names_every_source(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    with pytest.raises(AlicloudConfigError) as info:
        resolve_credentials({'region': 'cn-hangzhou'}, {})
    text = str(info.value)
    for name in ('access_key', 'secret_key', 'ALICLOUD_ACCESS_KEY', 'ALICLOUD_SECRET_KEY',
                 'ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALICLOUD_PROFILE',
                 'config.json', 'metadata'):
        assert name in text


def test_missing_and_bad_region(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    with pytest.raises(AlicloudConfigError, match='ALICLOUD_REGION'):
        resolve_credentials({'access_key': 'a', 'secret_key': 's'}, {})
    with pytest.raises(AlicloudConfigError, match='not a valid region'):
        resolve_credentials({'access_key': 'a', 'secret_key': 's', 'region': 'Bad Region!'}, {})


def test_no_metadata_call_possible(monkeypatch, tmp_path):
    """Resolution is pure: even with the network forbidden it finishes (with an error when nothing is set)."""
    import socket

    def forbidden(*args, **kwargs):
        raise AssertionError('network used during credential resolution')
    monkeypatch.setattr(socket, 'create_connection', forbidden)
    monkeypatch.setattr(socket.socket, 'connect', forbidden)
    monkeypatch.setenv('HOME', str(tmp_path))
    with pytest.raises(AlicloudConfigError):
        AlicloudClient.from_params({'region': 'cn-hangzhou'}, environ={})


def test_common_args_mark_secrets_no_log():
    spec = alicloud.ALICLOUD_COMMON_ARGS
    assert spec['secret_key']['no_log'] is True
    assert spec['security_token']['no_log'] is True
    assert 'alicloud_access_key' in spec['access_key']['aliases']
    assert 'alicloud_region' in spec['region']['aliases']


# ---------------------------------------------------------------------------------------------------- endpoints

@pytest.mark.parametrize('params, environ, expected', [
    ({'ecs_endpoint': 'http://127.0.0.1:9000'}, {'ALICLOUD_ECS_ENDPOINT': 'x.example:1', 'ALICLOUD_ENDPOINT': 'y:2'},
     ('127.0.0.1:9000', 'http')),
    ({}, {'ALICLOUD_ECS_ENDPOINT': 'ecs.internal.example:8443', 'ALICLOUD_ENDPOINT': 'http://y:2'},
     ('ecs.internal.example:8443', 'https')),
    ({}, {'ALICLOUD_ENDPOINT': 'http://127.0.0.1:7000/'}, ('127.0.0.1:7000', 'http')),
    ({}, {'ALICLOUD_ENDPOINT': 'HTTPS://gw.example'}, ('gw.example', 'https')),
    ({}, {}, ('ecs-cn-hangzhou.aliyuncs.com', 'https')),
])
def test_ecs_endpoint_order(params, environ, expected):
    assert resolve_endpoint('ecs', params, 'cn-hangzhou', environ) == expected


def test_default_endpoints_per_product():
    assert resolve_endpoint('vpc', {}, 'cn-hangzhou', {}) == ('vpc.aliyuncs.com', 'https')
    assert resolve_endpoint('rds', {}, 'cn-hangzhou', {}) == ('rds.aliyuncs.com', 'https')
    assert resolve_endpoint('ecs', {}, 'eu-central-1', {})[0] == 'ecs.eu-central-1.aliyuncs.com'
    assert resolve_endpoint('rds', {}, 'eu-central-1', {})[0] == 'rds.eu-central-1.aliyuncs.com'
    # The product variable only overrides its own product.
    assert resolve_endpoint('vpc', {}, 'cn-hangzhou', {'ALICLOUD_ECS_ENDPOINT': 'h:1'})[0] == 'vpc.aliyuncs.com'


@pytest.mark.parametrize('value', ['ftp://host', 'http://host/path', 'host name', 'http://'])
def test_bad_endpoint_names_the_option(value):
    with pytest.raises(AlicloudConfigError, match='rds_endpoint'):
        resolve_endpoint('rds', {'rds_endpoint': value}, 'cn-hangzhou', {})


# ---------------------------------------------------------------------------------------------------- retries

class ScriptedClient(AlicloudClient):
    """Answers from a script of results/exceptions instead of the network."""

    def __init__(self, script, **kwargs):
        self.sleeps = []
        kwargs.setdefault('sleep', self.sleeps.append)
        super(ScriptedClient, self).__init__('ak', 'secret', 'cn-hangzhou', **kwargs)
        self.script = list(script)
        self.sent = []

    def _answer(self, product, action, params):
        self.sent.append((product, action, dict(params)))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def _call_legacy(self, product, action, params):
        return self._answer(product, action, params)

    def _call_rds(self, action, params):
        return self._answer('rds', action, params)


def api_error(code, status, **kwargs):
    return AlicloudApiError(code, 'scripted', http_status=status, product='ecs', action='X', **kwargs)


RETRYABLE = [
    api_error('Throttling', 400), api_error('Throttling.User', 400), api_error('Throttling.Api', 400),
    api_error('ServiceUnavailable', 503), api_error('InternalError', 500), api_error('SomethingElse', 502),
    api_error('SDK.HttpError', None, connection_error=True),
    AlicloudApiError('ConnectionError', 'refused', product='rds', action='X', connection_error=True),
]


@pytest.mark.parametrize('error', RETRYABLE, ids=lambda e: e.code)
@pytest.mark.parametrize('product', ['ecs', 'rds'])
def test_retryable_errors_are_retried_with_bounded_backoff(error, product):
    client = ScriptedClient([error, error, error, {'RequestId': 'ok'}], retries=5, retry_base_delay=0.5,
                            retry_max_delay=1.5)
    assert client.call(product, 'DescribeThings', {}) == {'RequestId': 'ok'}
    assert client.call_counts[(product, 'DescribeThings')] == 4
    assert client.retry_counts[(product, 'DescribeThings')] == 3
    assert len(client.sleeps) == 3
    for attempt, delay in enumerate(client.sleeps):
        assert 0 <= delay <= min(1.5, 0.5 * 2 ** attempt)


@pytest.mark.parametrize('code, status', [('InvalidParameter', 400), ('IncorrectInstanceStatus', 403),
                                          ('InvalidVpcId.NotFound', 404), ('Forbidden.RAM', 403)])
def test_client_errors_are_not_retried(code, status):
    client = ScriptedClient([api_error(code, status), {'never': 'reached'}])
    with pytest.raises(AlicloudApiError) as info:
        client.call('vpc', 'DeleteVpc', {'VpcId': 'vpc-1'})
    assert info.value.code == code
    assert client.call_counts[('vpc', 'DeleteVpc')] == 1
    assert client.sleeps == []


def test_retries_give_up_after_the_configured_count():
    client = ScriptedClient([api_error('Throttling', 400)] * 4, retries=3)
    with pytest.raises(AlicloudApiError, match='Throttling'):
        client.call('ecs', 'RunInstances', {})
    assert client.call_counts[('ecs', 'RunInstances')] == 4
    assert len(client.sleeps) == 3


def test_backoff_grows_up_to_the_cap():
    class Highest(object):
        @staticmethod
        def uniform(low, high):
            return high
    client = ScriptedClient([api_error('Throttling', 400)] * 7 + [{}], retries=7, retry_base_delay=0.5,
                            retry_max_delay=4.0, rng=Highest())
    client.call('ecs', 'DescribeInstances', {})
    assert client.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_server_retry_after_is_honoured():
    client = ScriptedClient([api_error('Throttling.User', 400, retry_after=3.0), {}], retry_max_delay=10.0)
    client.call('rds', 'DescribeDBInstances', {})
    assert client.sleeps[0] >= 3.0


def test_none_params_are_dropped():
    client = ScriptedClient([{}])
    client.call('ecs', 'DescribeInstances', {'VpcId': None, 'InstanceName': 'a'})
    assert client.sent[0][2] == {'InstanceName': 'a'}


def test_unknown_product_is_a_config_error():
    with pytest.raises(AlicloudConfigError, match='Unknown product'):
        ScriptedClient([]).call('oss', 'ListBuckets', {})


# ---------------------------------------------------------------------------------------------------- pager

class PagedClient(ScriptedClient):
    def __init__(self, items, total_key='TotalCount', **kwargs):
        super(PagedClient, self).__init__([], **kwargs)
        self.items = items
        self.total_key = total_key

    def _call_legacy(self, product, action, params):
        self.sent.append(dict(params))
        if 'MaxResults' in params:
            start = int(params.get('NextToken') or 0)
            end = start + params['MaxResults']
            body = {'Vpcs': {'Vpc': self.items[start:end]}, 'NextToken': str(end) if end < len(self.items) else ''}
            return body
        size, number = params['PageSize'], params['PageNumber']
        chunk = self.items[(number - 1) * size:number * size]
        return {'Vpcs': {'Vpc': chunk}, self.total_key: len(self.items), 'PageNumber': number}


@pytest.mark.parametrize('count', [0, 1, 49, 50, 51, 120, 150])
def test_page_pager_walks_every_page(count):
    items = [{'VpcId': 'vpc-%d' % i} for i in range(count)]
    client = PagedClient(items)
    assert client.paginate('vpc', 'DescribeVpcs', {'VpcName': 'x'}, 'Vpcs.Vpc', page_size=50) == items
    assert all(sent['VpcName'] == 'x' and sent['PageSize'] == 50 for sent in client.sent)
    assert [sent['PageNumber'] for sent in client.sent] == list(range(1, max(1, -(-count // 50)) + 1))


def test_page_pager_with_total_record_count():
    items = [{'VpcId': str(i)} for i in range(25)]
    client = PagedClient(items, total_key='TotalRecordCount')
    assert len(client.paginate('vpc', 'DescribeVpcs', {}, 'Vpcs.Vpc', page_size=10)) == 25
    assert len(client.sent) == 3


@pytest.mark.parametrize('count', [0, 7, 100, 101, 333])
def test_token_pager_walks_every_page(count):
    items = [{'VpcId': 'vpc-%d' % i} for i in range(count)]
    client = PagedClient(items)
    assert client.paginate('vpc', 'DescribeVpcs', {}, 'Vpcs.Vpc', style='token', page_size=100) == items
    assert len(client.sent) == max(1, -(-count // 100))


def test_pager_survives_a_single_item_not_wrapped_in_a_list():
    client = ScriptedClient([{'Vpcs': {'Vpc': {'VpcId': 'only'}}, 'TotalCount': 1}])
    assert client.paginate('vpc', 'DescribeVpcs', {}, 'Vpcs.Vpc') == [{'VpcId': 'only'}]


# ---------------------------------------------------------------------------------------------------- tokens, waiter

def test_client_token_is_deterministic_and_short():
    first = client_token('vpc', 'cn-hangzhou', 'mlflow', {'b': '2', 'a': '1'})
    again = client_token('vpc', 'cn-hangzhou', 'mlflow', {'a': '1', 'b': '2'})
    assert first == again
    assert len(first) <= 64 and first.isascii() and first.replace('-', '').isalnum()
    assert client_token('vpc', 'cn-hangzhou', 'mlflow2', {'a': '1', 'b': '2'}) != first
    assert client_token('a', 'bc') != client_token('ab', 'c')


class FakeClock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_returns_the_ready_value():
    states = iter(['Pending', 'Pending', 'Available'])
    clock = FakeClock()
    value = wait_until(lambda: {'Status': next(states)}, lambda v: v['Status'] == 'Available', timeout=60,
                       sleep=clock.sleep, clock=clock)
    assert value == {'Status': 'Available'}
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0] * 1.1


def test_wait_until_timeout_names_the_last_state():
    clock = FakeClock()
    with pytest.raises(AlicloudWaitError) as info:
        wait_until(lambda: {'Status': 'Starting'}, lambda v: v['Status'] == 'Running', timeout=30,
                   describe=lambda v: v['Status'], what='instance i-1', sleep=clock.sleep, clock=clock)
    assert 'instance i-1' in str(info.value) and 'Starting' in str(info.value)
    assert info.value.last_state == 'Starting'
    assert clock.now <= 30.0 + 1e-9
    assert max(clock.sleeps) <= 15.0


def test_wait_until_stops_at_a_failed_state():
    clock = FakeClock()
    with pytest.raises(AlicloudWaitError, match='failed state: Deleted'):
        wait_until(lambda: 'Deleted', lambda v: v == 'Running', failed=lambda v: v == 'Deleted', describe=str,
                   sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


# ---------------------------------------------------------------------------------------------------- real SDK wiring

class CannedServer(object):
    """Loopback HTTP server answering from a queue of (status, body, headers) and recording each request."""

    def __init__(self):
        self.queue = []
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length).decode() if length else ''
                query = dict((k, v[0]) for k, v in parse_qs(urlparse(self.path).query, keep_blank_values=True).items())
                query.update(dict((k, v[0]) for k, v in parse_qs(body, keep_blank_values=True).items()))
                outer.requests.append({'query': query, 'headers': dict(self.headers)})
                status, payload, headers = outer.queue.pop(0) if outer.queue else (200, {'RequestId': 'r'}, {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = HTTPServer(('127.0.0.1', 0), Handler)
        self.endpoint = '127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned(monkeypatch):
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy'):
        monkeypatch.delenv(name, raising=False)
    server = CannedServer()
    yield server
    server.close()


def sdk_client(server, **kwargs):
    sleeps = []
    endpoints = dict((p, (server.endpoint, 'http')) for p in alicloud.PRODUCTS)
    client = AlicloudClient('test-ak', 'test-secret', 'cn-hangzhou', endpoints=endpoints, sleep=sleeps.append,
                            **kwargs)
    return client, sleeps


def test_legacy_sdk_sends_flattened_params_and_returns_a_dict(canned):
    canned.queue.append((200, {'RequestId': 'r1', 'Vpcs': {'Vpc': []}, 'TotalCount': 0}, {}))
    client = sdk_client(canned)[0]
    params = dict(alicloud.flatten_tags({'app': 'mlflow'}), VpcName='v', PageSize=50, DryRun=False)
    assert client.call('vpc', 'DescribeVpcs', params) == {'RequestId': 'r1', 'Vpcs': {'Vpc': []}, 'TotalCount': 0}
    query = canned.requests[0]['query']
    assert query['Action'] == 'DescribeVpcs' and query['Version'] == '2016-04-28'
    assert (query['Tag.1.Key'], query['Tag.1.Value'], query['VpcName'], query['DryRun']) == \
        ('app', 'mlflow', 'v', 'false')
    assert query['AccessKeyId'] == 'test-ak' and 'Signature' in query


def test_legacy_sdk_server_errors_are_normalised_and_retried_once_each(canned):
    canned.queue.extend([
        (503, {'Code': 'ServiceUnavailable', 'Message': 'busy', 'RequestId': 'r-503'}, {}),
        (400, {'Code': 'Throttling.User', 'Message': 'slow down', 'RequestId': 'r-thr'}, {}),
        (200, {'RequestId': 'r-ok', 'InstanceIdSets': {'InstanceIdSet': ['i-1']}}, {}),
    ])
    client, sleeps = sdk_client(canned)
    assert client.call('ecs', 'RunInstances', {'ClientToken': 'tok'})['InstanceIdSets'] == {'InstanceIdSet': ['i-1']}
    # Exactly three HTTP requests: the SDK's own retries are off, ours made the two extra attempts.
    assert len(canned.requests) == 3 and len(sleeps) == 2
    assert all(r['query']['ClientToken'] == 'tok' for r in canned.requests)


def test_legacy_sdk_client_error_fields(canned):
    canned.queue.append((404, {'Code': 'InvalidVpcId.NotFound', 'Message': 'no such vpc', 'RequestId': 'r-404'}, {}))
    client = sdk_client(canned)[0]
    with pytest.raises(AlicloudApiError) as info:
        client.call('vpc', 'DeleteVpc', {'VpcId': 'vpc-x'})
    error = info.value
    assert (error.code, error.message, error.request_id, error.http_status, error.product, error.action) == \
        ('InvalidVpcId.NotFound', 'no such vpc', 'r-404', 404, 'vpc', 'DeleteVpc')
    assert len(canned.requests) == 1


def test_tea_sdk_call_error_and_retry_after(canned):
    canned.queue.extend([
        (400, {'Code': 'Throttling.User', 'Message': 'too many', 'RequestId': 'r-t'}, {'x-acs-retry-after': '1500'}),
        (200, {'RequestId': 'r-ok', 'Items': {'DBInstance': [{'DBInstanceId': 'pgm-1'}]}, 'TotalRecordCount': 1}, {}),
        (400, {'Code': 'InvalidDBInstanceId.NotFound', 'Message': 'not found', 'RequestId': 'r-nf'}, {}),
    ])
    client, sleeps = sdk_client(canned, retry_max_delay=5.0)
    body = client.call('rds', 'DescribeDBInstances', {'RegionId': 'cn-hangzhou', 'PageSize': 30})
    assert body['Items']['DBInstance'][0]['DBInstanceId'] == 'pgm-1'
    assert sleeps and sleeps[0] >= 1.5
    assert canned.requests[0]['headers'].get('x-acs-action') == 'DescribeDBInstances'
    with pytest.raises(AlicloudApiError) as info:
        client.call('rds', 'DescribeDBInstanceAttribute', {'DBInstanceId': 'pgm-x'})
    assert (info.value.code, info.value.message, info.value.request_id, info.value.http_status) == \
        ('InvalidDBInstanceId.NotFound', 'not found', 'r-nf', 400)


def test_tea_unknown_parameter_is_a_config_error(canned):
    client = sdk_client(canned)[0]
    with pytest.raises(AlicloudConfigError, match='NoSuchParam'):
        client.call('rds', 'DescribeDBInstances', {'RegionId': 'cn-hangzhou', 'NoSuchParam': 1})
    assert canned.requests == []


def test_unknown_legacy_action_is_a_config_error(canned):
    client = sdk_client(canned)[0]
    with pytest.raises(AlicloudConfigError, match='NoSuchAction'):
        client.call('ecs', 'NoSuchAction', {})


@pytest.mark.parametrize('product', ['ecs', 'rds'])
def test_connection_refused_is_retried_then_reported(product):
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    sleeps = []
    endpoints = dict((p, ('127.0.0.1:%d' % port, 'http')) for p in alicloud.PRODUCTS)
    client = AlicloudClient('ak', 'sk', 'cn-hangzhou', endpoints=endpoints, retries=2, sleep=sleeps.append,
                            connect_timeout=2, timeout=2)
    action = 'DescribeRegions'
    with pytest.raises(AlicloudApiError) as info:
        client.call(product, action, {})
    assert info.value.connection_error
    assert client.call_counts[(product, action)] == 3 and len(sleeps) == 2


# ---------------------------------------------------------------------------------------------------- create tokens

class TokenModule(object):
    """mutate() answers from a script; create_with_client_token is the real method."""

    create_with_client_token = alicloud.AlicloudModule.create_with_client_token

    def __init__(self, replies, check_mode=False):
        self.replies = list(replies)
        self.check_mode = check_mode
        self.tokens = []

    def mutate(self, product, action, params):
        self.tokens.append(params['ClientToken'])
        if self.check_mode:
            return None
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def test_create_token_is_the_identity_token_when_the_resource_appears():
    module = TokenModule([{'VpcId': 'vpc-new'}])
    found = module.create_with_client_token('vpc', 'CreateVpc', {'VpcName': 'n'}, ['vpc', 'n'],
                                            lambda r: r['VpcId'], lambda i: {'VpcId': i}, grace=0.05)
    assert found == ('vpc-new', {'VpcId': 'vpc-new'})
    assert module.tokens == [client_token('vpc', 'n')]


def test_create_token_moves_to_the_next_generation_for_a_deleted_resource_or_a_mismatch():
    mismatch = AlicloudApiError('IdempotentParameterMismatch', 'differs', http_status=400)
    module = TokenModule([{'VpcId': 'vpc-deleted'}, mismatch, {'VpcId': 'vpc-new'}])
    live = {'vpc-new': {'VpcId': 'vpc-new'}}
    found = module.create_with_client_token('vpc', 'CreateVpc', {}, ['vpc', 'n'], lambda r: r['VpcId'], live.get,
                                            grace=0.05)
    assert found[0] == 'vpc-new'
    assert module.tokens == [client_token('vpc', 'n'), client_token('vpc', 'n', 'generation', 1),
                             client_token('vpc', 'n', 'generation', 2)]
    assert len(set(module.tokens)) == 3


def test_create_token_gives_up_after_the_generations():
    module = TokenModule([{'VpcId': 'ghost'}] * 3)
    with pytest.raises(AlicloudApiError, match='StaleClientToken'):
        module.create_with_client_token('vpc', 'CreateVpc', {}, ['x'], lambda r: r['VpcId'], lambda i: None,
                                        grace=0.01, generations=3)
    assert len(module.tokens) == 3


def test_create_token_other_errors_propagate_and_check_mode_calls_nothing():
    module = TokenModule([AlicloudApiError('QuotaExceeded.Vpc', 'too many', http_status=400)])
    with pytest.raises(AlicloudApiError, match='QuotaExceeded'):
        module.create_with_client_token('vpc', 'CreateVpc', {}, ['x'], lambda r: r['VpcId'], lambda i: None)
    assert len(module.tokens) == 1
    module = TokenModule([], check_mode=True)
    assert module.create_with_client_token('vpc', 'CreateVpc', {}, ['x'], lambda r: r['VpcId'],
                                           lambda i: None) == (None, None)


@pytest.mark.parametrize('product', ['ecs', 'rds'])
def test_sts_token_is_sent_and_sdk_environment_keys_do_not_take_over(canned, monkeypatch, product):
    monkeypatch.setenv('ALIYUN_ACCESS_KEY_ID', 'hijack-ak')
    monkeypatch.setenv('ALIYUN_ACCESS_KEY_SECRET', 'hijack-secret')
    client = sdk_client(canned, security_token='sts-token')[0]
    client.call(product, 'DescribeRegions', {})
    request = canned.requests[0]
    if product == 'ecs':
        assert request['query']['SecurityToken'] == 'sts-token' and request['query']['AccessKeyId'] == 'test-ak'
    else:
        assert request['headers'].get('x-acs-security-token') == 'sts-token'
        assert 'Credential=test-ak' in request['headers'].get('Authorization', '')
