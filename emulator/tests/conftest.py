"""Fixtures of the emulator's tests (helpers live in emu_helpers.py)."""
import pytest

from .emu_helpers import FROZEN_CLOCK_SPEED, PROXY_VARIABLES, LegacyApi, build_network, tea_rds_client


@pytest.fixture(scope="session", autouse=True)
def _loopback_only():
    """Both SDKs would send loopback traffic through a proxy; the Tea credential chain would try the metadata
    address. Session scope, so that module-scoped emulators are covered too."""
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        yield


@pytest.fixture
def api(alicloud_emulator):
    return LegacyApi(alicloud_emulator)


@pytest.fixture
def rds(alicloud_emulator):
    return tea_rds_client(alicloud_emulator)


@pytest.fixture
def network(api, alicloud_emulator):
    return build_network(api, alicloud_emulator)


@pytest.fixture
def frozen_emulator(alicloud_emulator_factory):
    return alicloud_emulator_factory(clock_speed=FROZEN_CLOCK_SPEED)


@pytest.fixture
def frozen_api(frozen_emulator):
    return LegacyApi(frozen_emulator)
