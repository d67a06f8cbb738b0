"""AWX's launch path for the job templates of awx/, reproduced outside AWX.

Each step follows AWX's own code (ansible/awx at AWX_COMMIT, read with the fetch tool); the function docstrings name
the file and function they follow, and tests/unit/awx/test_awx_rules.py pins every rule relied on:

1. survey answers (as the API receives them: JSON values) are checked and merged with the survey defaults
   (awx/main/models/mixins.py, SurveyJobTemplateMixin._survey_element_validation, _update_unified_job_kwargs,
   _accept_or_ignore_variables);
2. the job's extra vars are written to env/extravars, every value a survey or launch gave marked !unsafe
   (awx/main/tasks/jobs.py RunJob.build_extra_vars_file, awx/main/utils/safe_yaml.py safe_dump);
3. the credential type's injectors are rendered in a Jinja sandbox: file templates into private_data_dir/env
   (mode 0600), env templates into the job's environment, a masked copy for the job's stored environment
   (awx/main/models/credential.py CredentialType.inject_credential, build_safe_env);
4. ansible-runner runs the playbook with exactly those inputs, as AWX calls it (awx/main/tasks/jobs.py BaseTask.run:
   suppress_env_files, envvars, env/cmdline, env/settings, the inventory as an executable JSON script).

The inventory is first synced from inventory/mlflow.alicloud_ecs.yml with the same credential, as AWX's inventory
source update does, and the job runs against that snapshot (deploy.yml finds its new host itself).
"""
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
from copy import copy
from dataclasses import dataclass, field

import yaml
from jinja2 import sandbox

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX_COMMIT = "e21dd0a0933fd544d1fe2513c54fe41203775eb5"
ENCRYPTED = "$encrypted$"
HIDDEN_PASSWORD = "**********"  # awx/main/constants.py HIDDEN_PASSWORD
JOB_VARIABLE_PREFIXES = ("awx", "tower")  # awx/main/constants.py


