"""Subscription (PrePaid) deployments against the local emulator: alicloud_ecs_instance and alicloud_rds_instance
buy, keep and release subscriptions, and the alicloud_infra role deploys and tears down a PrePaid deployment.

The emulator refuses to delete an unexpired subscription as the real APIs do (ECS ChargeTypeViolation, RDS
OperationDenied.DBInstancePayType); releasing one means converting it to pay-as-you-go first. Its request log is the
witness that a refusal, a bad parameter or check mode changes nothing.
"""
import json

import pytest

ECS_ZONE = 'cn-hangzhou-h'
RDS_ZONE = 'cn-hangzhou-i'
IMAGE = 'debian_12_9_x64_20G_alibase_20250117.vhd'
PASSWORD = 'Mlfl0w-Test-Pass!'
TAGS = {'deployment': 'prepaid-test'}
TAG_KEY = 'computenest-mlflow-deployment'


def ok(result):
    assert not result.failed, json.dumps(result.result, indent=1)[:3000] + result.stderr[-2000:]
    return result


def mutations(emulator, since=0):
    return [entry['action'] for entry in emulator.requests(since)
            if not entry['action'].startswith(('Describe', 'List'))]


class Cloud(object):
    def __init__(self, emulator, run_module):
        self.emulator = emulator
        self.env = emulator.env()
        self._run_module = run_module

    def run(self, name, args, check=False, diff=False):
        return self._run_module(name, args, check=check, diff=diff, env=self.env)

    def mark(self):
        return len(self.emulator.requests())

    def resources(self, kind):
        return self.emulator.resources().get(kind, [])


@pytest.fixture(name='cloud')
def cloud_fixture(alicloud_emulator, run_module):
    return Cloud(alicloud_emulator, run_module)


def network(cloud, zone):
    vpc = ok(cloud.run('alicloud_vpc', {'name': 'prepaid-net', 'cidr_block': '172.16.0.0/16'}))['vpc']
    vsw = ok(cloud.run('alicloud_vswitch', {'name': 'prepaid-net', 'vpc_id': vpc['id'], 'zone_id': zone,
                                            'cidr_block': '172.16.1.0/24'}))['vswitch']
    return vpc, vsw


