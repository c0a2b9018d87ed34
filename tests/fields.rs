//! Pseudo-spectral fields against exact results: linear Klein-Gordon against the exact
//! per-mode solution of Stormer-Verlet (and the continuum solution as dt shrinks), the
//! sine-Gordon breather's energy 16 sqrt(1 - omega^2) and shape, bounded energy error over
//! long runs, model A's equilibrium spectrum T / (k^2 + m^2), and the kernels against their twin.

mod common;
use langevin::field::{self, profiles, FieldEquation, FieldSpec, Potential};
use langevin::real::Precision;
use langevin::Engine;
use rustfft::num_complex::Complex64;

/// Per wave number 0 to n/2: |phi(k)|^2 / L of every field at every save from `from`.
fn spectrum_samples(spec: &FieldSpec, r: &field::FieldResult, from: f64) -> Vec<Vec<f64>> {
    let n = spec.points[0] as usize;
    let mut samples = vec![Vec::new(); n / 2 + 1];
    for (k, snap) in r.snapshots.iter().enumerate() {
        if r.times[k] < from - 1e-9 {
            continue;
        }
        for f in snap.chunks(n) {
            let mut hat: Vec<Complex64> = f
                .iter()
                .map(|v| Complex64::new(f64::from(*v), 0.0))
                .collect();
            langevin::cpu::fft::fft64(&mut hat, n, 1, false);
            for (j, s) in samples.iter_mut().enumerate() {
                s.push(hat[j].norm_sqr() * spec.cell() / n as f64);
            }
        }
    }
    samples
}

/// The largest deviation of a linear KG run (V = phi^2 / 2, every field started from the
/// same `init_phi` at rest) at its last save from the exact discrete solution: every mode is
/// a harmonic oscillator of omega^2 = k^2 + 1, for which n Stormer-Verlet steps are the n-th
/// power of a 2 x 2 matrix, applied to the f64 transform of the initial field.
fn linear_field_error(engine: &Engine, spec: &FieldSpec) -> f64 {
    let r = field::run(engine, spec).unwrap();
    let (n_steps, dt) = (r.steps, r.dt);
    let [nx, ny] = spec.points.map(|n| n as usize);
    let (phi0, _) = spec.initial().unwrap();
    let mut hat: Vec<Complex64> = phi0[..nx * ny]
        .iter()
        .map(|v| Complex64::new(*v, 0.0))
        .collect();
    langevin::cpu::fft::fft64(&mut hat, nx, ny, false);
    for (j, h) in hat.iter_mut().enumerate() {
        let w2 = spec.k_squared(j) + 1.0;
        // One kick-drift-kick step of x'' = -w2 x as a matrix, raised to n_steps.
        let a = 1.0 - w2 * dt * dt / 2.0;
        let step = [[a, dt], [-w2 * dt * (1.0 - w2 * dt * dt / 4.0), a]];
        let mut m = [[1.0, 0.0], [0.0, 1.0]];
        for _ in 0..n_steps {
            m = [
                [
                    step[0][0] * m[0][0] + step[0][1] * m[1][0],
                    step[0][0] * m[0][1] + step[0][1] * m[1][1],
                ],
                [
                    step[1][0] * m[0][0] + step[1][1] * m[1][0],
                    step[1][0] * m[0][1] + step[1][1] * m[1][1],
                ],
            ];
        }
        *h *= m[0][0];
    }
    langevin::cpu::fft::fft64(&mut hat, nx, ny, true);
    let last = r.snapshots.last().unwrap();
    assert_eq!(last.len(), nx * ny * spec.fields as usize);
    let worst = last
        .chunks(nx * ny)
        .flat_map(|f| f.iter().zip(&hat))
        .map(|(a, b)| (f64::from(*a) - b.re).abs())
        .fold(0.0, common::max_or_nan);
    eprintln!(
        "linear KG on {nx} x {ny}, {} fields, {n_steps} steps of {dt:.4}: largest deviation {worst:e}",
        spec.fields
    );
    worst
}

