"""Test-wide guards and fixtures.

Any attempt to reach a host other than loopback fails the test: tests never touch the
internet or a model hub.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.seeding import SeededRandom, replayable_rng

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", ""}
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


class NetworkAccessError(RuntimeError):
    pass


def _host_of(address: Any) -> str | None:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return None  # unix sockets and the like


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = _host_of(address)
    if host is not None and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise NetworkAccessError(f"test tried to reach {address!r}: tests must stay on loopback")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    host = _host_of(address)
    if host is not None and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise NetworkAccessError(f"test tried to reach {address!r}: tests must stay on loopback")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and str(name) not in LOOPBACK_HOSTS and not str(name).startswith("127."):
        raise NetworkAccessError(f"test tried to resolve {name!r}: tests must stay on loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = _real_getaddrinfo


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip("../shared/datasets is not present")
    return SHARED_DATASETS


@pytest.fixture
def seeded_rng(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> SeededRandom:
    """A random generator whose seed is printed before the test (past pytest's capture, so it shows even
    when the test hangs or passes) and taken from STEWARD_TEST_SEED if set."""

    def announce(line: str) -> None:
        with capsys.disabled():
            print(line, flush=True)

    return replayable_rng(request.node.nodeid, announce)
