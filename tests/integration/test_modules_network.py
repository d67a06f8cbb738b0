"""alicloud_vpc, alicloud_vswitch, alicloud_security_group, alicloud_ecs_instance(_info) and alicloud_zone_info,
run as Ansible runs them (subprocess, ANSIBLE_MODULE_ARGS) against the local emulator.

The emulator's request log is the witness: check mode and bad input must leave no mutating request in it, and a
second run must add none.
"""
import json

import pytest

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudClient

ZONE = 'cn-hangzhou-h'
IMAGE = 'debian_12_9_x64_20G_alibase_20250117.vhd'
PASSWORD = 'Mlfl0w-Test-Pass!'


def is_mutation(entry):
    return not entry['action'].startswith(('Describe', 'List'))


def mutations(emulator, since=0):
    return [entry['action'] for entry in emulator.requests(since) if is_mutation(entry)]


class Cloud(object):
    """One emulator plus run_module bound to it."""

    def __init__(self, emulator, run_module):
        self.emulator = emulator
        self.env = emulator.env()
        self._run_module = run_module

    def run(self, name, args, check=False, diff=False):
        return self._run_module(name, args, check=check, diff=diff, env=self.env)

    def mark(self):
        return len(self.emulator.requests())

    def client(self):
        return AlicloudClient(self.emulator.access_key_id, self.emulator.access_key_secret, self.emulator.region,
                              endpoints=dict((p, (self.emulator.endpoint, 'http')) for p in ('ecs', 'vpc', 'rds')))

    def count(self, collection, **match):
        return len([r for r in self.emulator.resources().get(collection, [])
                    if all(r.get(k) == v for k, v in match.items())])


@pytest.fixture
def cloud(alicloud_emulator, run_module):
    return Cloud(alicloud_emulator, run_module)


def ok(result):
    assert not result.failed, json.dumps(result.result, indent=1)[:3000] + result.stderr[-2000:]
    return result


def make_network(cloud, name='mlflow-net', cidr='172.16.0.0/16', vsw_cidr='172.16.1.0/24'):
    vpc = ok(cloud.run('alicloud_vpc', {'name': name, 'cidr_block': cidr}))['vpc']
    vsw = ok(cloud.run('alicloud_vswitch', {'name': name, 'vpc_id': vpc['id'], 'zone_id': ZONE,
                                            'cidr_block': vsw_cidr}))['vswitch']
    return vpc, vsw


# ------------------------------------------------------------------------------------------------ VPC