class SurveyError(ValueError):
    """AWX refuses the launch (HTTP 400, variables_needed_to_start)."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


def load_templates():
    with open(os.path.join(ROOT, "awx", "job_templates.yml"), encoding="utf-8") as handle:
        return {template["name"]: template for template in yaml.safe_load(handle)["job_templates"]}


def load_credential_type():
    with open(os.path.join(ROOT, "awx", "credential_type.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# --- surveys ---------------------------------------------------------------------------------------------------------
def _choices(element):
    choice_list = copy(element["choices"])
    if isinstance(choice_list, str):
        choice_list = [choice for choice in choice_list.splitlines() if choice.strip() != ""]
    return choice_list


def survey_element_errors(element, data, validate_required=True):
    """mixins.py SurveyJobTemplateMixin._survey_element_validation: the errors of one question for data."""
    errors = []
    variable = element["variable"]
    kind = element["type"]
    if kind == "password" and isinstance(data.get(variable), str) and data.get(variable) == ENCRYPTED:
        if element.get("default") is None and element["required"] and validate_required:
            errors.append("'%s' value missing" % variable)
        return errors
    if variable not in data:
        if element["required"] and validate_required:
            errors.append("'%s' value missing" % variable)
        return errors
    value = data[variable]
    low, high = element.get("min"), element.get("max")
    if kind in ("textarea", "text", "password"):
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, variable)]
        if "min" in element and low not in ("", None) and len(value) < int(low):
            errors.append("'%s' value %s is too small (length is %s must be at least %s)." % (variable, value, len(value), low))
        if "max" in element and high not in ("", None) and len(value) > int(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, high))
    elif kind == "integer":
        if type(value) is not int:  # pylint: disable=unidiomatic-typecheck  # AWX: True is not an integer answer
            return ["Value %s for '%s' expected to be an integer." % (value, variable)]
        if "min" in element and low not in ("", None) and value < int(low):
            errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, low))
        if "max" in element and high not in ("", None) and value > int(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, high))
    elif kind == "float":
        if type(value) not in (float, int):  # pylint: disable=unidiomatic-typecheck
            return ["Value %s for '%s' expected to be a numeric type." % (value, variable)]
        if "min" in element and low not in ("", None) and value < float(low):
            errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, low))
        if "max" in element and high not in ("", None) and value > float(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, high))
    elif kind == "multiselect":
        if type(value) is not list:  # pylint: disable=unidiomatic-typecheck
            errors.append("'%s' value is expected to be a list." % variable)
        else:
            errors.extend("Value %s for '%s' expected to be one of %s." % (item, variable, _choices(element))
                          for item in value if item not in _choices(element))
    elif kind == "multiplechoice":
        if value not in _choices(element):
            errors.append("Value %s for '%s' expected to be one of %s." % (value, variable, _choices(element)))
    return errors


def survey_extra_vars(template, answers, template_extra_vars=None):
    """The job's extra vars for a launch with these survey answers, or SurveyError.

    mixins.py _accept_or_ignore_variables (every question checked against the answers; any error refuses the
    launch) then _update_unified_job_kwargs: template extra vars, overwritten by each survey default that passes its
    own question's validation (the others are dropped silently), overwritten by the answers; a password answered
    "$encrypted$" (the UI's placeholder for "keep the default") is removed first.
    """
    spec = template["survey"]["spec"]
    answers = dict(answers)
    errors = []
    for element in spec:
        errors += survey_element_errors(element, answers)
    unknown = set(answers) - {element["variable"] for element in spec}
    if unknown:  # ask_variables_on_launch is off on our templates
        errors.append("Variables %s are not allowed on launch." % ", ".join(sorted(unknown)))
    if errors:
        raise SurveyError(errors)
    extra_vars = dict(template_extra_vars or {})
    for element in spec:
        variable = element["variable"]
        if element["type"] == "password" and answers.get(variable) == ENCRYPTED:
            answers.pop(variable)
        default = element.get("default")
        if default is not None and not survey_element_errors(element, {variable: default}):
            extra_vars[variable] = default
    extra_vars.update(answers)
    return extra_vars


def form_answers(template, typed):
    """What the AWX UI's survey form submits: each question pre-filled with its default (a password default shown as
    "$encrypted$"), overwritten by what the user typed. This is the UI's behaviour (ansible/ansible-ui), not AWX's API;
    it is how a user "accepts the defaults" of required questions, which the API alone does not fill."""
    answers = {}
    for element in template["survey"]["spec"]:
        if element.get("default") is not None:
            answers[element["variable"]] = ENCRYPTED if element["type"] == "password" else element["default"]
    answers.update(typed)
    return answers


# --- extra vars file ---------------------------------------------------------------------------------------------------
class _UnsafeDumper(yaml.SafeDumper):  # safe_yaml.py SafeStringDumper
    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def safe_dump(extra_vars, safe_dict=None):
    """safe_yaml.py safe_dump: top-level entries equal to the template's own extra vars stay plain, the rest !unsafe."""
    safe_dict = safe_dict or {}
    parts = []
    for key, value in extra_vars.items():
        dumper = yaml.SafeDumper if key in safe_dict and safe_dict.get(key) == value else _UnsafeDumper
        parts.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(parts)


def meta_vars(job_id, template_name):
    """unified_jobs.py UnifiedJob.awx_meta_vars (manual launch, no user): job id and launch type, both prefixes."""
    result = {}
    for prefix in JOB_VARIABLE_PREFIXES:
        result["%s_job_id" % prefix] = job_id
        result["%s_job_launch_type" % prefix] = "manual"
        result["%s_job_template_name" % prefix] = template_name
    return result


# --- credentials -----------------------------------------------------------------------------------------------------
def build_safe_env(env):
    """credential.py build_safe_env: the environment as AWX stores it with the job (job_env), values hidden by name."""
    hidden_re = re.compile(r"API|TOKEN|KEY|SECRET|PASS", re.I)
    urlpass_re = re.compile(r"^.*?://[^:]+:(.*?)@.*?$")
    safe_env = dict(env)
    for key, value in safe_env.items():
        if key == "AWS_ACCESS_KEY_ID":
            continue
        if key.startswith("ANSIBLE_") and not key.startswith("ANSIBLE_NET") and not key.startswith("ANSIBLE_GALAXY_SERVER"):
            continue
        if hidden_re.search(key):
            safe_env[key] = HIDDEN_PASSWORD
        elif isinstance(value, str) and urlpass_re.match(value):
            safe_env[key] = urlpass_re.sub(HIDDEN_PASSWORD, value)
    return safe_env


