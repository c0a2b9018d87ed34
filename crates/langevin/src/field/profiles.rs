//! Initial conditions of the classic scenarios, as expressions in `x` (and their potentials),
//! each with the exact result it is checked against.

/// The sine-Gordon potential `1 - cos(phi)`.
pub const SINE_GORDON: &str = "1 - cos(phi)";

/// The phi^4 potential `(phi^2 - 1)^2 / 4`: vacua at +-1, mass sqrt(2), kink
/// `tanh(x / sqrt(2))` of energy `2 sqrt(2) / 3`.
pub const PHI4: &str = "(phi^2 - 1)^2 / 4";

/// The energy of a phi^4 kink at rest.
pub fn phi4_kink_energy() -> f64 {
    2.0 * std::f64::consts::SQRT_2 / 3.0
}

/// The sine-Gordon breather of frequency `omega` (0 < omega < 1) at t = 0, where
/// `phi = 4 atan(sqrt(1 - w^2) sin(w t) / (w cosh(sqrt(1 - w^2) x)))` vanishes and
/// `phi_t = 4 sqrt(1 - w^2) / cosh(sqrt(1 - w^2) x)`: `(phi, pi)`.
pub fn breather(omega: f64) -> (String, String) {
    let s = (1.0 - omega * omega).sqrt();
    ("0".into(), format!("4 * {s:?} / cosh({s:?} * x)"))
}

/// The breather itself at time `t`, in f64.
pub fn breather_at(omega: f64, x: f64, t: f64) -> f64 {
    let s = (1.0 - omega * omega).sqrt();
    4.0 * (s * (omega * t).sin() / (omega * (s * x).cosh())).atan()
}

/// The breather's energy `16 sqrt(1 - omega^2)`.
pub fn breather_energy(omega: f64) -> f64 {
    16.0 * (1.0 - omega * omega).sqrt()
}

/// A phi^4 kink at `-x0` moving right and an antikink at `+x0` moving left, both at speed v,
/// on the vacuum -1 (periodic): `(phi, pi)`.
pub fn kink_antikink(v: f64, x0: f64) -> (String, String) {
    let g = 1.0 / (1.0 - v * v).sqrt();
    let a = g / std::f64::consts::SQRT_2;
    let phi = format!("tanh({a:?} * (x + {x0:?})) - tanh({a:?} * (x - {x0:?})) - 1");
    // d/dt tanh(a (x + x0 - v t)) = -a v sech^2(..); the antikink's sign and direction flip.
    let pi = format!(
        "-{av:?} / cosh({a:?} * (x + {x0:?}))^2 - {av:?} / cosh({a:?} * (x - {x0:?}))^2",
        av = a * v
    );
    (phi, pi)
}

/// A phi^4 kink at `x0` moving at speed v (it needs antiperiodic boundaries):
/// `phi = tanh(gamma (x - x0 - v t) / sqrt 2)`, energy `gamma 2 sqrt(2) / 3`: `(phi, pi)`.
pub fn kink(v: f64, x0: f64) -> (String, String) {
    let a = 1.0 / (1.0 - v * v).sqrt() / std::f64::consts::SQRT_2;
    (
        format!("tanh({a:?} * (x - {x0:?}))"),
        format!("-{av:?} / cosh({a:?} * (x - {x0:?}))^2", av = a * v),
    )
}

/// A Gaussian pulse `amplitude exp(-x^2 / (2 width^2))` at rest: `(phi, pi)`.
pub fn gaussian_pulse(amplitude: f64, width: f64) -> (String, String) {
    (
        format!("{amplitude:?} * exp(-x^2 / (2 * {width:?}^2))"),
        "0".into(),
    )
}

/// What became of a phi^4 kink-antikink pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KinkOutcome {
    /// Two zero crossings more than 10 apart (about seven kink widths): the pair reflected
    /// and flew apart.
    Separated {
        /// The distance between the crossings.
        separation: f64,
    },
    /// Anything else: a bound state (a bion oscillating about one vacuum) or annihilation.
    Bound,
}