/// A Gaussian pulse of width 1, 256 points on L = 40: the field at t = 8 equals the exact
/// discrete solution (in f64) to 2e-5 of the pulse's height.
fn linear_pulse_matches_the_exact_modes(engine: &Engine) {
    let mut spec = FieldSpec::new(256, 40.0, Potential::new("phi^2 / 2", &[]).unwrap());
    (spec.init_phi, spec.init_pi) = profiles::gaussian_pulse(1.0, 1.0);
    spec.t_end = 8.0;
    spec.saves = 2;
    let worst = linear_field_error(engine, &spec);
    assert!(worst < 2e-5, "{worst}");
}

/// In 2-D, 64 x 32 points on 24 x 12, two fields: a tilted, off-centre pulse (no reflection
/// symmetry along either axis, so its transform is complex and the entries at (kx, ky) and
/// (-kx, ky) differ) equals the exact discrete solution at t = 4 to 2e-5 in every field.
fn linear_pulse_in_2d_matches_the_exact_modes(engine: &Engine) {
    let mut spec = FieldSpec::new(64, 24.0, Potential::new("phi^2 / 2", &[]).unwrap());
    spec.points = [64, 32];
    spec.length = [24.0, 12.0];
    spec.fields = 2;
    spec.keep_snapshots = true;
    spec.init_phi = "exp(-((x - 1)^2 + 2 * (y + 0.5)^2 + x * y) / 2)".into();
    spec.t_end = 4.0;
    spec.saves = 2;
    let worst = linear_field_error(engine, &spec);
    assert!(worst < 2e-5, "{worst}");
}

/// The sine-Gordon breather at omega = 0.5 and 0.8 (512 points on L = 60, dt = 0.004, two
/// periods): the energy within 1e-5 relative of 16 sqrt(1 - omega^2) at every save (Stormer-
/// Verlet's energy error oscillates with relative amplitude about (m dt)^2 / 4 = 4e-6 for the
/// mass m = 1), and the field at the end within 2e-3 of the exact breather: it stays a
/// breather (the bound is the integrator's O(dt^2) phase error over two periods).
fn breather_keeps_its_energy_and_shape(engine: &Engine) {
    for omega in [0.5, 0.8] {
        let mut spec = FieldSpec::new(
            512,
            60.0,
            Potential::new(profiles::SINE_GORDON, &[]).unwrap(),
        );
        (spec.init_phi, spec.init_pi) = profiles::breather(omega);
        spec.dt = Some(0.004);
        spec.t_end = 2.0 * std::f64::consts::TAU / omega;
        spec.saves = 9;
        let r = field::run(engine, &spec).unwrap();
        let exact = profiles::breather_energy(omega);
        let worst_energy = r.energy[0]
            .iter()
            .map(|e| ((e - exact) / exact).abs())
            .fold(0.0, common::max_or_nan);
        let last = r.snapshots.last().unwrap();
        let worst_shape = last
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let x = spec.coordinates(j)[0];
                (f64::from(*v) - profiles::breather_at(omega, x, spec.t_end)).abs()
            })
            .fold(0.0, common::max_or_nan);
        eprintln!(
            "breather omega = {omega}: energy {:.6} against {exact:.6} (worst {worst_energy:e}), shape off by {worst_shape:e}, dt {:.4}",
            r.energy[0][0], r.dt
        );
        assert!(worst_energy < 1e-5, "{worst_energy}");
        assert!(worst_shape < 2e-3, "{worst_shape}");
    }
}

/// The largest relative energy error over the first 21 saves and over the other 20.
fn halves(e: &[f64]) -> (f64, f64) {
    let dev = |range: std::ops::Range<usize>| {
        range
            .map(|k| ((e[k] - e[0]) / e[0]).abs())
            .fold(0.0, common::max_or_nan)
    };
    (dev(0..21), dev(21..e.len()))
}

/// Stormer-Verlet's energy error stays bounded: a breather (omega = 0.5, 128 points on
/// L = 40, dt = 0.015, so (m dt)^2 / 4 = 5.6e-5) over `steps` steps stays within 1e-4
/// relative in f32, and the error of the second half is no larger than 1.5x that of the
/// first (no secular growth; measured: equal to three digits).
fn energy_error_stays_bounded(engine: &Engine, steps: u32) {
    let mut spec = FieldSpec::new(
        128,
        40.0,
        Potential::new(profiles::SINE_GORDON, &[]).unwrap(),
    );
    (spec.init_phi, spec.init_pi) = profiles::breather(0.5);
    spec.dt = Some(0.015);
    spec.t_end = 0.015 * f64::from(steps);
    spec.saves = 41;
    let r = field::run(engine, &spec).unwrap();
    let (first, second) = halves(&r.energy[0]);
    eprintln!(
        "{} steps of {:.4}: energy error {first:e} then {second:e}",
        r.steps, r.dt
    );
    assert!(r.energy_drift(0) < 1e-4, "{}", r.energy_drift(0));
    assert!(second < 1.5 * first.max(1e-6), "{first} {second}");
}

