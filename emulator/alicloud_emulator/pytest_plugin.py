"""Pytest fixtures: ``alicloud_emulator`` (a fresh emulator, fast clock) and ``alicloud_emulator_factory``.

Each emulator gets its own random key pair and admin token: a test reaching the admin endpoint over HTTP sends
``emulator.admin_headers()``; in-process calls (``requests()``, ``reset()`` ...) need none."""
import secrets

import pytest

from .server import Emulator

# Fast enough that an RDS instance is Running in about 2.4 s, while ECS still takes visibly less.
DEFAULT_TEST_CLOCK_SPEED = 200.0


def _new_emulator(**options):
    options.setdefault("access_key_id", "LTAI" + secrets.token_hex(8))
    options.setdefault("access_key_secret", secrets.token_urlsafe(24))
    options.setdefault("clock_speed", DEFAULT_TEST_CLOCK_SPEED)
    options.setdefault("admin_token", secrets.token_urlsafe(32))
    return Emulator(**options).start()


@pytest.fixture
def alicloud_emulator_factory():
    """Call with Emulator options (clock_speed, faults, seed, state_file, extra_credentials, backend ...);
    every emulator made is stopped at the end of the test."""
    started = []

    def make(**options):
        emulator = _new_emulator(**options)
        started.append(emulator)
        return emulator
    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def alicloud_emulator(alicloud_emulator_factory):
    """A fresh emulator on a free loopback port, clock at 200x, stopped after the test."""
    return alicloud_emulator_factory()
