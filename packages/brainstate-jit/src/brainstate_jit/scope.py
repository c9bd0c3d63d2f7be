"""Named regions of a program: ``named_scope`` (a named, compiled sub-program) and ``named_call``.

* ``named_scope(name)`` compiles the decorated function as its own ``jit`` equation called ``name``. It is
  visible as ``jit[name=...]`` in :func:`brainstate_ir.make_jaxpr` output and as one block in profiles, and
  it is compiled once per static configuration. On a method, ``self`` is bound (not an argument of the
  program; static positions count it); each instance keeps its own compiled programs, one per value of its
  plain attributes (numbers, strings), so ``self.tau = 5.`` takes effect on the next call.
* ``named_call(fun, name=...)`` only prefixes the operations' names with ``name`` (``jax.named_scope``); it
  adds no equation and no compilation boundary.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

import jax

from .jit import JittedFunction, jit

__all__ = ["NamedScopeFunction", "named_call", "named_scope"]

P = ParamSpec("P")
R = TypeVar("R")

#: A static argument spec: positions / names, or a callable computing them from the call's arguments.
StaticArgnums = int | Sequence[int] | Callable[..., int | Sequence[int] | None] | None
StaticArgnames = str | Sequence[str] | Callable[..., str | Sequence[str] | None] | None


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{where}: name must be a str, got {type(name).__name__} ({name!r}).")
    if not name:
        raise ValueError(f"{where}: name must be a non-empty str.")
    return name


def _check_spec(spec: Any, kind: type, what: str) -> None:
    if spec is None or callable(spec) or isinstance(spec, kind):
        return
    if isinstance(spec, (list, tuple)) and all(isinstance(s, kind) and not isinstance(s, bool) for s in spec):
        return
    raise TypeError(
        f"named_scope: {what} must be {kind.__name__}, a sequence of them, a callable of the call arguments "
        f"returning them, or None; got {spec!r}."
    )


def _positional_names(fun: Callable[..., Any]) -> tuple[str, ...]:
    """Names of the parameters that can be passed by position (empty if the signature is unknown)."""
    try:
        parameters = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD,)
    return tuple(p.name for p in parameters if p.kind in kinds)


class NamedScopeFunction(Generic[P, R]):
    """A function compiled as a named ``jit`` equation; created by :func:`named_scope`.

    Attributes
    ----------
    origin_fun
        The decorated function.
    name
        The name of the compiled sub-program.
    jit_cache
        One :class:`~brainstate_jit.JittedFunction` per resolved ``(static_argnums, static_argnames)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_jit.scope import named_scope
    >>> @named_scope('double')
    ... def double(x):
    ...     return 2 * x
    >>> float(double(jnp.array(3.0)))
    6.0
    >>> len(double.jit_cache)
    1
    """

    def __init__(
        self,
        fun: Callable[P, R],
        name: str,
        static_argnums: StaticArgnums = None,
        static_argnames: StaticArgnames = None,
    ) -> None:
        if not callable(fun):
            raise TypeError(f"named_scope({name!r}) must decorate a callable, got {type(fun).__name__}.")
        self.origin_fun = fun
        self.name = name
        self.static_argnums = static_argnums
        self.static_argnames = static_argnames
        self.jit_cache: dict[Hashable, JittedFunction[P, R]] = {}
        self._lock = threading.Lock()
        self._methods: weakref.WeakKeyDictionary[Any, _MethodScope] = weakref.WeakKeyDictionary()
        self._positional = _positional_names(fun)
        functools.update_wrapper(self, fun)

    def _resolve(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[int, ...], tuple[str, ...]]:
        nums = self.static_argnums
        names = self.static_argnames
        if callable(nums):
            nums = nums(*args, **kwargs)
        if callable(names):
            names = names(*args, **kwargs)
        if nums is None:
            nums = ()
        elif isinstance(nums, int):
            nums = (nums,)
        if names is None:
            names = ()
        elif isinstance(names, str):
            names = (names,)
        resolved = []
        names = tuple(names)
        for n in nums:
            if isinstance(n, bool) or not isinstance(n, int):
                raise TypeError(f"named_scope({self.name!r}): static_argnums must be ints, got {n!r}.")
            # The call's positional count is known here, so negative positions are unambiguous.
            position = n + len(args) if n < 0 else n
            if n >= len(args) and n < len(self._positional):
                # A static position passed by keyword (or left at its default): static by name, as in jax.jit.
                names = (*names, self._positional[n])
                continue
            if not 0 <= position < len(args):
                raise ValueError(
                    f"named_scope({self.name!r}): static_argnums contains {n}, but the function was called "
                    f"with {len(args)} positional argument(s). Pass that argument positionally or use "
                    "static_argnames."
                )
            resolved.append(position)
        for k in names:
            if not isinstance(k, str):
                raise TypeError(f"named_scope({self.name!r}): static_argnames must be strs, got {k!r}.")
        return tuple(sorted(set(resolved))), tuple(sorted(set(names)))

    def _jitted(self, nums: tuple[int, ...], names: tuple[str, ...]) -> JittedFunction[P, R]:
        key = (nums, names)
        jitted = self.jit_cache.get(key)
        if jitted is None:
            with self._lock:
                jitted = self.jit_cache.get(key)
                if jitted is None:
                    jitted = jit(self.origin_fun, static_argnums=nums, static_argnames=names, name=self.name)
                    self.jit_cache[key] = jitted
        return jitted

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        nums, names = self._resolve(args, kwargs)
        return self._jitted(nums, names)(*args, **kwargs)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # Used as a method decorator: `self` is bound (it is not an argument of the compiled program; its
        # States are found while tracing). Static positions count `self`, as in the method's signature.
        if instance is None:
            return self
        try:
            scope = self._methods.get(instance)
        except TypeError:  # an unhashable instance: no per-instance cache
            return BoundNamedScope(_MethodScope(self, instance), instance)
        if scope is None:
            scope = _MethodScope(self, instance)
            with contextlib.suppress(TypeError):  # not weak-referenceable: no per-instance cache
                self._methods[instance] = scope
        return BoundNamedScope(scope, instance)

    def __repr__(self) -> str:
        return f"NamedScopeFunction({self.name!r}, compiled_configs={len(self.jit_cache)})"


#: Compiled configurations kept per instance and static configuration (distinct plain-attribute values).
_MAX_ATTRIBUTE_CONFIGS = 16
_PLAIN_TYPES = (bool, int, float, complex, str, bytes, type(None))


def _plain_value(value: Any) -> bool:
    if isinstance(value, _PLAIN_TYPES):
        return True
    return isinstance(value, tuple) and all(_plain_value(v) for v in value)


def _plain_attributes(instance: Any) -> Hashable:
    """The instance's plain-valued attributes (numbers, strings, tuples of them): part of the cache key."""
    attributes = getattr(instance, "__dict__", None)
    if not isinstance(attributes, dict):
        return ()
    return tuple(
        (k, type(v), v) for k, v in sorted(attributes.items(), key=lambda kv: str(kv[0])) if _plain_value(v)
    )