def test_vpc_lifecycle(cloud):
    args = {'name': 'mlflow-net', 'cidr_block': '172.16.0.0/16', 'description': 'first', 'tags': {'deployment': 'a'}}

    planned = ok(cloud.run('alicloud_vpc', args, check=True, diff=True))
    assert planned.changed and [c['action'] for c in planned['api_calls']] == ['CreateVpc']
    assert planned['vpc']['id'] is None and planned['diff']['after']['cidr_block'] == '172.16.0.0/16'
    assert planned['diff']['before'] == {}
    assert mutations(cloud.emulator) == [] and cloud.count('vpcs') == 0

    created = ok(cloud.run('alicloud_vpc', args, diff=True))
    vpc = created['vpc']
    assert created.changed and vpc['id'].startswith('vpc-') and vpc['status'] == 'Available'
    assert vpc['tags'] == {'deployment': 'a'} and vpc['description'] == 'first'
    assert cloud.count('vpcs') == 1

    mark = cloud.mark()
    again = ok(cloud.run('alicloud_vpc', args))
    assert not again.changed and again['vpc']['id'] == vpc['id'] and again['api_calls'] == []
    assert mutations(cloud.emulator, mark) == []

    update = dict(args, description='second', tags={'deployment': 'a', 'owner': 'ml'})
    mark = cloud.mark()
    checked = ok(cloud.run('alicloud_vpc', update, check=True, diff=True))
    assert checked.changed and {c['action'] for c in checked['api_calls']} == {'ModifyVpcAttribute', 'TagResources'}
    assert checked['diff']['before']['description'] == 'first' and checked['diff']['after']['description'] == 'second'
    assert mutations(cloud.emulator, mark) == []
    updated = ok(cloud.run('alicloud_vpc', update, diff=True))
    assert updated.changed and updated['vpc']['description'] == 'second'
    assert updated['vpc']['tags'] == {'deployment': 'a', 'owner': 'ml'}
    assert not ok(cloud.run('alicloud_vpc', update)).changed

    purged = ok(cloud.run('alicloud_vpc', dict(update, tags={'deployment': 'a'}, purge_tags=True)))
    assert purged.changed and purged['vpc']['tags'] == {'deployment': 'a'}

    mark = cloud.mark()
    moved = cloud.run('alicloud_vpc', dict(args, cidr_block='10.0.0.0/16'))
    assert moved.failed and 'cidr_block cannot be changed in place' in moved['msg']
    assert mutations(cloud.emulator, mark) == []

    gone_check = ok(cloud.run('alicloud_vpc', {'name': 'mlflow-net', 'state': 'absent'}, check=True, diff=True))
    assert gone_check.changed and gone_check['api_calls'][0]['action'] == 'DeleteVpc'
    assert gone_check['diff']['after'] == {} and gone_check['diff']['before']['name'] == 'mlflow-net'
    assert cloud.count('vpcs') == 1
    deleted = ok(cloud.run('alicloud_vpc', {'name': 'mlflow-net', 'state': 'absent'}))
    assert deleted.changed and cloud.count('vpcs') == 0
    again = ok(cloud.run('alicloud_vpc', {'name': 'mlflow-net', 'state': 'absent'}))
    assert not again.changed
    by_id = ok(cloud.run('alicloud_vpc', {'vpc_id': vpc['id'], 'state': 'absent'}))
    assert not by_id.changed


def test_vpc_recreated_after_delete_is_a_new_vpc(cloud):
    """The ClientToken of the first create is remembered; the module must not hand back the deleted VPC."""
    args = {'name': 'again', 'cidr_block': '10.0.0.0/16'}
    first = ok(cloud.run('alicloud_vpc', args))['vpc']['id']
    ok(cloud.run('alicloud_vpc', dict(args, state='absent')))
    second = ok(cloud.run('alicloud_vpc', args))
    assert second.changed and second['vpc']['id'] != first and second['vpc']['status'] == 'Available'
    assert cloud.count('vpcs') == 1


def test_vpc_delete_with_vswitch_inside_says_why(cloud):
    make_network(cloud)
    result = cloud.run('alicloud_vpc', {'name': 'mlflow-net', 'state': 'absent'})
    assert result.failed and 'VSwitches' in result['msg'] and cloud.count('vpcs') == 1


def test_vpc_found_beyond_the_first_page(cloud):
    """60 VPCs share a name; the one tagged index=57 lives on page 2 of DescribeVpcs (50 per page)."""
    client = cloud.client()
    for index in range(60):
        client.call('vpc', 'CreateVpc', {'RegionId': 'cn-hangzhou', 'VpcName': 'shared', 'CidrBlock': '10.0.0.0/16',
                                         'Tag.1.Key': 'index', 'Tag.1.Value': str(index)})
    mark = cloud.mark()
    result = ok(cloud.run('alicloud_vpc', {'name': 'shared', 'cidr_block': '10.0.0.0/16', 'tags': {'index': '57'}}))
    assert not result.changed and result['vpc']['tags'] == {'index': '57'}
    pages = [e['params'].get('PageNumber') for e in cloud.emulator.requests(mark) if e['action'] == 'DescribeVpcs']
    assert '2' in [str(p) for p in pages]
    assert cloud.count('vpcs') == 60
    ambiguous = cloud.run('alicloud_vpc', {'name': 'shared', 'cidr_block': '10.0.0.0/16'})
    assert ambiguous.failed and 'matches 60 VPCs' in ambiguous['msg']


# ------------------------------------------------------------------------------------------------ VSwitch

