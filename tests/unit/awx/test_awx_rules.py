"""The AWX rules tests/utils/awx_launch.py relies on, each pinned with the AWX source it follows (ansible/awx at
awx_launch.AWX_COMMIT). If one of these fails, the harness no longer launches jobs the way AWX does."""
import json
import os
import stat

import pytest
import yaml

from utils import awx_launch
from utils.awx_launch import SurveyError, survey_element_errors, survey_extra_vars

TEXT = {"variable": "t", "type": "text", "required": True, "min": 9, "max": 20}
TEXTAREA = {"variable": "ta", "type": "textarea", "required": False, "default": "10.0.0.0/8"}
PASSWORD = {"variable": "p", "type": "password", "required": True, "min": 8, "max": 30}
INTEGER = {"variable": "i", "type": "integer", "required": True, "default": 5000, "min": 1, "max": 65535}
FLOAT = {"variable": "f", "type": "float", "required": False, "min": 0.5, "max": 2}
CHOICE = {"variable": "c", "type": "multiplechoice", "required": True, "default": "false", "choices": ["false", "true"]}
MULTI = {"variable": "m", "type": "multiselect", "required": False, "choices": "a\nb\n\n"}


def _template(*spec):
    return {"survey": {"name": "s", "description": "d", "spec": list(spec)}}


# mixins.py SurveyJobTemplateMixin._survey_element_validation ----------------------------------------------------
def test_text_textarea_password_answers_must_be_strings_within_min_max_length():
    assert survey_element_errors(TEXT, {"t": "10.0.0.0/8"}) == []
    assert "expected to be a string" in survey_element_errors(TEXT, {"t": 5})[0]
    assert "too small" in survey_element_errors(TEXT, {"t": "1.2.3.4"})[0]
    assert "too large" in survey_element_errors(TEXT, {"t": "x" * 21})[0]
    # A list is not text: AWX has no way to send a YAML list through a text question.
    assert "expected to be a string" in survey_element_errors(TEXTAREA, {"ta": ["10.0.0.0/8"]})[0]


def test_integer_answers_must_be_json_integers_in_range():
    assert survey_element_errors(INTEGER, {"i": 8080}) == []
    assert "expected to be an integer" in survey_element_errors(INTEGER, {"i": "8080"})[0]
    assert "expected to be an integer" in survey_element_errors(INTEGER, {"i": 80.0})[0]
    assert "expected to be an integer" in survey_element_errors(INTEGER, {"i": True})[0]
    assert "too small" in survey_element_errors(INTEGER, {"i": 0})[0]
    assert "too large" in survey_element_errors(INTEGER, {"i": 65536})[0]


def test_float_answers_take_ints_and_floats_in_range():
    assert survey_element_errors(FLOAT, {"f": 1}) == []
    assert survey_element_errors(FLOAT, {"f": 1.5}) == []
    assert "numeric" in survey_element_errors(FLOAT, {"f": "1.5"})[0]
    assert "too small" in survey_element_errors(FLOAT, {"f": 0.25})[0]


def test_multiplechoice_is_one_of_the_choices_and_multiselect_a_list_of_them():
    assert survey_element_errors(CHOICE, {"c": "true"}) == []
    # A boolean is not the choice "true": the answer is always the choice's text.
    assert "expected to be one of" in survey_element_errors(CHOICE, {"c": True})[0]
    assert survey_element_errors(MULTI, {"m": ["a", "b"]}) == []  # choices given as lines, blank lines dropped
    assert "expected to be a list" in survey_element_errors(MULTI, {"m": "a"})[0]
    assert "expected to be one of" in survey_element_errors(MULTI, {"m": ["c"]})[0]


def test_required_questions_must_be_answered_and_encrypted_placeholder_counts_only_with_a_default():
    assert survey_element_errors(TEXT, {}) == ["'t' value missing"]
    assert survey_element_errors(TEXT, {}, validate_required=False) == []
    assert survey_element_errors(PASSWORD, {"p": "$encrypted$"}) == ["'p' value missing"]
    assert survey_element_errors(dict(PASSWORD, default="Secret-123"), {"p": "$encrypted$"}) == []


