"""Run random streams and generated programs with whatever ``brainstate`` this interpreter imports.

Used as a black box on both sides of the oracle comparison: ``python run_oracle.py REQUEST.json`` prints
a JSON result. The same file runs under the project's packages and under brainstate 0.5.4 (its own
environment), so it only calls public API that both have.

Request: ``{"streams": [seed, ...], "names": [distribution, ...], "patterns": [pattern-as-dict, ...]}``
(``names`` optional: all of :data:`DISTRIBUTIONS` when absent or empty).

Streams: for each seed and each distribution in :data:`DISTRIBUTIONS`, the draws (as raw bits) and the
global key after: a first draw, a draw inside ``jit``, a draw in every lane of a ``vmap2`` and of a
``vmap``, and a final draw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from user_patterns import key_data, pattern_from_json, run_recorded  # noqa: E402

R = brainstate.random
# name -> a draw with the same arguments on both sides (0.5.4's documented parameter names and order).
DISTRIBUTIONS: dict[str, Any] = {
    "rand": lambda: R.rand(3),
    "randn": lambda: R.randn(3),
    "random": lambda: R.random((3,)),
    "random_sample": lambda: R.random_sample((3,)),
    "uniform": lambda: R.uniform(-1.0, 2.0, size=(3,)),
    "normal": lambda: R.normal(0.5, 2.0, size=(3,)),
    "randint": lambda: R.randint(0, 10, size=(3,)),
    "random_integers": lambda: R.random_integers(1, 10, size=(3,)),
    "choice": lambda: R.choice(5, size=(3,)),
    "permutation": lambda: R.permutation(5),
    "shuffle": lambda: R.shuffle(jnp.arange(5)),
    "beta": lambda: R.beta(2.0, 3.0, size=(3,)),
    "exponential": lambda: R.exponential(1.5, size=(3,)),
    "gamma": lambda: R.gamma(2.0, size=(3,)),
    "gumbel": lambda: R.gumbel(size=(3,)),
    "laplace": lambda: R.laplace(size=(3,)),
    "logistic": lambda: R.logistic(size=(3,)),
    "pareto": lambda: R.pareto(3.0, size=(3,)),
    "poisson": lambda: R.poisson(3.0, size=(3,)),
    "standard_cauchy": lambda: R.standard_cauchy(size=(3,)),
    "standard_exponential": lambda: R.standard_exponential(size=(3,)),
    "standard_gamma": lambda: R.standard_gamma(2.0, size=(3,)),
    "standard_normal": lambda: R.standard_normal(size=(3,)),
    "standard_t": lambda: R.standard_t(3.0, size=(3,)),
    "lognormal": lambda: R.lognormal(size=(3,)),
    "binomial": lambda: R.binomial(10, 0.3, size=(3,)),
    "chisquare": lambda: R.chisquare(3.0, size=(3,)),
    "dirichlet": lambda: R.dirichlet(jnp.array([1.0, 2.0, 3.0])),
    "geometric": lambda: R.geometric(0.3, size=(3,)),
    "multinomial": lambda: R.multinomial(5, jnp.array([0.2, 0.3, 0.5])),
    "multivariate_normal": lambda: R.multivariate_normal(jnp.zeros(2), jnp.eye(2), size=(3,)),
    "rayleigh": lambda: R.rayleigh(1.0, size=(3,)),
    "triangular": lambda: R.triangular(size=(3,)),
    "vonmises": lambda: R.vonmises(0.0, 1.0, size=(3,)),
    "wald": lambda: R.wald(1.0, 1.0, size=(3,)),
    "weibull": lambda: R.weibull(2.0, size=(3,)),
    "weibull_min": lambda: R.weibull_min(2.0, size=(3,)),
    "maxwell": lambda: R.maxwell(size=(3,)),
    "negative_binomial": lambda: R.negative_binomial(3, 0.5, size=(3,)),
    "truncated_normal": lambda: R.truncated_normal(-1.0, 1.0, size=(3,)),
    "bernoulli": lambda: R.bernoulli(0.5, size=(3,)),
    "categorical": lambda: R.categorical(jnp.log(jnp.array([0.2, 0.3, 0.5])), size=(3,)),
    "zipf": lambda: R.zipf(2.0, size=(3,)),
    "power": lambda: R.power(2.0, size=(3,)),
    "f": lambda: R.f(3.0, 4.0, size=(3,)),
    "noncentral_chisquare": lambda: R.noncentral_chisquare(3.0, 1.0, size=(3,)),
    "noncentral_f": lambda: R.noncentral_f(3.0, 4.0, 1.0, size=(3,)),
    "loggamma": lambda: R.loggamma(2.0, size=(3,)),
    "logseries": lambda: R.logseries(0.5, size=(3,)),
    "hypergeometric": lambda: R.hypergeometric(5, 5, 3, size=(3,)),
    "rand_like": lambda: R.rand_like(jnp.zeros(3)),
    "randn_like": lambda: R.randn_like(jnp.zeros(3)),
    "randint_like": lambda: R.randint_like(jnp.zeros(3, jnp.int32), 0, 10),
}


def bits(value: Any) -> Any:
    """An array's exact bits (floats as their integer view), so the comparison is bit-exact."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        arr = arr.view(np.uint32 if arr.itemsize == 4 else np.uint64)
    return [str(arr.dtype), arr.tolist()]


def key_now() -> list[int]:
    return key_data(R.DEFAULT.value).tolist()  # type: ignore[no-any-return]


def stream(seed: int, name: str) -> dict[str, Any]:
    draw = DISTRIBUTIONS[name]
    result: dict[str, Any] = {}
    stages = (
        ("first", draw),
        ("jit", lambda: brainstate.transform.jit(draw)()),
        ("vmap2", lambda: brainstate.transform.vmap2(lambda x: draw())(jnp.zeros(2))),
        ("vmap", lambda: brainstate.transform.vmap(lambda x: draw())(jnp.zeros(2))),
        ("last", draw),
    )
    R.seed(seed)
    for stage, run in stages:
        try:
            result[stage] = {"value": bits(run()), "key": key_now()}
        except Exception as error:  # noqa: BLE001 - recorded and compared, not hidden
            result[stage] = {"error": type(error).__name__}
            R.seed(seed + 1000)  # the next stage starts from a known key on both sides
    return result


def main(request: dict[str, Any]) -> dict[str, Any]:
    jax.config.update("jax_platforms", "cpu")
    streams = {
        f"{seed}/{name}": stream(seed, name)
        for seed in request.get("streams", [])
        for name in request.get("names") or DISTRIBUTIONS
    }
    programs = [run_recorded(pattern_from_json(p)) for p in request.get("patterns", [])]
    return {"brainstate": brainstate.__version__, "streams": streams, "programs": programs}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(Path(sys.argv[1]).read_text()))))
