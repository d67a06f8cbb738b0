"""Pure logic of the VPC, VSwitch, security group, ECS instance and info modules (no API, no emulator)."""
import pytest

from ansible_collections.computenest.mlflow.plugins.module_utils import alicloud
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudParameterError
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_ecs import describe_instance
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_ecs_instance as ecs_instance
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_ecs_instance_info as instance_info
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_security_group as security_group
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_vpc as vpc_module


class RecordingModule(object):
    """Just enough of AlicloudModule for the reconcile helpers: records mutations, answers nothing."""

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.region = 'cn-hangzhou'
        self.api_calls = []

    def mutate(self, product, action, params):
        self.api_calls.append(dict(product=product, action=action, params=alicloud.mask_secret_params(params)))
        return None if self.check_mode else {'RequestId': 'r'}

    sync_tags = alicloud.AlicloudModule.sync_tags


# ------------------------------------------------------------------------------------------------ shared validators

@pytest.mark.parametrize('value, rule', [
    ('10.0.0.1/16', 'without host bits'), ('10.0.0.0', 'prefix length'), ('10.0.0.0/30', '/8 to /28'),
    ('8.8.0.0/16', '10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16'), ('not-a-cidr', 'IPv4 CIDR'),
    ('10.0.0.0/7', '/8 to /28'),
])
def test_vpc_cidr_rules_name_the_option(value, rule):
    with pytest.raises(AlicloudParameterError) as info:
        alicloud.validate_cidr(value, 'cidr_block', 8, 28, private=True)
    assert 'cidr_block' in str(info.value) and rule in str(info.value)


def test_valid_cidrs_are_canonicalised():
    assert alicloud.validate_cidr(' 172.16.0.0/12 ', 'cidr_block', 8, 28, private=True) == '172.16.0.0/12'
    assert alicloud.validate_cidr('192.168.1.0/24', 'cidr_block', 16, 29, private=True) == '192.168.1.0/24'


@pytest.mark.parametrize('name, ok', [
    ('mlflow-prod', True), ('a', False), ('1abc', False), ('http://x', False), ('ab cd', False), ('a' * 129, False),
    ('Mlflow_1.2', True), ('zh中文名', True), ('a' * 128, True), ('bad/slash', False),
])
def test_names(name, ok):
    if ok:
        assert alicloud.validate_name(name, 'name') == name
    else:
        with pytest.raises(AlicloudParameterError, match='name'):
            alicloud.validate_name(name, 'name')


def test_colon_only_where_allowed():
    assert alicloud.validate_name('web:1', 'name', extra_chars=':') == 'web:1'
    with pytest.raises(AlicloudParameterError):
        alicloud.validate_name('web:1', 'name')


@pytest.mark.parametrize('tags, message', [
    (dict(('k%d' % i, 'v') for i in range(21)), 'at most 20'),
    ({'aliyun-x': 'v'}, 'must not start with aliyun'),
    ({'acs:x': 'v'}, 'must not start with aliyun'),
    ({'k': 'see https://x'}, 'http'),
    ({'': 'v'}, '1-128'),
    ({'k': 'v' * 129}, '1-128'),
])
def test_tag_rules(tags, message):
    with pytest.raises(AlicloudParameterError, match=message):
        alicloud.validate_tags(tags)


def test_tags_become_strings():
    assert alicloud.validate_tags({'n': 1, 'e': None}) == {'n': '1', 'e': ''}
    assert alicloud.validate_tags(None) == {}


@pytest.mark.parametrize('zone, region, ok', [
    ('cn-hangzhou-h', 'cn-hangzhou', True), ('cn-shanghai-e', 'cn-hangzhou', False),
    ('cn-hangzhou-finance-h', 'cn-hangzhou', False), ('ap-southeast-1a', 'ap-southeast-1', False),
    ('ap-southeast-1-a', 'ap-southeast-1', True), ('Hangzhou', 'cn-hangzhou', False),
])
def test_zone_in_region(zone, region, ok):
    if ok:
        assert alicloud.validate_zone_in_region(zone, region) == zone
    else:
        with pytest.raises(AlicloudParameterError, match='zone_id'):
            alicloud.validate_zone_in_region(zone, region)


def test_tag_changes():
    assert alicloud.tag_changes({'a': '1', 'b': '2'}, {'a': '1', 'c': '3'}, purge=False) == ({'c': '3'}, [])
    assert alicloud.tag_changes({'a': '1', 'b': '2'}, {'a': '9'}, purge=True) == ({'a': '9'}, ['b'])
    assert alicloud.tag_changes({'a': '1'}, {'a': '1'}, purge=True) == ({}, [])


