//! Batched complex FFTs of power-of-two lengths, 1-D and 2-D, on the device (Stockham passes
//! of radix 4 and 2 in `shaders/fft.wgsl`, [`crate::gpu::fft::GpuFft`]) or on the CPU twin
//! (through rustfft, [`crate::cpu::fft`]).
//!
//! Normalisation, as numpy's: the forward transform is `X_k = sum_j x_j exp(-2 pi i j k / n)`
//! with no factor, the inverse carries `1 / n` (per dimension), so `inverse(forward(x)) = x`.
//! A 2-D field of `nx x ny` is stored row by row (x fastest); its transform is the rows' then
//! the columns'. A batch is `fields` such arrays one after the other.

use crate::error::{Error, Result};
use crate::Engine;
use bytemuck::{Pod, Zeroable};

/// The longest transform along one axis.
pub const MAX_FFT_LEN: u32 = 1 << 22;
/// The most complex values in one batch (128 MiB of `vec2<f32>`, the storage binding limit
/// of the adapters this engine targets).
pub const MAX_FFT_POINTS: u64 = 1 << 24;

/// Forward or inverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `exp(-2 pi i jk / n)`, no factor.
    Forward,
    /// `exp(+2 pi i jk / n)`, times `1 / n`.
    Inverse,
}

/// The shape of a batch of transforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FftShape {
    /// Points along x (the fastest axis).
    pub nx: u32,
    /// Points along y (1 for 1-D fields).
    pub ny: u32,
    /// Fields in the batch.
    pub fields: u32,
}

impl FftShape {
    /// A batch of `fields` 1-D transforms of length `n`.
    pub fn one_d(n: u32, fields: u32) -> Self {
        FftShape {
            nx: n,
            ny: 1,
            fields,
        }
    }

    /// A batch of `fields` 2-D transforms of `nx x ny`.
    pub fn two_d(nx: u32, ny: u32, fields: u32) -> Self {
        FftShape { nx, ny, fields }
    }

    /// Complex values per field.
    pub fn field_size(&self) -> u64 {
        u64::from(self.nx) * u64::from(self.ny)
    }

    /// Complex values in the batch.
    pub fn points(&self) -> u64 {
        self.field_size() * u64::from(self.fields)
    }

    /// Checks the lengths and the batch size.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a length that is not a power of two from 1 to 2^22 or no
    /// fields; [`Error::Limit`] past [`MAX_FFT_POINTS`].
    pub fn check(&self) -> Result<()> {
        for (field, n) in [("grid.points[0]", self.nx), ("grid.points[1]", self.ny)] {
            if !n.is_power_of_two() || n > MAX_FFT_LEN {
                return Err(Error::invalid(field, n, "a power of two from 1 to 2^22"));
            }
        }
        if self.fields == 0 {
            return Err(Error::invalid("fields", 0, "at least one field"));
        }
        if self.points() > MAX_FFT_POINTS {
            return Err(Error::Limit(format!(
                "{} fields of {} x {} points is {} complex values; at most 2^24 in one batch",
                self.fields,
                self.nx,
                self.ny,
                self.points()
            )));
        }
        Ok(())
    }
}

/// The uniform of one FFT pass (keep in sync with `shaders/fft.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct FftPass {
    /// The transform length.
    pub n: u32,
    /// The product of the radices of the passes before this one.
    pub p: u32,
    /// Lines (transforms) in the batch.
    pub lines: u32,
    /// Lines per field.
    pub lines_per_field: u32,
    /// Complex values per field.
    pub field_size: u32,
    /// Between the first elements of neighbouring lines of a field.
    pub line_stride: u32,
    /// Between neighbouring elements of a line.
    pub elem_stride: u32,
    /// Where this length's twiddles start in the table.
    pub twiddle_offset: u32,
    /// +1 forward, -1 inverse.
    pub conj: f32,
    /// The factor on the outputs (1, or 1/n on the last inverse pass).
    pub scale: f32,
    /// Padding.
    pub pad0: u32,
    /// Padding.
    pub pad1: u32,
}

/// The radices of a transform of length `n`: one 2 first when log2 n is odd, then 4s.
pub fn radices(n: u32) -> Vec<u32> {
    let m = n.trailing_zeros();
    let mut r = Vec::new();
    if m % 2 == 1 {
        r.push(2);
    }
    r.extend(std::iter::repeat_n(4, (m / 2) as usize));
    r
}

/// The passes of one direction of `shape`'s transform, with each pass's radix: the rows',
/// then (2-D) the columns'. `offsets` are where the x and y twiddles start in the table.
pub fn passes(shape: FftShape, direction: Direction, offsets: [u32; 2]) -> Vec<(u32, FftPass)> {
    let field = shape.field_size() as u32;
    let conj = if direction == Direction::Forward {
        1.0
    } else {
        -1.0
    };
    let mut out = Vec::new();
    // (length, lines per field, line stride, element stride, twiddle offset)
    let mut axes = vec![(shape.nx, shape.ny, shape.nx, 1, offsets[0])];
    if shape.ny > 1 {
        axes.push((shape.ny, shape.nx, 1, shape.nx, offsets[1]));
    }
    for (n, lines_per_field, line_stride, elem_stride, twiddle_offset) in axes {
        let rs = radices(n);
        let mut p = 1;
        for (k, &r) in rs.iter().enumerate() {
            let last = k + 1 == rs.len();
            out.push((
                r,
                FftPass {
                    n,
                    p,
                    lines: lines_per_field * shape.fields,
                    lines_per_field,
                    field_size: field,
                    line_stride,
                    elem_stride,
                    twiddle_offset,
                    conj,
                    scale: if last && direction == Direction::Inverse {
                        1.0 / n as f32
                    } else {
                        1.0
                    },
                    pad0: 0,
                    pad1: 0,
                },
            ));
            p *= r;
        }
    }
    out
}

/// The twiddle table `exp(-2 pi i t / n)`, t < n, computed in f64.
pub fn twiddles(n: u32) -> Vec<[f32; 2]> {
    (0..n)
        .map(|t| {
            let a = -2.0 * std::f64::consts::PI * f64::from(t) / f64::from(n);
            [a.cos() as f32, a.sin() as f32]
        })
        .collect()
}

/// Transforms `data` (`shape.points()` complex values as `[re, im]`) in place on `engine`'s
/// backend.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad shape or a slice of the wrong length, [`Error::Limit`],
/// [`Error::Device`] or [`Error::Shader`].
pub fn transform(
    engine: &Engine,
    data: &mut [[f32; 2]],
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

/// The time of `pairs` forward-and-inverse transforms of `shape` on data already in place (on
/// the device: one submit, no transfers; on the CPU twin: in memory), for throughput.
///
/// # Errors
/// As [`transform`].
pub fn time_round_trips(
    engine: &Engine,
    shape: FftShape,
    pairs: u32,
) -> Result<std::time::Duration> {
    shape.check()?;
    let mut data: Vec<[f32; 2]> = (0..shape.points())
        .map(|j| [(j % 7) as f32, (j % 3) as f32])
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
