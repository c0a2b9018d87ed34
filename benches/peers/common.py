"""Shared definitions of the peer benchmarks: the workloads (the same as `langevin bench`),
the timing rule (one warm-up run, reported as setup; the median of timed runs), and the JSON
record every script prints, with the fields of `langevin bench --json`."""

import argparse
import json
import statistics
import time

# OU: dx = -theta x dt + sigma dW from x = 1, 1000 steps of 1e-3, mean and variance at 11 saves.
OU = dict(theta=1.0, sigma=0.5, x0=1.0, dt=1e-3, steps=1000, saves=11)
# Double well: dx = (x - x^3) dt + 0.7 dW from x = -1, 2000 steps of 0.005, a 100-bin histogram
# of the final x on [-2.5, 2.5] and each trajectory's first passage over x = 1.
DOUBLE_WELL = dict(sigma=0.7, x0=-1.0, dt=0.005, steps=2000, bins=100, lo=-2.5, hi=2.5, level=1.0)
# Lorenz (DiffEqGPU's ensemble): sigma = 10, beta = 8/3, rho over linspace(0, 21), one value
# per trajectory, from (1, 0, 0), RK4 with dt = 1e-3 over t in [0, 1], f32.
LORENZ = dict(sigma=10.0, beta=8.0 / 3.0, rho_max=21.0, dt=1e-3, steps=1000)

WORKLOADS = ("ou", "double_well", "lorenz")


def arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--log2", type=int, default=20, help="log2 of the trajectories")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    parser.add_argument("--device", default="cpu",
                        help="torch device for torchsde (cpu, cuda); the JAX peers run on JAX's "
                             "default backend")
    return parser.parse_args()


def measure(peer, adapter, workload, n, steps, run, check, repeats):
    """Times `run()` (one warm-up, then `repeats` runs), checks the warm-up's result with
    `check(result)` (which returns a description or raises), and prints one JSON record."""
    start = time.perf_counter()
    result = run()
    setup = time.perf_counter() - start
    description = check(result)
    seconds_all = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        run()
        seconds_all.append(time.perf_counter() - start)
    seconds = statistics.median(seconds_all)
    record = dict(
        workload=workload,
        size=f"2^{n.bit_length() - 1}",
        backend=peer,
        adapter=adapter,
        trajectories=n,
        steps=float(steps),
        # The warm-up run: compilation (jit, tracing) plus one run.
        setup_seconds=setup,
        seconds=seconds,
        seconds_all=seconds_all,
        rate=n * steps / seconds,
        unit="trajectory-steps",
        check=description,
    )
    print(json.dumps(record), flush=True)
    return record


def ou_exact(dt, steps):
    """Mean and variance after `steps` Euler-Maruyama steps from x0 (the discrete recursion's
    exact moments)."""
    a = 1.0 - OU["theta"] * dt
    mean = a**steps * OU["x0"]
    var = OU["sigma"] ** 2 * dt * (1.0 - a ** (2 * steps)) / (1.0 - a * a)
    return mean, var


def check_ou(mean, var, n):
    """The final mean and variance within 5 standard errors of the exact values."""
    exact_mean, exact_var = ou_exact(OU["dt"], OU["steps"])
    se_mean = (exact_var / n) ** 0.5
    se_var = exact_var * (2.0 / (n - 1)) ** 0.5
    dm, dv = abs(mean - exact_mean) / se_mean, abs(var - exact_var) / se_var
    if dm > 5 or dv > 5:
        raise AssertionError(f"OU moments off: mean {mean} var {var}")
    return f"mean and variance within {dm:.1f} and {dv:.1f} standard errors of exact"


def check_double_well(counts, hits, n):
    """The histogram holds at most the trajectories; `hits` is None where the peer does not
    record first passages."""
    if int(sum(counts)) > n or (hits is not None and hits > n):
        raise AssertionError("histogram or passages hold more than the trajectories")
    passed = "first passage not recorded" if hits is None else f"{hits} passed x = 1"
    return f"histogram of {int(sum(counts))} in range; {passed}"


def lorenz_reference(rho):
    """The f64 Lorenz flow from (1, 0, 0) to t = 1 (RK4 at dt = 1e-4)."""
    s = [1.0, 0.0, 0.0]

    def f(s):
        return [10.0 * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - 8.0 / 3.0 * s[2]]

    h = 1e-4
    for _ in range(10_000):
        k1 = f(s)
        k2 = f([s[i] + h / 2 * k1[i] for i in range(3)])
        k3 = f([s[i] + h / 2 * k2[i] for i in range(3)])
        k4 = f([s[i] + h * k3[i] for i in range(3)])
        s = [s[i] + h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) for i in range(3)]
    return s


def check_lorenz(final, rho):
    """Eight trajectories across the sweep against the f64 flow, relative error below 1e-4."""
    n = len(rho)
    worst = 0.0
    for i in range(0, n, max(1, n // 8)):
        exact = lorenz_reference(float(rho[i]))
        for c in range(3):
            worst = max(worst, abs(float(final[i][c]) - exact[c]) / (1.0 + abs(exact[c])))
    if worst > 1e-4:
        raise AssertionError(f"Lorenz final states off by {worst}")
    return f"final states within {worst:.1e} of the f64 flow"