def test_sync_tags_uses_each_products_spelling():
    module = RecordingModule()
    assert module.sync_tags('ecs', 'instance', 'i-1', {'old': 'x', 'keep': 'y'}, {'keep': 'y', 'new': 'z'}, True)
    assert [c['action'] for c in module.api_calls] == ['TagResources', 'UntagResources']
    assert module.api_calls[0]['params'] == {'Tag.1.Key': 'new', 'Tag.1.Value': 'z', 'ResourceType': 'instance',
                                             'RegionId': 'cn-hangzhou', 'ResourceId.1': 'i-1'}
    assert module.api_calls[1]['params']['TagKey.1'] == 'old'
    module = RecordingModule()
    module.sync_tags('vpc', 'VPC', 'vpc-1', {'old': 'x'}, {}, True)
    assert [c['action'] for c in module.api_calls] == ['UnTagResources']
    module = RecordingModule()
    assert not module.sync_tags('vpc', 'VPC', 'vpc-1', {'a': '1'}, {'a': '1'}, False)
    assert module.api_calls == []


def test_secrets_are_masked_in_recorded_calls():
    masked = alicloud.mask_secret_params({'Password': 'S3cret!pass', 'InstanceName': 'n'})
    assert masked == {'Password': '********', 'InstanceName': 'n'}


# ------------------------------------------------------------------------------------------------ security group

@pytest.mark.parametrize('rule, expected', [
    ({'port_range': '22/22', 'source_cidr_ip': '203.0.113.0/24'},
     ('tcp', '22/22', '203.0.113.0/24', 'accept', 1)),
    ({'port_range': '5000', 'source_cidr_ip': '198.51.100.7'}, ('tcp', '5000/5000', '198.51.100.7/32', 'accept', 1)),
    ({'ip_protocol': 'ICMP', 'source_cidr_ip': '0.0.0.0/0', 'policy': 'Drop', 'priority': '5'},
     ('icmp', '-1/-1', '0.0.0.0/0', 'drop', 5)),
    ({'ip_protocol': 'all', 'port_range': '-1/-1', 'source_cidr_ip': '10.0.0.0/8'},
     ('all', '-1/-1', '10.0.0.0/8', 'accept', 1)),
    ({'ip_protocol': 'udp', 'port_range': '053/0053', 'source_cidr_ip': '10.0.0.0/8'},
     ('udp', '53/53', '10.0.0.0/8', 'accept', 1)),
])
def test_rules_normalise_to_the_api_form(rule, expected):
    assert security_group.rule_key(security_group.normalise_rule(rule, 0)) == expected


@pytest.mark.parametrize('rule, message', [
    ({'port_range': '22/21', 'source_cidr_ip': '1.2.3.0/24'}, 'rules[3].port_range'),
    ({'port_range': '0/10', 'source_cidr_ip': '1.2.3.0/24'}, 'rules[3].port_range'),
    ({'port_range': '70000', 'source_cidr_ip': '1.2.3.0/24'}, 'rules[3].port_range'),
    ({'port_range': None, 'source_cidr_ip': '1.2.3.0/24'}, 'rules[3].port_range'),
    ({'ip_protocol': 'icmp', 'port_range': '22/22', 'source_cidr_ip': '1.2.3.0/24'}, 'must be -1/-1'),
    ({'port_range': '22', 'source_cidr_ip': '1.2.3.4/24'}, 'rules[3].source_cidr_ip'),
    ({'port_range': '22', 'source_cidr_ip': None}, 'rules[3].source_cidr_ip is required'),
    ({'port_range': '22', 'source_cidr_ip': '1.2.3.0/24', 'priority': 101}, 'rules[3].priority'),
    ({'ip_protocol': 'sctp', 'port_range': '22', 'source_cidr_ip': '1.2.3.0/24'}, 'rules[3].ip_protocol'),
])
def test_bad_rules_name_the_rule_and_field(rule, message):
    with pytest.raises(AlicloudParameterError, match=message.replace('[', r'\[').replace(']', r'\]')):
        security_group.normalise_rule(rule, 3)


def sg_params(**overrides):
    params = dict(name='sg', vpc_id='vpc-1', security_group_id=None, description=None, tags=None, rules=None,
                  purge_rules=True, wait_timeout=10)
    params.update(overrides)
    return params


