"""Exoscale v2 API emulator for tests, benchmarks and the local sandbox (loopback only).

Public entry points: `EmulatorServer` (HTTP shell), `Model` (platform state), fault and log types.
"""

from .entities import Instance, ModelError, Operation, Pool
from .faults import FaultConfig, FaultRule, Outage
from .logs import OperationRecord, RequestRecord
from .model import Model
from .server import EmulatorServer

__all__ = [
           "EmulatorServer",
           "FaultConfig",
           "FaultRule",
           "Instance",
           "Model",
           "ModelError",
           "Operation",
           "OperationRecord",
           "Outage",
           "Pool",
           "RequestRecord",
]