class _MethodScope:
    """The compiled configurations of a :class:`NamedScopeFunction` for one instance (held weakly)."""

    def __init__(self, scope: NamedScopeFunction[Any, Any], instance: Any) -> None:
        self.scope = scope
        try:
            ref: Callable[[], Any] = weakref.ref(instance)
        except TypeError:
            ref = functools.partial(lambda obj: obj, instance)
        fun = scope.origin_fun

        def method(*args: Any, **kwargs: Any) -> Any:
            return fun(ref(), *args, **kwargs)

        functools.update_wrapper(method, fun)
        # The signature without `self`, so static_argnames can find their positions.
        try:
            parameters = list(inspect.signature(fun).parameters.values())[1:]
            method.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            pass
        self.method = method
        self.jit_cache: OrderedDict[Hashable, JittedFunction[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def call(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        nums, names = self.scope._resolve((instance, *args), kwargs)
        # Position 0 is `self`, which is bound: the others shift by one.
        nums = tuple(n - 1 for n in nums if n != 0)
        # Plain attributes (``self.tau = 2.``) are compiled in: a changed value selects another program.
        key = (nums, names, _plain_attributes(instance))
        with self._lock:
            jitted = self.jit_cache.get(key)
            if jitted is None:
                jitted = jit(self.method, static_argnums=nums, static_argnames=names, name=self.scope.name)
                self.jit_cache[key] = jitted
                while len(self.jit_cache) > _MAX_ATTRIBUTE_CONFIGS:
                    self.jit_cache.popitem(last=False)
            else:
                self.jit_cache.move_to_end(key)
        return jitted(*args, **kwargs)


class BoundNamedScope:
    """A :class:`NamedScopeFunction` used as a method, bound to one instance (like a bound method).

    Attributes
    ----------
    __self__
        The instance.
    __func__
        The :class:`NamedScopeFunction`.
    """

    def __init__(self, method_scope: _MethodScope, instance: Any) -> None:
        self._method_scope = method_scope
        self.__self__ = instance
        self.__func__ = method_scope.scope
        self.__name__ = getattr(method_scope.scope.origin_fun, "__name__", method_scope.scope.name)
        self.__doc__ = method_scope.scope.origin_fun.__doc__

    @property
    def jit_cache(self) -> OrderedDict[Hashable, JittedFunction[Any, Any]]:
        """This instance's compiled functions, by ``(static_argnums, static_argnames, plain attributes)``."""
        return self._method_scope.jit_cache

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._method_scope.call(self.__self__, args, kwargs)

    def __repr__(self) -> str:
        return f"<bound NamedScopeFunction {self.__func__.name!r} of {self.__self__!r}>"


def named_scope(
    name: str,
    static_argnums: StaticArgnums = None,
    static_argnames: StaticArgnames = None,
) -> Callable[[Callable[P, R]], NamedScopeFunction[P, R]]:
    """Decorator: compile a function as its own ``jit`` equation named ``name``.

    The decorated function behaves like ``brainstate_jit.jit(fun, name=name, ...)``: the States it uses
    are tracked and written back, and inside another trace it appears as one ``jit[name=<name>]``
    equation. Static argument positions and names may depend on the call: pass a callable that receives
    the call's ``(*args, **kwargs)`` and returns them. One compiled function is kept per resolved static
    configuration.

    Parameters
    ----------
    name
        The sub-program's name (non-empty).
    static_argnums
        Positions of static arguments (negative positions count from the end of the call's positional
        arguments), or a callable of the call arguments returning them.
    static_argnames
        Names of static keyword arguments, or a callable of the call arguments returning them.

    Returns
    -------
    Callable
        A decorator producing a :class:`NamedScopeFunction`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_ir import make_jaxpr
    >>> from brainstate_jit.scope import named_scope
    >>> @named_scope('poly', static_argnums=1)
    ... def poly(x, degree):
    ...     return sum(x ** k for k in range(degree + 1))
    >>> float(poly(jnp.array(2.0), 2))
    7.0
    >>> jaxpr, _ = make_jaxpr(lambda x: poly(x, 2))(jnp.array(2.0))
    >>> [eqn.params['name'] for eqn in jaxpr.jaxpr.eqns]
    ['poly']
    """
    _check_name(name, "named_scope")
    _check_spec(static_argnums, int, "static_argnums")
    _check_spec(static_argnames, str, "static_argnames")

    def decorate(fun: Callable[P, R]) -> NamedScopeFunction[P, R]:
        return NamedScopeFunction(fun, name, static_argnums, static_argnames)

    return decorate


@overload
def named_call(fun: Callable[P, R], *, name: str | None = None) -> Callable[P, R]: ...


@overload
def named_call(
    fun: None = None, *, name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def named_call(fun: Callable[P, R] | None = None, *, name: str | None = None) -> Any:
    """Run ``fun`` inside ``jax.named_scope(name)``: its operations carry the name, no ``jit`` is added.

    Parameters
    ----------
    fun
        The function (omit it to use ``named_call(name=...)`` as a decorator).
    name
        The scope name; defaults to ``fun.__name__``.

    Returns
    -------
    Callable
        A function with the same signature and results as ``fun``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_jit.scope import named_call
    >>> @named_call(name='layer1')
    ... def layer(x):
    ...     return jnp.tanh(x)
    >>> jaxpr = jax.make_jaxpr(layer)(1.0)
    >>> [e.primitive.name for e in jaxpr.jaxpr.eqns]
    ['tanh']
    >>> str(jaxpr.jaxpr.eqns[0].source_info.name_stack)
    'layer1'
    """
    if name is not None:
        _check_name(name, "named_call")
    if fun is None:
        return functools.partial(named_call, name=name)
    if not callable(fun):
        raise TypeError(f"named_call needs a callable, got {type(fun).__name__}.")
    scope = name if name is not None else getattr(fun, "__name__", None)
    if not scope:
        raise ValueError(
            f"named_call: {type(fun).__name__} has no __name__; pass name=... to give the scope a name."
        )

    @functools.wraps(fun)
    def call_in_scope(*args: Any, **kwargs: Any) -> Any:
        with jax.named_scope(scope):
            return fun(*args, **kwargs)

    return call_in_scope
