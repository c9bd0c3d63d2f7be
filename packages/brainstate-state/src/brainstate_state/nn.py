"""``nn.Module``: the base class of stateful models (the base only; no layer zoo).

A Module is a graph :class:`~brainstate_state.graph.Node`: its States and sub-modules are found by walking
its attributes. Calling a module calls its :meth:`Module.update`. The brainstate transforms take modules
as plain callables (``jit(model)``).

Examples
--------
>>> import jax.numpy as jnp
>>> import brainstate_state as bss
>>> class Linear(bss.nn.Module):
...     def __init__(self, din, dout):
...         super().__init__()
...         self.w = bss.ParamState(jnp.ones((din, dout)))
...         self.b = bss.ParamState(jnp.zeros(dout))
...     def update(self, x):
...         return x @ self.w.value + self.b.value
>>> model = Linear(3, 1)
>>> model(jnp.ones((2, 3)))
Array([[3.],
       [3.]], dtype=float32)
>>> list(model.states(bss.ParamState))
[('b',), ('w',)]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._catcher import NewStateCatcher, catch_new_states
from ._state import ParamState
from .containers import Path, sort_key
from .filters import Filter, to_predicate
from .graph import Node, iter_leaf, iter_node, nodes, states
from .graph._query import Hierarchy

__all__ = ["Module", "init_all_states", "reset_all_states"]

_ALL: Hierarchy = (0, 2**31 - 1)


def _dotted(path: Path) -> str:
    return ".".join(str(k) for k in path)


def _join(prefix: str, path: Path) -> str:
    name = _dotted(path)
    return f"{prefix}.{name}" if prefix and name else prefix or name


class Module(Node):
    """Base class of stateful models.

    Parameters
    ----------
    name
        An optional name, shown in reprs.

    Notes
    -----
    Subclasses define :meth:`update` (what calling the module does), and optionally :meth:`init_state`
    and :meth:`reset_state` for states that depend on a batch size or must be reset between trials.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> class Counter(bss.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.n = bss.State(jnp.array(0))
    ...     def update(self):
    ...         self.n.value += 1
    ...         return self.n.value
    >>> counter = Counter()
    >>> counter(), counter()
    (Array(1, dtype=int32, weak_type=True), Array(2, dtype=int32, weak_type=True))
    """

    def __init__(self, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"Module name must be a string or None, but got {name!r} of type {type(name).__name__}."
            )
        self._name = name

    @property
    def name(self) -> str | None:
        """The module's name, or ``None``."""
        return self.__dict__.get("_name")

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call :meth:`update` with the same arguments."""
        return self.update(*args, **kwargs)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module does; subclasses must define it (or override ``__call__``).

        Raises
        ------
        NotImplementedError
            Always, in the base class.
        """
        raise NotImplementedError(
            f"{type(self).__name__}.update() is not implemented: calling a Module calls its update() method. "
            f"How to fix: define `def update(self, ...)` in {type(self).__name__} (or override __call__)."
        )

    # ------------------------------------------------------------------ states and sub-modules
    def states(self, *filters: Filter, allowed_hierarchy: Hierarchy = _ALL) -> Any:
        """The live States of this module and its sub-modules, keyed by path tuples (sorted).

        See :func:`brainstate_state.graph.states`; with several filters, a tuple of FlattedDicts.
        """
        return states(self, *filters, allowed_hierarchy=allowed_hierarchy)

    def state_trees(self, *filters: Filter) -> Any:
        """The live States as NestedDicts (one per filter; one NestedDict without filters).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> import brainstate_state as bss
        >>> class M(bss.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = bss.ParamState(jnp.ones(1))
        >>> list(M().state_trees())
        ['w']
        """
        found = states(self, *filters)
        if isinstance(found, tuple):
            return tuple(flat.to_nest() for flat in found)
        return found.to_nest()

    def nodes(self, *filters: Filter, allowed_hierarchy: Hierarchy = _ALL) -> Any:
        """The graph nodes under this module (itself at path ``()``), keyed by path tuples."""
        return nodes(self, *filters, allowed_hierarchy=allowed_hierarchy)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct sub-modules (names like ``'encoder'`` or ``'layers.0'``).

        Examples
        --------
        >>> import brainstate_state as bss
        >>> class Net(bss.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layers = [bss.nn.Module(), bss.nn.Module()]
        >>> [name for name, _ in Net().named_children()]
        ['layers.0', 'layers.1']
        """
        for path, node in iter_node(self, (1, 1)):
            if isinstance(node, Module):
                yield _dotted(path), node

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules."""
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "", include_self: bool = True) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for this module (named ``prefix``) and every sub-module, each once.

        Pre-order (a module before its sub-modules), sub-modules in sorted attribute order; names are
        dotted paths (``'layers.0'``) behind ``prefix + '.'`` when ``prefix`` is given.
        """
        for path, node in iter_node(self):
            if isinstance(node, Module) and (include_self or path):
                yield _join(prefix, path), node

    def modules(self, include_self: bool = True) -> Iterator[Module]:
        """Yield this module (unless ``include_self=False``) and every sub-module, each once (pre-order)."""
        for _, module in self.named_modules(include_self=include_self):
            yield module

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, ParamState[Any]]]:
        """Yield ``(name, state)`` for every :class:`ParamState` (names like ``'layer.w'``).

        With ``recurse=False`` only this module's own ParamStates (not those of its sub-modules); names
        start with ``prefix + '.'`` when ``prefix`` is given.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> import brainstate_state as bss
        >>> class M(bss.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = bss.ParamState(jnp.ones(1))
        ...         self.h = bss.HiddenState(jnp.ones(1))
        >>> [name for name, _ in M().named_parameters()]
        ['w']
        """
        sub_modules = set() if recurse else {p for p, n in iter_node(self) if p and isinstance(n, Module)}
        for path, state in iter_leaf(self):
            if not isinstance(state, ParamState):
                continue
            if not recurse and any(path[:i] in sub_modules for i in range(1, len(path))):
                continue
            yield _join(prefix, path), state

    def parameters(self, recurse: bool = True) -> Iterator[ParamState[Any]]:
        """Yield every :class:`ParamState`, each once (``recurse=False``: only this module's own)."""
        for _, state in self.named_parameters(recurse=recurse):
            yield state

    # ------------------------------------------------------------------ state initialisation
    def init_state(self, *args: Any, **kwargs: Any) -> None:
        """Create this module's own batch-dependent states (default: nothing)."""

    def reset_state(self, *args: Any, **kwargs: Any) -> None:
        """Reset this module's own states, e.g. between trials (default: nothing)."""

    def init_all_states(
        self, *args: Any, state_tag: str | None = None, node_to_exclude: Filter = None, **kwargs: Any
    ) -> NewStateCatcher:
        """Call :meth:`init_state` on every sub-module and then this one; see :func:`init_all_states`.

        Returns the :class:`NewStateCatcher` holding the States created meanwhile.
        """
        with catch_new_states(state_tag) as catcher:
            _call_all(self, "init_state", args, kwargs, node_to_exclude)
        return catcher

    def reset_all_states(self, *args: Any, node_to_exclude: Filter = None, **kwargs: Any) -> None:
        """Call :meth:`reset_state` on every sub-module and then this one; see :func:`reset_all_states`."""
        _call_all(self, "reset_state", args, kwargs, node_to_exclude)

    def _repr_fields(self) -> list[str]:
        return [f"name={self.name!r}"] if self.name is not None else []


def _check_module(module: Any, what: str) -> None:
    if not isinstance(module, Node):
        raise TypeError(f"{what} expects an nn.Module (or graph Node), but got {type(module).__name__}.")


def _post_order_key(path: Path) -> tuple[Any, ...]:
    # A node sorts after everything under it; siblings in sorted key order.
    return (*((0, sort_key(k)) for k in path), (1,))


def _call_all(
    module: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], node_to_exclude: Filter
) -> None:
    """Call ``method(*args, **kwargs)`` on every Module of the graph, children before parents, each once."""
    _check_module(module, method.replace("_state", "_all_states"))
    excluded = None if node_to_exclude is None else to_predicate(node_to_exclude)
    found = [(path, node) for path, node in iter_node(module) if isinstance(node, Module)]
    found.sort(key=lambda item: _post_order_key(item[0]))
    for path, node in found:
        if excluded is None or not excluded(path, node):
            getattr(node, method)(*args, **kwargs)


def init_all_states(
    target: Any,
    *init_args: Any,
    node_to_exclude: Filter = None,
    state_tag: str | None = None,
    **init_kwargs: Any,
) -> Any:
    """Call ``init_state(*init_args, **init_kwargs)`` on every module of the graph, each once, children
    before their parent (so a parent's ``init_state`` can use its children's states); returns ``target``.

    Parameters
    ----------
    target
        The root module.
    *init_args, **init_kwargs
        Passed to every ``init_state``.
    node_to_exclude
        A filter (a type, a predicate ``(path, node) -> bool``, ...): matching modules are skipped.
    state_tag
        A tag added to every State created meanwhile.

    Returns
    -------
    The ``target`` (as brainstate 0.5.4); use ``target.init_all_states(...)`` to get the created States.

    Examples
    --------
    >>> from brainstate_state.nn import init_all_states
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> class Cell(bss.nn.Module):
    ...     def init_state(self, batch_size):
    ...         self.v = bss.HiddenState(jnp.zeros((batch_size, 2)))
    >>> cell = init_all_states(Cell(), 4, state_tag='hidden')
    >>> cell.v.value.shape, cell.v.tag
    ((4, 2), 'hidden')
    """
    with catch_new_states(state_tag):
        _call_all(target, "init_state", init_args, init_kwargs, node_to_exclude)
    return target


def reset_all_states(
    target: Any, *reset_args: Any, node_to_exclude: Filter = None, **reset_kwargs: Any
) -> Any:
    """Call ``reset_state(*reset_args, **reset_kwargs)`` on every module of the graph, each once, children
    before their parent, skipping modules matched by ``node_to_exclude``; returns ``target``.

    Examples
    --------
    >>> from brainstate_state.nn import reset_all_states
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> class Cell(bss.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.v = bss.HiddenState(jnp.ones(2))
    ...     def reset_state(self):
    ...         self.v.value = jnp.zeros(2)
    >>> cell = Cell()
    >>> _ = reset_all_states(cell)
    >>> cell.v.value
    Array([0., 0.], dtype=float32)
    """
    _call_all(target, "reset_state", reset_args, reset_kwargs, node_to_exclude)
    return target
