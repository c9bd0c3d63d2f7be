"""Built-in code generators for ``brainstate_ir.codegen``: one per primitive family.

Most primitives map onto the ``jax.lax`` function of the same name with their params as keyword
arguments (``generic_lax_handler``, which checks the function accepts them). The rest have a handler
here: renamed functions, list-valued operands, random keys, and primitives holding sub-jaxprs.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax

from ._codegen_context import CodegenContext, PrimHandler, UnsupportedPrimitiveError
from .compat import JIT_PRIMITIVE_NAMES, JaxprEqn, scan_num_consts_carry

__all__ = ["BUILTIN_HANDLERS", "generic_lax_handler"]

# Params that only describe placement or bookkeeping and never change values.
_IGNORED_PARAMS = frozenset({"sharding", "out_sharding", "weak_type", "update_jaxpr", "update_consts"})
_RENAMED = {
    "add_any": "add",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
    "not": "bitwise_not",
}


def _call(fn: str, args: list[str], kwargs: dict[str, str] | None = None) -> str:
    parts = [*args, *(f"{k}={v}" for k, v in (kwargs or {}).items())]
    return f"{fn}({', '.join(parts)})"


def _tuple(items: list[str]) -> str:
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"


def generic_lax_handler(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    """``lax.<name>(*args, **params)``, after checking ``lax.<name>`` exists and accepts the params."""
    name = eqn.primitive.name
    fn = getattr(jax.lax, _RENAMED.get(name, name), None)
    if fn is None or not callable(fn):
        raise UnsupportedPrimitiveError(
            f"no Python code generator for primitive '{name}'. Register one with "
            f"brainstate_ir.register_prim_handler('{name}', handler), where handler(ctx, eqn, args) returns "
            "a Python expression."
        )
    kwargs = {k: v for k, v in eqn.params.items() if v is not None and k not in _IGNORED_PARAMS}
    accepted = inspect.signature(fn).parameters
    rejected = [k for k in kwargs if k not in accepted]
    if rejected:
        raise UnsupportedPrimitiveError(
            f"primitive '{name}' has params {rejected} that lax.{fn.__name__} does not accept; register a "
            f"handler with brainstate_ir.register_prim_handler('{name}', handler)."
        )
    return _call(f"lax.{fn.__name__}", args, {k: ctx.fmt(v) for k, v in kwargs.items()})


def _identity(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    return args[0]


def _convert_element_type(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    return _call("lax.convert_element_type", [args[0], ctx.fmt(eqn.params["new_dtype"])])


def _iota(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    p = eqn.params
    return _call("lax.broadcasted_iota", [ctx.fmt(p["dtype"]), ctx.fmt(p["shape"]), ctx.fmt(p["dimension"])])


def _arg_reduce(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    (axis,) = eqn.params["axes"]
    fn = f"lax.{eqn.primitive.name}"
    return _call(fn, [args[0]], {"axis": ctx.fmt(axis), "index_dtype": ctx.fmt(eqn.params["index_dtype"])})


def _concatenate(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    return _call("lax.concatenate", [f"[{', '.join(args)}]"], {"dimension": ctx.fmt(eqn.params["dimension"])})


def _dynamic_slice(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    sizes = ctx.fmt(tuple(eqn.params["slice_sizes"]))
    return _call("lax.dynamic_slice", [args[0], _tuple(args[1:]), sizes])


def _dynamic_update_slice(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    return _call("lax.dynamic_update_slice", [args[0], args[1], _tuple(args[2:])])


def _sort(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    p = eqn.params
    kwargs = {k: ctx.fmt(p[k]) for k in ("dimension", "is_stable", "num_keys")}
    return _call("lax.sort", [_tuple(args)], kwargs)


def _random_impl(impl: Any) -> str:
    return repr(getattr(impl, "name", str(impl)))


def _scalar_key_only(eqn: JaxprEqn) -> None:
    shape = getattr(eqn.invars[0].aval, "shape", ())
    if shape != ():
        raise UnsupportedPrimitiveError(
            f"code generation for '{eqn.primitive.name}' supports a single key, got a key array of shape "
            f"{shape}; register a handler with brainstate_ir.register_prim_handler."
        )


def _random_seed(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    _scalar_key_only(eqn)
    return _call("jax.random.key", [args[0]], {"impl": _random_impl(eqn.params["impl"])})


def _random_bits(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    _scalar_key_only(eqn)
    dtype = f"jnp.uint{eqn.params['bit_width']}"
    return _call("jax.random.bits", [args[0], ctx.fmt(tuple(eqn.params["shape"])), dtype])


def _random_split(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    _scalar_key_only(eqn)
    return _call("jax.random.split", [args[0], ctx.fmt(tuple(eqn.params["shape"]))])


def _random_fold_in(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    _scalar_key_only(eqn)
    return _call("jax.random.fold_in", args)


def _random_wrap(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    return _call("jax.random.wrap_key_data", [args[0]], {"impl": _random_impl(eqn.params["impl"])})


def _random_unwrap(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    return _call("jax.random.key_data", args)


def _jit(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    name = str(eqn.params.get("name", "fn"))
    helper = ctx.function(eqn.params["jaxpr"], f"_jit_{name}" if name.isidentifier() else "_jit")
    return f"jax.jit({helper})({', '.join(args)})"


def _call_body(param: str, prefix: str) -> Any:
    def handler(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
        helper = ctx.function(eqn.params[param], prefix)
        return _call(helper, args)

    return handler


def _remat(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    helper = ctx.function(eqn.params["jaxpr"], "_remat")
    prevent_cse = ctx.fmt(bool(eqn.params.get("prevent_cse", True)))
    return f"jax.checkpoint({helper}, prevent_cse={prevent_cse})({', '.join(args)})"


def _cond(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    branches = [ctx.function(b, "_branch") for b in eqn.params["branches"]]
    return _call("lax.switch", [args[0], f"[{', '.join(branches)}]", *args[1:]])


def _while(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    p = eqn.params
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    cond_fn = ctx.function(p["cond_jaxpr"], "_while_cond")
    body_fn = ctx.function(p["body_jaxpr"], "_while_body")
    cond_args = "".join(f"{a}, " for a in args[:nc])
    body_args = "".join(f"{a}, " for a in args[nc : nc + nb])
    return _call(
        "lax.while_loop",
        [
            f"lambda carry: {cond_fn}({cond_args}*carry)[0]",
            f"lambda carry: {body_fn}({body_args}*carry)",
            _tuple(args[nc + nb :]),
        ],
    )


def _scan(ctx: CodegenContext, eqn: JaxprEqn, args: list[str]) -> str:
    p = eqn.params
    num_consts, num_carry = scan_num_consts_carry(p)
    body = ctx.function(p["jaxpr"], "_scan_body")
    step, out = ctx.fresh("_scan_step"), ctx.fresh("_scan_out")
    consts = "".join(f"{a}, " for a in args[:num_consts])
    ctx.statement(
        f"def {step}(carry, x):\n"
        f"    out = {body}({consts}*carry, *x)\n"
        f"    return out[:{num_carry}], out[{num_carry}:]"
    )
    carry, xs = args[num_consts : num_consts + num_carry], args[num_consts + num_carry :]
    kwargs = {
        "length": ctx.fmt(p["length"]),
        "reverse": ctx.fmt(p["reverse"]),
        "unroll": ctx.fmt(p["unroll"]),
    }
    ctx.statement(f"{out} = " + _call("lax.scan", [step, _tuple(carry), _tuple(xs)], kwargs))
    return f"(*{out}[0], *{out}[1])"


BUILTIN_HANDLERS: dict[str, PrimHandler] = {
    "copy": _identity,
    "copy_p": _identity,
    "convert_element_type": _convert_element_type,
    "iota": _iota,
    "argmax": _arg_reduce,
    "argmin": _arg_reduce,
    "concatenate": _concatenate,
    "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
    "sort": _sort,
    "random_seed": _random_seed,
    "random_bits": _random_bits,
    "random_split": _random_split,
    "random_fold_in": _random_fold_in,
    "random_wrap": _random_wrap,
    "random_unwrap": _random_unwrap,
    "cond": _cond,
    "while": _while,
    "scan": _scan,
    "custom_jvp_call": _call_body("call_jaxpr", "_custom_jvp_primal"),
    "custom_vjp_call": _call_body("call_jaxpr", "_custom_vjp_primal"),
    "custom_vjp_call_jaxpr": _call_body("fun_jaxpr", "_custom_vjp_primal"),
    "closed_call": _call_body("call_jaxpr", "_call"),
    "core_call": _call_body("call_jaxpr", "_call"),
    "checkpoint": _remat,
    "remat": _remat,
    "remat2": _remat,
    **{name: _jit for name in JIT_PRIMITIVE_NAMES},
}
