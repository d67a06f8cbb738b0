"""Requests the emulator cannot parse get a 4xx and a closed connection, never a 500, a dropped connection without
an answer, or a wait that does not end: bad percent-encodings, bytes that are not UTF-8, bad or conflicting
Content-Length headers, bodies that are too large or never arrive, and missing parameters. Raw sockets, so the
request is exactly as written."""
import json
import socket
import time

import pytest

from alicloud_emulator import server as emulator_server

# A request the test waits on for longer than this has hung.
ANSWER_SECONDS = 30


def raw_request(emulator, request_bytes, close_write=False):
    """Send request_bytes, return (status, headers, parsed JSON body) of the answer."""
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=ANSWER_SECONDS) as sock:
        sock.sendall(request_bytes)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed without an answer: %r" % received
            received += chunk
        head, _blank_line, body = received.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, headers, (json.loads(body) if body else {})


def http(method, target, headers=(), body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1"] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def admin_header(emulator):
    return "Authorization: Bearer " + emulator.admin_token


@pytest.mark.parametrize("query", [
    "Action=DescribeRegions&Version=2014-05-26&RegionId=%ZZ",
    "Action=DescribeRegions&Version=2014-05-26&RegionId=cn-hangzhou%",
    "Action=DescribeRegions%2&Version=2014-05-26",
])
def test_bad_percent_encoding_in_the_query_is_a_400(alicloud_emulator, query):
    status, headers, body = raw_request(alicloud_emulator, http("GET", "/?" + query))
    assert status == 400 and body["Code"] == "InvalidParameter.Encoding", body
    assert headers["connection"] == "close"


def test_query_that_decodes_to_bad_utf8_is_a_400(alicloud_emulator):
    status, _headers, body = raw_request(alicloud_emulator,
                                         http("GET", "/?Action=DescribeRegions&Version=2014-05-26&RegionId=%FF%FE"))
    assert status == 400 and "not UTF-8" in body["Message"], body


def test_form_body_that_is_not_utf8_is_a_400(alicloud_emulator):
    form = b"Action=DescribeRegions&Version=2014-05-26&RegionId=\xff\xfe"
    status, _headers, body = raw_request(alicloud_emulator, http(
        "POST", "/", ["Content-Type: application/x-www-form-urlencoded", "Content-Length: %d" % len(form)], form))
    assert status == 400 and body["Code"] == "InvalidParameter.Encoding", body


def test_form_body_with_a_bad_percent_escape_is_a_400(alicloud_emulator):
    form = b"Action=DescribeRegions&Version=2014-05-26&RegionId=%G1"
    status, _headers, body = raw_request(alicloud_emulator, http(
        "POST", "/", ["Content-Type: application/x-www-form-urlencoded", "Content-Length: %d" % len(form)], form))
    assert status == 400 and body["Code"] == "InvalidParameter.Encoding", body


@pytest.mark.parametrize("length_headers", [
    ["Content-Length: abc"],
    ["Content-Length: -5"],
    ["Content-Length: 1e3"],
    ["Content-Length: 3", "Content-Length: 4"],
])
def test_bad_content_length_is_a_400(alicloud_emulator, length_headers):
    status, headers, body = raw_request(alicloud_emulator, http("POST", "/", length_headers, b"abc"))
    assert status == 400 and body["Code"] == "InvalidContentLength", body
    assert headers["connection"] == "close"


def test_chunked_body_is_refused_with_411(alicloud_emulator):
    status, _headers, body = raw_request(alicloud_emulator, http(
        "POST", "/", ["Transfer-Encoding: chunked"], b"3\r\nabc\r\n0\r\n\r\n"))
    assert status == 411 and body["Code"] == "MissingContentLength", body


def test_huge_body_is_refused_before_it_is_read(alicloud_emulator):
    announced = emulator_server.MAX_BODY_BYTES + 1
    started = time.monotonic()
    # Only the headers are sent: the answer must come without waiting for (or reading) the body.
    status, _headers, body = raw_request(alicloud_emulator, http("POST", "/", ["Content-Length: %d" % announced]))
    assert status == 413 and body["Code"] == "RequestEntityTooLarge", body
    assert time.monotonic() - started < 5
    status, _headers, body = raw_request(alicloud_emulator, http("POST", "/", ["Content-Length: 99999999999999"]))
    assert status == 413, body


def test_a_body_that_ends_early_is_a_400(alicloud_emulator):
    status, _headers, body = raw_request(alicloud_emulator, http("POST", "/", ["Content-Length: 100"], b"short"),
                                         close_write=True)
    assert status == 400 and body["Code"] == "IncompleteBody", body


def test_a_body_that_never_arrives_is_a_408_not_a_hang(alicloud_emulator, monkeypatch):
    monkeypatch.setattr(emulator_server, "BODY_TIMEOUT_SECONDS", 1)
    started = time.monotonic()
    status, _headers, body = raw_request(alicloud_emulator, http("POST", "/", ["Content-Length: 100"], b"short"))
    assert status == 408 and body["Code"] == "RequestTimeout", body
    assert time.monotonic() - started < ANSWER_SECONDS
    # The emulator still serves others.
    status, _headers, body = raw_request(alicloud_emulator, http("GET", "/_emulator/health",
                                                                 [admin_header(alicloud_emulator)]))
    assert status == 200 and body["status"] == "ok"


@pytest.mark.parametrize("query, missing", [
    ("Version=2014-05-26", "Action"),
    ("Action=DescribeRegions", "Version"),
])
def test_missing_parameters_are_a_400_naming_them(alicloud_emulator, query, missing):
    status, _headers, body = raw_request(alicloud_emulator, http("GET", "/?" + query))
    assert status == 400 and body["Code"] == "MissingParameter" and '"%s"' % missing in body["Message"], body


@pytest.mark.parametrize("method, route, document", [
    ("POST", "faults", b"{not json"),
    ("POST", "faults", b"\xff\xfe{}"),
    ("POST", "faults", b"[1, 2]"),
    ("POST", "faults", b"{}"),
    ("POST", "faults", b'{"kind": "internal", "product": 5}'),
    ("POST", "faults", b'{"kind": "internal", "rate": "often"}'),
    ("POST", "faults", b'{"spec": 7}'),
    ("POST", "clock", b'{"advance": "soon"}'),
    ("POST", "clock", b'{"speed": null}'),
    ("GET", "requests?since=first", b""),
    ("GET", "requests?since=%ZZ", b""),
])
def test_malformed_admin_requests_are_a_400(alicloud_emulator, method, route, document):
    headers = [admin_header(alicloud_emulator), "Content-Type: application/json"]
    if document:
        headers.append("Content-Length: %d" % len(document))
    status, _headers, body = raw_request(alicloud_emulator, http(method, "/_emulator/" + route, headers, document))
    assert status == 400, body
    assert alicloud_emulator.faults.rules() == []


def test_no_answer_in_this_module_was_a_500(alicloud_emulator):
    """The request log of an emulator that saw every kind of malformed request above holds no 500."""
    for request_bytes in (http("GET", "/?Action=DescribeRegions&Version=2014-05-26&RegionId=%FF"),
                          http("GET", "/?Version=2014-05-26"), http("POST", "/", ["Content-Length: x"]),
                          http("GET", "/?Action=RunInstances&Version=2014-05-26")):
        status, _headers, _body = raw_request(alicloud_emulator, request_bytes)
        assert 400 <= status < 500, status
    assert all(entry["status"] != 500 for entry in alicloud_emulator.requests())
