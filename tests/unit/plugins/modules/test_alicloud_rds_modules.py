"""Pure logic of the RDS modules and their shared helpers (no emulator: a scripted client answers)."""
import json

import pytest

from ansible_collections.computenest.mlflow.plugins.module_utils import alicloud_rds
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudApiError, client_token
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_rds_database as database_module
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_rds_instance as instance_module
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_rds_security_ips as security_ips


class Failed(Exception):
    """fail_json of the fake module."""


class ScriptedClient(object):
    """Answers each call with the first handler whose (action) matches; records every call."""

    def __init__(self, handlers):
        self.handlers = handlers
        self.calls = []

    def call(self, product, action, params=None):
        self.calls.append((action, dict(params or {})))
        return self.handlers[action](dict(params or {}))

    def paginate(self, product, action, params, items_path, **kwargs):
        body = self.call(product, action, params)
        return alicloud_rds.dig(body, items_path) or []


class FakeModule(object):
    def __init__(self, client, params=None, check_mode=False):
        self.client = client
        self.params = params or {}
        self.check_mode = check_mode
        self.region = 'cn-hangzhou'

    def fail_json(self, **kwargs):
        raise Failed(kwargs['msg'])


# ---------------------------------------------------------------------------------------------------- naming rules

@pytest.mark.parametrize('password, ok', [
    ('Mlflow-Pass1', True), ('abcDEF12', True), ('abcdef1!', True), ('ABCDEF1_', True),
    ('short1A', False), ('alllowercase', False), ('ALLUPPER123', False), ('NoDigitsOrSpecials', False),
    ('Tilde~Pass123', False), ('x' * 30 + 'A1', True), ('x' * 31 + 'A1', False), ('Space Pass1', False),
])
def test_rds_password_rule(password, ok):
    problem = alicloud_rds.rds_password_problem(password)
    assert (problem is None) == ok
    if problem:
        assert problem.startswith('password must be') and password not in problem


@pytest.mark.parametrize('name, ok', [
    ('mlflow', True), ('ml_flow2', True), ('a1', True), ('Mlflow', False), ('1mlflow', False), ('mlflow_', False),
    ('pgsql', False), ('pg_user', False), ('postgres', False), ('root', False), ('m', False), ('a' * 63, True),
    ('a' * 64, False), ('ml-flow', False),
])
def test_account_name_rule(name, ok):
    assert (alicloud_rds.account_name_problem(name) is None) == ok


@pytest.mark.parametrize('name, ok', [
    ('mlflow', True), ('ml-flow_db', True), ('Mlflow', False), ('db-', False), ('x', False), ('a' * 64, True),
    ('a' * 65, False),
])
def test_database_name_rule(name, ok):
    assert (alicloud_rds.database_name_problem(name) is None) == ok


@pytest.mark.parametrize('value, ok', [
    ('pgm-bp1k2ak9bdy8h0f5z', True), ('rm-bp1abc', True), ('pgm bp1', False), ('', False), ('PGM-BP1ABCD', False),
])
def test_instance_id_rule(value, ok):
    assert (alicloud_rds.instance_id_problem(value) is None) == ok


def test_api_call_masks_the_password_only():
    call = alicloud_rds.api_call('CreateAccount', {'AccountName': 'mlflow', 'AccountPassword': 'Secret-123'})
    assert call == {'product': 'rds', 'action': 'CreateAccount',
                    'params': {'AccountName': 'mlflow', 'AccountPassword': '********'}}


# ---------------------------------------------------------------------------------------------------- tags

def _describe_by_tag(instances):
    """DescribeDBInstances that filters on Tags like RDS documents it: an instance carrying any one tag matches."""
    def handler(params):
        wanted = json.loads(params['Tags']).items() if params.get('Tags') else []
        items = [dict(DBInstanceId=db_id, DBInstanceDescription=db_id) for db_id, tags in sorted(instances.items())
                 if (not wanted or any(tags.get(k) == v for k, v in wanted))
                 and params.get('DBInstanceId') in (None, db_id)]
        return {'Items': {'DBInstance': items}, 'TotalRecordCount': len(items)}
    return handler


