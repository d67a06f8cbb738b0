"""A local emulator of the Alibaba Cloud ECS, VPC and RDS APIs that the unmodified official SDKs talk to."""
from .backend import InstanceBackend, SimulatedBackend
from .server import Emulator

__all__ = ["Emulator", "InstanceBackend", "SimulatedBackend"]
__version__ = "0.1.0"
