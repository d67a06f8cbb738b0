"""The AWX files agree with the playbooks and with the collection's credential chain."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The seed's parameter table (service instance, region, pay type, ECS password and type, RDS password and class,
# MLflow port and shared directory, zone, VPC ID, VSwitch ID) as deploy.yml names them.
SEED_PARAMETERS = {
    "alicloud_infra_name", "alicloud_infra_region", "alicloud_infra_pay_type", "alicloud_infra_ecs_password",
    "alicloud_infra_ecs_instance_type", "alicloud_infra_rds_password", "alicloud_infra_rds_instance_class",
    "alicloud_infra_mlflow_port", "mlflow_server_artifacts_dir", "alicloud_infra_zone_id", "alicloud_infra_vpc_id",
    "alicloud_infra_vswitch_id",
}


def _load(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _templates():
    return {template["name"]: template for template in _load("awx", "job_templates.yml")["job_templates"]}


def test_deploy_survey_carries_every_seed_parameter_with_the_playbook_defaults():
    deploy = _templates()["MLflow - deploy"]
    assert os.path.isfile(os.path.join(ROOT, deploy["playbook"]))
    questions = {question["variable"]: question for question in deploy["survey"]["spec"]}
    assert SEED_PARAMETERS <= set(questions)
    defaults = _load("playbooks", "vars", "deployment.yml")
    for variable, question in questions.items():
        if "default" in question and variable in defaults:
            expected = defaults[variable]
            # Survey choices are strings: a boolean default is offered as "true"/"false".
            if isinstance(expected, bool):
                expected = str(expected).lower()
            assert question["default"] == expected, variable
    # Secrets are survey passwords, so AWX encrypts them and hides them in job output.
    for secret in ("alicloud_infra_ecs_password", "alicloud_infra_rds_password"):
        assert questions[secret]["type"] == "password"
        assert (questions[secret]["min"], questions[secret]["max"]) == (8, 30)
    assert questions["alicloud_infra_pay_type"]["choices"] == ["PostPaid", "PrePaid"]
    assert questions["alicloud_infra_mlflow_port"]["default"] == 5000
    # The price step orders nothing from a job without this answer (no terminal to say yes at).
    approval = questions["mlflow_deploy_approve_cost"]
    assert (approval["type"], approval["default"], approval["choices"]) == ("multiplechoice", "false", ["false", "true"])
    # The execution environment's container does not outlive the job, so the admin password is asked, not generated,
    # and the TLS front end (with its port and the name clients use) can be chosen like on the command line.
    admin = questions["mlflow_server_auth_admin_password"]
    assert (admin["type"], admin["required"], admin["min"], admin["max"]) == ("password", True, 12, 30)
    tls = questions["mlflow_server_tls_enabled"]
    # TLS is the default: plain HTTP only when the survey is answered false.
    assert (tls["type"], tls["default"], tls["choices"]) == ("multiplechoice", "true", ["false", "true"])
    assert (questions["mlflow_server_tls_port"]["type"], questions["mlflow_server_tls_port"]["default"]) == ("integer", 443)
    assert questions["mlflow_deploy_server_name"]["required"] is False


def test_destroy_survey_names_the_deployment():
    destroy = _templates()["MLflow - destroy"]
    assert os.path.isfile(os.path.join(ROOT, destroy["playbook"]))
    questions = {question["variable"]: question for question in destroy["survey"]["spec"]}
    assert set(questions) == {"alicloud_infra_name", "alicloud_infra_region", "alicloud_infra_release_prepaid"}
    # Subscriptions are only released when someone says so.
    assert questions["alicloud_infra_release_prepaid"]["default"] == "false"


def test_credential_type_injects_what_the_collection_reads_and_no_secret_into_the_environment():
    spec = _load("awx", "credential_type.yml")
    fields = {field["id"]: field for field in spec["inputs"]["fields"]}
    assert fields["access_key_secret"].get("secret") is True
    assert fields["security_token"].get("secret") is True
    injected = spec["injectors"]["env"]
    with open(os.path.join(ROOT, "plugins", "module_utils", "alicloud.py"), encoding="utf-8") as handle:
        module_utils = handle.read()
    for variable in injected:
        assert re.search(r"['\"]%s['\"]" % variable, module_utils), "%s is not read by module_utils" % variable
    referenced = set(re.findall(r"{{\s*(\w+)", " ".join(injected.values())))
    # ansible-runner keeps the job's environment in its artifacts: secrets go through the file injector only
    # (rendered and resolved as AWX does in tests/unit/awx/test_awx_rules.py).
    assert referenced <= (set(fields) - {"access_key_secret", "security_token"}) | {"tower"}
    assert "access_key_secret" in spec["injectors"]["file"]["template"]


def test_every_template_has_a_survey_awx_can_send_and_the_playbooks_take():
    templates = _templates()
    assert set(templates) == {"MLflow - deploy", "MLflow - upgrade", "MLflow - backup", "MLflow - restore",
                              "MLflow - destroy"}
    for name, template in templates.items():
        assert os.path.isfile(os.path.join(ROOT, template["playbook"])), name
        for question in template["survey"]["spec"]:
            where = "%s: %s" % (name, question["variable"])
            # AWX marks launch values !unsafe and ansible-core reads an empty one as null (tests/unit/awx).
            assert question.get("default") != "", where
            if question["type"] == "multiplechoice":
                assert all(isinstance(choice, str) for choice in question["choices"]), where
                assert question.get("default") in question["choices"] + [None], where
    deploy = {question["variable"]: question for question in templates["MLflow - deploy"]["survey"]["spec"]}
    assert deploy["alicloud_infra_prepaid_period_months"]["choices"][:2] == ["1", "2"]
    assert deploy["alicloud_infra_ssh_allowed_cidrs"]["type"] == "textarea"