def test_every_tag_must_match_even_where_rds_matches_any():
    instances = {'pgm-a': {'team': 'ml', 'env': 'prod'}, 'pgm-b': {'team': 'ml', 'env': 'dev'},
                 'pgm-c': {'team': 'web', 'env': 'prod'}}
    module = FakeModule(ScriptedClient({'DescribeDBInstances': _describe_by_tag(instances)}))
    assert alicloud_rds.ids_with_tags(module, {'team': 'ml', 'env': 'prod'}) == {'pgm-a'}
    assert alicloud_rds.ids_with_tags(module, {'team': 'ml'}) == {'pgm-a', 'pgm-b'}
    assert alicloud_rds.ids_with_tags(module, {'team': 'nobody', 'env': 'prod'}) == set()
    # One query per tag, each with a single tag: never several tags in one any-of query.
    assert all(len(json.loads(params['Tags'])) == 1 for dummy, params in module.client.calls)


def test_missing_tags_names_exactly_the_absent_ones():
    instances = {'pgm-a': {'team': 'ml', 'env': 'dev'}}
    module = FakeModule(ScriptedClient({'DescribeDBInstances': _describe_by_tag(instances)}))
    assert alicloud_rds.missing_tags(module, 'pgm-a', {'team': 'ml', 'env': 'prod', 'owner': 'x'}) == \
        {'env': 'prod', 'owner': 'x'}


# ---------------------------------------------------------------------------------------------------- ClientToken

def test_create_reuses_one_token_and_steps_past_a_deleted_life(monkeypatch):
    """A token that answers with a deleted instance is skipped for the next deterministic generation."""
    monkeypatch.setattr(instance_module, 'VISIBILITY_GRACE', 0.05)
    answers = {client_token('rds-instance', {'A': 1}): 'pgm-old'}
    live = {}

    def create(params):
        token = params['ClientToken']
        if token not in answers:
            answers[token] = 'pgm-new%d' % len(answers)
            live[answers[token]] = 'Creating'
        return {'DBInstanceId': answers[token]}

    def attribute(params):
        status = live.get(params['DBInstanceId'])
        if status is None:
            raise AlicloudApiError('InvalidDBInstanceId.NotFound', 'gone')
        return {'Items': {'DBInstanceAttribute': [{'DBInstanceId': params['DBInstanceId'],
                                                   'DBInstanceStatus': status}]}}

    client = ScriptedClient({'CreateDBInstance': create, 'DescribeDBInstanceAttribute': attribute})
    body = instance_module.create_once(FakeModule(client), {'A': 1})
    assert body['DBInstanceId'] == 'pgm-new1'
    tokens = [params['ClientToken'] for action, params in client.calls if action == 'CreateDBInstance']
    assert tokens == [client_token('rds-instance', {'A': 1}), client_token('rds-instance', {'A': 1}, 2)]
    # The same request later gives the same token sequence, so a retry finds the same instance.
    again = instance_module.create_once(FakeModule(client), {'A': 1})
    assert again['DBInstanceId'] == 'pgm-new1'


def test_first_token_answering_a_live_instance_is_kept():
    client = ScriptedClient({
        'CreateDBInstance': lambda params: {'DBInstanceId': 'pgm-live'},
        'DescribeDBInstanceAttribute': lambda params: {'Items': {'DBInstanceAttribute': [
            {'DBInstanceId': 'pgm-live', 'DBInstanceStatus': 'Running'}]}},
    })
    assert instance_module.create_once(FakeModule(client), {'A': 1})['DBInstanceId'] == 'pgm-live'
    assert [action for action, dummy in client.calls].count('CreateDBInstance') == 1


# ---------------------------------------------------------------------------------------------------- whitelists

@pytest.mark.parametrize('entry, canonical', [
    ('10.0.0.5', '10.0.0.5'), ('10.0.0.5/32', '10.0.0.5'), (' 10.0.0.0/24 ', '10.0.0.0/24'),
    ('10.0.0.7/24', '10.0.0.0/24'), ('0.0.0.0/0', '0.0.0.0/0'),
])
def test_whitelist_entries_compare_as_networks(entry, canonical):
    assert security_ips.canonical(entry) == canonical


@pytest.mark.parametrize('entry', ['300.0.0.1', '10.0.0.0/33', 'fe80::1', 'host.example'])
def test_whitelist_refuses_what_is_not_ipv4(entry):
    with pytest.raises(ValueError):
        security_ips.canonical(entry)


# ---------------------------------------------------------------------------------------------------- databases

