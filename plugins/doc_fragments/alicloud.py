# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  access_key:
    description:
      - Alibaba Cloud AccessKey ID.
      - When not set, the first of these wins, together with its secret and token
        E(ALICLOUD_ACCESS_KEY) (or E(ALICLOUD_ACCESS_KEY_ID)), E(ALIBABA_CLOUD_ACCESS_KEY_ID),
        then the profile of the shared credentials file.
      - The instance metadata address is never consulted.
    type: str
    aliases: [alicloud_access_key, access_key_id]
  secret_key:
    description:
      - Alibaba Cloud AccessKey secret, paired with O(access_key).
      - Environment fallbacks E(ALICLOUD_SECRET_KEY) (or E(ALICLOUD_SECRET_ACCESS_KEY)), E(ALIBABA_CLOUD_ACCESS_KEY_SECRET).
    type: str
    aliases: [alicloud_secret_key, access_key_secret]
  security_token:
    description:
      - STS security token for temporary credentials, from the same source as the key pair.
      - Environment fallbacks E(ALICLOUD_SECURITY_TOKEN), E(ALIBABA_CLOUD_SECURITY_TOKEN).
    type: str
    aliases: [alicloud_security_token]
  region:
    description:
      - Region ID, for example V(cn-hangzhou).
      - Environment fallbacks E(ALICLOUD_REGION), E(ALICLOUD_REGION_ID), E(ALIBABA_CLOUD_REGION_ID), then the
        C(region_id) of the profile.
    type: str
    aliases: [alicloud_region, region_id]
  profile:
    description:
      - Name of a profile in the shared credentials file (the C(aliyun) CLI's C(~/.aliyun/config.json)).
      - Profiles of mode C(AK) and C(StsToken) are supported.
      - Set as a module option it is used before any environment keys; from E(ALICLOUD_PROFILE) it is used after them.
      - Without a name the file's C(current) profile, or C(default), is used.
    type: str
    aliases: [alicloud_profile]
  shared_credentials_file:
    description:
      - Path of the shared credentials file.
      - Environment fallback E(ALICLOUD_SHARED_CREDENTIALS_FILE); default C(~/.aliyun/config.json).
    type: path
    aliases: [alicloud_shared_credentials_file]
  ecs_endpoint:
    description:
      - ECS API endpoint, C(host[:port]) or C(http(s)://host[:port]); without a scheme https is used.
      - Environment fallbacks E(ALICLOUD_ECS_ENDPOINT), then E(ALICLOUD_ENDPOINT).
      - Default is the real regional endpoint over https.
    type: str
  vpc_endpoint:
    description:
      - VPC API endpoint, C(host[:port]) or C(http(s)://host[:port]); without a scheme https is used.
      - Environment fallbacks E(ALICLOUD_VPC_ENDPOINT), then E(ALICLOUD_ENDPOINT).
    type: str
  rds_endpoint:
    description:
      - RDS API endpoint, C(host[:port]) or C(http(s)://host[:port]); without a scheme https is used.
      - Environment fallbacks E(ALICLOUD_RDS_ENDPOINT), then E(ALICLOUD_ENDPOINT).
    type: str
  api_retries:
    description:
      - How many times a call is retried after throttling, C(ServiceUnavailable), C(InternalError), any 5xx answer or
        a connection error. Retries wait with full-jitter exponential backoff.
    type: int
    default: 6
  api_retry_max_delay:
    description:
      - Upper bound in seconds of one wait between retries.
    type: float
    default: 20.0
  api_timeout:
    description:
      - Seconds to wait for the reply to one API request.
    type: int
    default: 30
requirements:
  - aliyun-python-sdk-core
  - aliyun-python-sdk-ecs
  - aliyun-python-sdk-vpc
  - alibabacloud-rds20140815
notes:
  - All options above can be set once for every module of this collection with
    C(module_defaults) and the C(group/computenest.mlflow.alicloud) action group.
'''
