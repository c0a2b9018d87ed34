//! The floating-point precision of the kernels written over `real` (the FFT and the fields):
//! f32 everywhere, or f64 on adapters with `SHADER_F64` (and always on the CPU twin).
//!
//! A kernel imports the virtual module `precision`, which is `shaders/lib/real_f32.wgsl` or
//! `shaders/lib/real_f64.wgsl`: the alias `real` and the functions `r_exp`, `r_sin`, ... in
//! that precision. The twin is generic over [`Real`] with the same arithmetic.

use crate::error::{Error, Result};
use rustfft::num_traits::Float;

/// Which precision a run computes in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// f32 on every adapter.
    #[default]
    F32,
    /// f64: needs `SHADER_F64` on a GPU adapter.
    F64,
}

impl Precision {
    /// From a config's `"f32"` / `"f64"`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `field`.
    pub fn parse(field: &str, text: &str) -> Result<Precision> {
        match text {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            other => Err(Error::invalid(field, other, "\"f32\" or \"f64\"")),
        }
    }

    /// Bytes per real value.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F64 => 8,
        }
    }

    /// The virtual module `precision`.
    pub fn wgsl(self) -> &'static str {
        match self {
            Precision::F32 => include_str!("../../../shaders/lib/real_f32.wgsl"),
            Precision::F64 => include_str!("../../../shaders/lib/real_f64.wgsl"),
        }
    }

    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// f32 or f64, for the twins of the kernels written over `real`.
pub trait Real: rustfft::FftNum + Float + bytemuck::Pod + Default + std::ops::AddAssign {
    /// The precision this type computes in.
    const PRECISION: Precision;
    /// `v` rounded to this type.
    fn real(v: f64) -> Self;
    /// The value in f64 (exact).
    fn wide(self) -> f64;
    /// Twin of `widen`: an f32 pair `(hi, lo)` summed in this precision.
    fn widen(pair: [f32; 2]) -> Self;
    /// f32 words per value in the parameters and sweep table of the kernels over `Scalar`
    /// (`PARAM_WORDS`): the value, or its pair [`split`].
    const WORDS: usize;
    /// Twin of how those kernels read a stored value from its `WORDS` words.
    fn stored(words: &[f32]) -> Self;
    /// `v` as the `WORDS` words that [`Real::stored`] reads.
    fn store(v: f64) -> [f32; 2];
}

impl Real for f32 {
    const PRECISION: Precision = Precision::F32;
    fn real(v: f64) -> f32 {
        v as f32
    }
    fn wide(self) -> f64 {
        f64::from(self)
    }
    fn widen(pair: [f32; 2]) -> f32 {
        pair[0] + pair[1]
    }
    const WORDS: usize = 1;
    fn stored(words: &[f32]) -> f32 {
        words[0]
    }
    fn store(v: f64) -> [f32; 2] {
        [v as f32, 0.0]
    }
}

impl Real for f64 {
    const PRECISION: Precision = Precision::F64;
    fn real(v: f64) -> f64 {
        v
    }
    fn wide(self) -> f64 {
        self
    }
    fn widen(pair: [f32; 2]) -> f64 {
        f64::from(pair[0]) + f64::from(pair[1])
    }
    const WORDS: usize = 2;
    fn stored(words: &[f32]) -> f64 {
        f64::from(words[0]) + f64::from(words[1])
    }
    fn store(v: f64) -> [f32; 2] {
        split(v)
    }
}

/// `values` as the `params` words of a kernel over `Scalar = R` ([`Real::WORDS`] each).
pub fn stored_values<R: Real>(values: &[f64]) -> Vec<f32> {
    values
        .iter()
        .flat_map(|&v| R::store(v).into_iter().take(R::WORDS))
        .collect()
}

/// `v` as an f32 pair `(hi, lo)` whose sum in f64 is `v` to 2^-48 relative: how a uniform
/// carries an f64 value to kernels of either precision (`widen`).
pub fn split(v: f64) -> [f32; 2] {
    let hi = v as f32;
    [hi, (v - f64::from(hi)) as f32]
}