def test_vswitch_lifecycle(cloud):
    vpc = ok(cloud.run('alicloud_vpc', {'name': 'net', 'cidr_block': '172.16.0.0/16'}))['vpc']
    args = {'name': 'sw', 'vpc_id': vpc['id'], 'zone_id': ZONE, 'cidr_block': '172.16.1.0/24', 'tags': {'d': 'x'}}

    mark = cloud.mark()
    planned = ok(cloud.run('alicloud_vswitch', args, check=True, diff=True))
    assert planned.changed and planned['api_calls'][0]['action'] == 'CreateVSwitch'
    assert planned['diff']['after']['zone_id'] == ZONE and mutations(cloud.emulator, mark) == []

    created = ok(cloud.run('alicloud_vswitch', args))
    vsw = created['vswitch']
    assert created.changed and vsw['status'] == 'Available' and vsw['vpc_id'] == vpc['id']
    assert vsw['available_ip_address_count'] > 0 and vsw['tags'] == {'d': 'x'}

    mark = cloud.mark()
    assert not ok(cloud.run('alicloud_vswitch', args)).changed
    assert mutations(cloud.emulator, mark) == []

    renamed = ok(cloud.run('alicloud_vswitch', {'vswitch_id': vsw['id'], 'name': 'sw2', 'description': 'renamed'},
                           diff=True))
    assert renamed.changed and renamed['vswitch']['name'] == 'sw2'
    assert renamed['diff']['before']['name'] == 'sw' and renamed['diff']['after']['name'] == 'sw2'

    moved = cloud.run('alicloud_vswitch', dict(args, name='sw2', cidr_block='172.16.2.0/24'))
    assert moved.failed and 'cidr_block cannot be changed in place' in moved['msg']

    outside = cloud.run('alicloud_vswitch', dict(args, name='sw3', cidr_block='10.9.0.0/24'))
    assert outside.failed and 'not inside the CIDR block 172.16.0.0/16' in outside['msg']
    assert cloud.count('vswitches') == 1

    ok(cloud.run('alicloud_vswitch', dict(args, name='sw2', state='absent'), check=True))
    assert cloud.count('vswitches') == 1
    assert ok(cloud.run('alicloud_vswitch', dict(args, name='sw2', state='absent'))).changed
    assert cloud.count('vswitches') == 0
    assert not ok(cloud.run('alicloud_vswitch', dict(args, name='sw2', state='absent'))).changed
    assert not ok(cloud.run('alicloud_vswitch', {'vswitch_id': vsw['id'], 'state': 'absent'})).changed


# ------------------------------------------------------------------------------------------------ security group

def test_security_group_rules_reconciled(cloud):
    vpc = ok(cloud.run('alicloud_vpc', {'name': 'net', 'cidr_block': '172.16.0.0/16'}))['vpc']
    rules = [{'port_range': '22', 'source_cidr_ip': '203.0.113.0/24'},
             {'port_range': '5000/5000', 'source_cidr_ip': '203.0.113.0/24'}]
    args = {'name': 'mlflow', 'vpc_id': vpc['id'], 'description': 'MLflow', 'rules': rules, 'tags': {'d': 'x'}}

    mark = cloud.mark()
    planned = ok(cloud.run('alicloud_security_group', args, check=True, diff=True))
    assert [c['action'] for c in planned['api_calls']] == ['CreateSecurityGroup', 'AuthorizeSecurityGroup']
    assert len(planned['diff']['after']['rules']) == 2 and mutations(cloud.emulator, mark) == []

    created = ok(cloud.run('alicloud_security_group', args))
    group = created['security_group']
    assert created.changed and group['id'].startswith('sg-')
    assert sorted(r['port_range'] for r in group['rules']) == ['22/22', '5000/5000']

    mark = cloud.mark()
    assert not ok(cloud.run('alicloud_security_group', args)).changed
    assert mutations(cloud.emulator, mark) == []

    # Narrow SSH to one host, keep MLflow: one revoke, one authorize.
    narrowed = dict(args, rules=[{'port_range': '22', 'source_cidr_ip': '203.0.113.7'}, rules[1]])
    checked = ok(cloud.run('alicloud_security_group', narrowed, check=True, diff=True))
    assert [c['action'] for c in checked['api_calls']] == ['RevokeSecurityGroup', 'AuthorizeSecurityGroup']
    assert {r['source_cidr_ip'] for r in checked['diff']['before']['rules']} == {'203.0.113.0/24'}
    assert '203.0.113.7/32' in {r['source_cidr_ip'] for r in checked['diff']['after']['rules']}
    changed = ok(cloud.run('alicloud_security_group', narrowed))
    assert changed.changed
    assert sorted((r['port_range'], r['source_cidr_ip']) for r in changed['security_group']['rules']) == \
        [('22/22', '203.0.113.7/32'), ('5000/5000', '203.0.113.0/24')]
    assert not ok(cloud.run('alicloud_security_group', narrowed)).changed

    # Without purge an extra declared rule is added and nothing is revoked.
    extra = dict(narrowed, rules=[{'port_range': '443', 'source_cidr_ip': '198.51.100.0/24'}], purge_rules=False)
    added = ok(cloud.run('alicloud_security_group', extra))
    assert [c['action'] for c in added['api_calls']] == ['AuthorizeSecurityGroup']
    assert len(added['security_group']['rules']) == 3

    # Leaving rules out leaves them alone.
    assert not ok(cloud.run('alicloud_security_group', {'name': 'mlflow', 'vpc_id': vpc['id']})).changed

    assert ok(cloud.run('alicloud_security_group', {'name': 'mlflow', 'vpc_id': vpc['id'], 'state': 'absent'})).changed
    assert cloud.count('security_groups') == 0
    assert not ok(cloud.run('alicloud_security_group', {'name': 'mlflow', 'vpc_id': vpc['id'],
                                                        'state': 'absent'})).changed


