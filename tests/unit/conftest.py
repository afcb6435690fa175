"""Fixtures of the emulator tests: a fake clock, a started emulator, a real client, a pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exoscale.api.v2 import Client

from sandbox.emulator import EmulatorServer

from .emulator_kit import KEY, SECRET, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[EmulatorServer]:
    server = EmulatorServer(KEY, SECRET, clock=clock, boot_delay_s=30, op_delay_s=2, destroy_delay_s=5,
                            seed=7, tick_interval_s=0.01)
    with server:
        yield server


@pytest.fixture
def client(emu: EmulatorServer) -> Client:
    return Client(KEY, SECRET, url=emu.url)


@pytest.fixture
def pool_id(emu: EmulatorServer) -> str:
    return emu.create_pool(2)