fn energy_error_stays_bounded_short(engine: &Engine) {
    energy_error_stays_bounded(engine, 10_000);
}

/// Model A with V = phi^2 / 2 (m = 1) at T = 0.5: 32 noise realisations on 256 points over
/// L = 64, dt = 0.1, sampled every 2.5 time units from t = 10 to 110 (mode correlations
/// e^{-2.5 c} < 0.09 apart): the mean of |phi(k)|^2 / L per wave number within five standard
/// errors of T / (k^2 + m^2), the exact law that the scheme keeps at any dt.
fn model_a_spectrum_is_exact(engine: &Engine) {
    let mut spec = FieldSpec::new(
        256,
        64.0,
        Potential::new("m^2 * phi^2 / 2", &[("m", 1.0)]).unwrap(),
    );
    spec.equation = FieldEquation::ModelA { temperature: 0.5 };
    spec.fields = 32;
    spec.dt = Some(0.1);
    spec.t_end = 110.0;
    spec.saves = 45;
    spec.average_from = 10.0;
    spec.keep_snapshots = true;
    spec.seed = 6;
    let r = field::run(engine, &spec).unwrap();
    let samples = spectrum_samples(&spec, &r, 10.0);
    let mut worst = 0.0f64;
    let mut z2 = 0.0;
    for (j, s) in samples.iter().enumerate() {
        let m = langevin::Moments::of(s.iter().copied());
        let exact = 0.5 / (spec.k_squared(j) + 1.0);
        let z = (m.mean - exact) / m.std_error();
        worst = common::max_or_nan(worst, z.abs());
        z2 += z * z;
        common::assert_within(&format!("S(k_{j})"), m.mean, exact, m.std_error(), 5.0);
    }
    eprintln!(
        "model A: {} samples per mode, largest |z| {worst:.2}, mean z^2 {:.3}",
        samples[0].len(),
        z2 / samples.len() as f64
    );
    // The averaged spectrum the run reports is the same quantity.
    let reported = r.spectrum.as_ref().unwrap();
    let direct = langevin::Moments::of(samples[3].iter().copied()).mean;
    assert!((reported[3] - direct).abs() < 1e-9 * direct.abs().max(1.0));
}

/// phi^4 kink-antikink collisions (1024 points on L = 100, pair at +-8): above the critical
/// speed v_c = 0.2598 (Campbell, Schonfeld and Wingate 1983) at v = 0.3 the pair reflects and
/// flies apart; at v = 0.15, below it and below the lowest two-bounce window (near 0.19),
/// it is captured into a bound state. The energy before the collision is twice the boosted
/// kink's, 2 gamma 2 sqrt(2) / 3, to 1e-4 (the tails' overlap is e^{-2 sqrt 2 x0}), and it is
/// kept through the collision within (m dt)^2 / 2, twice the relative amplitude of
/// Stormer-Verlet's energy oscillation for the mass m = sqrt 2 (measured: 7e-6 at v = 0.3,
/// 4.4e-4 for the bion at dt = 0.031).
fn kink_antikink_outcomes(engine: &Engine) {
    for (v, t_end, separated) in [(0.3, 70.0, true), (0.15, 110.0, false)] {
        let mut spec = FieldSpec::new(1024, 100.0, Potential::new(profiles::PHI4, &[]).unwrap());
        (spec.init_phi, spec.init_pi) = profiles::kink_antikink(v, 8.0);
        spec.t_end = t_end;
        spec.saves = 11;
        let r = field::run(engine, &spec).unwrap();
        let last = r.snapshots.last().unwrap();
        let outcome =
            profiles::kink_outcome(last, spec.coordinates(0)[0], spec.spacing()[0], 100.0);
        let exact = 2.0 * profiles::phi4_kink_energy() / (1.0 - v * v).sqrt();
        eprintln!(
            "v = {v}: {outcome:?}; energy {:.6} against {exact:.6}, drift {:e}",
            r.energy[0][0],
            r.energy_drift(0)
        );
        assert!(((r.energy[0][0] - exact) / exact).abs() < 1e-4);
        assert!(r.energy_drift(0) < r.dt * r.dt, "{}", r.energy_drift(0));
        assert_eq!(
            matches!(outcome, profiles::KinkOutcome::Separated { .. }),
            separated,
            "v = {v}"
        );
    }
}