def test_ecs_prepaid_instance(cloud):
    vpc, vsw = network(cloud, ECS_ZONE)
    group = ok(cloud.run('alicloud_security_group', {'name': 'sg', 'vpc_id': vpc['id']}))['security_group']
    args = {'name': 'mlflow-prepaid', 'image_id': IMAGE, 'instance_type': 'ecs.g7.large', 'vswitch_id': vsw['id'],
            'security_group_id': group['id'], 'password': PASSWORD, 'tags': TAGS,
            'instance_charge_type': 'PrePaid', 'period': 1, 'period_unit': 'Month', 'auto_renew': True}

    # Bad periods are refused naming the option, before any call.
    mark = cloud.mark()
    for bad, words in ((dict(period=None), 'period is required with instance_charge_type=PrePaid'),
                       (dict(period=10), 'period must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60'),
                       (dict(period=5, period_unit='Week'), 'period must be one of 1, 2, 3, 4 with period_unit=Week')):
        refused = cloud.run('alicloud_ecs_instance', dict(args, **bad))
        assert refused.failed and words in refused['msg'], refused.result
    assert mutations(cloud.emulator, mark) == []

    # Check mode plans a subscription purchase, with its own ClientToken, and buys nothing.
    planned = ok(cloud.run('alicloud_ecs_instance', args, check=True, diff=True))
    (call,) = planned['api_calls']
    assert call['action'] == 'RunInstances'
    assert (call['params']['InstanceChargeType'], call['params']['Period'], call['params']['PeriodUnit'],
            call['params']['AutoRenew']) == ('PrePaid', 1, 'Month', True)
    assert planned['diff']['after']['instance_charge_type'] == 'PrePaid'
    postpaid_plan = ok(cloud.run('alicloud_ecs_instance', dict(args, instance_charge_type='PostPaid', period=None),
                                 check=True))['api_calls'][0]['params']
    assert postpaid_plan['InstanceChargeType'] == 'PostPaid' and 'Period' not in postpaid_plan
    longer_plan = ok(cloud.run('alicloud_ecs_instance', dict(args, period=2), check=True))['api_calls'][0]['params']
    assert len({call['params']['ClientToken'], postpaid_plan['ClientToken'], longer_plan['ClientToken']}) == 3
    assert mutations(cloud.emulator, mark) == [] and cloud.resources('instances') == []

    created = ok(cloud.run('alicloud_ecs_instance', args, diff=True))
    instance = created['instance']
    assert created.changed and instance['status'] == 'Running'
    assert instance['instance_charge_type'] == 'PrePaid' and instance['expired_time'] != '2099-12-31T15:59Z'
    (held,) = cloud.resources('instances')
    assert held['instance_charge_type'] == 'PrePaid' and held['expired_time'] > held['creation_time']

    # Idempotent: a second run buys nothing.
    mark = cloud.mark()
    again = ok(cloud.run('alicloud_ecs_instance', args, diff=True))
    assert not again.changed and again['instance']['id'] == instance['id']
    assert again['diff']['before']['instance_charge_type'] == 'PrePaid'
    # The charge type is not converted in place.
    switched = cloud.run('alicloud_ecs_instance', dict(args, instance_charge_type='PostPaid'))
    assert switched.failed and 'instance_charge_type cannot be changed in place' in switched['msg']
    assert 'is PrePaid' in switched['msg']

    # Deleting it without release_prepaid fails before anything changes, and says how to release it.
    absent = {'name': 'mlflow-prepaid', 'tags': TAGS, 'state': 'absent', 'force': True}
    refused = cloud.run('alicloud_ecs_instance', absent)
    assert refused.failed and 'subscription' in refused['msg'] and 'release_prepaid=true' in refused['msg']
    assert 'ChargeTypeViolation' in refused['msg']
    assert mutations(cloud.emulator, mark) == [] and len(cloud.resources('instances')) == 1

    planned = ok(cloud.run('alicloud_ecs_instance', dict(absent, release_prepaid=True), check=True))
    assert [c['action'] for c in planned['api_calls']] == ['ModifyInstanceChargeType', 'DeleteInstance']
    assert planned['api_calls'][0]['params']['InstanceChargeType'] == 'PostPaid'
    assert json.loads(planned['api_calls'][0]['params']['InstanceIds']) == [instance['id']]
    assert mutations(cloud.emulator, mark) == []

    released = ok(cloud.run('alicloud_ecs_instance', dict(absent, release_prepaid=True), diff=True))
    assert released.changed and released['diff']['before']['instance_charge_type'] == 'PrePaid'
    assert mutations(cloud.emulator, mark) == ['ModifyInstanceChargeType', 'DeleteInstance']
    assert cloud.resources('instances') == []
    assert not ok(cloud.run('alicloud_ecs_instance', dict(absent, release_prepaid=True))).changed


def test_rds_prepaid_instance(cloud):
    vpc, vsw = network(cloud, RDS_ZONE)
    args = {'name': 'mlflow-prepaid-rds', 'engine_version': '16.0', 'instance_class': 'pg.n2.2c.1m', 'storage': 20,
            'zone_id': RDS_ZONE, 'vpc_id': vpc['id'], 'vswitch_id': vsw['id'], 'pay_type': 'Prepaid',
            'period': 'Month', 'used_time': 2, 'tags': TAGS}
    mark = cloud.mark()
    bad = cloud.run('alicloud_rds_instance', dict(args, used_time=10))
    assert bad.failed and 'used_time must be 1-9 with period=Month' in bad['msg']
    assert mutations(cloud.emulator, mark) == []

    created = ok(cloud.run('alicloud_rds_instance', args))
    assert created.changed and created['instance']['pay_type'] == 'Prepaid'
    (held,) = cloud.resources('db_instances')
    assert held['pay_type'] == 'Prepaid' and held['expire_time'] > held['creation_time']
    mark = cloud.mark()
    assert not ok(cloud.run('alicloud_rds_instance', args)).changed
    switched = cloud.run('alicloud_rds_instance', dict(args, pay_type='Postpaid'))
    assert switched.failed and 'pay_type (Prepaid -> Postpaid)' in switched['msg']

    absent = {'name': 'mlflow-prepaid-rds', 'state': 'absent'}
    refused = cloud.run('alicloud_rds_instance', absent)
    assert refused.failed and 'OperationDenied.DBInstancePayType' in refused['msg']
    assert 'release_prepaid=true' in refused['msg'] and refused['error_code'] == 'OperationDenied.DBInstancePayType'
    assert mutations(cloud.emulator, mark) == [] and len(cloud.resources('db_instances')) == 1

    planned = ok(cloud.run('alicloud_rds_instance', dict(absent, release_prepaid=True), check=True, diff=True))
    assert [c['action'] for c in planned['api_calls']] == ['TransformDBInstancePayType', 'DeleteDBInstance']
    assert planned['api_calls'][0]['params']['PayType'] == 'Postpaid'
    assert planned['diff']['before']['pay_type'] == 'Prepaid'
    assert mutations(cloud.emulator, mark) == []

    released = ok(cloud.run('alicloud_rds_instance', dict(absent, release_prepaid=True)))
    assert released.changed
    assert mutations(cloud.emulator, mark) == ['TransformDBInstancePayType', 'DeleteDBInstance']
    assert cloud.resources('db_instances') == []
    assert not ok(cloud.run('alicloud_rds_instance', dict(absent, release_prepaid=True))).changed


