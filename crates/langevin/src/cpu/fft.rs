//! Twin of `shaders/fft.wgsl`: the same batched transforms, their layout and normalisation,
//! through rustfft (in f32 or f64, planned per length) one axis at a time, each line gathered
//! by its strides as the passes address it ([`FftAxis`]); the real transforms' `rfft_post` and
//! `irfft_pre` as the kernels compute them.

use crate::fft::plan::{Direction, FftAxis, FftPlan, FftShape};
use crate::real::Real;
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Every line of `axis` in `fields` fields transformed in place (the inverse with `1 / n`).
fn lines<R: Real>(
    data: &mut [[R; 2]],
    axis: FftAxis,
    fields: u32,
    direction: Direction,
    planner: &mut FftPlanner<R>,
) {
    if axis.n <= 1 {
        return;
    }
    let n = axis.n as usize;
    let plan = match direction {
        Direction::Forward => planner.plan_fft_forward(n),
        Direction::Inverse => planner.plan_fft_inverse(n),
    };
    let scale = R::real(if direction == Direction::Inverse {
        1.0 / n as f64
    } else {
        1.0
    });
    let mut line: Vec<Complex<R>> = Vec::with_capacity(n);
    for f in 0..fields as usize {
        for l in 0..axis.lines_per_field as usize {
            let base = f * axis.field_size as usize + l * axis.line_stride as usize;
            let at = |j: usize| base + j * axis.elem_stride as usize;
            line.clear();
            line.extend((0..n).map(|j| {
                let [re, im] = data[at(j)];
                Complex::new(re, im)
            }));
            plan.process(&mut line);
            for (j, v) in line.iter().enumerate() {
                data[at(j)] = [v.re * scale, v.im * scale];
            }
        }
    }
}

/// Runs the axes of `plan`'s dispatches in order: each axis's Stockham passes as one rustfft
/// call, `rfft_post` and `irfft_pre` as the kernels.
fn run_plan<R: Real>(data: &mut Vec<[R; 2]>, plan: &FftPlan, direction: Direction) {
    use crate::fft::plan::FftKernel;
    let mut planner = FftPlanner::<R>::new();
    let dispatches = plan.dispatches(direction);
    let mut k = 0;
    while k < dispatches.len() {
        let (kernel, pass) = dispatches[k];
        match kernel {
            FftKernel::RealPost => {
                *data = rfft_post(data, pass.n as usize, pass.lines as usize);
                k += 1;
            }
            FftKernel::RealPre => {
                *data = irfft_pre(data, pass.n as usize, pass.lines as usize);
                k += 1;
            }
            FftKernel::Radix2 | FftKernel::Radix4 | FftKernel::Radix8 | FftKernel::Radix16 => {
                // The passes of one axis share everything but p and scale.
                let axis = FftAxis {
                    n: pass.n,
                    lines_per_field: pass.lines_per_field,
                    line_stride: pass.line_stride,
                    elem_stride: pass.elem_stride,
                    field_size: pass.field_size,
                };
                let fields = pass.lines / pass.lines_per_field;
                lines(data, axis, fields, direction, &mut planner);
                k += crate::fft::plan::radices(pass.n).len();
            }
        }
    }
}

/// Transforms `data` (`shape.points()` values as `[re, im]`) in place.
pub fn fft<R: Real>(data: &mut [[R; 2]], shape: FftShape, direction: Direction) {
    let mut owned = data.to_vec();
    run_plan(&mut owned, &FftPlan::complex(shape), direction);
    data.copy_from_slice(&owned);
}

/// Twin of `cmul` (`shaders/lib/real_spectrum.wgsl`).
fn cmul<R: Real>(a: [R; 2], b: [R; 2]) -> [R; 2] {
    [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]]
}

/// Twin of `conj2`.
fn conj2<R: Real>(a: [R; 2]) -> [R; 2] {
    [a[0], -a[1]]
}

/// Twin of `rfft_unpack`: `X_k` from `Z_k`, the mirror entry `Z_-k` and `w = exp(-2 pi i k
/// / n)`.
pub fn rfft_unpack<R: Real>(zk: [R; 2], mirror_z: [R; 2], w: [R; 2]) -> [R; 2] {
    let half = R::real(0.5);
    let zc = conj2(mirror_z);
    let e = [half * (zk[0] + zc[0]), half * (zk[1] + zc[1])];
    let d = [half * (zk[0] - zc[0]), half * (zk[1] - zc[1])];
    let o = cmul(w, [d[1], -d[0]]);
    [e[0] + o[0], e[1] + o[1]]
}

/// Twin of `rfft_repack`: `Z_k` from `X_k`, the mirror entry `X_{h-k}` and `w = exp(-2 pi i
/// k / n)`.
pub fn rfft_repack<R: Real>(xk: [R; 2], mirror_x: [R; 2], w: [R; 2]) -> [R; 2] {
    let half = R::real(0.5);
    let xc = conj2(mirror_x);
    let e = [half * (xk[0] + xc[0]), half * (xk[1] + xc[1])];
    let o = cmul(conj2(w), [half * (xk[0] - xc[0]), half * (xk[1] - xc[1])]);
    [e[0] - o[1], e[1] + o[0]]
}

/// Twin of `rfft_post`: `lines` rows of `n / 2` values `Z` into rows of `n / 2 + 1`
/// coefficients.
pub fn rfft_post<R: Real>(z: &[[R; 2]], n: usize, lines: usize) -> Vec<[R; 2]> {
    let h = n / 2;
    let twiddles = crate::fft::plan::twiddles::<R>(n as u32);
    let mut out = vec![[R::zero(); 2]; lines * (h + 1)];
    for l in 0..lines {
        for k in 0..=h {
            out[l * (h + 1) + k] =
                rfft_unpack(z[l * h + k % h], z[l * h + (h - k) % h], twiddles[k]);
        }
    }
    out
}

/// Twin of `irfft_pre`: `lines` rows of `n / 2 + 1` coefficients into rows of `n / 2`
/// values `Z`.
pub fn irfft_pre<R: Real>(x: &[[R; 2]], n: usize, lines: usize) -> Vec<[R; 2]> {
    let h = n / 2;
    let twiddles = crate::fft::plan::twiddles::<R>(n as u32);
    let mut out = vec![[R::zero(); 2]; lines * (h + 1)];
    for l in 0..lines {
        for k in 0..h {
            out[l * h + k] = rfft_repack(x[l * (h + 1) + k], x[l * (h + 1) + h - k], twiddles[k]);
        }
    }
    out
}

/// The real transform of `data`: `(nx / 2 + 1) ny` coefficients per field.
pub fn real_forward<R: Real>(data: &[R], shape: FftShape) -> Vec<[R; 2]> {
    let plan = FftPlan::real(shape);
    let mut z: Vec<[R; 2]> = data.chunks(2).map(|p| [p[0], p[1]]).collect();
    run_plan(&mut z, &plan, Direction::Forward);
    z.truncate(plan.buffer_len as usize);
    z
}

/// The real field of a spectrum of [`real_forward`]'s layout.
pub fn real_inverse<R: Real>(spectrum: &[[R; 2]], shape: FftShape) -> Vec<R> {
    let plan = FftPlan::real(shape);
    let mut x = spectrum.to_vec();
    run_plan(&mut x, &plan, Direction::Inverse);
    x.truncate(shape.points() as usize / 2);
    x.iter().flat_map(|z| [z[0], z[1]]).collect()
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
