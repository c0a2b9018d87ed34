//! Twin of `shaders/fft.wgsl`: the same batched transforms, their layout and normalisation,
//! through rustfft (f32, planned per length): rows, then columns gathered into a line.

use crate::fft::{Direction, FftShape};
use rustfft::num_complex::Complex32;
use rustfft::FftPlanner;

/// Transforms `data` (`shape.points()` values as `[re, im]`) in place.
pub fn fft(data: &mut [[f32; 2]], shape: FftShape, direction: Direction) {
    let mut planner = FftPlanner::<f32>::new();
    let plan = |n: u32, planner: &mut FftPlanner<f32>| match direction {
        Direction::Forward => planner.plan_fft_forward(n as usize),
        Direction::Inverse => planner.plan_fft_inverse(n as usize),
    };
    let (nx, ny) = (shape.nx as usize, shape.ny as usize);
    let mut line: Vec<Complex32> = Vec::with_capacity(nx.max(ny));
    let rows = plan(shape.nx, &mut planner);
    let scale_x = if direction == Direction::Inverse {
        1.0 / nx as f32
    } else {
        1.0
    };
    for row in data.chunks_mut(nx) {
        line.clear();
        line.extend(row.iter().map(|[re, im]| Complex32::new(*re, *im)));
        rows.process(&mut line);
        for (out, v) in row.iter_mut().zip(&line) {
            *out = [v.re * scale_x, v.im * scale_x];
        }
    }
    if ny > 1 {
        let columns = plan(shape.ny, &mut planner);
        let scale_y = if direction == Direction::Inverse {
            1.0 / ny as f32
        } else {
            1.0
        };
        for field in data.chunks_mut(nx * ny) {
            for x in 0..nx {
                line.clear();
                line.extend((0..ny).map(|y| {
                    let [re, im] = field[y * nx + x];
                    Complex32::new(re, im)
                }));
                columns.process(&mut line);
                for (y, v) in line.iter().enumerate() {
                    field[y * nx + x] = [v.re * scale_y, v.im * scale_y];
                }
            }
        }
    }
}

/// One field of `nx x ny` transformed in place in f64 (the inverse carries `1 / (nx ny)`): the
/// host's spectral observables.
pub fn fft64(data: &mut [rustfft::num_complex::Complex64], nx: usize, ny: usize, inverse: bool) {
    let mut planner = FftPlanner::<f64>::new();
    let plan = |n: usize, planner: &mut FftPlanner<f64>| {
        if inverse {
            planner.plan_fft_inverse(n)
        } else {
            planner.plan_fft_forward(n)
        }
    };
    let rows = plan(nx, &mut planner);
    for row in data.chunks_mut(nx) {
        rows.process(row);
    }
    if ny > 1 {
        let columns = plan(ny, &mut planner);
        let mut line = vec![rustfft::num_complex::Complex64::new(0.0, 0.0); ny];
        for x in 0..nx {
            for (y, v) in line.iter_mut().enumerate() {
                *v = data[y * nx + x];
            }
            columns.process(&mut line);
            for (y, v) in line.iter().enumerate() {
                data[y * nx + x] = *v;
            }
        }
    }
    if inverse {
        let scale = 1.0 / (nx * ny) as f64;
        data.iter_mut().for_each(|v| *v *= scale);
    }
}