PLAYBOOK = """
- name: Apply alicloud_infra
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: computenest.mlflow.alicloud_infra
"""


def seed(**overrides):
    parameters = {
        'alicloud_infra_name': 'mlflow-sub', 'alicloud_infra_region': 'cn-hangzhou',
        'alicloud_infra_zone_id': RDS_ZONE, 'alicloud_infra_pay_type': 'PrePaid',
        'alicloud_infra_prepaid_period_months': 3, 'alicloud_infra_ecs_password': 'Ecs(Login)42',
        'alicloud_infra_ecs_instance_type': 'ecs.g7.large', 'alicloud_infra_rds_password': 'Rds-Account-42',
        'alicloud_infra_rds_instance_class': 'pg.n2.2c.1m', 'alicloud_infra_ssh_allowed_cidrs': ['203.0.113.0/24'],
        'alicloud_infra_mlflow_allowed_cidrs': ['203.0.113.0/24'],
    }
    parameters.update(overrides)
    return parameters


def counts(emulator):
    return dict((kind, len(items)) for kind, items in emulator.resources().items() if kind != 'key_pairs')


def explain(run):
    return 'rc=%s\n%s\n%s' % (run.rc, run.stdout[-5000:], run.stderr[-3000:])


@pytest.mark.slow
def test_role_prepaid_deploy_and_teardown(tmp_path, alicloud_emulator, run_playbook):
    emu = alicloud_emulator
    playbook = tmp_path / 'apply.yml'
    playbook.write_text(PLAYBOOK)

    def apply(**overrides):
        return run_playbook(str(playbook), extra_vars=seed(**overrides), env=emu.env(), timeout=300)

    bad = apply(alicloud_infra_prepaid_period_months=10)
    assert bad.rc != 0 and 'alicloud_infra_prepaid_period_months must be one of' in bad.stdout, explain(bad)
    assert emu.requests() == []

    deployed = apply()
    assert deployed.rc == 0, explain(deployed)
    resources = emu.resources()
    (ecs,), (rds,) = resources['instances'], resources['db_instances']
    assert ecs['instance_charge_type'] == 'PrePaid' and ecs['tags'][TAG_KEY] == 'mlflow-sub'
    assert rds['pay_type'] == 'Prepaid' and rds['tags'][TAG_KEY] == 'mlflow-sub'
    run_instances = [entry for entry in emu.requests() if entry['action'] == 'RunInstances'][0]['params']
    assert (run_instances['InstanceChargeType'], run_instances['Period'], run_instances['PeriodUnit']) == \
        ('PrePaid', '3', 'Month')
    create_db = [entry for entry in emu.requests() if entry['action'] == 'CreateDBInstance'][0]['params']
    assert (create_db['PayType'], create_db['Period'], create_db['UsedTime']) == ('Prepaid', 'Month', '3')

    mark = len(emu.requests())
    again = apply()
    assert again.rc == 0 and again.stat('localhost', 'changed') == 0, explain(again)
    assert mutations(emu, mark) == []

    held = counts(emu)
    refused = apply(alicloud_infra_state='absent')
    assert refused.rc != 0 and 'alicloud_infra_release_prepaid' in refused.stdout, explain(refused)
    assert ecs['instance_id'] in refused.stdout and rds['db_instance_id'] in refused.stdout
    assert mutations(emu, mark) == [] and counts(emu) == held

    torn = apply(alicloud_infra_state='absent', alicloud_infra_release_prepaid=True)
    assert torn.rc == 0, explain(torn)
    assert sum(counts(emu).values()) == 0, counts(emu)
    done = mutations(emu, mark)
    assert done.index('ModifyInstanceChargeType') < done.index('DeleteInstance')
    assert done.index('TransformDBInstancePayType') < done.index('DeleteDBInstance')

    again = apply(alicloud_infra_state='absent')
    assert again.rc == 0 and again.stat('localhost', 'changed') == 0, explain(again)