# mixins.py _update_unified_job_kwargs / _accept_or_ignore_variables ----------------------------------------------
def test_defaults_fill_unanswered_optional_questions_and_answers_win():
    optional_integer = dict(INTEGER, required=False)
    template = _template(optional_integer, CHOICE, TEXTAREA)
    assert survey_extra_vars(template, {"c": "false"}) == {"i": 5000, "c": "false", "ta": "10.0.0.0/8"}
    assert survey_extra_vars(template, {"c": "true", "i": 80})["i"] == 80
    # Template extra vars are overwritten by survey defaults.
    assert survey_extra_vars(template, {"c": "true"}, {"i": 1, "other": 2}) == {
        "i": 5000, "other": 2, "c": "true", "ta": "10.0.0.0/8"}


def test_a_required_question_must_be_sent_even_with_a_default():
    # The API does not fill a required answer from its default; the UI's form sends the pre-filled default.
    with pytest.raises(SurveyError, match="'c' value missing"):
        survey_extra_vars(_template(CHOICE), {})
    assert awx_launch.form_answers(_template(CHOICE, TEXT, dict(PASSWORD, default="Default-123")), {"t": "typed-text"}) \
        == {"c": "false", "t": "typed-text", "p": "$encrypted$"}


def test_a_default_that_fails_its_own_question_is_dropped_silently():
    short_default = dict(TEXT, required=False, default="")
    assert survey_extra_vars(_template(short_default), {}) == {}
    empty_ok = {"variable": "v", "type": "text", "required": False, "default": "", "max": 64}
    assert survey_extra_vars(_template(empty_ok), {}) == {"v": ""}


def test_any_invalid_or_missing_answer_refuses_the_launch():
    with pytest.raises(SurveyError) as refused:
        survey_extra_vars(_template(TEXT, INTEGER), {"i": "80"})
    assert refused.value.errors == ["'t' value missing", "Value 80 for 'i' expected to be an integer."]
    with pytest.raises(SurveyError, match="not allowed on launch"):
        survey_extra_vars(_template(INTEGER), {"unknown": 1})


def test_encrypted_password_answer_keeps_the_default():
    template = _template(dict(PASSWORD, default="Default-123"))
    assert survey_extra_vars(template, {"p": "$encrypted$"}) == {"p": "Default-123"}
    assert survey_extra_vars(template, {"p": "Typed-12345"}) == {"p": "Typed-12345"}


# jobs.py RunJob.build_extra_vars_file, safe_yaml.py safe_dump ----------------------------------------------------
def test_launch_values_are_unsafe_and_template_values_stay_templatable():
    dumped = awx_launch.safe_dump({"a": "{{ x }}", "b": 5, "c": "kept"}, safe_dict={"c": "kept"})
    assert "!unsafe 'a': !unsafe '{{ x }}'" in dumped
    assert "!unsafe 'b': 5" in dumped
    assert "c: kept" in dumped

    class Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    assert yaml.load(dumped, Loader=Loader) == {"a": "{{ x }}", "b": 5, "c": "kept"}  # nosec: test loader


# credential.py CredentialType.inject_credential and build_safe_env ----------------------------------------------
def test_injectors_render_files_env_and_a_masked_copy(tmp_path):
    os.makedirs(tmp_path / "env")
    credential_type = {
        "inputs": {"fields": [{"id": "user", "type": "string"}, {"id": "secret", "type": "string", "secret": True},
                              {"id": "opt", "type": "string"}, {"id": "flag", "type": "boolean"}]},
        "injectors": {"file": {"template.cfg": "{{ user }}:{{ secret }}"},
                      "env": {"CFG": "{{ tower.filename.cfg }}", "USER_SECRET": "{{ user }}/{{ secret }}",
                              "OPT": "{{ opt | default('none') }}", "FLAG": "{{ flag }}"},
                      "extra_vars": {"who": "{{ user }}"}}}
    env, safe_env, args = {}, {}, []
    written = awx_launch.inject_credential(credential_type, {"user": "u", "secret": "s3cr3t", "opt": ""}, env,
                                           safe_env, args, str(tmp_path))
    with open(env["CFG"], encoding="utf-8") as handle:
        assert handle.read() == "u:s3cr3t"
    assert stat.S_IMODE(os.stat(env["CFG"]).st_mode) == 0o600
    assert env["USER_SECRET"] == "u/s3cr3t" and safe_env["USER_SECRET"] == "u/**********"
    assert env["OPT"] == "none"  # an empty input is left out of the namespace
    assert env["FLAG"] == "False"  # a missing boolean is False
    assert args[0] == "-e" and args[1].startswith("@") and len(written) == 2
    with open(args[1][1:], encoding="utf-8") as handle:
        assert "u" in handle.read()