def test_declared_rules_are_deduplicated_and_sorted():
    params = sg_params(rules=[{'port_range': '5000', 'source_cidr_ip': '1.2.3.0/24'},
                              {'port_range': '22/22', 'source_cidr_ip': '1.2.3.0/24'},
                              {'port_range': '5000/5000', 'source_cidr_ip': '1.2.3.0/24', 'priority': 1}])
    security_group.validate(params)
    assert [r['port_range'] for r in params['rules']] == ['22/22', '5000/5000']


def test_reconcile_adds_missing_and_purges_undeclared():
    module = RecordingModule()
    current = [security_group.normalise_rule({'port_range': '22/22', 'source_cidr_ip': '0.0.0.0/0'}),
               security_group.normalise_rule({'port_range': '5000/5000', 'source_cidr_ip': '1.2.3.0/24'})]
    params = sg_params(rules=[{'port_range': '5000', 'source_cidr_ip': '1.2.3.0/24'},
                              {'port_range': '22', 'source_cidr_ip': '1.2.3.0/24'}])
    security_group.validate(params)
    after = security_group.reconcile_rules(module, 'sg-1', current, params)
    assert [c['action'] for c in module.api_calls] == ['RevokeSecurityGroup', 'AuthorizeSecurityGroup']
    revoke, authorize = module.api_calls[0]['params'], module.api_calls[1]['params']
    assert revoke['Permissions.1.SourceCidrIp'] == '0.0.0.0/0' and 'Permissions.2.SourceCidrIp' not in revoke
    added = (authorize['Permissions.1.PortRange'], authorize['Permissions.1.SourceCidrIp'])
    assert added == ('22/22', '1.2.3.0/24')
    assert sorted(security_group.rule_key(r) for r in after) == \
        sorted(security_group.rule_key(r) for r in params['rules'])


def test_reconcile_without_purge_keeps_other_rules_and_is_idempotent():
    module = RecordingModule()
    current = [security_group.normalise_rule({'port_range': '22/22', 'source_cidr_ip': '0.0.0.0/0'})]
    params = sg_params(rules=[{'port_range': '22/22', 'source_cidr_ip': '0.0.0.0/0'}], purge_rules=False)
    security_group.validate(params)
    assert security_group.reconcile_rules(module, 'sg-1', current, params) == current
    assert module.api_calls == []
    params = sg_params(rules=None)
    security_group.validate(params)
    assert security_group.reconcile_rules(module, 'sg-1', current, params) == current
    assert module.api_calls == []


def test_many_rules_are_batched():
    module = RecordingModule()
    params = sg_params(rules=[{'port_range': str(port), 'source_cidr_ip': '10.0.0.0/8'} for port in range(1000, 1120)])
    security_group.validate(params)
    security_group.reconcile_rules(module, 'sg-1', [], params)
    sizes = [len([k for k in c['params'] if k.endswith('.PortRange')]) for c in module.api_calls]
    assert sizes == [50, 50, 20]


# ------------------------------------------------------------------------------------------------ ECS instance

@pytest.mark.parametrize('password, ok', [
    ('Abcdef12', True), ('abcdef12!', True), ('ABCDEF12!', True), ('abcdefgh', False), ('Abcdefgh', False),
    ('Ab1!', False), ('A' * 29 + 'b1', False), ('/Abcdef12', False), ('Abcdef12\u00e9', False), ('Abc def12', False),
])
def test_password_rules(password, ok):
    if ok:
        ecs_instance.validate_password(password)
    else:
        with pytest.raises(AlicloudParameterError, match='password'):
            ecs_instance.validate_password(password)


def test_password_error_never_echoes_the_password():
    with pytest.raises(AlicloudParameterError) as info:
        ecs_instance.validate_password('shortpw')
    assert 'shortpw' not in str(info.value)


RAW_INSTANCE = {
    'InstanceId': 'i-1', 'InstanceName': 'web', 'Status': 'Running', 'InstanceType': 'ecs.g7.large',
    'ImageId': 'debian_12', 'ZoneId': 'cn-hangzhou-h', 'InternetMaxBandwidthOut': 10,
    'VpcAttributes': {'VpcId': 'vpc-1', 'VSwitchId': 'vsw-1', 'PrivateIpAddress': {'IpAddress': ['172.16.1.10']}},
    'PublicIpAddress': {'IpAddress': []}, 'EipAddress': {'IpAddress': '47.1.2.3'},
    'SecurityGroupIds': {'SecurityGroupId': ['sg-1']},
    'Tags': {'Tag': [{'TagKey': 'deployment', 'TagValue': 'prod'}]},
}