/// 1-D KPZ (nu = 1, lambda = 2, D = 1; 128 points on L = 32, 32 realisations, dt = 0.02,
/// dealiased): its stationary measure is Edwards-Wilkinson's, so <|h(k)|^2> / L =
/// D / (2 nu k^2) at every k != 0, the nonlinearity notwithstanding. Sampled every 2 time
/// units from t = 50 to 150; the modes m = 4 to 64 (correlation times below 1.7, so the
/// samples are nearly independent), each within five standard errors.
fn kpz_stationary_spectrum_is_edwards_wilkinsons(engine: &Engine) {
    let mut spec = FieldSpec::new(128, 32.0, Potential::new("0", &[]).unwrap());
    spec.equation = FieldEquation::Kpz {
        nu: 1.0,
        lambda: 2.0,
        noise: 1.0,
    };
    spec.fields = 32;
    spec.dt = Some(0.02);
    spec.t_end = 150.0;
    spec.saves = 76;
    spec.average_from = 50.0;
    spec.keep_snapshots = true;
    spec.seed = 9;
    let r = field::run(engine, &spec).unwrap();
    let samples = spectrum_samples(&spec, &r, 50.0);
    let mut z2 = 0.0;
    for (j, s) in samples.iter().enumerate().skip(4) {
        let m = langevin::Moments::of(s.iter().copied());
        let exact = spec.stationary_spectrum(spec.k_squared(j)).unwrap();
        z2 += ((m.mean - exact) / m.std_error()).powi(2);
        common::assert_within(&format!("S(k_{j})"), m.mean, exact, m.std_error(), 5.0);
    }
    eprintln!("KPZ: mean z^2 over modes 4..64: {:.3}", z2 / 61.0);
}

/// KPZ without noise is solved by Cole-Hopf: Z = exp(lambda h / (2 nu)) obeys the heat
/// equation. From h = cos(x) (nu = 1, lambda = 2; 128 points on L = 2 pi x 4, dt = 1e-3) to
/// t = 1, the run's h equals (2 nu / lambda) ln Z, Z evolved exactly mode by mode in f64, to
/// 1e-3 (exponential time differencing is first order in the nonlinearity, O(dt) with
/// |h_t| of order 1; measured 2.6e-4) while h itself moves by 0.84. A wrong sign or factor of
/// lambda fails by O(1).
fn kpz_without_noise_follows_cole_hopf(engine: &Engine) {
    let length = 8.0 * std::f64::consts::PI;
    let mut spec = FieldSpec::new(128, length, Potential::new("0", &[]).unwrap());
    spec.equation = FieldEquation::Kpz {
        nu: 1.0,
        lambda: 2.0,
        noise: 0.0,
    };
    spec.init_phi = "cos(8 * pi * x / L)".into();
    spec.dt = Some(1e-3);
    spec.t_end = 1.0;
    spec.saves = 2;
    let r = field::run(engine, &spec).unwrap();
    let (h0, _) = spec.initial().unwrap();
    let mut z: Vec<Complex64> = h0.iter().map(|h| Complex64::new(h.exp(), 0.0)).collect();
    langevin::cpu::fft::fft64(&mut z, 128, 1, false);
    for (j, v) in z.iter_mut().enumerate() {
        *v *= (-spec.k_squared(j) * 1.0).exp();
    }
    langevin::cpu::fft::fft64(&mut z, 128, 1, true);
    let worst = r.snapshots[1]
        .iter()
        .zip(&z)
        .map(|(h, z)| (f64::from(*h) - z.re.ln()).abs())
        .fold(0.0, common::max_or_nan);
    let flat_change = r.snapshots[1]
        .iter()
        .zip(&h0)
        .map(|(h, a)| (f64::from(*h) - a).abs())
        .fold(0.0, common::max_or_nan);
    eprintln!("KPZ against Cole-Hopf at t = 1: {worst:e} (the field moved by {flat_change:.3})");
    assert!(worst < 1e-3, "{worst}");
}

