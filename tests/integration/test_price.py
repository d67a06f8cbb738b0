"""The price inquiry: the two price modules against the emulator's price table, and deploy.yml's confirmation step.

Without approval, or in check mode, deploy.yml shows the estimate and the emulator's request log proves that nothing
but reads was sent. Runs use the simulated emulator and no inventory; stdin is /dev/null, as under AWX or CI.
"""
import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest
from alicloud_emulator.services import pricing

from conftest import ROOT, base_env

DEPLOYMENT = {
    "alicloud_infra_name": "price-mlflow",
    "alicloud_infra_region": "cn-hangzhou",
    "alicloud_infra_zone_id": "cn-hangzhou-h",
    "alicloud_infra_pay_type": "PostPaid",
    "alicloud_infra_ecs_instance_type": "ecs.g7.large",
    "alicloud_infra_ecs_password": "Vq7-ecs-Login",
    "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
    "alicloud_infra_rds_password": "Rk4(rds)Pass",
    "mlflow_server_auth_admin_password": "Adm1n-Secret-Zq",
    "alicloud_infra_ssh_allowed_cidrs": ["203.0.113.10/32"],
    "alicloud_infra_mlflow_allowed_cidrs": ["203.0.113.0/24"],
}
# The role's defaults for what it orders with the ECS instance and the RDS instance.
DISK_GB, DISK_CATEGORY, BANDWIDTH_MBPS, STORAGE_GB, STORAGE_TYPE = 40, "cloud_essd", 5, 20, "cloud_essd"
HOURLY, MONTHLY = 0, 1


def ok(result):
    assert not result.failed, result.result
    return result


def test_ecs_price_module_matches_the_table_per_hour_and_per_period(alicloud_emulator, run_module):
    common = dict(instance_type="ecs.g7.large", zone_id="cn-hangzhou-h", system_disk_category=DISK_CATEGORY,
                  system_disk_size=DISK_GB, internet_max_bandwidth_out=BANDWIDTH_MBPS,
                  internet_charge_type="PayByBandwidth")
    hourly = ok(run_module("alicloud_ecs_price_info", dict(common, pay_type="PostPaid"), env=alicloud_emulator.env()))
    items = {item["resource"]: item["trade_price"] for item in hourly["items"]}
    assert items == {
        "instanceType": pricing.ECS_INSTANCE_TYPE_PRICES["ecs.g7.large"][HOURLY],
        "systemDisk": round(DISK_GB * pricing.ECS_DISK_PER_GB[DISK_CATEGORY][HOURLY], 4),
        "bandwidth": round(BANDWIDTH_MBPS * pricing.ECS_BANDWIDTH_PER_MBPS_UP_TO_5[HOURLY], 4),
    }
    assert (hourly["price_unit"], hourly["per"], hourly["currency"]) == ("Hour", "hour", pricing.CURRENCY)
    assert hourly["trade_price"] == pytest.approx(sum(items.values()))

    monthly = ok(run_module("alicloud_ecs_price_info", dict(common, pay_type="PrePaid", period_months=3),
                            env=alicloud_emulator.env()))
    per_month = (pricing.ECS_INSTANCE_TYPE_PRICES["ecs.g7.large"][MONTHLY]
                 + DISK_GB * pricing.ECS_DISK_PER_GB[DISK_CATEGORY][MONTHLY]
                 + BANDWIDTH_MBPS * pricing.ECS_BANDWIDTH_PER_MBPS_UP_TO_5[MONTHLY])
    assert (monthly["price_unit"], monthly["period"], monthly["per"]) == ("Month", 3, "3 months")
    assert monthly["trade_price"] == pytest.approx(3 * per_month) and monthly["discount_price"] == 0

    yearly = ok(run_module("alicloud_ecs_price_info", dict(common, pay_type="PrePaid", period_months=24),
                           env=alicloud_emulator.env()))
    assert (yearly["price_unit"], yearly["period"]) == ("Year", 2)
    assert yearly["original_price"] == pytest.approx(24 * per_month)
    assert yearly["trade_price"] == pytest.approx(24 * per_month * (1 - pricing.YEARLY_DISCOUNT))
    assert yearly["rules"][0]["rule_id"] == pricing.YEARLY_RULE_ID


