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