def test_describe_instance_flattens_addresses_and_tags():
    view = describe_instance(RAW_INSTANCE)
    assert (view['private_ip'], view['public_ip'], view['vswitch_id'], view['vpc_id']) == \
        ('172.16.1.10', '47.1.2.3', 'vsw-1', 'vpc-1')
    assert view['tags'] == {'deployment': 'prod'} and view['security_group_ids'] == ['sg-1']


def ecs_params(**overrides):
    params = dict(instance_type=None, image_id=None, vswitch_id=None, zone_id=None, security_group_id=None,
                  internet_max_bandwidth_out=None)
    params.update(overrides)
    return params


@pytest.mark.parametrize('option, value', [
    ('instance_type', 'ecs.g7.xlarge'), ('image_id', 'ubuntu_22'), ('vswitch_id', 'vsw-2'),
    ('zone_id', 'cn-hangzhou-i'), ('security_group_id', 'sg-2'), ('internet_max_bandwidth_out', 5),
])
def test_immutable_differences_say_cannot_change_in_place(option, value):
    with pytest.raises(AlicloudParameterError) as info:
        ecs_instance.check_immutable(ecs_params(**{option: value}), describe_instance(RAW_INSTANCE))
    assert option in str(info.value) and 'cannot be changed in place' in str(info.value)


def test_same_or_unset_attributes_pass():
    ecs_instance.check_immutable(ecs_params(), describe_instance(RAW_INSTANCE))
    ecs_instance.check_immutable(ecs_params(instance_type='ecs.g7.large', security_group_id='sg-1',
                                            internet_max_bandwidth_out=10), describe_instance(RAW_INSTANCE))


def test_check_mode_delete_of_running_instance_plans_stop_then_delete():
    module = RecordingModule(check_mode=True)
    ecs_instance.delete(module, {'force': False, 'wait': True, 'wait_timeout': 5}, RAW_INSTANCE)
    assert [c['action'] for c in module.api_calls] == ['StopInstance', 'DeleteInstance']
    module = RecordingModule(check_mode=True)
    ecs_instance.delete(module, {'force': True, 'wait': True, 'wait_timeout': 5}, RAW_INSTANCE)
    assert [c['action'] for c in module.api_calls] == ['DeleteInstance']
    assert module.api_calls[0]['params']['Force'] is True


def test_info_filters_are_exact():
    params = {'instance_ids': None, 'name': 'web', 'name_prefix': None, 'status': None, 'tags': {'deployment': 'prod'}}
    assert instance_info.matches(RAW_INSTANCE, params)
    assert not instance_info.matches(dict(RAW_INSTANCE, InstanceName='web2'), params)
    assert not instance_info.matches(RAW_INSTANCE, dict(params, tags={'deployment': 'dev'}))
    assert not instance_info.matches(RAW_INSTANCE, dict(params, instance_ids=['i-2']))
    assert instance_info.matches(RAW_INSTANCE, dict(params, name=None, name_prefix='we'))


# ------------------------------------------------------------------------------------------------ VPC

def vpc_params(**overrides):
    params = dict(state='present', name='net', vpc_id=None, cidr_block='10.0.0.0/16', description=None, tags=None,
                  purge_tags=False, wait=True, wait_timeout=10)
    params.update(overrides)
    return params


def test_vpc_validation_messages():
    with pytest.raises(AlicloudParameterError, match='name is required'):
        vpc_module.validate(None, vpc_params(name=None))
    with pytest.raises(AlicloudParameterError, match='cidr_block'):
        vpc_module.validate(None, vpc_params(cidr_block='10.0.0.5/16'))
    with pytest.raises(AlicloudParameterError, match='wait_timeout'):
        vpc_module.validate(None, vpc_params(wait_timeout=-1))


def test_vpc_cidr_cannot_change_in_place():
    module = RecordingModule()
    current = {'VpcId': 'vpc-1', 'VpcName': 'net', 'CidrBlock': '10.0.0.0/16', 'Status': 'Available'}
    params = vpc_params(cidr_block='10.1.0.0/16', tags={})
    with pytest.raises(AlicloudParameterError, match='cannot be changed in place'):
        vpc_module.update(module, params, current)
    assert module.api_calls == []
