//! The shapes, passes and twiddles of a batched FFT: what both backends execute
//! ([`crate::gpu::fft`] in `shaders/fft.wgsl`, [`crate::cpu::fft`] through rustfft).

use crate::error::{Error, Result};
use crate::real::Real;
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

impl FftShape {
    /// Checks a shape for the real transforms: [`FftShape::check`] and `nx >= 2`.
    ///
    /// # Errors
    /// As [`FftShape::check`]; [`Error::InvalidInput`] for `nx < 2`.
    pub fn check_real(&self) -> Result<()> {
        self.check()?;
        if self.nx < 2 {
            return Err(Error::invalid(
                "grid.points[0]",
                self.nx,
                "at least 2 for a real transform",
            ));
        }
        Ok(())
    }

    /// Coefficients per field of the real transform: `(nx / 2 + 1) ny`.
    pub fn half_spectrum(&self) -> u64 {
        u64::from(self.nx / 2 + 1) * u64::from(self.ny)
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

/// The radices of a transform of length `n`: one 2, 4 or 8 first when 4 does not divide
/// log2 n, then 16s. Each pass reads and writes the whole array once, so the fewer passes the
/// less memory traffic: 5 passes at 2^20 where radix 4 took 10.
pub fn radices(n: u32) -> Vec<u32> {
    let m = n.trailing_zeros();
    let mut r = Vec::new();
    if m % 4 != 0 {
        r.push(1 << (m % 4));
    }
    r.extend(std::iter::repeat_n(16, (m / 4) as usize));
    r
}

/// What one dispatch of a transform runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FftKernel {
    /// A Stockham pass of radix 2 (`fft_radix2`).
    Radix2,
    /// A Stockham pass of radix 4 (`fft_radix4`).
    Radix4,
    /// A Stockham pass of radix 8 (`fft_radix8`).
    Radix8,
    /// A Stockham pass of radix 16 (`fft_radix16`).
    Radix16,
    /// Real-to-complex: the half-length transform of a real line into its `n / 2 + 1`
    /// coefficients (`rfft_post`).
    RealPost,
    /// Complex-to-real: `n / 2 + 1` coefficients into the half-length line whose inverse is
    /// the real line (`irfft_pre`).
    RealPre,
}

impl FftKernel {
    /// The entry point.
    pub fn entry_point(self) -> &'static str {
        match self {
            FftKernel::Radix2 => "fft_radix2",
            FftKernel::Radix4 => "fft_radix4",
            FftKernel::Radix8 => "fft_radix8",
            FftKernel::Radix16 => "fft_radix16",
            FftKernel::RealPost => "rfft_post",
            FftKernel::RealPre => "irfft_pre",
        }
    }

    /// The Stockham pass of radix `r` (2, 4, 8 or 16).
    ///
    /// # Panics
    /// For any other radix: [`radices`] gives no other.
    pub fn radix(r: u32) -> FftKernel {
        match r {
            2 => FftKernel::Radix2,
            4 => FftKernel::Radix4,
            8 => FftKernel::Radix8,
            16 => FftKernel::Radix16,
            _ => panic!("no Stockham kernel of radix {r}"),
        }
    }

    /// Invocations of a dispatch of `pass`.
    pub fn invocations(self, pass: &FftPass) -> u64 {
        let per_line = match self {
            FftKernel::Radix2 => pass.n / 2,
            FftKernel::Radix4 => pass.n / 4,
            FftKernel::Radix8 => pass.n / 8,
            FftKernel::Radix16 => pass.n / 16,
            FftKernel::RealPost => pass.n / 2 + 1,
            FftKernel::RealPre => pass.n / 2,
        };
        u64::from(pass.lines) * u64::from(per_line)
    }
}

/// One axis of a batch: `n` points per line, `lines_per_field` lines per field of
/// `field_size` values, lines `line_stride` and elements `elem_stride` apart.
#[derive(Clone, Copy, Debug)]
pub struct FftAxis {
    /// Points per line.
    pub n: u32,
    /// Lines per field.
    pub lines_per_field: u32,
    /// Between the first elements of neighbouring lines.
    pub line_stride: u32,
    /// Between neighbouring elements of a line.
    pub elem_stride: u32,
    /// Complex values per field.
    pub field_size: u32,
}

impl FftAxis {
    /// The Stockham passes of this axis over `fields` fields, twiddles from `twiddle_offset`.
    pub fn passes(
        self,
        fields: u32,
        direction: Direction,
        twiddle_offset: u32,
    ) -> Vec<(FftKernel, FftPass)> {
        let rs = radices(self.n);
        let mut p = 1;
        let mut out = Vec::new();
        for (k, &r) in rs.iter().enumerate() {
            let last = k + 1 == rs.len();
            let mut pass = self.pass(fields, direction, twiddle_offset);
            pass.p = p;
            if last && direction == Direction::Inverse {
                pass.scale = 1.0 / self.n as f32;
            }
            out.push((FftKernel::radix(r), pass));
            p *= r;
        }
        out
    }

    /// The uniform of a dispatch over this axis (p = 1, scale 1).
    pub fn pass(self, fields: u32, direction: Direction, twiddle_offset: u32) -> FftPass {
        FftPass {
            n: self.n,
            p: 1,
            lines: self.lines_per_field * fields,
            lines_per_field: self.lines_per_field,
            field_size: self.field_size,
            line_stride: self.line_stride,
            elem_stride: self.elem_stride,
            twiddle_offset,
            conj: if direction == Direction::Forward {
                1.0
            } else {
                -1.0
            },
            scale: 1.0,
            pad0: 0,
            pad1: 0,
        }
    }
}

