"""The peer workloads in JAX: each whole run one jit-compiled function (lax.fori_loop over the
steps, vectorised over the ensemble), f32 on JAX's default backend: the CPU (XLA's threads), or
the GPU where jax is installed with CUDA."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from common import DOUBLE_WELL, LORENZ, OU, arguments, check_double_well, check_lorenz, check_ou, measure


@functools.partial(jax.jit, static_argnums=1)
def ou(key, n):
    p = OU
    a, s = 1.0 - p["theta"] * p["dt"], p["sigma"] * p["dt"] ** 0.5
    per_save = p["steps"] // (p["saves"] - 1)

    def save_block(x, k):
        def step(i, x):
            return a * x + s * jax.random.normal(jax.random.fold_in(k, i), (n,), jnp.float32)

        x = lax.fori_loop(0, per_save, step, x)
        return x, (x.mean(), x.var())

    x0 = jnp.full((n,), p["x0"], jnp.float32)
    _, moments = lax.scan(save_block, x0, jax.random.split(key, p["saves"] - 1))
    return moments


@functools.partial(jax.jit, static_argnums=1)
def double_well(key, n):
    p = DOUBLE_WELL
    dt, s = p["dt"], p["sigma"] * p["dt"] ** 0.5

    def step(k, carry):
        x, passage = carry
        x = x + (x - x * x * x) * dt + s * jax.random.normal(jax.random.fold_in(key, k), (n,), jnp.float32)
        passage = jnp.where((x >= p["level"]) & jnp.isinf(passage), (k + 1) * dt, passage)
        return x, passage

    x0 = jnp.full((n,), p["x0"], jnp.float32)
    x, passage = lax.fori_loop(0, p["steps"], step, (x0, jnp.full((n,), jnp.inf, jnp.float32)))
    counts, _ = jnp.histogram(x, bins=p["bins"], range=(p["lo"], p["hi"]))
    return counts, jnp.isfinite(passage).sum()


@functools.partial(jax.jit, static_argnums=0)
def lorenz(n):
    p = LORENZ
    rho = jnp.linspace(0.0, p["rho_max"], n, dtype=jnp.float32)
    h = p["dt"]

    def f(u):
        x, y, z = u
        return jnp.stack([p["sigma"] * (y - x), x * (rho - z) - y, x * y - p["beta"] * z])

    def step(_, u):
        k1 = f(u)
        k2 = f(u + h / 2 * k1)
        k3 = f(u + h / 2 * k2)
        k4 = f(u + h * k3)
        return u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    u0 = jnp.stack([jnp.ones(n, jnp.float32), jnp.zeros(n, jnp.float32), jnp.zeros(n, jnp.float32)])
    return lax.fori_loop(0, p["steps"], step, u0).T, rho


def main():
    args = arguments(__doc__)
    n = 1 << args.log2
    key = jax.random.key(1)
    adapter = f"jax {jax.__version__} ({jax.devices()[0].platform})"
    only = args.only.split(",")
    if "ou" in only:
        measure("jax", adapter, "ou", n, OU["steps"], lambda: jax.block_until_ready(ou(key, n)),
                lambda m: check_ou(float(m[0][-1]), float(m[1][-1]), n), args.repeats)
    if "double_well" in only:
        measure("jax", adapter, "double_well", n, DOUBLE_WELL["steps"],
                lambda: jax.block_until_ready(double_well(key, n)),
                lambda r: check_double_well(np.asarray(r[0]), int(r[1]), n), args.repeats)
    if "lorenz" in only:
        measure("jax", adapter, "lorenz", n, LORENZ["steps"], lambda: jax.block_until_ready(lorenz(n)),
                lambda r: check_lorenz(np.asarray(r[0]), np.asarray(r[1])), args.repeats)


if __name__ == "__main__":
    main()