def test_database_facts_read_owner_and_locale_either_way():
    combined = database_module.facts_of({'DBName': 'mlflow', 'CharacterSetName': 'UTF8,C,en_US.utf8',
                                         'Accounts': {'AccountPrivilegeInfo': [
                                             {'Account': 'reader', 'AccountPrivilege': 'ReadOnly'},
                                             {'Account': 'mlflow', 'AccountPrivilege': 'DBOwner'}]}})
    assert (combined['character_set'], combined['collate'], combined['ctype'], combined['owner']) == \
        ('UTF8', 'C', 'en_US.utf8', 'mlflow')
    apart = database_module.facts_of({'DBName': 'mlflow', 'CharacterSetName': 'UTF8', 'Collate': 'en_US.utf8',
                                      'Ctype': 'en_US.utf8', 'Accounts': {'AccountPrivilegeInfo': []}})
    assert (apart['collate'], apart['ctype'], apart['owner']) == ('en_US.utf8', 'en_US.utf8', None)


# ---------------------------------------------------------------------------------------------------- instances

def _attribute(**overrides):
    attribute = dict(DBInstanceId='pgm-a', DBInstanceDescription='db', DBInstanceStatus='Running',
                     Engine='PostgreSQL', EngineVersion='16.0', DBInstanceClass='pg.n2.2c.1m', DBInstanceStorage=40,
                     DBInstanceStorageType='cloud_essd', Category='Basic', PayType='Postpaid', ZoneId='z',
                     VpcId='vpc-a', VSwitchId='vsw-a', ConnectionString='pgm-a.pg', Port='5432')
    attribute.update(overrides)
    return attribute


def _instance_params(**overrides):
    params = dict(name='db', engine_version='16.0', instance_class='pg.n2.2c.1m', storage=40,
                  storage_type='cloud_essd', category='Basic', pay_type='Postpaid', zone_id='z', vpc_id='vpc-a',
                  vswitch_id='vsw-a', tags=None, purge_tags=False)
    params.update(overrides)
    return params


def test_resize_is_planned_in_place_and_the_rest_refused():
    module = FakeModule(ScriptedClient({}), _instance_params(instance_class='pg.n2.4c.2m', storage=60))
    calls, current, after = instance_module.plan_update(module, _attribute(), None)
    expected = {'DBInstanceId': 'pgm-a', 'DBInstanceClass': 'pg.n2.4c.2m', 'DBInstanceStorage': 60,
                'PayType': 'Postpaid'}
    assert calls == [('ModifyDBInstanceSpec', expected)]
    assert (current['storage'], after['storage'], after['instance_class']) == (40, 60, 'pg.n2.4c.2m')
    assert current['port'] == 5432

    net_info = {'DescribeDBInstanceNetInfo': lambda params: {'DBInstanceNetInfos': {'DBInstanceNetInfo': [
        {'IPType': 'Public', 'ConnectionString': 'pgm-a.public', 'Port': '5432'},
        {'IPType': 'Private', 'ConnectionString': 'pgm-a.intranet', 'Port': '3433'}]}}}
    module = FakeModule(ScriptedClient(net_info), _instance_params(zone_id='other', vpc_id='vpc-b', storage=20))
    with pytest.raises(Failed) as info:
        instance_module.plan_update(module, _attribute(), None)
    message = str(info.value)
    assert 'cannot change' in message and 'in place' in message
    assert 'zone_id (z -> other)' in message and 'vpc_id (vpc-a -> vpc-b)' in message
    assert 'storage (40 GB -> 20 GB' in message


def test_connection_is_the_intranet_address():
    client = ScriptedClient({'DescribeDBInstanceNetInfo': lambda params: {'DBInstanceNetInfos': {'DBInstanceNetInfo': [
        {'IPType': 'Public', 'ConnectionString': 'pgm-a.public', 'Port': '5432'},
        {'IPType': 'Private', 'ConnectionString': 'pgm-a.intranet', 'Port': '3433'}]}}})
    assert alicloud_rds.connection_of(FakeModule(client), _attribute()) == ('pgm-a.intranet', 3433)


def test_tags_are_added_and_purged_only_when_asked():
    module = FakeModule(ScriptedClient({}), _instance_params(tags={'a': '1', 'b': '2'}, purge_tags=True))
    calls, current, after = instance_module.plan_update(module, _attribute(), {'a': '1', 'old': 'x'})
    assert [action for action, dummy in calls] == ['TagResources', 'UntagResources']
    assert calls[0][1]['Tag'] == [{'Key': 'b', 'Value': '2'}] and calls[1][1]['TagKey'] == ['old']
    assert after['tags'] == {'a': '1', 'b': '2'}
    module = FakeModule(ScriptedClient({}), _instance_params(tags={'a': '1'}))
    calls, current, after = instance_module.plan_update(module, _attribute(), {'a': '1'})
    assert calls == [] and current == after