# ------------------------------------------------------------------------------------------------ ECS instance

def instance_args(vsw, group, **extra):
    args = {'name': 'mlflow-server', 'image_id': IMAGE, 'instance_type': 'ecs.g7.large', 'vswitch_id': vsw['id'],
            'security_group_id': group['id'], 'password': PASSWORD, 'internet_max_bandwidth_out': 5,
            'system_disk_size': 40, 'tags': {'deployment': 'mlflow'}}
    args.update(extra)
    return args


def test_ecs_instance_lifecycle(cloud):
    vpc, vsw = make_network(cloud)
    group = ok(cloud.run('alicloud_security_group', {'name': 'sg', 'vpc_id': vpc['id']}))['security_group']
    args = instance_args(vsw, group)

    mark = cloud.mark()
    planned = ok(cloud.run('alicloud_ecs_instance', args, check=True, diff=True))
    assert planned.changed and [c['action'] for c in planned['api_calls']] == ['RunInstances']
    assert planned['api_calls'][0]['params']['Password'] == '********'
    assert PASSWORD not in planned.stdout
    assert mutations(cloud.emulator, mark) == [] and cloud.count('instances') == 0

    created = ok(cloud.run('alicloud_ecs_instance', args, diff=True))
    instance = created['instance']
    assert created.changed and instance['status'] == 'Running'
    assert instance['private_ip'].startswith('172.16.1.') and instance['public_ip']
    assert instance['vswitch_id'] == vsw['id'] and instance['security_group_ids'] == [group['id']]
    assert PASSWORD not in created.stdout
    run_requests = [e for e in cloud.emulator.requests() if e['action'] == 'RunInstances']
    assert len(run_requests) == 1 and PASSWORD not in json.dumps(run_requests)

    mark = cloud.mark()
    again = ok(cloud.run('alicloud_ecs_instance', args))
    assert not again.changed and again['instance']['id'] == instance['id']
    assert mutations(cloud.emulator, mark) == []

    mark = cloud.mark()
    wrong_zone = cloud.run('alicloud_ecs_instance', dict(args, name='other', zone_id='cn-hangzhou-i'))
    assert wrong_zone.failed and 'zone_id cn-hangzhou-i is not the zone of VSwitch' in wrong_zone['msg']
    other_vpc = ok(cloud.run('alicloud_vpc', {'name': 'other', 'cidr_block': '10.0.0.0/16'}))['vpc']
    foreign = ok(cloud.run('alicloud_security_group', {'name': 'foreign', 'vpc_id': other_vpc['id']}))
    mixed = cloud.run('alicloud_ecs_instance', dict(args, name='other',
                                                    security_group_id=foreign['security_group']['id']))
    assert mixed.failed and 'must be in the same VPC' in mixed['msg']
    assert 'RunInstances' not in mutations(cloud.emulator, mark)

    resized = cloud.run('alicloud_ecs_instance', dict(args, instance_type='ecs.g7.xlarge'))
    assert resized.failed and 'instance_type cannot be changed in place' in resized['msg']

    info = ok(cloud.run('alicloud_ecs_instance_info', {'tags': {'deployment': 'mlflow'}}))
    assert info['ids'] == [instance['id']] and info['instances'][0]['private_ip'] == instance['private_ip']

    # A stopped instance is started again.
    client = cloud.client()
    client.call('ecs', 'StopInstance', {'InstanceId': instance['id']})
    started = ok(cloud.run('alicloud_ecs_instance', args))
    assert started.changed and started['instance']['status'] == 'Running'
    assert [c['action'] for c in started['api_calls']] == ['StartInstance']

    retagged = ok(cloud.run('alicloud_ecs_instance', {'instance_id': instance['id'],
                                                      'tags': {'deployment': 'mlflow', 'role': 'tracking'}}))
    assert retagged.changed and retagged['instance']['tags'] == {'deployment': 'mlflow', 'role': 'tracking'}

    in_use = cloud.run('alicloud_security_group', {'security_group_id': group['id'], 'state': 'absent',
                                                   'wait_timeout': 1})
    assert in_use.failed and 'cannot be deleted while instances' in in_use['msg'] and 'DependencyViolation' in \
        in_use['msg']
    assert cloud.count('security_groups', security_group_id=group['id']) == 1

    absent = {'name': 'mlflow-server', 'tags': {'deployment': 'mlflow'}, 'state': 'absent'}
    mark = cloud.mark()
    checked = ok(cloud.run('alicloud_ecs_instance', absent, check=True, diff=True))
    assert [c['action'] for c in checked['api_calls']] == ['StopInstance', 'DeleteInstance']
    assert checked['diff']['before']['status'] == 'Running' and mutations(cloud.emulator, mark) == []
    deleted = ok(cloud.run('alicloud_ecs_instance', absent))
    assert deleted.changed and [c['action'] for c in deleted['api_calls']] == ['StopInstance', 'DeleteInstance']
    assert cloud.count('instances') == 0
    assert not ok(cloud.run('alicloud_ecs_instance', absent)).changed
    assert ok(cloud.run('alicloud_security_group', {'security_group_id': group['id'], 'state': 'absent'})).changed
    assert cloud.count('security_groups', security_group_id=group['id']) == 0


