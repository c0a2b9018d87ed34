"""The peer workloads in NumPy, vectorised over the ensemble, f32 (one thread unless the BLAS
or NumPy build adds more; the random draws are single-threaded)."""

import numpy as np

from common import DOUBLE_WELL, LORENZ, OU, arguments, check_double_well, check_lorenz, check_ou, measure


def ou(n, rng):
    p = OU
    x = np.full(n, p["x0"], dtype=np.float32)
    a, s = np.float32(1.0 - p["theta"] * p["dt"]), np.float32(p["sigma"] * p["dt"] ** 0.5)
    per_save = p["steps"] // (p["saves"] - 1)
    moments = [(x.mean(dtype=np.float64), x.var(dtype=np.float64))]
    for _ in range(p["saves"] - 1):
        for _ in range(per_save):
            x = a * x + s * rng.standard_normal(n, dtype=np.float32)
        moments.append((x.mean(dtype=np.float64), x.var(dtype=np.float64)))
    return moments


def double_well(n, rng):
    p = DOUBLE_WELL
    dt, s = np.float32(p["dt"]), np.float32(p["sigma"] * p["dt"] ** 0.5)
    x = np.full(n, p["x0"], dtype=np.float32)
    passage = np.full(n, np.inf, dtype=np.float32)
    for k in range(p["steps"]):
        x = x + (x - x * x * x) * dt + s * rng.standard_normal(n, dtype=np.float32)
        passage = np.where((x >= p["level"]) & np.isinf(passage), np.float32((k + 1) * p["dt"]), passage)
    counts, _ = np.histogram(x, bins=p["bins"], range=(p["lo"], p["hi"]))
    return counts, int(np.isfinite(passage).sum())


def lorenz(n):
    p = LORENZ
    rho = np.linspace(0.0, p["rho_max"], n, dtype=np.float32)
    sigma, beta, h = np.float32(p["sigma"]), np.float32(p["beta"]), np.float32(p["dt"])
    x = np.ones(n, np.float32)
    y = np.zeros(n, np.float32)
    z = np.zeros(n, np.float32)

    def f(x, y, z):
        return sigma * (y - x), x * (rho - z) - y, x * y - beta * z

    for _ in range(p["steps"]):
        k1 = f(x, y, z)
        k2 = f(x + h / 2 * k1[0], y + h / 2 * k1[1], z + h / 2 * k1[2])
        k3 = f(x + h / 2 * k2[0], y + h / 2 * k2[1], z + h / 2 * k2[2])
        k4 = f(x + h * k3[0], y + h * k3[1], z + h * k3[2])
        x = x + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        y = y + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        z = z + h / 6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
    return np.stack([x, y, z], axis=1), rho


def main():
    args = arguments(__doc__)
    n = 1 << args.log2
    rng = np.random.default_rng(1)
    adapter = f"numpy {np.__version__}"
    only = args.only.split(",")
    if "ou" in only:
        measure("numpy", adapter, "ou", n, OU["steps"], lambda: ou(n, rng),
                lambda m: check_ou(*m[-1], n), args.repeats)
    if "double_well" in only:
        measure("numpy", adapter, "double_well", n, DOUBLE_WELL["steps"], lambda: double_well(n, rng),
                lambda r: check_double_well(r[0], r[1], n), args.repeats)
    if "lorenz" in only:
        measure("numpy", adapter, "lorenz", n, LORENZ["steps"], lambda: lorenz(n),
                lambda r: check_lorenz(r[0], r[1]), args.repeats)


if __name__ == "__main__":
    main()