/// The zero crossings of a periodic 1-D field sampled at `x0 + j dx`, by linear interpolation.
pub fn zero_crossings(phi: &[f32], x0: f64, dx: f64) -> Vec<f64> {
    let n = phi.len();
    (0..n)
        .filter(|&j| (phi[j] > 0.0) != (phi[(j + 1) % n] > 0.0))
        .map(|j| {
            let (a, b) = (f64::from(phi[j]), f64::from(phi[(j + 1) % n]));
            x0 + dx * (j as f64 + a / (a - b))
        })
        .collect()
}

/// The outcome of a kink-antikink collision from the field after it, on a domain of
/// `length` (the separation is measured the short way round).
pub fn kink_outcome(phi: &[f32], x0: f64, dx: f64, length: f64) -> KinkOutcome {
    match zero_crossings(phi, x0, dx).as_slice() {
        [a, b] => {
            let d = (b - a).abs();
            let separation = d.min(length - d);
            if separation > 10.0 {
                KinkOutcome::Separated { separation }
            } else {
                KinkOutcome::Bound
            }
        }
        _ => KinkOutcome::Bound,
    }
}

/// The Philox stream (counter word 3) of the thermal initial fields, drawn on the host.
pub const STREAM_FIELD_THERMAL: u32 = 50;

/// One draw of a Gaussian field in thermal equilibrium for the quadratic action
/// `sum (pi^2/2 + |grad phi|^2/2 + mass2 phi^2/2) dV` at temperature `temperature`, on the
/// grid of `points` x `length` (periodic): `<|phi(k)|^2> / V = T / (k^2 + mass2)` and
/// `<|pi(k)|^2> / V = T` per wave vector, each point's phi and pi Gaussian with mean 0. Field
/// `field` of a batch uses Philox counter `(field, point / 4, 0 for phi and 1 for pi,
/// STREAM_FIELD_THERMAL)`, so every field of a batch is an independent draw. The field is
/// white noise filtered in Fourier space: `phi = FFT^-1(sqrt(T / (dV c_k)) FFT(xi))`.
pub fn thermal(
    points: [u32; 2],
    length: [f64; 2],
    mass2: f64,
    temperature: f64,
    key: [u32; 2],
    field: u32,
) -> (Vec<f64>, Vec<f64>) {
    use rustfft::num_complex::Complex64;
    let (nx, ny) = (points[0] as usize, points[1] as usize);
    let n = nx * ny;
    let normals = |lane: u32| -> Vec<f64> {
        (0..n)
            .map(|j| {
                let block = crate::philox::philox4x32_10(
                    [field, (j / 4) as u32, lane, STREAM_FIELD_THERMAL],
                    key,
                );
                f64::from(crate::philox::box_muller4(block)[j % 4])
            })
            .collect()
    };
    let dv = if ny > 1 {
        length[0] * length[1] / n as f64
    } else {
        length[0] / n as f64
    };
    let tau = 2.0 * std::f64::consts::PI;
    let signed = |i: usize, m: usize| {
        if i >= m / 2 && m > 1 {
            i as f64 - m as f64
        } else {
            i as f64
        }
    };
    let mut hat: Vec<Complex64> = normals(0)
        .into_iter()
        .map(|v| Complex64::new(v, 0.0))
        .collect();
    crate::cpu::fft::fft64(&mut hat, nx, ny, false);
    for (j, h) in hat.iter_mut().enumerate() {
        let kx = tau / length[0] * signed(j % nx, nx);
        let ky = if ny > 1 {
            tau / length[1] * signed(j / nx, ny)
        } else {
            0.0
        };
        *h *= (temperature / (dv * (kx * kx + ky * ky + mass2))).sqrt();
    }
    crate::cpu::fft::fft64(&mut hat, nx, ny, true);
    let amplitude = (temperature / dv).sqrt();
    (
        hat.iter().map(|z| z.re).collect(),
        normals(1).into_iter().map(|v| amplitude * v).collect(),
    )
}