class _TowerNamespace:  # pylint: disable=too-few-public-methods
    pass


def inject_credential(credential_type, inputs, env, safe_env, args, private_data_dir):
    """credential.py CredentialType.inject_credential for a custom type (its own injectors).

    Empty inputs are left out of the namespace (so `default()` applies); secret fields read ********** in the safe
    namespace; file templates are rendered to private_data_dir/env (0600) and named by tower.filename (or
    tower.filename.<label> for "template.<label>"); env templates go to env and, rendered with the safe namespace, to
    safe_env; extra_vars templates go to an -e @file argument. Paths are the host's: our EE is this controller.
    """
    secret_fields = {item["id"] for item in credential_type["inputs"]["fields"] if item.get("secret")}
    tower = _TowerNamespace()
    namespace, safe_namespace = {"tower": tower}, {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool):
            namespace[name] = safe_namespace[name] = value
            continue
        if name in secret_fields:
            safe_namespace[name] = HIDDEN_PASSWORD
        elif len(value):
            safe_namespace[name] = value
        if len(value):
            namespace[name] = value
    for item in credential_type["inputs"]["fields"]:
        if item["type"] == "boolean" and item["id"] not in inputs:
            namespace[item["id"]] = safe_namespace[item["id"]] = False
    injectors = credential_type.get("injectors") or {}
    jinja = sandbox.ImmutableSandboxedEnvironment()
    written = []
    for label, template in (injectors.get("file") or {}).items():
        data = jinja.from_string(template).render(**namespace)
        _handle, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        os.close(_handle)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        written.append(path)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = _TowerNamespace()
            setattr(tower.filename, label.split(".")[1], path)
    for name, template in (injectors.get("env") or {}).items():
        env[name] = jinja.from_string(template).render(**namespace)
        safe_env[name] = jinja.from_string(template).render(**safe_namespace)
    if injectors.get("extra_vars") and "INVENTORY_UPDATE_ID" not in env:
        def render(node):
            if isinstance(node, dict):
                return {render(key): render(value) for key, value in node.items()}
            if isinstance(node, list):
                return [render(value) for value in node]
            return jinja.from_string(node).render(**namespace)
        _handle, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        with os.fdopen(_handle, "w") as handle:
            handle.write(safe_dump(render(injectors["extra_vars"])))
        os.chmod(path, stat.S_IRUSR)
        written.append(path)
        args.extend(["-e", "@" + path])
    return written


# --- the launch --------------------------------------------------------------------------------------------------------
@dataclass
class Job:
    """What AWX would keep of a job: status, rc, its events and stdout, the stored environment, the files written."""
    rc: int
    status: str
    stdout: str
    events: list
    safe_env: dict
    extra_vars: dict
    private_data_dir: str
    credential_files: list = field(default_factory=list)

    def task_results(self, task_name):
        return [event["event_data"].get("res", {}) for event in self.events
                if event.get("event") == "runner_on_ok" and event["event_data"].get("task") == task_name]

    def recap(self):
        stats = [event["event_data"] for event in self.events if event.get("event") == "playbook_on_stats"]
        if not stats:
            return {}
        counters = ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")
        hosts = set().union(*(set(stats[-1].get(counter) or {}) for counter in counters))
        return {host: {counter: (stats[-1].get(counter) or {}).get(host, 0) for counter in counters} for host in hosts}

    def changed_tasks(self):
        return [(event["event_data"].get("host"), event["event_data"].get("task")) for event in self.events
                if event.get("event") == "runner_on_ok" and event["event_data"].get("res", {}).get("changed")]


def _inventory_script(private_data_dir, data):
    """jobs.py BaseTask.build_inventory: AWX hands the job its inventory as an executable script printing JSON."""
    os.makedirs(os.path.join(private_data_dir, "inventory"), exist_ok=True)
    path = os.path.join(private_data_dir, "inventory", "hosts")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#! %s\nimport sys\nsys.stdout.write(%r)\n" % (sys.executable, json.dumps(data)))
    os.chmod(path, stat.S_IRUSR | stat.S_IXUSR)
    return path


