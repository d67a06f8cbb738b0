"""Every AWX job template launched the way AWX launches it (tests/utils/awx_launch.py) against the local cloud, on one
deployment made through the harness: deploy with the survey's defaults plus the required answers, deploy again with
the same values typed in other shapes (nothing changes), upgrade (nothing to do), backup, restore, destroy. Every job
is scanned for the AccessKey secret."""
import json
import os
import re
import secrets
import ssl
import urllib.request
from base64 import b64encode

import pytest

from conftest import base_env
from utils import awx_launch
from utils.awx_launch import AwxLaunch, form_answers

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAME = "awx-mlflow"
PASSWORDS = {
    "alicloud_infra_ecs_password": "Ecs-" + secrets.token_hex(5) + "Q7",
    "alicloud_infra_rds_password": "Rds-" + secrets.token_hex(5) + "Q7",
    "mlflow_server_auth_admin_password": "Adm-" + secrets.token_hex(6) + "Q7",
}
IDENTITY = dict(PASSWORDS, alicloud_infra_name=NAME)
# The required deploy answers without a default, typed the first time as one CIDR each.
REQUIRED = dict(IDENTITY, alicloud_infra_zone_id="cn-hangzhou-h", alicloud_infra_ssh_allowed_cidrs="198.18.0.0/15",
                alicloud_infra_mlflow_allowed_cidrs="198.18.0.0/15", mlflow_deploy_approve_cost="true")
# The same deployment typed in the other shapes a user may give: CIDR lists with commas, spaces and new lines,
# the numbers and choices typed over their defaults.
RETYPED = dict(REQUIRED, alicloud_infra_ssh_allowed_cidrs=" 198.18.0.0/15,\n",
               alicloud_infra_mlflow_allowed_cidrs="198.18.0.0/15\n198.18.0.0/15", alicloud_infra_mlflow_port=5000,
               alicloud_infra_pay_type="PostPaid", alicloud_infra_prepaid_period_months="1",
               mlflow_server_tls_enabled="true", mlflow_server_tls_port=443, alicloud_infra_region="cn-hangzhou")


class AwxDeployment:  # pylint: disable=too-few-public-methods
    def __init__(self, workdir):
        from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel
        from alicloud_emulator.server import Emulator  # pylint: disable=import-outside-toplevel
        self.emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24),
                                 clock_speed=20, backend=ContainerBackend())
        self.emulator.start()
        self.awx = AwxLaunch(workdir, {"access_key_id": self.emulator.access_key_id,
                                       "access_key_secret": self.emulator.access_key_secret, "region": "cn-hangzhou"},
                             base_env({"ALICLOUD_ENDPOINT": self.emulator.url}))
        # Job template extra variables (set by the template's owner, not the survey): a subnet no other deployment on
        # this Docker engine uses, and where the job keeps the host key.
        self.template_vars = {"alicloud_infra_vpc_cidr": "10.214.0.0/16", "alicloud_infra_vswitch_cidr": "10.214.7.0/24",
                              "mlflow_deploy_secrets_dir": os.path.join(workdir, "secrets")}
        self.jobs = []
        self.url = None

    def launch(self, template, typed):
        job = self.awx.launch(template, form_answers(self.awx.templates[template], typed),
                              job_template_extra_vars=self.template_vars, job_timeout=1500)
        self.jobs.append(job)
        return job

    def health(self):
        token = b64encode(("admin:" + PASSWORDS["mlflow_server_auth_admin_password"]).encode()).decode()
        request = urllib.request.Request(self.url + "/api/2.0/mlflow/experiments/search?max_results=5",
                                         headers={"Authorization": "Basic " + token})
        # TLS by default: trust exactly the certificate the deploy job fetched, as a client would.
        context = ssl.create_default_context(cafile=os.path.join(self.template_vars["mlflow_deploy_secrets_dir"],
                                                                 "mlflow-server.crt"))
        with urllib.request.urlopen(request, timeout=20, context=context) as response:  # nosec: a local container
            return response.status, json.loads(response.read())


def _tail(job, lines=100):
    return "\n".join(job.stdout.splitlines()[-lines:])


def _changed(job):
    return {host: stats["changed"] for host, stats in job.recap().items() if stats["changed"]}


@pytest.fixture(name="deployment", scope="module")
def deployment_fixture(tmp_path_factory):
    deployment = AwxDeployment(str(tmp_path_factory.mktemp("awx-local-cloud")))
    try:
        job = deployment.launch("MLflow - deploy", REQUIRED)
        assert job.rc == 0, _tail(job)
        match = re.search(r"MLflow is running: (https://[0-9.]+:443)", job.stdout)
        assert match, _tail(job)
        deployment.url = match.group(1)
        yield deployment
    finally:
        deployment.launch("MLflow - destroy", {"alicloud_infra_name": NAME})
        deployment.emulator.stop()


def test_deploy_with_survey_defaults_serves_mlflow_with_the_survey_admin_password(deployment):
    deploy = deployment.jobs[0]
    # The survey's defaults reached the playbook as AWX sends them (text, int, choice text).
    assert deploy.extra_vars["alicloud_infra_mlflow_port"] == 5000
    assert deploy.extra_vars["mlflow_server_tls_enabled"] == "true"
    status, body = deployment.health()
    assert status == 200 and "experiments" in body


def test_deploy_again_with_answers_typed_in_other_shapes_changes_nothing(deployment):
    job = deployment.launch("MLflow - deploy", RETYPED)
    assert job.rc == 0, _tail(job)
    assert job.recap() and _changed(job) == {}, job.changed_tasks()


def test_upgrade_when_current_does_nothing(deployment):
    job = deployment.launch("MLflow - upgrade", IDENTITY)
    assert job.rc == 0, _tail(job)
    assert "nothing to do" in job.stdout, _tail(job)
    assert _changed(job) == {}, job.changed_tasks()


def test_backup_then_restore_into_a_new_database(deployment):
    backup = deployment.launch("MLflow - backup", IDENTITY)
    assert backup.rc == 0, _tail(backup)
    match = re.search(r"backup (/var/backups/mlflow/\S+\.dump)", backup.stdout)
    assert match, _tail(backup)
    answers = dict(IDENTITY, mlflow_restore_dump=match.group(1), mlflow_restore_db_name="mlflow_restored")
    restore = deployment.launch("MLflow - restore", answers)
    assert restore.rc == 0, _tail(restore)
    status, _body = deployment.health()
    assert status == 200


def test_no_job_left_the_access_key_secret_anywhere(deployment):
    secret = deployment.emulator.access_key_secret
    for job in deployment.jobs:
        assert secret not in job.stdout and secret not in repr(job.events) and secret not in repr(job.safe_env)
        for path in awx_launch.files_under(job.private_data_dir):
            if path not in job.credential_files:
                with open(path, "rb") as handle:
                    assert secret.encode() not in handle.read(), path
    for secret_name, value in PASSWORDS.items():
        assert all(value not in job.stdout for job in deployment.jobs), secret_name


def test_destroy_with_survey_defaults_removes_the_deployment(deployment):
    job = deployment.launch("MLflow - destroy", {"alicloud_infra_name": NAME})
    assert job.rc == 0, _tail(job)
    assert job.extra_vars["alicloud_infra_release_prepaid"] == "false"
    left = {kind: items for kind, items in deployment.emulator.resources().items() if items}
    assert not left, left