/// The dispatches of a transform in both directions and the twiddle table they read (as
/// `f64` values, rounded to the run's precision on upload).
#[derive(Clone, Debug)]
pub struct FftPlan {
    /// Forward dispatches in order.
    pub forward: Vec<(FftKernel, FftPass)>,
    /// Inverse dispatches in order.
    pub inverse: Vec<(FftKernel, FftPass)>,
    /// The lengths whose twiddles are tabulated, one after the other.
    pub tables: Vec<u32>,
    /// Complex values each of the two buffers holds.
    pub buffer_len: u64,
}

impl FftPlan {
    /// The complex transform of `shape`: the rows' passes, then (2-D) the columns'.
    pub fn complex(shape: FftShape) -> FftPlan {
        let field = shape.field_size() as u32;
        let rows = FftAxis {
            n: shape.nx,
            lines_per_field: shape.ny,
            line_stride: shape.nx,
            elem_stride: 1,
            field_size: field,
        };
        let columns = FftAxis {
            n: shape.ny,
            lines_per_field: shape.nx,
            line_stride: 1,
            elem_stride: shape.nx,
            field_size: field,
        };
        let direction = |d: Direction| {
            let mut out = rows.passes(shape.fields, d, 0);
            if shape.ny > 1 {
                out.extend(columns.passes(shape.fields, d, shape.nx));
            }
            out
        };
        FftPlan {
            forward: direction(Direction::Forward),
            inverse: direction(Direction::Inverse),
            tables: vec![shape.nx, shape.ny],
            buffer_len: shape.points(),
        }
    }

    /// The real transform of `shape` (`nx >= 2`): forward, the `nx` reals of a row read as
    /// `nx / 2` complex values go through the half-length passes and `rfft_post` into the
    /// row's `nx / 2 + 1` coefficients, then (2-D) the columns' passes over rows of that
    /// width; the inverse undoes it (columns, `irfft_pre`, half-length inverse passes).
    pub fn real(shape: FftShape) -> FftPlan {
        let half = shape.nx / 2;
        let width = half + 1;
        let rows = FftAxis {
            n: half,
            lines_per_field: shape.ny,
            line_stride: half,
            elem_stride: 1,
            field_size: half * shape.ny,
        };
        let columns = FftAxis {
            n: shape.ny,
            lines_per_field: width,
            line_stride: 1,
            elem_stride: width,
            field_size: width * shape.ny,
        };
        // The pre/post kernels run over rows of the full length: n = nx, the output (post) or
        // input (pre) rows `width` apart, the half-length rows `half` apart (line_stride).
        let real_rows = |d: Direction| FftPass {
            n: shape.nx,
            line_stride: half,
            elem_stride: width,
            ..rows.pass(shape.fields, d, half + shape.ny)
        };
        let columns_at = half;
        let mut forward = rows.passes(shape.fields, Direction::Forward, 0);
        forward.push((FftKernel::RealPost, real_rows(Direction::Forward)));
        let mut inverse = Vec::new();
        if shape.ny > 1 {
            forward.extend(columns.passes(shape.fields, Direction::Forward, columns_at));
            inverse.extend(columns.passes(shape.fields, Direction::Inverse, columns_at));
        }
        inverse.push((FftKernel::RealPre, real_rows(Direction::Inverse)));
        inverse.extend(rows.passes(shape.fields, Direction::Inverse, 0));
        FftPlan {
            forward,
            inverse,
            tables: vec![half, shape.ny, shape.nx],
            buffer_len: u64::from(width) * u64::from(shape.ny) * u64::from(shape.fields),
        }
    }

    /// The dispatches of one direction.
    pub fn dispatches(&self, direction: Direction) -> &[(FftKernel, FftPass)] {
        match direction {
            Direction::Forward => &self.forward,
            Direction::Inverse => &self.inverse,
        }
    }

    /// The twiddle table.
    pub fn table<R: Real>(&self) -> Vec<[R; 2]> {
        self.tables.iter().flat_map(|n| twiddles::<R>(*n)).collect()
    }
}

/// The twiddle table `exp(-2 pi i t / n)`, t < n, computed in f64 and rounded to `R`.
pub fn twiddles<R: Real>(n: u32) -> Vec<[R; 2]> {
    (0..n)
        .map(|t| {
            let a = -2.0 * std::f64::consts::PI * f64::from(t) / f64::from(n);
            [R::real(a.cos()), R::real(a.sin())]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length to 2^22 factors into its radices with at most one pass that is not
    /// radix 16, and that one first: ceil(log2 n / 4) passes.
    #[test]
    fn radices_factor_the_length_in_passes_of_sixteen() {
        for m in 0..=22u32 {
            let n = 1u32 << m;
            let r = radices(n);
            assert_eq!(r.iter().product::<u32>(), n, "n = {n}: {r:?}");
            assert_eq!(r.len() as u32, m.div_ceil(4), "n = {n}: {r:?}");
            assert!(r.iter().skip(1).all(|&x| x == 16), "n = {n}: {r:?}");
            assert!(r
                .iter()
                .all(|&x| FftKernel::radix(x).entry_point().ends_with(&x.to_string())));
        }
    }
}
