"""Every public docstring's Examples section runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "_util",
    "_transform",
    "_grad",
    "_jacobian",
    "_hessian",
    "_forward",
    "_vjp_jvp",
    "_sofo",
    "_units",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(f"brainstate_autodiff.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_names_have_examples():
    import brainstate_autodiff

    for name in brainstate_autodiff.__all__:
        obj = getattr(brainstate_autodiff, name)
        assert obj.__doc__ and "Examples" in obj.__doc__, name
