"""Every test of this package runs under leak checks: no State may be left holding a tracer, and
JAX's own leak checker (`jax.checking_leaks`) is on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brainstate_state.testing import leak_checks


@pytest.fixture(autouse=True)
def _no_leaked_tracers() -> Iterator[None]:
    with leak_checks(jax_leaks=True):
        yield