def test_rds_price_module_matches_the_table_per_hour_and_per_period(alicloud_emulator, run_module):
    common = dict(instance_class="pg.n2.2c.1m", zone_id="cn-hangzhou-h", storage=STORAGE_GB,
                  storage_type=STORAGE_TYPE, engine_version="16.0")
    hourly = ok(run_module("alicloud_rds_price_info", dict(common, pay_type="Postpaid"), env=alicloud_emulator.env()))
    per_hour = (pricing.RDS_CLASS_PRICES["pg.n2.2c.1m"][HOURLY]
                + STORAGE_GB * pricing.RDS_STORAGE_PER_GB[STORAGE_TYPE][HOURLY])
    assert hourly["trade_price"] == pytest.approx(per_hour) and hourly["per"] == "hour"
    monthly = ok(run_module("alicloud_rds_price_info", dict(common, pay_type="Prepaid", period="Month", used_time=6),
                            env=alicloud_emulator.env()))
    per_month = (pricing.RDS_CLASS_PRICES["pg.n2.2c.1m"][MONTHLY]
                 + STORAGE_GB * pricing.RDS_STORAGE_PER_GB[STORAGE_TYPE][MONTHLY])
    assert monthly["trade_price"] == pytest.approx(6 * per_month) and monthly["per"] == "6 months"
    sent = [entry["params"] for entry in alicloud_emulator.requests() if entry["action"] == "DescribePrice"]
    assert sent[-1]["TimeType"] == "Month" and sent[-1]["UsedTime"] == "6" and sent[-1]["PayType"] == "Prepaid"


@pytest.mark.parametrize("module, args, named", [
    ("alicloud_ecs_price_info", dict(instance_type="ecs.g7.large", system_disk_size=10), "system_disk_size"),
    ("alicloud_ecs_price_info", dict(instance_type="ecs.g7.large", pay_type="PrePaid", period_months=10),
     "period_months"),
    ("alicloud_ecs_price_info", dict(instance_type="g7.large"), "instance_type"),
    ("alicloud_rds_price_info", dict(instance_class="pg.n2.2c.1m", storage=22), "storage"),
    ("alicloud_rds_price_info", dict(instance_class="pg.n2.2c.1m", pay_type="Prepaid", used_time=12), "used_time"),
])
def test_bad_input_is_refused_naming_the_option_before_any_call(alicloud_emulator, run_module, module, args, named):
    result = run_module(module, args, env=alicloud_emulator.env())
    assert result.failed and result["msg"].startswith(named), result.result
    assert alicloud_emulator.requests() == []


def deploy(emulator, tmp_path, args=(), **overrides):
    """deploy.yml with stdin from /dev/null (no terminal, as in AWX or CI) and --limit localhost."""
    extra = dict(DEPLOYMENT, mlflow_deploy_secrets_dir=str(tmp_path / "secrets"), **overrides)
    vars_file = tmp_path / "deployment.json"
    vars_file.write_text(json.dumps(extra))
    vars_file.chmod(0o600)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/deploy.yml",
               "-e", "@" + str(vars_file), "--limit", "localhost"] + list(args)
    return subprocess.run(command, capture_output=True, text=True, env=base_env(emulator.env()), cwd=ROOT,
                          stdin=subprocess.DEVNULL, timeout=600, check=False)


def assert_estimate_shown(output):
    ecs_hour = round(pricing.ECS_INSTANCE_TYPE_PRICES["ecs.g7.large"][HOURLY]
                     + DISK_GB * pricing.ECS_DISK_PER_GB[DISK_CATEGORY][HOURLY], 4)
    rds_hour = round(pricing.RDS_CLASS_PRICES["pg.n2.2c.1m"][HOURLY]
                     + STORAGE_GB * pricing.RDS_STORAGE_PER_GB[STORAGE_TYPE][HOURLY], 4)
    assert "ECS ecs.g7.large (pay as you go): %s CNY per hour" % ecs_hour in output, output[-4000:]
    assert "RDS PostgreSQL 16.0 pg.n2.2c.1m with 20 GB cloud_essd (pay as you go): %s CNY per hour" % rds_hour \
        in output, output[-4000:]
    assert "Total: %.4f CNY per hour" % (ecs_hour + rds_hour) in output
    assert "Outbound traffic is billed per GB" in output


def assert_only_prices_asked(emulator):
    """The zone checks' reads (the region's zones, then what the zone sells) and the two price inquiries, nothing
    else."""
    actions = [(entry["product"], entry["action"]) for entry in emulator.requests()]
    assert sorted(actions) == [("ecs", "DescribeAvailableResource"), ("ecs", "DescribePrice"),
                               ("ecs", "DescribeRegions"), ("ecs", "DescribeRegions"), ("ecs", "DescribeZones"),
                               ("ecs", "DescribeZones"), ("rds", "DescribeAvailableClasses"),
                               ("rds", "DescribePrice")], actions
    assert not any(emulator.resources().values())


