"""``alicloud-emulator``: serve the emulated cloud until interrupted."""
import argparse
import os
import secrets
import signal
import stat
import sys
import tempfile
import threading

from .faults import FAULT_KINDS, parse_fault_spec
from .ram import RamPolicy
from .server import DEFAULT_REGION, Emulator

EPILOG = f"""\
fault specs (--fault, repeatable): KIND[:FIELD]... with KIND one of {', '.join(FAULT_KINDS)}:
  throttling   ECS/VPC answer 400 Throttling.User; RDS answers 400 Throttling with x-acs-retry-after
  unavailable  503 ServiceUnavailable
  internal     500 InternalError
  lost         the action is applied, then the connection is closed without a reply
a FIELD is a rate with a decimal point (0.1), a count as a plain integer (3), an action name
(RunInstances), product=ecs|vpc|rds, or the explicit rate=X / count=N / action=NAME. Rates draw from an
RNG seeded with --seed, so a run repeats. Examples:
  --fault throttling:0.1            one request in ten is throttled
  --fault lost:RunInstances:1       the next RunInstances reply is lost (the instances exist)
  --fault unavailable:product=rds:0.5

clock: lifecycle durations at speed 1 follow the real cloud (VPC ~5 s, ECS instance ~40 s to Running,
RDS instance ~8 min to Running); --clock-speed 200 runs them 200 times faster.

admin endpoint (JSON, no signature, loopback use; every request carries "Authorization: Bearer TOKEN" with the
admin token, else 401): GET /_emulator/requests[?since=N],
GET /_emulator/resources, GET|POST|DELETE /_emulator/faults ({{"kind","rate","action","product","count"}}
or {{"spec": "throttling:0.1"}}), POST /_emulator/reset, POST /_emulator/clock ({{"advance": s, "speed": x}}),
GET /_emulator/health.

The secret may also come from the environment variable ALICLOUD_EMULATOR_SECRET, which keeps it out of
the process list. The admin token, likewise, comes from ALICLOUD_EMULATOR_ADMIN_TOKEN or from
--admin-token-file (read if it exists, else created with a new token, mode 0600); with neither, a new token is
written to a 0600 file in a private temporary directory, whose path is printed after "listening on".
"""


def _key_pair(value):
    key_id, sep, secret = value.partition(":")
    if not sep or not key_id or not secret:
        raise argparse.ArgumentTypeError("expected ACCESS_KEY_ID:SECRET")
    return key_id, secret


def _ram_policy(value):
    key_id, sep, path = value.partition("=")
    if not sep or not key_id or not path:
        raise argparse.ArgumentTypeError("expected ACCESS_KEY_ID=PATH")
    try:
        return key_id, RamPolicy.from_file(path)
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"{path}: {error}") from None


def _fault(value):
    try:
        return parse_fault_spec(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_float(value):
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def build_parser():
    parser = argparse.ArgumentParser(
        prog="alicloud-emulator", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Serve a local emulation of Alibaba Cloud ECS (2014-05-26), VPC (2016-04-28) and RDS "
                    "(2014-08-15) on one address, for the official SDKs (endpoint override to HOST:PORT, http).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; the "
                        "API and the admin endpoint speak plain HTTP, keep it on loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    parser.add_argument("--access-key-id", required=True, help="the AccessKey ID clients must sign with")
    parser.add_argument("--access-key-secret", default=os.environ.get("ALICLOUD_EMULATOR_SECRET"),
                        help="its secret (or env ALICLOUD_EMULATOR_SECRET)")
    parser.add_argument("--extra-key", type=_key_pair, action="append", default=[], metavar="AK:SECRET",
                        help="another accepted key pair (repeatable)")
    parser.add_argument("--region", default=DEFAULT_REGION, help=f"default region reported to clients "
                        f"(default {DEFAULT_REGION})")
    parser.add_argument("--clock-speed", type=_positive_float, default=1.0,
                        help="emulated seconds per real second for lifecycle transitions (default 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of resource ids and fault rates (default 0)")
    parser.add_argument("--fault", type=_fault, action="append", default=[], metavar="SPEC",
                        help="inject a fault from the start (repeatable; see below)")
    parser.add_argument("--state-file", metavar="PATH", help="load the cloud from PATH at start and save it "
                        "there on change and at exit (mode 0600), so a demo can stop and resume")
    parser.add_argument("--backend", choices=("simulated", "containers"), default="simulated",
                        help="what instances are: 'simulated' (addresses only, the default) or 'containers' (a "
                        "Docker container per ECS and RDS instance, see emulator/CONTAINER_BACKEND.md)")
    parser.add_argument("--ram-policy", type=_ram_policy, action="append", default=[], metavar="AK=PATH",
                        help="bind the key AK to the RAM policy document at PATH (JSON, repeatable): its requests "
                        "for actions the policy does not allow get 403 Forbidden.RAM")
    parser.add_argument("--admin-token-file", metavar="PATH", help="the admin endpoint's token: read from PATH "
                        "(mode 0600) if it exists, else generated into it (or env ALICLOUD_EMULATOR_ADMIN_TOKEN)")
    parser.add_argument("--verbose", action="store_true", help="print one line per API request on stderr")
    return parser


def _write_new_token(path):
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def admin_token(options, parser):
    """(token, file it is kept in or None). Never from an argument: a file or the environment."""
    if options.admin_token_file:
        path = options.admin_token_file
        if not os.path.exists(path):
            return _write_new_token(path), path
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            parser.error(f"--admin-token-file {path} is readable by others (mode {mode:04o}); chmod 600 it")
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
        if not token:
            parser.error(f"--admin-token-file {path} is empty")
        return token, path
    if os.environ.get("ALICLOUD_EMULATOR_ADMIN_TOKEN"):
        return os.environ["ALICLOUD_EMULATOR_ADMIN_TOKEN"], None
    path = os.path.join(tempfile.mkdtemp(prefix="alicloud-emulator-"), "admin-token")
    return _write_new_token(path), path


def main(argv=None):
    parser = build_parser()
    options = parser.parse_args(argv)
    if not options.access_key_secret:
        parser.error("--access-key-secret (or ALICLOUD_EMULATOR_SECRET) is required")
    token, token_file = admin_token(options, parser)
    backend = None
    if options.backend == "containers":
        # Imported only when asked for: it needs the docker CLI, the default backend needs nothing.
        from .container_backend import ContainerBackend
        # With a state file the next run adopts the containers, so they outlive this process.
        backend = ContainerBackend(keep_on_close=bool(options.state_file))
    emulator = Emulator(
        access_key_id=options.access_key_id, access_key_secret=options.access_key_secret, host=options.host,
        port=options.port, clock_speed=options.clock_speed, seed=options.seed, faults=options.fault,
        state_file=options.state_file, extra_credentials=dict(options.extra_key), region=options.region,
        verbose=options.verbose, backend=backend, ram_policies=dict(options.ram_policy), admin_token=token,
    )
    try:
        emulator.start()
    except OSError as error:
        print(f"alicloud-emulator: cannot listen on {options.host}:{options.port}: {error}", file=sys.stderr)
        return 1
    print(f"listening on {emulator.url}", flush=True)
    if token_file:
        print(f"admin token file: {token_file}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    emulator.stop()
    return 0