/// A single phi^4 kink on an antiperiodic line (512 points on L = 60) moving at v = 0.5:
/// its energy is gamma 2 sqrt(2) / 3 (gamma = 1 / sqrt(1 - v^2)) to 1e-5, and its zero
/// crossing is at v t to 1e-3 at t = 20 (a Lorentz-contracted kink moves rigidly).
fn antiperiodic_kink_moves_rigidly(engine: &Engine) {
    let v = 0.5;
    let mut spec = FieldSpec::new(512, 60.0, Potential::new(profiles::PHI4, &[]).unwrap());
    spec.antiperiodic = true;
    (spec.init_phi, spec.init_pi) = profiles::kink(v, 0.0);
    spec.dt = Some(0.005);
    spec.t_end = 20.0;
    spec.saves = 5;
    let r = field::run(engine, &spec).unwrap();
    let exact = profiles::phi4_kink_energy() / (1.0 - v * v).sqrt();
    let last = r.snapshots.last().unwrap();
    let crossings: Vec<f64> =
        profiles::zero_crossings(last, spec.coordinates(0)[0], spec.spacing()[0])
            .into_iter()
            .filter(|x| x.abs() < 25.0)
            .collect();
    eprintln!(
        "antiperiodic kink: energy {:.7} against {exact:.7}, crossing {crossings:?} against {}",
        r.energy[0][0],
        v * 20.0
    );
    assert!(((r.energy[0][0] - exact) / exact).abs() < 1e-5);
    assert!(r.energy_drift(0) < 1e-5, "{}", r.energy_drift(0));
    assert_eq!(crossings.len(), 1, "{crossings:?}");
    assert!((crossings[0] - v * 20.0).abs() < 1e-3, "{crossings:?}");
}

/// In f64 (on the CPU twin, and on the device with SHADER_F64): a breather (omega = 0.5, 128
/// points on L = 40) at dt = 5e-5, where Stormer-Verlet's O(dt^2) energy oscillation is
/// below 1e-9 (measured 1.5e-8 at dt = 2.5e-4), keeps its energy within 1e-9 relative over
/// `steps` steps and, over 10^5 steps (t = 5, once the error has settled), with no growth from
/// the first half to the second. The same run in f32 is bounded by its rounding instead
/// (measured 2e-6 after 10^4 steps, 2e-5 after 10^5).
fn energy_error_in_f64(engine: &Engine, steps: u32) {
    let mut spec = FieldSpec::new(
        128,
        40.0,
        Potential::new(profiles::SINE_GORDON, &[]).unwrap(),
    );
    (spec.init_phi, spec.init_pi) = profiles::breather(0.5);
    spec.dt = Some(5e-5);
    spec.t_end = 5e-5 * f64::from(steps);
    spec.saves = 41;
    spec.precision = Precision::F64;
    let r = field::run(engine, &spec).unwrap();
    let (first, second) = halves(&r.energy[0]);
    spec.precision = Precision::F32;
    let single = field::run(engine, &spec).unwrap().energy_drift(0);
    eprintln!(
        "{} steps of {:.1e}: energy error in f64 {first:e} then {second:e}; in f32 {single:e}",
        r.steps, r.dt
    );
    assert!(r.energy_drift(0) < 1e-9, "{}", r.energy_drift(0));
    if steps >= 100_000 {
        assert!(second < 1.5 * first, "{first} {second}");
    }
}

fn energy_error_in_f64_short(engine: &Engine) {
    energy_error_in_f64(engine, 10_000);
}

