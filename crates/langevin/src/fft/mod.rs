//! Batched complex FFTs of power-of-two lengths, 1-D and 2-D, on the device (Stockham passes
//! of radix 16, and one of 2, 4 or 8, in `shaders/fft.wgsl`, [`crate::gpu::fft::GpuFft`]) or
//! on the CPU twin (through rustfft, [`crate::cpu::fft`]).
//!
//! Normalisation, as numpy's: the forward transform is `X_k = sum_j x_j exp(-2 pi i j k / n)`
//! with no factor, the inverse carries `1 / n` (per dimension), so `inverse(forward(x)) = x`.
//! A 2-D field of `nx x ny` is stored row by row (x fastest); its transform is the rows' then
//! the columns'. A batch is `fields` such arrays one after the other.
//!
//! Transforms run in f32, or in f64 ([`Precision`]) on adapters with `SHADER_F64` and on the
//! CPU twin: [`transform`] takes `[f32; 2]` or `[f64; 2]` values.

pub mod plan;

pub use plan::*;

use crate::error::{Error, Result};
use crate::real::{Precision, Real};
use crate::Engine;

/// Transforms `data` (`shape.points()` complex values as `[re, im]`, f32 or f64) in place on
/// `engine`'s backend.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad shape, a slice of the wrong length or f64 on an adapter
/// without it; [`Error::Limit`], [`Error::Device`] or [`Error::Shader`].
pub fn transform<R: Real>(
    engine: &Engine,
    data: &mut [[R; 2]],
    shape: FftShape,
    direction: Direction,
) -> Result<()> {
    shape.check()?;
    if data.len() as u64 != shape.points() {
        return Err(Error::invalid(
            "data",
            data.len(),
            format!("{} complex values for this shape", shape.points()),
        ));
    }
    match engine.gpu() {
        Some(ctx) => crate::gpu::fft::transform(ctx, data, shape, direction),
        None => {
            crate::cpu::fft::fft(data, shape, direction);
            Ok(())
        }
    }
}

/// The real transform of `data` (`shape.points()` reals, each field `nx x ny` row by row):
/// per field the `(nx / 2 + 1) x ny` coefficients `X_k` with `0 <= kx <= nx / 2` (the others
/// are `conj X_{-k}`), row by row, as numpy's `rfft` / `rfftn` over (y, x). No factor.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad shape (`nx < 2` included) or a slice of the wrong
/// length; otherwise as [`transform`].
pub fn real_forward<R: Real>(engine: &Engine, data: &[R], shape: FftShape) -> Result<Vec<[R; 2]>> {
    shape.check_real()?;
    if data.len() as u64 != shape.points() {
        return Err(Error::invalid(
            "data",
            data.len(),
            format!("{} reals for this shape", shape.points()),
        ));
    }
    match engine.gpu() {
        Some(ctx) => crate::gpu::fft::real_forward(ctx, data, shape),
        None => Ok(crate::cpu::fft::real_forward(data, shape)),
    }
}

/// The real field whose [`real_forward`] is `spectrum` (`(nx / 2 + 1) ny` coefficients per
/// field, those of a real field), with `1 / (nx ny)` as numpy's `irfft` / `irfftn`.
///
/// # Errors
/// As [`real_forward`].
pub fn real_inverse<R: Real>(
    engine: &Engine,
    spectrum: &[[R; 2]],
    shape: FftShape,
) -> Result<Vec<R>> {
    shape.check_real()?;
    if spectrum.len() as u64 != shape.half_spectrum() * u64::from(shape.fields) {
        return Err(Error::invalid(
            "spectrum",
            spectrum.len(),
            format!(
                "{} coefficients for this shape",
                shape.half_spectrum() * u64::from(shape.fields)
            ),
        ));
    }
    match engine.gpu() {
        Some(ctx) => crate::gpu::fft::real_inverse(ctx, spectrum, shape),
        None => Ok(crate::cpu::fft::real_inverse(spectrum, shape)),
    }
}

/// The time of `pairs` forward-and-inverse transforms of `shape` on data already in place (on
/// the device: one submit, no transfers; on the CPU twin: in memory), for throughput.
///
/// # Errors
/// As [`transform`].
pub fn time_round_trips(
    engine: &Engine,
    shape: FftShape,
    pairs: u32,
    precision: Precision,
) -> Result<std::time::Duration> {
    match precision {
        Precision::F32 => time_round_trips_in::<f32>(engine, shape, pairs),
        Precision::F64 => time_round_trips_in::<f64>(engine, shape, pairs),
    }
}

fn time_round_trips_in<R: Real>(
    engine: &Engine,
    shape: FftShape,
    pairs: u32,
) -> Result<std::time::Duration> {
    shape.check()?;
    let mut data: Vec<[R; 2]> = (0..shape.points())
        .map(|j| [R::real((j % 7) as f64), R::real((j % 3) as f64)])
        .collect();
    match engine.gpu() {
        Some(ctx) => crate::gpu::fft::time_round_trips(ctx, &data, shape, pairs),
        None => {
            let start = std::time::Instant::now();
            for _ in 0..pairs {
                crate::cpu::fft::fft(&mut data, shape, Direction::Forward);
                crate::cpu::fft::fft(&mut data, shape, Direction::Inverse);
            }
            Ok(start.elapsed())
        }
    }
}
