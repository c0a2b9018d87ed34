//! The `sde_ensemble` twin for eight trajectories in lockstep: models whose terms are
//! interpreted (expressions) evaluate them once per eight lanes instead of once per
//! trajectory. Each lane receives the same f32 operations in the same order as
//! [`super::sde_ensemble`]'s invocation, so the same bits; only the interpretation is shared.

use crate::expr::eval::LANES;
use crate::state::{State, MAX_DIM};
use crate::twin::{LaneParams, LaneState, LaneTerms};

/// Lane `l` as a state.
pub fn lane(x: &LaneState, l: usize, dim: usize) -> State {
    let mut s = [0.0; MAX_DIM];
    for i in 0..dim {
        s[i] = x[i][l];
    }
    s
}

/// [`super::schemes::euler_maruyama_step`] for each lane.
pub fn euler_maruyama_lanes(
    m: &dyn LaneTerms,
    dim: usize,
    p: &LaneParams<'_>,
    t: f32,
    dt: f32,
    x: &LaneState,
    dw: &LaneState,
) -> LaneState {
    let f = m.drift_lanes(t, x, p);
    let n = m.noise_apply_lanes(t, x, dw, p);
    let mut y = [[0.0; LANES]; MAX_DIM];
    for i in 0..dim {
        for l in 0..LANES {
            y[i][l] = x[i][l] + f[i][l] * dt + n[i][l];
        }
    }
    y
}

/// `x + c k` for each lane and component.
fn axpy(dim: usize, x: &LaneState, c: f32, k: &LaneState) -> LaneState {
    let mut y = [[0.0; LANES]; MAX_DIM];
    for i in 0..dim {
        for l in 0..LANES {
            y[i][l] = x[i][l] + c * k[i][l];
        }
    }
    y
}

/// [`super::schemes::rk4_step`] for each lane.
pub fn rk4_lanes(
    m: &dyn LaneTerms,
    dim: usize,
    p: &LaneParams<'_>,
    t: f32,
    dt: f32,
    x: &LaneState,
) -> LaneState {
    let h = 0.5 * dt;
    let k1 = m.drift_lanes(t, x, p);
    let k2 = m.drift_lanes(t + h, &axpy(dim, x, h, &k1), p);
    let k3 = m.drift_lanes(t + h, &axpy(dim, x, h, &k2), p);
    let k4 = m.drift_lanes(t + dt, &axpy(dim, x, dt, &k3), p);
    let mut y = [[0.0; LANES]; MAX_DIM];
    for i in 0..dim {
        for l in 0..LANES {
            y[i][l] =
                x[i][l] + (dt / 6.0) * (k1[i][l] + 2.0 * k2[i][l] + 2.0 * k3[i][l] + k4[i][l]);
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::schemes::{euler_maruyama_step, rk4_step};
    use crate::expr_model::ExprModel;
    use crate::model::Model;

    fn lorenz() -> ExprModel {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ExprModel::new(
            "lorenz",
            &s(&["x", "y", "z"]),
            &[
                ("sigma".into(), 10.0),
                ("rho".into(), 28.0),
                ("beta".into(), 2.6),
            ],
            &s(&["sigma * (y - x)", "x * (rho - z) - y", "x * y - beta * z"]),
            &s(&["0.1 * x", "0.2", "sin(z)"]),
        )
        .unwrap()
    }

    /// Every lane gets the bits of the scalar step, parameters differing per lane.
    #[test]
    fn lanes_equal_the_scalar_steps_to_the_bit() {
        let m = lorenz();
        let terms = m.lane_terms().expect("an expression model has lane terms");
        let params: Vec<Vec<f32>> = (0..LANES)
            .map(|l| vec![10.0, 20.0 + l as f32, 8.0 / 3.0])
            .collect();
        let p: LaneParams<'_> = std::array::from_fn(|l| &params[l][..]);
        let mut x = [[0.0; LANES]; MAX_DIM];
        let mut dw = [[0.0; LANES]; MAX_DIM];
        for l in 0..LANES {
            for i in 0..3 {
                x[i][l] = 1.0 + 0.37 * (l + i) as f32;
                dw[i][l] = 0.01 * (l as f32 - 3.5) * (i as f32 + 1.0);
            }
        }
        let (t, dt) = (0.25, 1e-3);
        let em = euler_maruyama_lanes(terms, 3, &p, t, dt, &x, &dw);
        let rk = rk4_lanes(terms, 3, &p, t, dt, &x);
        for l in 0..LANES {
            let xs = lane(&x, l, 3);
            let em_scalar = euler_maruyama_step(&m, p[l], t, dt, &xs, &lane(&dw, l, 3));
            let rk_scalar = rk4_step(&m, p[l], t, dt, &xs);
            for i in 0..3 {
                assert_eq!(em[i][l].to_bits(), em_scalar[i].to_bits(), "EM lane {l}");
                assert_eq!(rk[i][l].to_bits(), rk_scalar[i].to_bits(), "RK4 lane {l}");
            }
        }
        assert!(m.dim() == 3);
    }
}
