//! Twins of `shaders/lib/trajectory.wgsl`: global indices and initial states, shared by the
//! kernels that run one trajectory per invocation.

use super::poisson::poisson;
use crate::philox::{
    philox4x32_10, uniform_open01, NormalStream, STREAM_INITIAL, STREAM_INITIAL_UNIFORM,
};
use crate::real::Real;
use crate::spec::{LAW_BINOMIAL, LAW_POISSON, LAW_TABLE, LAW_UNIFORM, LAW_UNIFORM_INT};

use crate::state::{State, MAX_DIM};

/// Twin of `STREAM_INITIAL_TRIALS`.
const STREAM_INITIAL_TRIALS: u32 = 4;
/// Twin of `POISSON_INITIAL`.
const POISSON_INITIAL: u32 = 0xffff_fff0;
/// Twin of `WORD_POISSON_INITIAL`.
const WORD_POISSON_INITIAL: u32 = 5;

/// Twin of `add_index`.
pub fn add_index(base: [u32; 2], offset: u32) -> [u32; 2] {
    let lo = base[0].wrapping_add(offset);
    [lo, base[1] + u32::from(lo < base[0])]
}

/// Twin of `component_uniform`.
pub fn component_uniform(key: [u32; 2], trajectory: [u32; 2], i: usize) -> f32 {
    let ctr = [
        trajectory[0],
        trajectory[1],
        (i >> 2) as u32,
        STREAM_INITIAL_UNIFORM,
    ];
    uniform_open01(philox4x32_10(ctr, key)[i & 3])
}

/// Twin of `initial_count` (`shaders/lib/count_laws.wgsl`): component `i`'s count from a
/// Poisson law of mean `a` or a binomial law of `a` trials of probability `b`.
#[allow(clippy::too_many_arguments)]
pub fn initial_count<R: Real>(
    key: [u32; 2],
    init: &[f32],
    law: f32,
    a: R,
    b: R,
    i: usize,
    trajectory: [u32; 2],
) -> f32 {
    if law == LAW_TABLE {
        let u = component_uniform(key, trajectory, i);
        let (first, len) = (a.wide() as usize, b.wide() as usize);
        let mut k = 0;
        while k + 1 < len && u >= init[first + k] {
            k += 1;
        }
        return k as f32;
    }
    if law == LAW_POISSON {
        let mean = a.wide() as f32;
        return poisson(
            key,
            trajectory,
            POISSON_INITIAL + i as u32,
            WORD_POISSON_INITIAL,
            mean,
        );
    }
    let (trials, p) = (a.wide() as u32, b.wide() as f32);
    let mut successes = 0u32;
    for k in 0..trials {
        let ctr = [
            trajectory[0],
            trajectory[1],
            1024 * i as u32 + (k >> 2),
            STREAM_INITIAL_TRIALS,
        ];
        if uniform_open01(philox4x32_10(ctr, key)[(k & 3) as usize]) < p {
            successes += 1;
        }
    }
    successes as f32
}

/// Twin of `initial_state`: component `i` from its law in `init` (codes, first and second
/// parameters, each `dim` long).
pub fn initial_state(key: [u32; 2], init: &[f32], dim: usize, trajectory: [u32; 2]) -> State {
    initial_state_in::<f32>(key, init, dim, trajectory)
}

/// Twin of `initial_state` over `Scalar = R`: for f64, `init` carries the parameters' low
/// words after the f32 array ([`crate::spec::ResolvedRun::init_for`]).
pub fn initial_state_in<R: Real>(
    key: [u32; 2],
    init: &[f32],
    dim: usize,
    trajectory: [u32; 2],
) -> [R; MAX_DIM] {
    let mut noise = NormalStream::new(key, trajectory, STREAM_INITIAL);
    let mut x = [R::zero(); MAX_DIM];
    let wide = |v: f32| R::real(f64::from(v));
    for i in 0..dim {
        let mut a = wide(init[dim + i]);
        let mut b = wide(init[2 * dim + i]);
        if R::WORDS == 2 {
            a += wide(init[3 * dim + i]);
            b += wide(init[4 * dim + i]);
        }
        if init[i] == LAW_UNIFORM || init[i] == LAW_UNIFORM_INT {
            let u = component_uniform(key, trajectory, i);
            if init[i] == LAW_UNIFORM {
                x[i] = a + (b - a) * wide(u);
            } else {
                let span = (b - a).wide() as f32 + 1.0;
                x[i] = a + wide((span * u).floor().min(span - 1.0));
            }
        } else if init[i] == LAW_POISSON || init[i] == LAW_BINOMIAL || init[i] == LAW_TABLE {
            x[i] = wide(initial_count(key, init, init[i], a, b, i, trajectory));
        } else {
            x[i] = a + b * wide(noise.normal_at(i as u32));
        }
    }
    x
}
