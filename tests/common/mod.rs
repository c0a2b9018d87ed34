//! Helpers shared by the test suites: engines per backend, and the statistics that turn a
//! standard error into a bound.
#![allow(dead_code)]

use langevin::{BackendChoice, Engine};

/// Set to `1` to skip GPU tests on a machine without any adapter. Never set in CI: there a
/// missing adapter must fail the GPU tests. `scripts/test` sets it together with the cfg
/// `langevin_no_gpu`, under which every test that needs an adapter is marked ignored.
pub const SKIP_GPU_ENV: &str = "LANGEVIN_SKIP_GPU_TESTS";

/// The engine of a backend; `None` only for GPU when the explicit skip switch is set.
pub fn engine(choice: BackendChoice) -> Option<Engine> {
    if choice == BackendChoice::Gpu && std::env::var(SKIP_GPU_ENV).as_deref() == Ok("1") {
        eprintln!("GPU test skipped: {SKIP_GPU_ENV}=1");
        return None;
    }
    match Engine::new(choice) {
        Ok(e) => Some(e),
        Err(e) => panic!("cannot create the {choice} backend: {e}"),
    }
}

/// Whether the tests may hold `gpu` to the CPU twin's bits where a run depends on discrete
/// choices (which reaction fires, which neighbour lies within reach). WGSL lets a driver
/// approximate `log`, `exp`, `sin`, `cos` and `atan2` within stated bounds, so a GPU backend
/// and the twin agree to rounding, and a choice near its threshold may tip differently. On
/// lavapipe, the adapter these tests run on in CI, those runs were measured bit-identical to
/// the twin (its Box-Muller normals were not: `random.rs` bounds them by 9/2048), so there
/// the tests demand it; on any other adapter (on an H200, 3 of 21.9 million SSA events
/// differed) they check agreement in law instead.
pub fn rounds_like_twin(gpu: &Engine) -> bool {
    let lavapipe = gpu.device().name.starts_with("llvmpipe");
    if !lavapipe {
        eprintln!(
            "{}: compared with the twin in law, not bit for bit",
            gpu.device()
        );
    }
    lavapipe
}

/// Two sample means within `k` combined standard errors.
pub fn assert_same_mean(
    what: &str,
    a: &langevin::stats::Moments,
    b: &langevin::stats::Moments,
    k: f64,
) {
    let se = (a.std_error().powi(2) + b.std_error().powi(2)).sqrt();
    let z = (a.mean - b.mean).abs() / se;
    eprintln!(
        "{what}: {} and {} ({z:.2} standard errors apart)",
        a.mean, b.mean
    );
    assert!(
        z <= k,
        "{what}: {} and {} are {z:.2} standard errors apart",
        a.mean,
        b.mean
    );
}

/// Instantiates each named test `fn name(engine: &Engine)` once per backend, in modules
/// `gpu` and `cpu`. Built with `--cfg langevin_no_gpu` (as `scripts/test` does on a machine
/// without a Vulkan driver), the GPU ones are ignored: reported as not run, never as passed.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod gpu {
            $(
                #[test]
                #[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
                fn $name() {
                    if let Some(engine) = $crate::common::engine(langevin::BackendChoice::Gpu) {
                        assert_eq!(engine.device().kind, langevin::BackendKind::Gpu);
                        super::$name(&engine);
                    }
                }
            )*
        }
        mod cpu {
            $(
                #[test]
                fn $name() {
                    let engine = $crate::common::engine(langevin::BackendChoice::Cpu).unwrap();
                    super::$name(&engine);
                }
            )*
        }
    };
}

/// Asserts `|observed - expected| <= k * se`, with a message that shows the numbers.
#[track_caller]
pub fn assert_within(what: &str, observed: f64, expected: f64, se: f64, k: f64) {
    let z = (observed - expected) / se;
    assert!(
        z.abs() <= k,
        "{what}: observed {observed:.6e}, expected {expected:.6e}, standard error {se:.3e}, \
         off by {z:.2} sigma (bound {k})"
    );
}

/// Least-squares slope of `y` against `x`.
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// The error function (the library's `erfc`, checked against tables below).
pub fn erf(x: f64) -> f64 {
    1.0 - langevin::exact_law::erfc(x)
}

