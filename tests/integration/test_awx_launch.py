"""AWX job templates launched the way AWX launches them (tests/utils/awx_launch.py), against the emulator's simulated
backend: the surveys as users fill them reach the playbooks in shapes they accept, and the AccessKey secret is
nowhere a job leaves anything at the highest verbosity. The container-backed deployment runs in
test_awx_local_cloud.py."""
import os
import secrets

import pytest

from conftest import base_env
from utils import awx_launch
from utils.awx_launch import AwxLaunch, SurveyError, form_answers


@pytest.fixture(name="cloud", scope="module")
def cloud_fixture():
    from alicloud_emulator.server import Emulator  # pylint: disable=import-outside-toplevel
    emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(name="awx")
def awx_fixture(cloud, tmp_path):
    credential = {"access_key_id": cloud.access_key_id, "access_key_secret": cloud.access_key_secret,
                  "region": "cn-hangzhou"}
    return AwxLaunch(str(tmp_path), credential, base_env({"ALICLOUD_ENDPOINT": cloud.url}))


TYPED = {
    "alicloud_infra_name": "awx-typed",
    "alicloud_infra_zone_id": "cn-hangzhou-h",
    "alicloud_infra_ecs_password": "Ecs-" + secrets.token_hex(5) + "Q7",
    "alicloud_infra_rds_password": "Rds-" + secrets.token_hex(5) + "Q7",
    "mlflow_server_auth_admin_password": "Adm-" + secrets.token_hex(6) + "Q7",
    # As typed in the text questions: a comma list with spaces, and lines.
    "alicloud_infra_ssh_allowed_cidrs": "198.18.0.0/15, 203.0.113.7/32",
    "alicloud_infra_mlflow_allowed_cidrs": "198.18.0.0/15\n203.0.113.0/24\n",
    "alicloud_infra_mlflow_port": 8080,
    "alicloud_infra_pay_type": "PrePaid",
    "alicloud_infra_prepaid_period_months": "3",
}


def _leaks(job, secret):
    """Every place a job left the secret: job output, events, stored environment, files of the private data dir
    other than the credential's own file (which AWX deletes with the job)."""
    found = []
    if secret in job.stdout:
        found.append("stdout")
    if secret in repr(job.events):
        found.append("events")
    if secret in repr(job.safe_env):
        found.append("job_env")
    for path in awx_launch.files_under(job.private_data_dir):
        if path in job.credential_files:
            continue
        with open(path, "rb") as handle:
            if secret.encode() in handle.read():
                found.append(os.path.relpath(path, job.private_data_dir))
    return found


def test_deploy_survey_as_typed_reaches_the_price_step_and_the_secret_stays_hidden(awx, cloud):
    template = awx.templates["MLflow - deploy"]
    # AWX runs the job with a terminal (ansible-runner's pexpect): a pause prompt would hang it, so a timeout fails it.
    job = awx.launch("MLflow - deploy", form_answers(template, TYPED), verbosity=4, job_timeout=240)
    assert job.rc == 0, job.stdout[-4000:]
    # Validation accepted every shape the survey sends, and the price of what would be ordered was asked for.
    assert "Not approved: nothing was ordered" in job.stdout, job.stdout[-4000:]
    assert "<redirected>" not in job.stdout
    actions = [request["action"] for request in cloud.requests()]
    assert "DescribePrice" in actions and "RunInstances" not in actions and "CreateDBInstance" not in actions
    # -vvvv really ran (the stored runner command carries it), and the secret is nowhere.
    assert job.safe_env["ALICLOUD_SHARED_CREDENTIALS_FILE"] in job.credential_files
    assert _leaks(job, cloud.access_key_secret) == []
    for secret in ("alicloud_infra_ecs_password", "alicloud_infra_rds_password", "mlflow_server_auth_admin_password"):
        assert TYPED[secret] not in job.stdout, secret


def test_destroy_with_survey_defaults_removes_nothing_and_hides_the_secret(awx, cloud):
    template = awx.templates["MLflow - destroy"]
    job = awx.launch("MLflow - destroy", form_answers(template, {"alicloud_infra_name": "awx-absent"}), verbosity=4,
                     job_timeout=240)
    assert job.rc == 0, job.stdout[-4000:]
    assert job.extra_vars["alicloud_infra_release_prepaid"] == "false"
    assert _leaks(job, cloud.access_key_secret) == []


def test_the_survey_refuses_what_awx_refuses(awx):
    template = awx.templates["MLflow - deploy"]
    with pytest.raises(SurveyError, match="alicloud_infra_mlflow_port' expected to be an integer"):
        awx.launch("MLflow - deploy", form_answers(template, dict(TYPED, alicloud_infra_mlflow_port="8080")))
    with pytest.raises(SurveyError, match="alicloud_infra_pay_type' expected to be one of"):
        awx.launch("MLflow - deploy", form_answers(template, dict(TYPED, alicloud_infra_pay_type="Prepaid")))


def test_the_scan_finds_a_secret_injected_into_the_environment(cloud, tmp_path):
    """Why the credential type writes a file: injected as an environment variable (the type's former injector), the
    secret lands in ansible-runner's artifacts (the `command` file keeps the job's whole environment)."""
    awx = AwxLaunch(str(tmp_path), {"access_key_id": cloud.access_key_id, "access_key_secret": cloud.access_key_secret},
                    base_env({"ALICLOUD_ENDPOINT": cloud.url}))
    awx.credential_type["injectors"] = {"env": {"ALICLOUD_ACCESS_KEY": "{{ access_key_id }}",
                                                "ALICLOUD_SECRET_KEY": "{{ access_key_secret }}"}}
    job = awx.launch("MLflow - destroy", form_answers(awx.templates["MLflow - destroy"],
                                                      {"alicloud_infra_name": "awx-absent"}), job_timeout=240)
    assert job.rc == 0, job.stdout[-4000:]
    assert job.safe_env["ALICLOUD_SECRET_KEY"] == "**********"  # AWX's stored job environment hides it by name...
    assert "artifacts/%d/command" % awx.jobs in _leaks(job, cloud.access_key_secret)  # ...ansible-runner does not


def test_a_name_whose_group_another_could_share_is_refused_before_any_api_call(awx, cloud):
    template = awx.templates["MLflow - deploy"]
    before = len(cloud.requests())
    job = awx.launch("MLflow - deploy", form_answers(template, dict(TYPED, alicloud_infra_name="awx--typed")),
                     job_timeout=240)
    assert job.rc != 0
    assert "alicloud_infra_name must not have two of - and _ next to each other" in job.stdout, job.stdout[-3000:]
    # Only the inventory sync before the job listed instances; the job itself called nothing.
    sync_requests = [request["action"] for request in cloud.requests()[before:]]
    assert set(sync_requests) <= {"DescribeRegions", "DescribeInstances"}, sync_requests