class AwxLaunch:
    """Launch job templates of awx/ the way AWX does, with one credential of our credential type.

    execution_env: the execution environment's own environment (collections path, the local cloud's endpoint...);
    it must not carry any Alibaba Cloud key: those come from the credential only.
    """

    def __init__(self, workdir, credential_inputs, execution_env, inventory_source=None):
        self.workdir = workdir
        self.credential_inputs = credential_inputs
        self.execution_env = dict(execution_env)
        self.inventory_source = inventory_source or os.path.join(ROOT, "inventory", "mlflow.alicloud_ecs.yml")
        self.credential_type = load_credential_type()
        self.templates = load_templates()
        self.jobs = 0

    def _private_data_dir(self):
        self.jobs += 1
        path = tempfile.mkdtemp(prefix="awx_%d_" % self.jobs, dir=self.workdir)
        os.makedirs(os.path.join(path, "env"), mode=0o700)
        return path

    def sync_inventory(self):
        """The inventory source update: ansible-inventory on the source with the credential injected."""
        private_data_dir = self._private_data_dir()
        env, safe_env = dict(self.execution_env), {}
        env["INVENTORY_UPDATE_ID"] = str(self.jobs)
        inject_credential(self.credential_type, self.credential_inputs, env, safe_env, [], private_data_dir)
        ansible_inventory = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
        proc = subprocess.run([ansible_inventory, "-i", self.inventory_source, "--list", "--export"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError("inventory sync failed: %s" % proc.stderr[-2000:])
        return json.loads(proc.stdout)

    def launch(self, template_name, answers, verbosity=0, job_template_extra_vars=None, job_timeout=1800):
        """One job: survey -> extra vars -> credential -> ansible-runner. Returns a Job (SurveyError if refused)."""
        import ansible_runner  # pylint: disable=import-outside-toplevel

        template = self.templates[template_name]
        extra_vars = survey_extra_vars(template, answers, job_template_extra_vars)
        inventory = self.sync_inventory()
        private_data_dir = self._private_data_dir()
        job_id = self.jobs
        all_vars = dict(extra_vars)
        all_vars.update(meta_vars(job_id, template_name))
        with open(os.path.join(private_data_dir, "env", "extravars"), "w", encoding="utf-8") as handle:
            handle.write(safe_dump(all_vars, job_template_extra_vars))
        os.chmod(os.path.join(private_data_dir, "env", "extravars"), stat.S_IRUSR | stat.S_IWUSR)
        # RunJob.build_args without a machine credential: -u root, then the verbosity.
        args = ["-u", "root"] + (["-" + "v" * min(5, verbosity)] if verbosity else [])
        env = dict(self.execution_env)
        env.update({"JOB_ID": str(job_id), "ANSIBLE_RETRY_FILES_ENABLED": "False",
                    "AWX_PRIVATE_DATA_DIR": private_data_dir})
        safe_env = build_safe_env(env)
        safe_cred_env = {}
        credential_files = inject_credential(self.credential_type, self.credential_inputs, env, safe_cred_env, args,
                                             private_data_dir)
        safe_env.update(safe_cred_env)
        with open(os.path.join(private_data_dir, "env", "cmdline"), "w", encoding="utf-8") as handle:
            handle.write(" ".join(shlex.quote(arg) for arg in args))
        with open(os.path.join(private_data_dir, "env", "settings"), "w", encoding="utf-8") as handle:
            json.dump({"job_timeout": job_timeout, "suppress_ansible_output": True, "suppress_output_file": True},
                      handle)
        runner = ansible_runner.run(
            ident=str(job_id), private_data_dir=private_data_dir, project_dir=ROOT, playbook=template["playbook"],
            inventory=_inventory_script(private_data_dir, inventory), suppress_env_files=True, envvars=env,
            fact_cache_type="", quiet=True, timeout=job_timeout)
        events = list(runner.events)
        stdout = "\n".join(event.get("stdout", "") for event in events if event.get("stdout"))
        return Job(runner.rc, runner.status, stdout, events, safe_env, extra_vars, private_data_dir, credential_files)


def files_under(path):
    """Every regular file below path (what a job left in its private data dir)."""
    for base, _dirs, names in os.walk(path):
        for name in names:
            yield os.path.join(base, name)
