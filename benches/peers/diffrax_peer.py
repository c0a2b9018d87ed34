"""The peer workloads in diffrax: one diffeqsolve per trajectory, vmapped over the ensemble and
jit-compiled, fixed steps, f32 on the CPU. Euler for the SDEs (Euler-Maruyama on an Ito
MultiTerm, UnsafeBrownianPath increments) and classical RK4 from its Butcher tableau for
Lorenz."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from common import DOUBLE_WELL, LORENZ, OU, arguments, check_double_well, check_lorenz, check_ou, measure


class RK4(diffrax.AbstractERK):
    """The classical fourth-order Runge-Kutta method (no error estimate: fixed steps only)."""

    tableau = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]),
        b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        b_error=np.array([0.0, 0.0, 0.0, 0.0]),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    )
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 4


def sde_solve(drift, sigma, x0, dt, steps, key, saveat):
    brownian = diffrax.UnsafeBrownianPath(shape=(), key=key)
    terms = diffrax.MultiTerm(
        diffrax.ODETerm(lambda t, x, args: drift(x)),
        diffrax.ControlTerm(lambda t, x, args: jnp.float32(sigma), brownian),
    )
    return diffrax.diffeqsolve(
        terms, diffrax.Euler(), 0.0, steps * dt, dt, jnp.float32(x0), saveat=saveat,
        max_steps=steps + 1, adjoint=diffrax.ForwardMode(),
    )


@eqx.filter_jit
def ou(keys):
    p = OU
    ts = jnp.linspace(0.0, p["steps"] * p["dt"], p["saves"])

    def one(key):
        return sde_solve(lambda x: -p["theta"] * x, p["sigma"], p["x0"], p["dt"], p["steps"], key,
                         diffrax.SaveAt(ts=ts)).ys

    ys = jax.vmap(one)(keys)
    return ys.mean(axis=0), ys.var(axis=0)


@eqx.filter_jit
def double_well(keys):
    p = DOUBLE_WELL

    def one(key):
        # Only the final state, for the histogram: a diffrax event would end the solve at the
        # first passage, and saving every step to find it would hold 2000 values per
        # trajectory. This run does less than the others.
        sol = sde_solve(lambda x: x - x**3, p["sigma"], p["x0"], p["dt"], p["steps"], key,
                        diffrax.SaveAt(t1=True))
        return sol.ys[-1]

    x = jax.vmap(one)(keys)
    counts, _ = jnp.histogram(x, bins=p["bins"], range=(p["lo"], p["hi"]))
    return counts, None


@eqx.filter_jit
def lorenz(rho):
    p = LORENZ

    def field(t, u, rho):
        x, y, z = u
        return jnp.stack([p["sigma"] * (y - x), x * (rho - z) - y, x * y - p["beta"] * z])

    def one(r):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field), RK4(), 0.0, p["steps"] * p["dt"], p["dt"],
            jnp.array([1.0, 0.0, 0.0], jnp.float32), args=r, max_steps=p["steps"] + 1,
        )
        return sol.ys[-1]

    return jax.vmap(one)(rho)


def main():
    args = arguments(__doc__)
    n = 1 << args.log2
    keys = jax.random.split(jax.random.key(1), n)
    adapter = f"diffrax {diffrax.__version__}, jax {jax.__version__} ({jax.devices()[0].platform})"
    only = args.only.split(",")
    if "ou" in only:
        measure("diffrax", adapter, "ou", n, OU["steps"], lambda: jax.block_until_ready(ou(keys)),
                lambda m: check_ou(float(m[0][-1]), float(m[1][-1]), n), args.repeats)
    if "double_well" in only:
        measure("diffrax", adapter, "double_well", n, DOUBLE_WELL["steps"],
                lambda: jax.block_until_ready(double_well(keys)),
                lambda r: check_double_well(np.asarray(r[0]), r[1], n), args.repeats)
    if "lorenz" in only:
        rho = jnp.linspace(0.0, LORENZ["rho_max"], n, dtype=jnp.float32)
        measure("diffrax", adapter, "lorenz", n, LORENZ["steps"], lambda: jax.block_until_ready(lorenz(rho)),
                lambda r: check_lorenz(np.asarray(r), np.asarray(rho)), args.repeats)


if __name__ == "__main__":
    main()
