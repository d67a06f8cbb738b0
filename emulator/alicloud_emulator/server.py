"""The emulator: HTTP front end, request dispatch, fault injection, request log, admin endpoint, state file."""
import hmac
import json
import os
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .services import ecs, pricing, rds, vpc
from .backend import SimulatedBackend
from .clock import Clock
from .errors import ApiError
from .faults import FaultInjector, FaultRule, fault_error, parse_fault_spec
from .params import SECRET_MARK, SECRET_PARAMETER, Params
from .ram import RamPolicy, forbidden
from .services import ACTIONS, PRODUCT_VERSIONS, JsonArray, RequestContext
from .signing import SignatureVerifier
from .state import CloudState

# Importing the product modules registers their handlers in ACTIONS.
PRODUCT_MODULES = (ecs, vpc, rds, pricing)
# Answers of these actions change nothing, so they never mark the state file dirty.
READ_ONLY_ACTION = re.compile(r"^(Describe|List|Get)")
DEFAULT_REGION = "cn-hangzhou"
HOST_IDS = {"ecs": "ecs.aliyuncs.com", "vpc": "vpc.aliyuncs.com", "rds": "rds.aliyuncs.com"}
# Bounds on what one request may make the emulator do: the largest body it reads (API calls are a few KB), and how
# long it waits for the bytes a Content-Length announced.
MAX_BODY_BYTES = 8 * 1024 * 1024
BODY_TIMEOUT_SECONDS = 15
# A % not followed by two hex digits: a malformed percent-encoding.
BAD_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class MalformedRequest(Exception):
    """A request the emulator cannot even parse: answered with a 4xx and the connection closed."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_form(text, where):
    """key -> value of a query string or form body; refuses bad percent-encodings and bytes that are not UTF-8."""
    if BAD_PERCENT_ESCAPE.search(text):
        raise MalformedRequest(400, "InvalidParameter.Encoding",
                               f"The {where} holds a % that does not start a two-digit hex escape.")
    try:
        return dict(parse_qsl(text, keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError as error:
        raise MalformedRequest(400, "InvalidParameter.Encoding",
                               f"The {where} decodes to bytes that are not UTF-8 ({error.reason}).") from None


def mask_params(params):
    return {key: (SECRET_MARK if SECRET_PARAMETER.search(key) else value)
            for key, value in params.items() if key != "Signature"}


def encode_body(body):
    """JSON bytes of an answer, splicing in pre-encoded JsonArray parts."""
    spliced = {}

    def placeholder(value):
        if isinstance(value, JsonArray):
            marker = f"\x00json-array-{len(spliced)}\x00"
            spliced[json.dumps(marker)] = value.encode()
            return marker
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=placeholder)
    for marker, encoded in spliced.items():
        text = text.replace(marker, encoded, 1)
    return text.encode("utf-8")


class Response:
    __slots__ = ("status", "headers", "body", "drop")

    def __init__(self, status, body, headers=None, drop=False):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.drop = drop


class Emulator:
    """One emulated cloud. ``start()`` serves it over HTTP; the same object is the pytest fixture."""

    def __init__(self, access_key_id="emulator-ak", access_key_secret="emulator-secret", host="127.0.0.1", port=0,
                 clock_speed=1.0, seed=0, faults=(), state_file=None, extra_credentials=None, backend=None,
                 region=DEFAULT_REGION, request_log_limit=50_000, verbose=False, ram_policies=None,
                 admin_token=None):
        if not access_key_id or not access_key_secret:
            raise ValueError("an access key id and secret are required")
        # The admin endpoint can read the request log and reset the cloud (removing every container of the
        # container backend): only a caller holding this token may use it. Generated unless given.
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.host = host
        self._requested_port = port
        self.region = region
        self.verbose = verbose
        credentials = {access_key_id: access_key_secret}
        credentials.update(extra_credentials or {})
        self.verifier = SignatureVerifier(credentials)
        # access key id -> RamPolicy: a key bound to a policy may call only what it allows; other keys are the owner.
        self.ram_policies = {key: policy if isinstance(policy, RamPolicy) else RamPolicy(policy)
                             for key, policy in (ram_policies or {}).items()}
        self.clock = Clock(clock_speed)
        self.backend = backend or SimulatedBackend()
        self.state = CloudState(self.clock, self.backend, seed=seed)
        self.seed = seed
        self.faults = FaultInjector(seed)
        self._startup_faults = [parse_fault_spec(f) if isinstance(f, str) else f for f in faults]
        self._arm_startup_faults()
        self._log = deque(maxlen=request_log_limit)
        self._log_lock = threading.Lock()
        self._log_total = 0
        self.state_file = state_file
        self._saved_version = None
        self._server = None
        self._threads = []
        self._stopping = threading.Event()
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as handle:
                self.state.load(json.load(handle))
            self._saved_version = self.state.version

    # --- life ----------------------------------------------------------------------------------------------------
    def start(self):
        emulator = self

        class Handler(EmulatorRequestHandler):
            pass
        Handler.emulator = emulator
        self._server = EmulatorHTTPServer((self.host, self._requested_port), Handler)
        self._stopping.clear()
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name="alicloud-emulator-http", daemon=True)
        tick = threading.Thread(target=self._tick, name="alicloud-emulator-clock", daemon=True)
        self._threads = [serve, tick]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self.save_state()
        self.backend.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _tick(self):
        """Apply due transitions in the background, so that backend hooks fire on time even without requests."""
        next_save = 0.0
        while not self._stopping.wait(0.1):
            try:
                self.state.run_due_events()
                if self.state_file and time.monotonic() >= next_save:
                    started = time.monotonic()
                    self.save_state()
                    # At most once a second, and never more than a tenth of the time: a big cloud is slow to dump.
                    next_save = time.monotonic() + max(1.0, 10 * (time.monotonic() - started))
            except Exception:  # the ticker must survive a faulty backend hook; the error is reported
                traceback.print_exc()

    @property
    def port(self):
        return self._server.server_address[1] if self._server else self._requested_port

    @property
    def endpoint(self):
        return f"{self.host}:{self.port}"

    @property
    def url(self):
        return f"http://{self.endpoint}"

    def admin_headers(self):
        """The header an admin endpoint request must carry."""
        return {"Authorization": "Bearer " + self.admin_token}

    def env(self):
        """Environment for a subprocess (ansible-playbook, a module) that should talk to this emulator."""
        return {"ALICLOUD_ACCESS_KEY": self.access_key_id, "ALICLOUD_SECRET_KEY": self.access_key_secret,
                "ALICLOUD_REGION": self.region, "ALICLOUD_ENDPOINT": self.url}

    # --- controls ------------------------------------------------------------------------------------------------
    def _arm_startup_faults(self):
        for rule in self._startup_faults:
            self.faults.add(FaultRule(rule.kind, rule.rate, rule.action, rule.product, rule.remaining))

    def inject_fault(self, kind, rate=1.0, action=None, product=None, count=None):
        rule = FaultRule(kind, rate=rate, action=action, product=product, count=count)
        self.faults.add(rule)
        return rule.to_dict()

    def clear_faults(self):
        self.faults.clear()

    def reset(self):
        """A fresh cloud: no resources, empty log, only the faults given at start."""
        with self.state.lock:
            self.state.clear()
            self.backend.reset()
        self.faults.clear()
        self._arm_startup_faults()
        with self._log_lock:
            self._log.clear()
            self._log_total = 0
        self.verifier.nonces.clear()

    def advance_clock(self, seconds):
        self.clock.advance(seconds)
        self.state.run_due_events()

    def set_clock_speed(self, speed):
        self.clock.set_speed(speed)

    def requests(self, since=0):
        """The request log (oldest first); ``since`` skips that many entries of the total so far."""
        with self._log_lock:
            entries = list(self._log)
            first_index = self._log_total - len(entries)
        return [dict(entry) for index, entry in enumerate(entries, start=first_index) if index >= since]

    def resources(self):
        return self.state.resources()

    def save_state(self):
        if not self.state_file or self.state.version == self._saved_version:
            return
        with self.state.lock:
            data = self.state.snapshot()
            version = self.state.version
        directory = os.path.dirname(os.path.abspath(self.state_file))
        handle, temporary = tempfile.mkstemp(prefix=".emulator-state-", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.state_file)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        self._saved_version = version

    # --- the API -------------------------------------------------------------------------------------------------
    def _record(self, entry):
        with self._log_lock:
            self._log.append(entry)
            self._log_total += 1

    def handle_api(self, method, path, query, headers, body):
        request_id = str(uuid.uuid4()).upper()
        form = {}
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedRequest(400, "InvalidParameter.Encoding", "The form body is not UTF-8.") from None
            form = parse_form(text, "form body")
        params = dict(query)
        params.update(form)
        action = params.get("Action") or headers.get("x-acs-action", "")
        version = params.get("Version") or headers.get("x-acs-version", "")
        product = PRODUCT_VERSIONS.get(version)
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "product": product, "action": action,
                 "version": version, "region": params.get("RegionId"), "params": mask_params(params),
                 "status": 200, "code": None, "request_id": request_id, "signature": None, "fault": None}
        fault = None
        try:
            if not action:
                raise ApiError("MissingParameter", 'The input parameter "Action" that is mandatory for processing '
                               'this request is not supplied.')
            if not version:
                raise ApiError("MissingParameter", 'The input parameter "Version" that is mandatory for processing '
                               'this request is not supplied.')
            if product is None:
                raise ApiError("InvalidVersion", f"Specified parameter Version {version} is not valid.")
            access_key_id, entry["signature"] = self.verifier.verify(method, path, query, form, headers, body)
            handler = ACTIONS.get((product, action))
            if handler is None:
                raise ApiError("InvalidAction.NotFound",
                               "Specified api is not found, please check your url and method.", status=404)
            policy = self.ram_policies.get(access_key_id)
            if policy is not None:
                decision = policy.decide(product, action)
                if decision != "Allow":
                    raise forbidden(access_key_id, product, action, decision)
            fault = self.faults.draw(product, action)
            entry["fault"] = fault
            if fault not in (None, "lost"):
                raise fault_error(fault, product)
            with self.state.lock:
                self.state.run_due_events()
                context = RequestContext(self.state, product, action, Params(params), request_id)
                answer = handler(context)
                if not READ_ONLY_ACTION.match(action):
                    self.state.touch()
            answer = dict(answer)
            answer["RequestId"] = request_id
            response = Response(200, answer, {"x-acs-request-id": request_id})
        except ApiError as error:
            entry["status"], entry["code"] = error.status, error.code
            body_out = {"RequestId": request_id, "HostId": HOST_IDS.get(product, "aliyuncs.com"),
                        "Code": error.code, "Message": error.message,
                        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product="
                                     f"{(product or '').capitalize()}&requestId={request_id}"}
            body_out.update(error.details)
            headers_out = {"x-acs-request-id": request_id}
            headers_out.update(error.headers)
            response = Response(error.status, body_out, headers_out)
        except Exception as error:  # a bug of ours: answer like the cloud does, and say what happened
            traceback.print_exc(file=sys.stderr)
            entry["status"], entry["code"] = 500, "InternalError"
            response = Response(500, {"RequestId": request_id, "Code": "InternalError",
                                      "Message": f"The request processing has failed due to some unknown error: "
                                                 f"{type(error).__name__}."}, {"x-acs-request-id": request_id})
        if fault == "lost":
            entry["status"], entry["code"] = None, "lost"
            response.drop = True
        self._record(entry)
        if self.verbose:
            print(f"{entry['time']} {product} {action} {entry['status']} {entry['code'] or ''}", file=sys.stderr)
        return response

    # --- the admin endpoint ----------------------------------------------------------------------------------------
    def admin_authorized(self, headers):
        scheme, _space, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.admin_token.encode())

    def handle_admin(self, method, route, query, body, headers=None):
        if not self.admin_authorized(headers or {}):
            return Response(401, {"error": "the admin endpoint needs the emulator's admin token: "
                                           "Authorization: Bearer <token>"}, {"WWW-Authenticate": "Bearer"})
        try:
            document = json.loads(body or b"{}") if method in ("POST", "DELETE") else {}
            if not isinstance(document, dict):
                raise ValueError("the body must be a JSON object")
            if route == "requests" and method == "GET":
                return Response(200, {"requests": self.requests(int(query.get("since", 0)))})
            if route == "resources" and method == "GET":
                return Response(200, self.resources())
            if route == "faults" and method == "GET":
                return Response(200, {"faults": self.faults.rules()})
            if route == "faults" and method == "POST":
                if "spec" in document:
                    self.faults.add(parse_fault_spec(document["spec"]))
                else:
                    self.inject_fault(document.get("kind"), rate=document.get("rate", 1.0),
                                      action=document.get("action"), product=document.get("product"),
                                      count=document.get("count"))
                return Response(200, {"faults": self.faults.rules()})
            if route == "faults" and method == "DELETE":
                self.clear_faults()
                return Response(200, {"faults": []})
            if route == "reset" and method == "POST":
                self.reset()
                return Response(200, {"reset": True})
            if route == "clock" and method in ("POST", "GET"):
                if "speed" in document:
                    self.set_clock_speed(float(document["speed"]))
                if "advance" in document:
                    self.advance_clock(float(document["advance"]))
                return Response(200, {"now": self.clock.now(), "speed": self.clock.speed})
            if route == "health" and method == "GET":
                return Response(200, {"status": "ok", "endpoint": self.endpoint})
            return Response(404, {"error": f"no admin route {method} /_emulator/{route}"})
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # Bad JSON, a body that is not UTF-8, a missing or mistyped field: the caller's mistake.
            return Response(400, {"error": f"{type(error).__name__}: {error}"})


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACKs cost 40 ms per reply.
    disable_nagle_algorithm = True
    server_version = "alicloud-emulator"
    sys_version = ""
    emulator = None

    def _read_body(self):
        """The body the headers announce, within MAX_BODY_BYTES and BODY_TIMEOUT_SECONDS, else MalformedRequest."""
        if self.headers.get("Transfer-Encoding"):
            raise MalformedRequest(411, "MissingContentLength", "Send the body with a Content-Length, not chunked.")
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if len(lengths) > 1:
            raise MalformedRequest(400, "InvalidContentLength", "The request has conflicting Content-Length headers.")
        length_text = lengths.pop() if lengths else "0"
        if not re.fullmatch(r"[0-9]{1,15}", length_text):
            raise MalformedRequest(400, "InvalidContentLength", "Content-Length must be a non-negative integer.")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise MalformedRequest(413, "RequestEntityTooLarge",
                                   f"The body may have at most {MAX_BODY_BYTES} bytes; {length} were announced.")
        if not length:
            return b""
        self.connection.settimeout(BODY_TIMEOUT_SECONDS)
        try:
            body = self.rfile.read(length)
        except (socket.timeout, TimeoutError):
            raise MalformedRequest(408, "RequestTimeout", f"The body did not arrive within {BODY_TIMEOUT_SECONDS} s "
                                   f"({length} bytes announced).") from None
        finally:
            self.connection.settimeout(None)
        if len(body) < length:
            raise MalformedRequest(400, "IncompleteBody", f"The body ended after {len(body)} of {length} bytes.")
        return body

    def _reject(self, error):
        """Answer a request that could not be parsed, and close the connection (its framing cannot be trusted)."""
        self.close_connection = True
        payload = encode_body({"RequestId": str(uuid.uuid4()).upper(), "Code": error.code, "Message": error.message})
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self):
        try:
            url = urlsplit(self.path)
            query = parse_form(url.query, "query string")
            body = self._read_body()
            headers = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value.strip()}" if key in headers else value.strip()
            if url.path.startswith("/_emulator/"):
                response = self.emulator.handle_admin(self.command, url.path[len("/_emulator/"):].strip("/"), query,
                                                      body, headers)
            else:
                response = self.emulator.handle_api(self.command, url.path or "/", query, headers, body)
        except MalformedRequest as error:
            self._reject(error)
            return
        if response.drop:
            # A lost reply: the action happened, the client sees the connection close without an answer.
            self.close_connection = True
            return
        payload = encode_body(response.body)
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        """Quiet: the request log (with secrets masked) is the record, not the raw URL with its query."""