def test_instances_beyond_the_first_page(cloud):
    """110 instances with the same tag: the info module and the instance module read page 2 of DescribeInstances."""
    vpc, vsw = make_network(cloud, vsw_cidr='172.16.0.0/20')
    group = ok(cloud.run('alicloud_security_group', {'name': 'sg', 'vpc_id': vpc['id']}))['security_group']
    client = cloud.client()
    base = {'RegionId': 'cn-hangzhou', 'ImageId': IMAGE, 'InstanceType': 'ecs.g7.large', 'VSwitchId': vsw['id'],
            'SecurityGroupId': group['id'], 'Tag.1.Key': 'fleet', 'Tag.1.Value': 'big'}
    client.call('ecs', 'RunInstances', dict(base, Amount=100, InstanceName='filler', UniqueSuffix=True))
    client.call('ecs', 'RunInstances', dict(base, Amount=10, InstanceName='filler', UniqueSuffix=True))
    mark = cloud.mark()
    info = ok(cloud.run('alicloud_ecs_instance_info', {'tags': {'fleet': 'big'}}))
    assert len(info['instances']) == 110 and len(set(info['ids'])) == 110
    pages = [str(e['params'].get('PageNumber')) for e in cloud.emulator.requests(mark)
             if e['action'] == 'DescribeInstances']
    assert pages == ['1', '2']
    prefixed = ok(cloud.run('alicloud_ecs_instance_info', {'tags': {'fleet': 'big'}, 'name_prefix': 'filler10'}))
    assert prefixed['ids'] and all(i['name'].startswith('filler10') for i in prefixed['instances'])
    by_ids = ok(cloud.run('alicloud_ecs_instance_info', {'instance_ids': info['ids'][:3] + ['i-doesnotexist']}))
    assert by_ids['ids'] == sorted(info['ids'][:3])


