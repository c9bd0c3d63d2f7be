"""Integration-test setup: host callbacks finish in the test that dispatched them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brainstate_ir import compat


@pytest.fixture(autouse=True)
def _host_callbacks_finish_in_their_test() -> Iterator[None]:
    # On GPU and TPU a raw jax.jit returns before its host callbacks ran: a failed check would surface in
    # whichever test synchronises next. Waiting here makes it fail the test that dispatched it.
    yield
    try:
        compat.wait_for_host_callbacks()
    except Exception as e:  # pragma: no cover - only where dispatch is asynchronous (GPU, TPU)
        pytest.fail(f"a host callback dispatched by this test failed after the test returned: {e}")