/// Fields run in batches give the fields of one batch, to the bit: model A (noise drawn by the
/// field's index in the run) and Klein-Gordon from thermal draws, 5 fields in batches of 2.
fn batches_equal_one_batch(engine: &Engine) {
    let mut model_a = FieldSpec::new(
        64,
        16.0,
        Potential::new("phi^2 / 2 + phi^4 / 4", &[]).unwrap(),
    );
    model_a.equation = FieldEquation::ModelA { temperature: 0.3 };
    model_a.dt = Some(0.05);
    let mut kg = model_a.clone();
    kg.equation = FieldEquation::KleinGordon;
    kg.thermal = Some(0.3);
    kg.dt = None;
    for mut spec in [model_a, kg] {
        spec.fields = 5;
        spec.t_end = 2.0;
        spec.saves = 3;
        spec.keep_snapshots = true;
        let whole = field::run(engine, &spec).unwrap();
        spec.batch_fields = Some(2);
        let parts = field::run(engine, &spec).unwrap();
        assert_eq!(whole.final_phi, parts.final_phi);
        assert_eq!(whole.energy, parts.energy);
        assert_eq!(whole.snapshots, parts.snapshots);
        assert_eq!(whole.final_phi.len(), 5 * 64);
    }
}

on_every_backend!(
    batches_equal_one_batch,
    energy_error_in_f64_short,
    antiperiodic_kink_moves_rigidly,
    kpz_without_noise_follows_cole_hopf,
    kpz_stationary_spectrum_is_edwards_wilkinsons,
    kink_antikink_outcomes,
    linear_pulse_matches_the_exact_modes,
    linear_pulse_in_2d_matches_the_exact_modes,
    breather_keeps_its_energy_and_shape,
    energy_error_stays_bounded_short,
    model_a_spectrum_is_exact,
);

/// 10^5 steps on the CPU twin (the device runs 10^4 above): the energy error stays below 1e-4
/// and does not grow.
#[test]
fn energy_error_stays_bounded_over_1e5_steps() {
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    energy_error_stays_bounded(&cpu, 100_000);
}

/// The ratios `|phi(k)|^2 / V / (T / (k^2 + m^2))` and `|pi(k)|^2 / V / T` of every wave
/// vector of every field of a thermal batch, with whether the mode is real (k = -k).
fn thermal_ratios(spec: &FieldSpec, t: f64, m2: f64) -> Vec<(usize, f64, f64, bool)> {
    let (phi, pi) = spec.initial_batch().unwrap();
    let (nx, ny) = (spec.points[0] as usize, spec.points[1] as usize);
    let n = nx * ny;
    let mut out = Vec::new();
    for f in 0..spec.fields as usize {
        let hat = |v: &[f64]| {
            let mut z: Vec<Complex64> = v.iter().map(|x| Complex64::new(*x, 0.0)).collect();
            langevin::cpu::fft::fft64(&mut z, nx, ny, false);
            z
        };
        let (a, b) = (hat(&phi[f * n..(f + 1) * n]), hat(&pi[f * n..(f + 1) * n]));
        for j in 0..n {
            let (ix, iy) = (j % nx, j / nx);
            let real = (ix == 0 || 2 * ix == nx) && (ny == 1 || iy == 0 || 2 * iy == ny);
            let scale = spec.cell() / n as f64;
            out.push((
                j,
                a[j].norm_sqr() * scale / (t / (spec.k_squared(j) + m2)),
                b[j].norm_sqr() * scale / t,
                real,
            ));
        }
    }
    out
}

