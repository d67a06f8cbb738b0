#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_security_group
short_description: Create, update or delete an Alibaba Cloud security group and reconcile its ingress rules
version_added: 0.1.0
description:
  - Ensures a VPC security group with a given name exists (or does not), and that its ingress rules from CIDR blocks
    are exactly the declared O(rules) (or include them, with O(purge_rules=false)).
  - The group is found by O(security_group_id) or by its exact O(name) in O(vpc_id) through every page of
    C(DescribeSecurityGroups).
  - The create request carries a ClientToken derived from the VPC, name, type and tags.
  - Ingress rules whose source is another security group or a prefix list are never touched.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  state:
    description:
      - V(present) creates or updates the group, V(absent) deletes it. Deleting one that is already gone is success.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Group name, 2 to 128 characters, starting with a letter; letters, digits, C(.), C(_), C(-) and C(:).
      - The identity of the group (within O(vpc_id)) when O(security_group_id) is not given.
    type: str
    aliases: [security_group_name]
  security_group_id:
    description:
      - ID of an existing group to manage. With O(name) as well, the group is renamed.
    type: str
    aliases: [group_id]
  vpc_id:
    description:
      - VPC of the group. Required unless O(security_group_id) is given.
    type: str
  description:
    description:
      - Description, 2 to 256 characters, not starting with C(http://) or C(https://).
    type: str
  security_group_type:
    description:
      - V(normal) or V(enterprise). Only used at creation; it cannot be changed in place.
    type: str
    choices: [normal, enterprise]
    default: normal
  rules:
    description:
      - Ingress rules from IPv4 CIDR blocks. Omit to leave the rules alone.
    type: list
    elements: dict
    suboptions:
      ip_protocol:
        description:
          - Protocol.
        type: str
        choices: [tcp, udp, icmp, gre, all]
        default: tcp
      port_range:
        description:
          - Port range C(from/to), for example V(22/22) or V(8000-8100) written as V(8000/8100).
          - A single port such as V(5000) means V(5000/5000).
          - Must be V(-1/-1) (the default for them) for C(icmp), C(gre) and C(all).
        type: str
      source_cidr_ip:
        description:
          - Source IPv4 CIDR block, for example V(203.0.113.0/24).
        type: str
        required: true
      policy:
        description:
          - V(accept) or V(drop).
        type: str
        choices: [accept, drop]
        default: accept
      priority:
        description:
          - Rule priority, 1 (highest) to 100.
        type: int
        default: 1
      description:
        description:
          - Rule description, used when the rule is added; not reconciled on existing rules.
        type: str
  purge_rules:
    description:
      - Revoke CIDR ingress rules that are not in O(rules). Ignored when O(rules) is omitted.
    type: bool
    default: true
  tags:
    description:
      - Tags the group carries (at most 20).
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
    type: bool
    default: false
  wait_timeout:
    description:
      - With O(state=absent), seconds to keep retrying while instances being deleted still hold the group.
    type: int
    default: 300
extends_documentation_fragment:
  - computenest.mlflow.alicloud
attributes:
  check_mode:
    support: full
    description: Reports the API calls it would make in RV(api_calls) and makes none that change anything.
  diff_mode:
    support: full
    description: Returns the attributes it manages before and after the change.
'''

EXAMPLES = r'''
- name: SSH and MLflow from the office only
  computenest.mlflow.alicloud_security_group:
    name: mlflow-prod
    vpc_id: "{{ vpc.vpc.id }}"
    description: MLflow server
    rules:
      - port_range: 22/22
        source_cidr_ip: 203.0.113.0/24
      - port_range: "5000"
        source_cidr_ip: 203.0.113.0/24
    tags:
      deployment: mlflow-prod
  register: sg

- name: Delete the group
  computenest.mlflow.alicloud_security_group:
    name: mlflow-prod
    vpc_id: "{{ vpc.vpc.id }}"
    state: absent
'''

RETURN = r'''
security_group:
  description: The group after the run (in check mode as it would be; ID null when it would be created). Empty when
    O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Security group ID.
      type: str
      sample: sg-bp67acfmxazb4ph6b2bx
    security_group_id:
      description: Same as RV(security_group.id).
      type: str
      sample: sg-bp67acfmxazb4ph6b2bx
    name:
      description: Name.
      type: str
      sample: mlflow-prod
    vpc_id:
      description: VPC ID.
      type: str
      sample: vpc-bp1k3c0k2x7m8g5s4q9e2
    description:
      description: Description.
      type: str
      sample: MLflow server
    security_group_type:
      description: normal or enterprise.
      type: str
      sample: normal
    rules:
      description: Ingress rules from CIDR blocks, normalised.
      type: list
      elements: dict
      sample: [{ip_protocol: tcp, port_range: 22/22, source_cidr_ip: 203.0.113.0/24, policy: accept, priority: 1}]
    tags:
      description: Tags.
      type: dict
      sample: {deployment: mlflow-prod}
api_calls:
  description: The API calls that change something, made (or, in check mode, that would be made).
  returned: always
  type: list
  elements: dict
  sample: [{product: ecs, action: AuthorizeSecurityGroup, params: {SecurityGroupId: sg-1}}]
'''

import re

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError, AlicloudModule, AlicloudParameterError, AlicloudWaitError, flatten_tags, tags_to_dict,
    validate_cidr, validate_description, validate_name, validate_tags, wait_until,
)

RULE_KEYS = ('ip_protocol', 'port_range', 'source_cidr_ip', 'policy', 'priority')
# Authorize/Revoke accept a bounded batch of Permissions.N per call.
RULES_PER_CALL = 50


def normalise_rule(rule, index=None):
    """A declared rule (index given: errors name rules[index]) or an API permission, as a comparable dict."""
    where = 'rules[%d]' % index if index is not None else 'rule'
    protocol = (rule.get('ip_protocol') or 'tcp').lower()
    if protocol not in ('tcp', 'udp', 'icmp', 'gre', 'all'):
        raise AlicloudParameterError('%s.ip_protocol must be tcp, udp, icmp, gre or all, got %r' % (where, protocol))
    port_range = rule.get('port_range')
    port_range = '' if port_range is None else str(port_range).strip()
    if protocol in ('tcp', 'udp'):
        if re.match(r'^[0-9]+$', port_range):
            port_range = '%s/%s' % (port_range, port_range)
        match = re.match(r'^([0-9]+)/([0-9]+)$', port_range)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)) <= 65535:
            raise AlicloudParameterError('%s.port_range must be a port 1-65535 or FROM/TO with FROM <= TO (like '
                                         '22/22), got %r' % (where, rule.get('port_range')))
        port_range = '%d/%d' % (int(match.group(1)), int(match.group(2)))
    else:
        if port_range not in ('', '-1/-1'):
            raise AlicloudParameterError('%s.port_range must be -1/-1 for protocol %s, got %r'
                                         % (where, protocol, port_range))
        port_range = '-1/-1'
    source = rule.get('source_cidr_ip')
    if not source:
        raise AlicloudParameterError('%s.source_cidr_ip is required' % where)
    source = str(source).strip()
    if '/' not in source:
        source += '/32'
    source = validate_cidr(source, '%s.source_cidr_ip' % where)
    policy = (rule.get('policy') or 'accept').lower()
    if policy not in ('accept', 'drop'):
        raise AlicloudParameterError('%s.policy must be accept or drop, got %r' % (where, policy))
    priority = rule.get('priority')
    priority = 1 if priority in (None, '') else int(priority)
    if not 1 <= priority <= 100:
        raise AlicloudParameterError('%s.priority must be 1 to 100, got %r' % (where, priority))
    result = dict(ip_protocol=protocol, port_range=port_range, source_cidr_ip=source, policy=policy,
                  priority=priority)
    if index is not None and rule.get('description'):
        result['description'] = validate_description(rule['description'], '%s.description' % where)
    return result


def rule_key(rule):
    return tuple(rule[k] for k in RULE_KEYS)


def existing_rules(module, group_id):
    """The group's IPv4 CIDR ingress rules; rules from groups, prefix lists or IPv6 are left out (never touched)."""
    # MaxResults/NextToken: large groups answer in pages (500 per page is the API's default size).
    permissions = module.client.paginate('ecs', 'DescribeSecurityGroupAttribute',
                                         {'RegionId': module.region, 'SecurityGroupId': group_id,
                                          'Direction': 'ingress'},
                                         'Permissions.Permission', style='token', page_size=500)
    rules = []
    for permission in permissions:
        if (permission.get('Direction') or 'ingress') != 'ingress' or not permission.get('SourceCidrIp'):
            continue
        try:
            rules.append(normalise_rule({
                'ip_protocol': permission.get('IpProtocol'), 'port_range': permission.get('PortRange'),
                'source_cidr_ip': permission.get('SourceCidrIp'), 'policy': permission.get('Policy'),
                'priority': permission.get('Priority'),
            }))
        except (AlicloudParameterError, ValueError):
            continue  # a shape we do not manage (for example an IPv6 source): leave it alone
    return sorted(rules, key=rule_key)


def permission_params(rules):
    params = {}
    for number, rule in enumerate(rules, 1):
        prefix = 'Permissions.%d.' % number
        params[prefix + 'IpProtocol'] = rule['ip_protocol']
        params[prefix + 'PortRange'] = rule['port_range']
        params[prefix + 'SourceCidrIp'] = rule['source_cidr_ip']
        params[prefix + 'Policy'] = rule['policy']
        params[prefix + 'Priority'] = str(rule['priority'])
        if rule.get('description'):
            params[prefix + 'Description'] = rule['description']
    return params


def describe_group(group, rules, region):
    return dict(
        id=group.get('SecurityGroupId'), security_group_id=group.get('SecurityGroupId'),
        name=group.get('SecurityGroupName'), vpc_id=group.get('VpcId'), description=group.get('Description', ''),
        security_group_type=group.get('SecurityGroupType') or 'normal', rules=rules,
        tags=tags_to_dict(group.get('Tags')), region=region,
    )


def diff_view(group):
    if not group:
        return {}
    view = dict((k, group.get(k)) for k in ('name', 'vpc_id', 'description', 'security_group_type', 'tags'))
    view['rules'] = [dict((k, r[k]) for k in RULE_KEYS) for r in group.get('rules') or []]
    return view


def list_groups(module, query):
    query = dict(query, RegionId=module.region)
    return module.client.paginate('ecs', 'DescribeSecurityGroups', query, 'SecurityGroups.SecurityGroup',
                                  page_size=50)


def get_group(module, group_id):
    found = [g for g in list_groups(module, {'SecurityGroupId': group_id}) if g.get('SecurityGroupId') == group_id]
    return found[0] if found else None


def find_group(module, params):
    if params['security_group_id']:
        return get_group(module, params['security_group_id'])
    found = list_groups(module, {'VpcId': params['vpc_id'], 'SecurityGroupName': params['name']})
    found = [g for g in found if g.get('SecurityGroupName') == params['name'] and g.get('VpcId') == params['vpc_id']]
    if len(found) > 1:
        raise AlicloudParameterError('name %r matches %d security groups in %s (%s): give security_group_id' % (
            params['name'], len(found), params['vpc_id'], ', '.join(sorted(g['SecurityGroupId'] for g in found))))
    return found[0] if found else None


def validate(params):
    if not params['security_group_id'] and not (params['name'] and params['vpc_id']):
        raise AlicloudParameterError('name and vpc_id are required unless security_group_id is given')
    validate_name(params['name'], 'name', extra_chars=':')
    validate_description(params['description'])
    params['tags'] = validate_tags(params['tags'])
    if params['rules'] is not None:
        declared = [normalise_rule(rule, index) for index, rule in enumerate(params['rules'])]
        unique = {}
        for rule in declared:
            unique.setdefault(rule_key(rule), rule)
        params['rules'] = sorted(unique.values(), key=rule_key)
    if params['wait_timeout'] < 0:
        raise AlicloudParameterError('wait_timeout must be 0 or more')


def reconcile_rules(module, group_id, current_rules, params):
    """Authorize missing rules, revoke undeclared ones (purge_rules); returns the rules afterwards."""
    if params['rules'] is None:
        return current_rules
    have = dict((rule_key(r), r) for r in current_rules)
    want = dict((rule_key(r), r) for r in params['rules'])
    to_add = [want[k] for k in sorted(want) if k not in have]
    to_revoke = [have[k] for k in sorted(have) if k not in want] if params['purge_rules'] else []
    for start in range(0, len(to_revoke), RULES_PER_CALL):
        request = dict(permission_params(to_revoke[start:start + RULES_PER_CALL]), SecurityGroupId=group_id,
                       RegionId=module.region)
        module.mutate('ecs', 'RevokeSecurityGroup', request)
    for start in range(0, len(to_add), RULES_PER_CALL):
        batch = to_add[start:start + RULES_PER_CALL]
        # No ClientToken: authorizing a rule that already exists is a no-op, so a retried call cannot duplicate it,
        # while a token would make re-adding the same rule after a revoke a silent replay.
        request = dict(permission_params(batch), SecurityGroupId=group_id, RegionId=module.region)
        module.mutate('ecs', 'AuthorizeSecurityGroup', request)
    kept = [have[k] for k in sorted(have) if k in want or not params['purge_rules']]
    return sorted(kept + to_add, key=rule_key)


def create(module, params):
    request = {
        'RegionId': module.region, 'VpcId': params['vpc_id'], 'SecurityGroupName': params['name'],
        'Description': params['description'], 'SecurityGroupType': params['security_group_type'],
    }
    request.update(flatten_tags(params['tags']))
    identity = ['security-group', module.region, params['vpc_id'], params['name'], params['security_group_type'],
                params['tags']]
    group_id, dummy = module.create_with_client_token('ecs', 'CreateSecurityGroup', request, identity,
                                                      lambda reply: reply['SecurityGroupId'],
                                                      lambda i: get_group(module, i))
    if group_id:
        # A retried create can return a group made by an earlier attempt that already has some rules.
        rules = reconcile_rules(module, group_id, existing_rules(module, group_id), params)
    else:
        rules = reconcile_rules(module, '(new)', [], params)
    group = dict(SecurityGroupId=group_id, SecurityGroupName=params['name'], VpcId=params['vpc_id'],
                 Description=params['description'] or '', SecurityGroupType=params['security_group_type'])
    view = describe_group(group, rules, module.region)
    view['tags'] = params['tags']
    return view


def update(module, params, current):
    group_id = current['SecurityGroupId']
    before = describe_group(current, existing_rules(module, group_id), module.region)
    if params['vpc_id'] and params['vpc_id'] != before['vpc_id']:
        raise AlicloudParameterError('security group %s belongs to VPC %s, not %s; a group cannot move between VPCs'
                                     % (group_id, before['vpc_id'], params['vpc_id']))
    after = dict(before)
    changes = {}
    if params['name'] and params['name'] != before['name']:
        changes['SecurityGroupName'] = after['name'] = params['name']
    if params['description'] is not None and params['description'] != before['description']:
        changes['Description'] = after['description'] = params['description']
    if changes:
        request = dict(changes, SecurityGroupId=group_id, RegionId=module.region)
        module.mutate('ecs', 'ModifySecurityGroupAttribute', request)
    tags_changed = False
    if params['tags'] or params['purge_tags']:
        tags_changed = module.sync_tags('ecs', 'securitygroup', group_id, before['tags'], params['tags'],
                                        params['purge_tags'])
        if tags_changed:
            after['tags'] = dict(params['tags']) if params['purge_tags'] else dict(before['tags'], **params['tags'])
    after['rules'] = reconcile_rules(module, group_id, before['rules'], params)
    changed = bool(changes) or tags_changed or after['rules'] != before['rules']
    if changed and not module.check_mode:
        refreshed = get_group(module, group_id) or current
        after = describe_group(refreshed, existing_rules(module, group_id), module.region)
    return changed, before, after


def delete(module, params, current):
    group_id = current['SecurityGroupId']

    def attempt_delete():
        try:
            module.mutate('ecs', 'DeleteSecurityGroup', {'SecurityGroupId': group_id, 'RegionId': module.region})
        except AlicloudApiError as error:
            if error.code in ('InvalidSecurityGroupId.NotFound', 'InvalidSecurityGroupId.Malformed'):
                return True
            if error.code.startswith('DependencyViolation'):
                return error
            raise
        return True

    result = attempt_delete()
    if result is True or module.check_mode:
        return
    # Instances being deleted hold the group for a while: retry until the timeout, then say who holds it.
    try:
        wait_until(attempt_delete, lambda r: r is True, timeout=params['wait_timeout'],
                   describe=lambda r: r.code if isinstance(r, AlicloudApiError) else 'deleted',
                   what='security group %s to be released' % group_id)
    except AlicloudWaitError as exc:
        raise AlicloudParameterError('security group %s cannot be deleted while instances or other groups use it '
                                     '(%s)' % (group_id, exc))


def ensure(module):
    params = module.params
    validate(params)
    current = find_group(module, params)
    if params['state'] == 'absent':
        if current is None:
            module.finish(False, security_group={})
        before = diff_view(describe_group(current, existing_rules(module, current['SecurityGroupId']),
                                          module.region))
        delete(module, params, current)
        module.finish(True, diff_before=before, diff_after={}, security_group={})
    if current is None:
        if params['security_group_id']:
            raise AlicloudParameterError('security_group_id %s does not exist in region %s'
                                         % (params['security_group_id'], module.region))
        group = create(module, params)
        module.finish(True, diff_before={}, diff_after=diff_view(group), security_group=group)
    changed, before, after = update(module, params, current)
    module.finish(changed, diff_before=diff_view(before), diff_after=diff_view(after), security_group=after)


def main():
    module = AlicloudModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            name=dict(type='str', aliases=['security_group_name']),
            security_group_id=dict(type='str', aliases=['group_id']),
            vpc_id=dict(type='str'),
            description=dict(type='str'),
            security_group_type=dict(type='str', default='normal', choices=['normal', 'enterprise']),
            rules=dict(type='list', elements='dict', options=dict(
                ip_protocol=dict(type='str', default='tcp', choices=['tcp', 'udp', 'icmp', 'gre', 'all']),
                port_range=dict(type='str'),
                source_cidr_ip=dict(type='str', required=True),
                policy=dict(type='str', default='accept', choices=['accept', 'drop']),
                priority=dict(type='int', default=1),
                description=dict(type='str'),
            )),
            purge_rules=dict(type='bool', default=True),
            tags=dict(type='dict'),
            purge_tags=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=300),
        ),
        supports_check_mode=True,
    )
    module.run(ensure, module)


if __name__ == '__main__':
    main()