def test_zone_info(cloud):
    zones = ok(cloud.run('alicloud_zone_info', {}))
    assert ZONE in zones['zone_ids'] and 'cn-hangzhou' in zones['region_ids'] and zones['region'] == 'cn-hangzhou'
    assert ok(cloud.run('alicloud_zone_info', {'zone_id': ZONE}))['zone_ids'] == zones['zone_ids']
    other = cloud.run('alicloud_zone_info', {'zone_id': 'cn-hangzhou-z'})
    assert other.failed and 'cn-hangzhou-z is not a zone of region cn-hangzhou' in other['msg']


def test_zone_info_tells_what_the_zone_sells(cloud):
    sold = ok(cloud.run('alicloud_zone_info', {'zone_id': 'cn-hangzhou-h', 'instance_charge_type': 'PostPaid',
                                               'db_engine_version': '16.0'}))
    assert 'ecs.g7.large' in sold['instance_types'] and 'ecs.g8i.large' not in sold['instance_types']
    assert 'pg.n2.2c.1m' in sold['db_instance_classes'] and 'pg.x4.large.2c' not in sold['db_instance_classes']
    out_of_stock = ok(cloud.run('alicloud_zone_info', {'zone_id': 'cn-hangzhou-k', 'instance_charge_type': 'PrePaid'}))
    assert out_of_stock['instance_types_sold_out'] == ['ecs.r7.large']
    assert 'ecs.r7.large' not in out_of_stock['instance_types'] and 'db_instance_classes' not in out_of_stock.result
    unknown_version = cloud.run('alicloud_zone_info', {'zone_id': 'cn-hangzhou-h', 'db_engine_version': '9.4'})
    assert unknown_version.failed and 'InvalidEngineVersion.Malformed' in unknown_version['msg']
    no_zone = cloud.run('alicloud_zone_info', {'instance_charge_type': 'PostPaid'})
    assert no_zone.failed and 'zone_id' in no_zone['msg']


# ------------------------------------------------------------------------------------------------ bad input

BAD_INPUT = [
    ('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.1/16'}, 'cidr_block'),
    ('alicloud_vpc', {'name': 'net', 'cidr_block': '8.8.0.0/16'}, 'cidr_block'),
    ('alicloud_vpc', {'name': '1net', 'cidr_block': '10.0.0.0/16'}, 'name'),
    ('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.0/16', 'tags': {'aliyun:x': 'y'}}, 'tags'),
    ('alicloud_vpc', {'cidr_block': '10.0.0.0/16'}, 'name'),
    ('alicloud_vswitch', {'name': 'sw', 'vpc_id': 'vpc-1', 'zone_id': 'cn-shanghai-e', 'cidr_block': '10.0.1.0/24'},
     'zone_id'),
    ('alicloud_vswitch', {'name': 'sw', 'vpc_id': 'vpc-1', 'zone_id': ZONE, 'cidr_block': '10.0.1.0/30'},
     'cidr_block'),
    ('alicloud_vswitch', {'name': 'sw', 'zone_id': ZONE, 'cidr_block': '10.0.1.0/24'}, 'vpc_id'),
    ('alicloud_security_group', {'name': 'sg', 'vpc_id': 'vpc-1',
                                 'rules': [{'port_range': '22/21', 'source_cidr_ip': '1.2.3.0/24'}]},
     'rules[0].port_range'),
    ('alicloud_security_group', {'name': 'sg', 'vpc_id': 'vpc-1',
                                 'rules': [{'port_range': '22', 'source_cidr_ip': '1.2.3.4/24'}]},
     'rules[0].source_cidr_ip'),
    ('alicloud_ecs_instance', {'name': 'web', 'password': 'weakpassword'}, 'password'),
    ('alicloud_ecs_instance', {'name': 'web', 'instance_type': 'g7.large'}, 'instance_type'),
    ('alicloud_ecs_instance', {'name': 'web', 'zone_id': 'cn-beijing-h'}, 'zone_id'),
    ('alicloud_ecs_instance', {'name': 'web', 'system_disk_size': 10}, 'system_disk_size'),
    ('alicloud_ecs_instance', {'name': 'web', 'password': PASSWORD, 'key_pair_name': 'k'}, 'key_pair_name'),
    ('alicloud_ecs_instance', {'name': 'web', 'internet_max_bandwidth_out': 101}, 'internet_max_bandwidth_out'),
    ('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.0/16', 'vpc_endpoint': 'ftp://x'}, 'vpc_endpoint'),
    ('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.0/16', 'region': 'Not A Region'}, 'region'),
]