/// The standard normal CDF.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// Kolmogorov-Smirnov statistic of `samples` (sorted in place) against `cdf`.
pub fn ks_statistic(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = samples.len() as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// The KS bound `sqrt(n) D` exceeded with probability 5.7e-7 (five sigma, two-sided), from
/// Kolmogorov's limit law `P(sqrt(n) D > x) ~ 2 exp(-2 x^2)`.
pub const KS_FIVE_SIGMA: f64 = 2.746;

/// Simpson's rule on `[a, b]` with `n` (even) intervals.
pub fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

#[test]
fn erf_matches_tabulated_values() {
    // Abramowitz and Stegun, table 7.1.
    assert!((erf(0.5) - 0.520_499_877_813_047).abs() < 1e-13);
    assert!((erf(1.0) - 0.842_700_792_949_715).abs() < 1e-13);
    assert!((erf(2.5) - 0.999_593_047_982_555).abs() < 1e-13);
    assert!((normal_cdf(-1.96) - 0.024_997_895_148_220).abs() < 1e-12);
}

/// Lorenz (sigma 10, rho 28, beta 8/3) from `x0` to `t_end` by f64 RK4 at 200,000 steps: a
/// reference far more accurate than any f32 run it is compared with.
pub fn lorenz_f64(x0: [f64; 3], t_end: f64) -> [f64; 3] {
    lorenz_f64_with([10.0, 28.0, 8.0 / 3.0], x0, t_end)
}

/// [`lorenz_f64`] with parameters `[sigma, rho, beta]`. RK4's error at h = 5e-6 over t <= 1
/// is near 1e-13 here, and the rounding of 200,000 steps about 1e-12 relative.
pub fn lorenz_f64_with([sigma, rho, beta]: [f64; 3], x0: [f64; 3], t_end: f64) -> [f64; 3] {
    let f = |v: [f64; 3]| {
        [
            sigma * (v[1] - v[0]),
            v[0] * (rho - v[2]) - v[1],
            v[0] * v[1] - beta * v[2],
        ]
    };
    let axpy =
        |x: [f64; 3], a: f64, k: [f64; 3]| [x[0] + a * k[0], x[1] + a * k[1], x[2] + a * k[2]];
    let steps = 200_000;
    let h = t_end / f64::from(steps);
    let mut x = x0;
    for _ in 0..steps {
        let k1 = f(x);
        let k2 = f(axpy(x, h / 2.0, k1));
        let k3 = f(axpy(x, h / 2.0, k2));
        let k4 = f(axpy(x, h, k3));
        for i in 0..3 {
            x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    x
}

/// A grid of step sizes made from one Brownian path: `fine_log2` increments over [0, 1], and
/// coarse steps of 2^-p for p in `coarse`, over `trajectories` paths.
pub struct PathGrid {
    /// log2 of the finest increments per unit time.
    pub fine_log2: u32,
    /// The coarse exponents p (dt = 2^-p).
    pub coarse: std::ops::RangeInclusive<u32>,
    /// Trajectories.
    pub trajectories: u64,
}

/// The fitted strong order of `scheme` on a one-component `model` started at 1 over t in
/// [0, 1], against `exact(W_1)` on the same Brownian path, over the steps of `grid`.
pub fn strong_order_on_one_path(
    engine: &langevin::Engine,
    model: std::sync::Arc<dyn langevin::Model>,
    scheme: langevin::Scheme,
    seed: u64,
    grid: &PathGrid,
    exact: impl Fn(f64) -> f64,
) -> f64 {
    use langevin::{philox, EnsembleSpec, SaveAt};
    let fine = 1u32 << grid.fine_log2;
    let n = grid.trajectories;
    let exact: Vec<f64> = (0..n)
        .map(|i| exact(philox::brownian_sum(seed, i, 1, 0, 1, 0, fine) / f64::from(fine).sqrt()))
        .collect();
    let (mut log_dt, mut log_err) = (vec![], vec![]);
    for p in grid.coarse.clone() {
        let steps = 1u32 << p;
        let spec = EnsembleSpec::with_model(model.clone())
            .scheme(scheme)
            .initial_fixed(&[1.0])
            .time_span(0.0, 1.0)
            .dt(1.0 / f64::from(steps))
            .brownian_substeps(fine / steps)
            .trajectories(n)
            .seed(seed)
            .save_at(SaveAt::Count(1))
            .final_states(true);
        let finals = engine.run(&spec).unwrap().final_states.unwrap();
        let err = finals
            .iter()
            .zip(&exact)
            .map(|(x, s)| (f64::from(*x) - s).abs())
            .sum::<f64>()
            / n as f64;
        log_dt.push(-f64::from(p) * 2f64.ln());
        log_err.push(err.ln());
    }
    slope(&log_dt, &log_err)
}

/// The grid of the GBM strong-order tests of expression models and Heun: dt = 2^-3 .. 2^-7
/// from 2^9 increments, 2^13 trajectories.
pub fn small_grid() -> PathGrid {
    PathGrid {
        fine_log2: 9,
        coarse: 3..=7,
        trajectories: 1 << 13,
    }
}

/// Pearson's chi-square of integer samples against a pmf, pooling bins with expected counts
/// below 5 (from each end inward); returns (statistic, degrees of freedom).
pub fn chi_square(samples: &[f32], pmf: impl Fn(u64) -> f64, support: u64) -> (f64, usize) {
    let mut observed = vec![0.0f64; support as usize + 1];
    for &s in samples {
        assert!(s >= 0.0 && s.fract() == 0.0, "count {s}");
        let k = (s as u64).min(support);
        observed[k as usize] += 1.0;
    }
    chi_square_counts(&observed, pmf)
}

/// [`chi_square`] of the counts `observed[k]` of each value `k`, the last bin holding every
/// value from its own up.
pub fn chi_square_counts(observed: &[f64], pmf: impl Fn(u64) -> f64) -> (f64, usize) {
    let support = observed.len() as u64 - 1;
    let n: f64 = observed.iter().sum();
    let mut expected: Vec<f64> = (0..=support).map(|k| n * pmf(k)).collect();
    let tail: f64 = n - expected[..support as usize].iter().sum::<f64>();
    expected[support as usize] = tail.max(0.0);
    // Pool neighbouring bins until each expects at least 5.
    let mut bins: Vec<(f64, f64)> = Vec::new();
    let (mut o, mut e) = (0.0, 0.0);
    for (ok, ek) in observed.iter().zip(&expected) {
        o += ok;
        e += ek;
        if e >= 5.0 {
            bins.push((o, e));
            o = 0.0;
            e = 0.0;
        }
    }
    if let Some(last) = bins.last_mut() {
        last.0 += o;
        last.1 += e;
    }
    let stat = bins.iter().map(|(o, e)| (o - e) * (o - e) / e).sum();
    (stat, bins.len() - 1)
}

/// The chi-square statistic stays below its mean plus five standard deviations (k + 5 sqrt(2k)).
pub fn assert_chi_square(what: &str, (stat, dof): (f64, usize)) {
    let k = dof as f64;
    eprintln!("{what}: chi-square {stat:.1} on {dof} degrees of freedom");
    assert!(
        stat <= k + 5.0 * (2.0 * k).sqrt(),
        "{what}: chi-square {stat:.1} on {dof} degrees of freedom"
    );
}

pub fn ln_factorial(k: u64) -> f64 {
    (1..=k).map(|i| (i as f64).ln()).sum()
}

pub fn poisson(mean: f64, k: u64) -> f64 {
    (k as f64 * mean.ln() - mean - ln_factorial(k)).exp()
}

pub fn binomial(n: u64, p: f64, k: u64) -> f64 {
    if k > n {
        return 0.0;
    }
    (ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
        + k as f64 * p.ln()
        + (n - k) as f64 * (1.0 - p).ln())
    .exp()
}

/// xorshift64: a deterministic source of choices for generated test inputs.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// `f64::max` for folding error measures, except that NaN wins: a run that produced NaN must
/// fail its bound, where `f64::max(0.0, NaN)` is 0.0 and would pass it.
#[allow(unused_imports)]
pub use langevin::stats::max_or_nan;

/// [`max_or_nan`] in f32.
pub fn max_or_nan_f32(worst: f32, d: f32) -> f32 {
    if worst.is_nan() || d.is_nan() {
        f32::NAN
    } else {
        worst.max(d)
    }
}