/// The thermal profile (T = 0.5, V = m^2 phi^2 / 2 with m = 1.5), 1-D: 64 fields of 256
/// points on L = 64; per wave number the mean over the fields of |phi(k)|^2 / L is within 5
/// standard errors of T / (k^2 + m^2) and that of |pi(k)|^2 / L of T (a complex mode's
/// |.|^2 is exponential, standard deviation = mean; a real one's chi-squared with one degree,
/// sqrt 2 x mean). 2-D, 32 fields of 32 x 16 on 20 x 10: the same, pooled over all modes.
#[test]
fn thermal_fields_have_the_equilibrium_spectrum() {
    let m2 = 2.25;
    let mut spec = FieldSpec::new(
        256,
        64.0,
        Potential::new("m^2 * phi^2 / 2", &[("m", 1.5)]).unwrap(),
    );
    spec.thermal = Some(0.5);
    spec.fields = 64;
    spec.seed = 3;
    let ratios = thermal_ratios(&spec, 0.5, m2);
    for j in 0..=128usize {
        let picked: Vec<_> = ratios.iter().filter(|r| r.0 == j).collect();
        let count = picked.len() as f64;
        let sd = if picked[0].3 { 2f64.sqrt() } else { 1.0 };
        for (what, mean) in [
            ("phi", picked.iter().map(|r| r.1).sum::<f64>() / count),
            ("pi", picked.iter().map(|r| r.2).sum::<f64>() / count),
        ] {
            common::assert_within(
                &format!("{what} mode {j}"),
                mean,
                1.0,
                sd / count.sqrt(),
                5.0,
            );
        }
    }
    let mut plane = FieldSpec::new(32, 20.0, spec.potential.clone());
    plane.points = [32, 16];
    plane.length = [20.0, 10.0];
    plane.thermal = Some(0.5);
    plane.fields = 32;
    let ratios = thermal_ratios(&plane, 0.5, m2);
    let count = ratios.len() as f64;
    for (what, mean) in [
        ("2-D phi", ratios.iter().map(|r| r.1).sum::<f64>() / count),
        ("2-D pi", ratios.iter().map(|r| r.2).sum::<f64>() / count),
    ] {
        common::assert_within(what, mean, 1.0, 2f64.sqrt() / count.sqrt(), 5.0);
    }
    // Refused where the k = 0 mode has no equilibrium.
    let mut well = FieldSpec::new(64, 10.0, Potential::new(profiles::PHI4, &[]).unwrap());
    well.thermal = Some(0.5);
    let e = well.initial_batch().unwrap_err().to_string();
    assert!(e.contains("model.profile") && e.contains("V''(0)"), "{e}");
}

/// 10^5 steps in f64 on the CPU twin (the device runs 10^4 above): below 1e-9.
#[test]
fn energy_error_in_f64_over_1e5_steps() {
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    energy_error_in_f64(&cpu, 100_000);
}

/// The f64 kernels and their twin from a kink-antikink pair (phi^4, v = 0.3), and a breather
/// (sine-Gordon: the f64 sin of `real_f64.wgsl` against Rust's), 200 steps: the same fields to
/// 1e-12, where f32 agrees to 1e-5.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree_in_f64() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let mut kinks = FieldSpec::new(512, 80.0, Potential::new(profiles::PHI4, &[]).unwrap());
    (kinks.init_phi, kinks.init_pi) = profiles::kink_antikink(0.3, 10.0);
    let mut breather = FieldSpec::new(
        256,
        40.0,
        Potential::new(profiles::SINE_GORDON, &[]).unwrap(),
    );
    (breather.init_phi, breather.init_pi) = profiles::breather(0.5);
    for mut spec in [kinks, breather] {
        spec.dt = Some(0.02);
        spec.t_end = 4.0;
        spec.saves = 2;
        spec.precision = Precision::F64;
        let (a, b) = (
            field::run(&gpu, &spec).unwrap(),
            field::run(&cpu, &spec).unwrap(),
        );
        let worst = a
            .final_phi
            .iter()
            .zip(&b.final_phi)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, common::max_or_nan);
        eprintln!("f64: GPU against twin after {} steps: {worst:e}", a.steps);
        assert!(worst < 1e-12, "{worst}");
        assert!((a.energy[0][1] - b.energy[0][1]).abs() < 1e-12 * b.energy[0][1].abs());
    }
}

/// The kernels and their twin from the same kink-antikink pair (phi^4, v = 0.3), 100 steps:
/// the same field to 1e-4 (the device's FFT and V' round differently).
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let mut spec = FieldSpec::new(512, 80.0, Potential::new(profiles::PHI4, &[]).unwrap());
    (spec.init_phi, spec.init_pi) = profiles::kink_antikink(0.3, 10.0);
    spec.t_end = 5.0;
    spec.saves = 2;
    let (a, b) = (
        field::run(&gpu, &spec).unwrap(),
        field::run(&cpu, &spec).unwrap(),
    );
    let worst = a.snapshots[1]
        .iter()
        .zip(&b.snapshots[1])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, common::max_or_nan_f32);
    eprintln!("GPU against twin after {} steps: {worst:e}", a.steps);
    assert!(worst < 1e-4, "{worst}");
    assert!((a.energy[0][1] - b.energy[0][1]).abs() < 1e-5 * b.energy[0][1].abs());
}
