"""Verify the reconfigure scenario: one restart for one change, none for no change, and the new setting in force."""
import json
import re

import pytest
import requests

SERVICE = "mlflow"


@pytest.fixture(scope="module")
def evidence(host):
    return json.loads(host.file("/root/reconfigure-evidence.json").content_string)


def journal_between(host, start_cursor, end_cursor=None):
    """systemd's own lines about the unit between two cursors (the end cursor's entry excluded)."""
    lines = host.check_output(
        "journalctl --no-pager -o cat _PID=1 UNIT=%s.service --after-cursor=%s", SERVICE, start_cursor).splitlines()
    if end_cursor is None:
        return lines
    later = host.check_output(
        "journalctl --no-pager -o cat _PID=1 UNIT=%s.service --after-cursor=%s", SERVICE, end_cursor).splitlines()
    return lines[: len(lines) - len(later)]


def test_the_change_restarted_the_service_exactly_once(host, evidence):
    before, changed = evidence["before"], evidence["changed"]
    assert before["InvocationID"] and changed["InvocationID"]
    assert before["InvocationID"] != changed["InvocationID"]
    lines = journal_between(host, before["Cursor"], changed["Cursor"])
    starts = [line for line in lines if line.startswith("Started ")]
    stops = [line for line in lines if line.startswith("Stopped ")]
    assert len(starts) == 1, lines
    assert len(stops) == 1, lines
    # A crash loop would also start it again: systemd counted no automatic restart.
    assert changed["NRestarts"] == "0"


def test_the_unchanged_run_did_not_restart(host, evidence):
    changed, unchanged = evidence["changed"], evidence["unchanged"]
    assert unchanged["InvocationID"] == changed["InvocationID"]
    assert unchanged["MainPID"] == changed["MainPID"]
    assert unchanged["ExecMainStartTimestampMonotonic"] == changed["ExecMainStartTimestampMonotonic"]
    lines = journal_between(host, changed["Cursor"])
    assert not [line for line in lines if line.startswith(("Started ", "Stopping ", "Stopped "))], lines


def test_the_new_port_and_worker_count_are_in_force(host):
    assert host.socket("tcp://0.0.0.0:5001").is_listening
    assert not host.socket("tcp://0.0.0.0:5000").is_listening
    main_pid = host.check_output("systemctl show -p MainPID --value %s", SERVICE)
    cmdline = host.check_output("tr '\\0' ' ' < /proc/%s/cmdline", main_pid)
    assert re.search(r"--port 5001\b", cmdline), cmdline
    assert re.search(r"--workers 2\b", cmdline), cmdline


def test_the_server_answers_on_the_new_port(host):
    address = host.check_output("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").strip()
    assert requests.get(f"http://{address}:5001/health", timeout=10).text.strip() == "OK"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:5000/health", timeout=10)
