"""Pseudo-random numbers as brainstate State: ``RandomState``, the default stream ``DEFAULT`` and
numpy-like distribution functions that draw from it.

Every distribution function here is the bound method of ``DEFAULT`` (``randn(3)`` is ``DEFAULT.randn(3)``),
accepts ``key=`` to draw with an explicit key instead, and ``dtype=`` (default: ``environ.dftype()`` or
``environ.ditype()``). Seeding and splitting are bit-compatible with the reference brainstate
(``seed(0)`` reproduces its documented numbers).

Examples
--------
>>> from brainstate_state import random
>>> random.seed(0)
>>> random.randn(2, 3).shape
(2, 3)
"""

from __future__ import annotations

from ._default import (
    DEFAULT,
    clone_rng,
    default_rng,
    get_key,
    get_key_data,
    randint,
    restore_key,
    seed,
    seed_context,
    self_assign_multi_keys,
    set_key,
    split_key,
    split_keys,
)
from ._rng import RandomState

# The distribution functions: bound methods of DEFAULT (same signatures and docstrings); randint is a
# function of _default, since its module-level form orders key and dtype differently.
rand = DEFAULT.rand
random_integers = DEFAULT.random_integers
randn = DEFAULT.randn
random = DEFAULT.random
random_sample = DEFAULT.random_sample
ranf = DEFAULT.ranf
sample = DEFAULT.sample
choice = DEFAULT.choice
permutation = DEFAULT.permutation
shuffle = DEFAULT.shuffle
beta = DEFAULT.beta
exponential = DEFAULT.exponential
gamma = DEFAULT.gamma
gumbel = DEFAULT.gumbel
laplace = DEFAULT.laplace
logistic = DEFAULT.logistic
normal = DEFAULT.normal
pareto = DEFAULT.pareto
poisson = DEFAULT.poisson
standard_cauchy = DEFAULT.standard_cauchy
standard_exponential = DEFAULT.standard_exponential
standard_gamma = DEFAULT.standard_gamma
standard_normal = DEFAULT.standard_normal
standard_t = DEFAULT.standard_t
uniform = DEFAULT.uniform
truncated_normal = DEFAULT.truncated_normal
bernoulli = DEFAULT.bernoulli
lognormal = DEFAULT.lognormal
binomial = DEFAULT.binomial
chisquare = DEFAULT.chisquare
dirichlet = DEFAULT.dirichlet
geometric = DEFAULT.geometric
f = DEFAULT.f
hypergeometric = DEFAULT.hypergeometric
logseries = DEFAULT.logseries
multinomial = DEFAULT.multinomial
multivariate_normal = DEFAULT.multivariate_normal
negative_binomial = DEFAULT.negative_binomial
noncentral_chisquare = DEFAULT.noncentral_chisquare
noncentral_f = DEFAULT.noncentral_f
power = DEFAULT.power
rayleigh = DEFAULT.rayleigh
triangular = DEFAULT.triangular
vonmises = DEFAULT.vonmises
wald = DEFAULT.wald
weibull = DEFAULT.weibull
weibull_min = DEFAULT.weibull_min
zipf = DEFAULT.zipf
maxwell = DEFAULT.maxwell
t = DEFAULT.t
orthogonal = DEFAULT.orthogonal
loggamma = DEFAULT.loggamma
categorical = DEFAULT.categorical
rand_like = DEFAULT.rand_like
randint_like = DEFAULT.randint_like
randn_like = DEFAULT.randn_like

__all__ = [
    "DEFAULT",
    "RandomState",
    "bernoulli",
    "beta",
    "binomial",
    "categorical",
    "chisquare",
    "choice",
    "clone_rng",
    "default_rng",
    "dirichlet",
    "exponential",
    "f",
    "gamma",
    "geometric",
    "get_key",
    "get_key_data",
    "gumbel",
    "hypergeometric",
    "laplace",
    "loggamma",
    "logistic",
    "lognormal",
    "logseries",
    "maxwell",
    "multinomial",
    "multivariate_normal",
    "negative_binomial",
    "noncentral_chisquare",
    "noncentral_f",
    "normal",
    "orthogonal",
    "pareto",
    "permutation",
    "poisson",
    "power",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "random",
    "random_integers",
    "random_sample",
    "ranf",
    "rayleigh",
    "restore_key",
    "sample",
    "seed",
    "seed_context",
    "self_assign_multi_keys",
    "set_key",
    "shuffle",
    "split_key",
    "split_keys",
    "standard_cauchy",
    "standard_exponential",
    "standard_gamma",
    "standard_normal",
    "standard_t",
    "t",
    "triangular",
    "truncated_normal",
    "uniform",
    "vonmises",
    "wald",
    "weibull",
    "weibull_min",
    "zipf",
]