@pytest.mark.parametrize('module, args, parameter', BAD_INPUT,
                         ids=['%s-%s' % (m, p) for m, a, p in BAD_INPUT])
def test_bad_input_fails_before_any_api_call(cloud, module, args, parameter):
    result = cloud.run(module, args)
    assert result.failed and parameter in result['msg'], result.result
    assert cloud.emulator.requests() == []


def test_missing_credentials_fail_naming_the_sources(cloud, run_module, tmp_path):
    env = {'HOME': str(tmp_path), 'ALICLOUD_ENDPOINT': cloud.emulator.url, 'ALICLOUD_REGION': 'cn-hangzhou'}
    result = run_module('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.0/16'}, env=env)
    assert result.failed and 'ALICLOUD_ACCESS_KEY' in result['msg'] and 'ALIBABA_CLOUD_ACCESS_KEY_ID' in result['msg']
    assert cloud.emulator.requests() == []


def test_api_error_reports_code_and_request_id(cloud):
    result = cloud.run('alicloud_vswitch', {'vswitch_id': 'vsw-bp1doesnotexist0000', 'name': 'xx'})
    assert result.failed and 'does not exist' in result['msg']
    vpc, vsw = make_network(cloud)
    group = ok(cloud.run('alicloud_security_group', {'name': 'sg', 'vpc_id': vpc['id']}))['security_group']
    bad_image = cloud.run('alicloud_ecs_instance', instance_args(vsw, group, image_id='NoSuchImage'))
    assert bad_image.failed and bad_image['error_code'] == 'InvalidImageId.NotFound'
    assert bad_image['request_id'] and bad_image['action'] == 'RunInstances' and bad_image['http_status'] == 404
    assert 'RequestId' in bad_image['msg'] and cloud.count('instances') == 0


# ------------------------------------------------------------------------------------------------ faults

def test_whole_network_under_throttling_5xx_and_lost_replies(cloud):
    """Every create's reply is lost once and a third of all calls are throttled or fail: exactly one of each."""
    emulator = cloud.emulator
    for action in ('CreateVpc', 'CreateVSwitch', 'CreateSecurityGroup', 'AuthorizeSecurityGroup', 'RunInstances'):
        emulator.inject_fault('lost', action=action, count=1)
    emulator.inject_fault('throttling', rate=0.15)
    emulator.inject_fault('unavailable', rate=0.1)
    emulator.inject_fault('internal', rate=0.05)
    # Short backoff keeps the test quick; the bound is what matters, not the figure.
    fast = {'api_retries': 10, 'api_retry_max_delay': 0.5}
    vpc = ok(cloud.run('alicloud_vpc', dict(fast, name='net', cidr_block='172.16.0.0/16')))['vpc']
    vsw = ok(cloud.run('alicloud_vswitch', dict(fast, name='net', vpc_id=vpc['id'], zone_id=ZONE,
                                                cidr_block='172.16.1.0/24')))['vswitch']
    group = ok(cloud.run('alicloud_security_group', dict(
        fast, name='sg', vpc_id=vpc['id'], rules=[{'port_range': '22', 'source_cidr_ip': '203.0.113.0/24'}])))
    group = group['security_group']
    instance = ok(cloud.run('alicloud_ecs_instance', dict(instance_args(vsw, group), **fast)))['instance']
    assert instance['status'] == 'Running'

    log = emulator.requests()
    faults = [e['fault'] for e in log if e.get('fault')]
    assert faults.count('lost') == 5 and len(set(faults)) >= 2
    assert (cloud.count('vpcs'), cloud.count('vswitches'), cloud.count('security_groups'),
            cloud.count('instances')) == (1, 1, 1, 1)
    ingress = [r for r in emulator.resources()['security_groups'][0]['permissions'] if r['Direction'] == 'ingress']
    assert len(ingress) == 1

    emulator.clear_faults()
    mark = cloud.mark()
    assert not ok(cloud.run('alicloud_ecs_instance', instance_args(vsw, group))).changed
    assert mutations(emulator, mark) == []