def test_deploy_without_approval_shows_the_price_and_creates_nothing(alicloud_emulator, tmp_path):
    run = deploy(alicloud_emulator, tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert_estimate_shown(output)
    assert "Not approved: nothing was ordered" in output and "mlflow_deploy_approve_cost: true" in output
    assert "ECS instance price-mlflow-ecs: ecs.g7.large" in output
    assert_only_prices_asked(alicloud_emulator)
    for secret in ("Vq7-ecs-Login", "Rk4(rds)Pass", alicloud_emulator.access_key_secret):
        assert secret not in output


def test_deploy_in_check_mode_shows_price_and_plan_and_creates_nothing(alicloud_emulator, tmp_path):
    run = deploy(alicloud_emulator, tmp_path, args=["--check"], mlflow_deploy_approve_cost=True)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert_estimate_shown(output)
    assert "Check mode: nothing was ordered or changed." in output
    assert "VPC price-mlflow-vpc 192.168.0.0/16" in output
    assert_only_prices_asked(alicloud_emulator)


def test_subscription_deploy_prices_both_instances_for_the_period(alicloud_emulator, tmp_path):
    run = deploy(alicloud_emulator, tmp_path, alicloud_infra_pay_type="PrePaid", alicloud_infra_prepaid_period_months=3)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    ecs_month = (pricing.ECS_INSTANCE_TYPE_PRICES["ecs.g7.large"][MONTHLY]
                 + DISK_GB * pricing.ECS_DISK_PER_GB[DISK_CATEGORY][MONTHLY])
    rds_month = (pricing.RDS_CLASS_PRICES["pg.n2.2c.1m"][MONTHLY]
                 + STORAGE_GB * pricing.RDS_STORAGE_PER_GB[STORAGE_TYPE][MONTHLY])
    assert "ECS ecs.g7.large (subscription): %s CNY per 3 months" % (3 * ecs_month) in output, output[-4000:]
    assert "(subscription): %s CNY per 3 months" % (3 * rds_month) in output, output[-4000:]
    assert "Total: %.2f CNY per 3 months" % (3 * (ecs_month + rds_month)) in output
    assert "Not approved: nothing was ordered" in output
    sent = {entry["product"]: entry["params"] for entry in alicloud_emulator.requests()
            if entry["action"] == "DescribePrice"}
    assert (sent["ecs"]["PriceUnit"], sent["ecs"]["Period"]) == ("Month", "3")
    assert (sent["rds"]["PayType"], sent["rds"]["TimeType"], sent["rds"]["UsedTime"]) == ("Prepaid", "Month", "3")
    assert_only_prices_asked(alicloud_emulator)


def take_terminal():
    """In the child: a new session whose controlling terminal is stdin."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def read_until(descriptor, marker, deadline):
    """What the terminal shows until marker appears (None: until the program closes it) or the deadline passes."""
    seen = b""
    while (marker is None or marker not in seen) and time.monotonic() < deadline:
        ready, _w, _x = select.select([descriptor], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # the program exited and closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.parametrize("answer", ["no", "yes"])
def test_interactive_deploy_asks_and_orders_only_after_yes(alicloud_emulator, tmp_path, answer):
    """On a terminal the deploy waits at the prompt; any answer but yes ends it with nothing ordered."""
    vars_file = tmp_path / "deployment.json"
    vars_file.write_text(json.dumps(dict(DEPLOYMENT, mlflow_deploy_secrets_dir=str(tmp_path / "secrets"))))
    vars_file.chmod(0o600)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/deploy.yml",
               "-e", "@" + str(vars_file), "--limit", "localhost"]
    question = b"Order these resources at the price above?"
    controller, terminal = pty.openpty()
    # The terminal is the run's controlling terminal on stdin and stdout, as in a shell: pause checks both.
    with subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, preexec_fn=take_terminal,
                          env=base_env(alicloud_emulator.env()), cwd=ROOT) as proc:
        os.close(terminal)
        output = read_until(controller, question, time.monotonic() + 300)
        assert question in output, output.decode(errors="replace")[-4000:]
        assert_only_prices_asked(alicloud_emulator)
        # pause discards what was typed before it reads: answer once it has put the terminal out of line mode (and
        # flushed it, a moment later).
        deadline = time.monotonic() + 60
        while termios.tcgetattr(controller)[3] & termios.ICANON and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        os.write(controller, answer.encode() + b"\r")
        if answer == "yes":
            # Ordering has begun once the first create reaches the cloud; the rest is other tests' business.
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not any(
                    entry["action"] == "CreateVpc" for entry in alicloud_emulator.requests()):
                read_until(controller, None, time.monotonic() + 1)
            proc.terminate()
        output += read_until(controller, None, time.monotonic() + 300)
        proc.wait(timeout=60)
    os.close(controller)
    output = output.decode(errors="replace").replace("\r\n", "\n")
    assert_estimate_shown(output)
    actions = [entry["action"] for entry in alicloud_emulator.requests()]
    if answer == "yes":
        prices = [index for index, action in enumerate(actions) if action == "DescribePrice"]
        assert len(prices) == 2 and "CreateVpc" in actions and max(prices) < actions.index("CreateVpc"), actions
    else:
        assert proc.returncode == 0, output[-4000:]
        assert "Not approved: nothing was ordered" in output
        assert_only_prices_asked(alicloud_emulator)
