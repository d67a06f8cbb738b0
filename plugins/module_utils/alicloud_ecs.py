# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ECS instance views shared by alicloud_ecs_instance and alicloud_ecs_instance_info."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import tags_to_dict


def ip_list(value):
    """IpAddress lists come wrapped ({'IpAddress': [...]}), bare, or as one string (EipAddress.IpAddress)."""
    if isinstance(value, dict):
        value = value.get('IpAddress')
    if isinstance(value, str):
        value = [value]
    return [ip for ip in value or [] if ip]


def describe_instance(raw):
    """One DescribeInstances item as the flat dict the modules return."""
    vpc = raw.get('VpcAttributes') or {}
    private = ip_list(vpc.get('PrivateIpAddress'))
    public = ip_list(raw.get('PublicIpAddress')) or ip_list(raw.get('EipAddress'))
    return dict(
        id=raw.get('InstanceId'), instance_id=raw.get('InstanceId'), name=raw.get('InstanceName'),
        status=raw.get('Status'), instance_type=raw.get('InstanceType'), image_id=raw.get('ImageId'),
        zone_id=raw.get('ZoneId'), vpc_id=vpc.get('VpcId'), vswitch_id=vpc.get('VSwitchId'),
        security_group_ids=list((raw.get('SecurityGroupIds') or {}).get('SecurityGroupId') or []),
        private_ip=private[0] if private else '', public_ip=public[0] if public else '',
        private_ip_addresses=private, public_ip_addresses=public,
        internet_max_bandwidth_out=raw.get('InternetMaxBandwidthOut'), key_pair_name=raw.get('KeyPairName') or '',
        tags=tags_to_dict(raw.get('Tags')), creation_time=raw.get('CreationTime'),
        instance_charge_type=raw.get('InstanceChargeType'), expired_time=raw.get('ExpiredTime'),
    )
