//! Twins of `shaders/lib/trajectory.wgsl`: global indices and initial states, shared by the
//! kernels that run one trajectory per invocation.

use crate::philox::{
    philox4x32_10, uniform_open01, NormalStream, STREAM_INITIAL, STREAM_INITIAL_UNIFORM,
};
use crate::real::Real;
use crate::spec::LAW_UNIFORM;
use crate::state::{State, MAX_DIM};

/// Twin of `add_index`.
pub fn add_index(base: [u32; 2], offset: u32) -> [u32; 2] {
    let lo = base[0].wrapping_add(offset);
    [lo, base[1] + u32::from(lo < base[0])]
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
        if init[i] == LAW_UNIFORM {
            let ctr = [
                trajectory[0],
                trajectory[1],
                (i >> 2) as u32,
                STREAM_INITIAL_UNIFORM,
            ];
            let u = uniform_open01(philox4x32_10(ctr, key)[i & 3]);
            x[i] = a + (b - a) * wide(u);
        } else {
            x[i] = a + b * wide(noise.normal_at(i as u32));
        }
    }
    x
}