def test_stored_job_environment_hides_values_by_name():
    safe = awx_launch.build_safe_env({"ALICLOUD_SECRET_KEY": "x", "MY_TOKEN": "y", "ANSIBLE_FOO_PASS": "z",
                                      "URL": "https://u:pw@host/", "PLAIN": "p"})
    assert safe == {"ALICLOUD_SECRET_KEY": "**********", "MY_TOKEN": "**********", "ANSIBLE_FOO_PASS": "z",
                    "URL": "**********", "PLAIN": "p"}


def test_our_credential_type_writes_a_profile_the_collection_reads(tmp_path):
    """The rendered file is a valid aliyun CLI profile that module_utils resolves to exactly the inputs."""
    from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import resolve_credentials  # pylint: disable=import-outside-toplevel
    os.makedirs(tmp_path / "env")
    credential_type = awx_launch.load_credential_type()
    for inputs, token in (({"access_key_id": "LTAIabc", "access_key_secret": 'a"b\\c', "region": "cn-beijing"}, None),
                          ({"access_key_id": "LTAIabc", "access_key_secret": "secret-1", "security_token": ""}, None),
                          ({"access_key_id": "STS.x", "access_key_secret": "sts-secret-value", "security_token": "tok"}, "tok")):
        env, safe_env = {}, {}
        awx_launch.inject_credential(credential_type, inputs, env, safe_env, [], str(tmp_path))
        assert inputs["access_key_secret"] not in json.dumps(env)
        resolved = resolve_credentials({}, env)
        assert (resolved["access_key"], resolved["secret_key"], resolved["security_token"]) == (
            inputs["access_key_id"], inputs["access_key_secret"], token)
        assert resolved["region"] == inputs.get("region", "cn-hangzhou")


def test_ansible_core_reads_awx_unsafe_scalars_by_yaml_rules(tmp_path):
    """Why no survey question of ours has an empty default: AWX writes every launch value as !unsafe (above) and
    ansible-core resolves an !unsafe scalar's type again (ansible/_internal/_yaml/_constructor.py
    _resolve_and_construct_object), so '' arrives as null, 'false' as a boolean and '3' as an integer."""
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    path = tmp_path / "extravars"
    path.write_text(awx_launch.safe_dump({"empty": "", "flag": "false", "three": "3", "cidrs": "10.0.0.0/8, 10.1.0.0/16"}))
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    proc = subprocess.run([ansible, "localhost", "-m", "debug", "-a",
                           "msg={{ [empty, flag, three, cidrs] | map('type_debug') | list }}", "-e", "@%s" % path],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.split("=>", 1)[1])["msg"] == ["NoneType", "bool", "int", "str"]


def test_the_job_inventory_is_an_executable_script_printing_the_synced_inventory(tmp_path):
    """jobs.py BaseTask.build_inventory: the job gets its inventory (a snapshot of the last sync) as a script."""
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    data = {"_meta": {"hostvars": {"192.0.2.5": {"alicloud_zone_id": "cn-hangzhou-h"}}},
            "all": {"children": ["ungrouped", "mlflow_deployment_a_b"]}, "mlflow_deployment_a_b": {"hosts": ["192.0.2.5"]}}
    script = awx_launch._inventory_script(str(tmp_path), data)  # pylint: disable=protected-access
    listed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", script, "--list"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    assert json.loads(listed)["mlflow_deployment_a_b"]["hosts"] == ["192.0.2.5"]


def test_our_credential_type_passes_awx_injector_validation():
    """fields.py CredentialTypeInjectorField.validate: every injector template renders in a sandbox with
    StrictUndefined, each defined field set to 'EXAMPLE' and tower.filename only when an unnamed file injector
    ("template") exists; AWX refuses to save the credential type otherwise."""
    from jinja2 import StrictUndefined, sandbox  # pylint: disable=import-outside-toplevel
    credential_type = awx_launch.load_credential_type()
    injectors = credential_type["injectors"]
    assert "template" in injectors["file"]
    tower = type("Tower", (), {"filename": "EXAMPLE_FILENAME"})()
    namespace = dict({item["id"]: "EXAMPLE" for item in credential_type["inputs"]["fields"]}, tower=tower)
    jinja = sandbox.ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for template in list(injectors["file"].values()) + list(injectors["env"].values()):
        jinja.from_string(template).render(namespace)
    rendered = json.loads(jinja.from_string(injectors["file"]["template"]).render(namespace))
    assert rendered["profiles"][0]["access_key_secret"] == "EXAMPLE"