def test_retries_are_bounded(cloud):
    cloud.emulator.inject_fault('unavailable', product='vpc')
    result = cloud.run('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.0/16', 'api_retries': 2,
                                        'api_retry_max_delay': 0.2})
    assert result.failed and result['error_code'] == 'ServiceUnavailable'
    assert len(cloud.emulator.requests()) == 3


# ------------------------------------------------------------------------------------------------ through Ansible

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/computenest.mlflow.alicloud:
      access_key: "{{ ak }}"
      secret_key: "{{ sk }}"
      region: cn-hangzhou
      ecs_endpoint: "{{ endpoint }}"
      vpc_endpoint: "{{ endpoint }}"
  tasks:
    - name: Zones
      computenest.mlflow.alicloud_zone_info:
        zone_id: cn-hangzhou-h
    - name: VPC
      computenest.mlflow.alicloud_vpc:
        name: play-net
        cidr_block: 10.10.0.0/16
      register: vpc
    - name: VSwitch
      computenest.mlflow.alicloud_vswitch:
        name: play-net
        vpc_id: "{{ vpc.vpc.id }}"
        zone_id: cn-hangzhou-h
        cidr_block: 10.10.1.0/24
"""


def test_modules_through_ansible_playbook_with_module_defaults(cloud, run_playbook, tmp_path):
    """AnsiballZ packs module_utils (alicloud, alicloud_ecs) and the action group carries the shared options."""
    playbook = tmp_path / 'network.yml'
    playbook.write_text(PLAYBOOK)
    extra = {'ak': cloud.emulator.access_key_id, 'sk': cloud.emulator.access_key_secret,
             'endpoint': cloud.emulator.url}
    first = run_playbook(str(playbook), extra_vars=extra)
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert first.stat('localhost', 'changed') == 2
    assert cloud.emulator.access_key_secret not in first.stdout
    second = run_playbook(str(playbook), extra_vars=extra)
    assert second.rc == 0 and second.stat('localhost', 'changed') == 0
    assert (cloud.count('vpcs'), cloud.count('vswitches')) == (1, 1)


def test_vswitch_waits_for_a_pending_vpc(alicloud_emulator_factory, run_module):
    """At 2x speed a new VPC stays Pending for about 2.5 s: CreateVSwitch is refused until then, and retried."""
    cloud = Cloud(alicloud_emulator_factory(clock_speed=2.0), run_module)
    vpc = ok(cloud.run('alicloud_vpc', {'name': 'net', 'cidr_block': '10.0.0.0/16', 'wait': False}))['vpc']
    assert vpc['status'] == 'Pending'
    created = ok(cloud.run('alicloud_vswitch', {'name': 'sw', 'vpc_id': vpc['id'], 'zone_id': ZONE,
                                                'cidr_block': '10.0.1.0/24'}))
    assert created['vswitch']['status'] == 'Available'
    refused = [e for e in cloud.emulator.requests() if e['action'] == 'CreateVSwitch' and e['code']]
    assert refused and all(e['code'] == 'IncorrectVpcStatus' for e in refused)
    assert [c['action'] for c in created['api_calls']] == ['CreateVSwitch']
    assert cloud.count('vswitches') == 1
