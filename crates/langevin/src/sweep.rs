//! Parameter sweeps: one run covers a grid of parameter values, each trajectory reading its own.
//!
//! The grid is the product of the sweeps, the first varying slowest. With `C` grid points and
//! `T` trajectories, point `c` owns the `R = T / C` consecutive trajectories `[c R, (c + 1) R)`,
//! by global trajectory index. Either `R = 1` (a value per trajectory, as in DiffEqGPU's
//! parameter ensembles) or `R` is a multiple of the 64-trajectory block in which moments are
//! folded, so that each block belongs to one grid point and statistics can be grouped by value
//! without another reduction. The kernels read a packed table ([`ResolvedSweep::table`]) and
//! overwrite the swept parameters in their private copy before the first step.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::segment::BLOCK_SIZE;
use rayon::prelude::*;
use std::sync::Arc;

/// Values of one parameter across the trajectories.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The parameter's name, as the model lists it.
    pub param: String,
    /// Its values, in order; shared, not copied, by the runs and results that read them (a
    /// value per trajectory can mean millions).
    pub values: Arc<Vec<f64>>,
}

impl Sweep {
    /// The values given.
    pub fn new(param: &str, values: &[f64]) -> Sweep {
        Sweep {
            param: param.to_string(),
            values: Arc::new(values.to_vec()),
        }
    }

    /// `count` values evenly spaced from `a` to `b` inclusive.
    pub fn linspace(param: &str, a: f64, b: f64, count: usize) -> Sweep {
        let values = match count {
            0 => vec![],
            1 => vec![a],
            n => (0..n)
                .into_par_iter()
                .map(|k| a + (b - a) * k as f64 / (n - 1) as f64)
                .collect(),
        };
        Sweep {
            param: param.to_string(),
            values: Arc::new(values),
        }
    }

    /// `count` values from `a` to `b` inclusive, evenly spaced in the logarithm (`a`, `b` > 0).
    pub fn logspace(param: &str, a: f64, b: f64, count: usize) -> Sweep {
        let mut s = Sweep::linspace(param, a.ln(), b.ln(), count);
        let values = Arc::make_mut(&mut s.values);
        values.par_iter_mut().for_each(|v| *v = v.exp());
        // The ends exactly as given, not as exp(ln(a)) rounds them.
        if let Some(first) = values.first_mut() {
            *first = a;
        }
        if count > 1 {
            values[count - 1] = b;
        }
        s
    }
}

/// A checked sweep: which parameters, which values, how trajectories map to grid points.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedSweep {
    /// Names of the swept parameters, in sweep order.
    pub names: Vec<String>,
    /// Their indices in the model's parameters.
    pub indices: Vec<usize>,
    /// The values of each sweep, shared with the [`Sweep`]s they came from.
    pub values: Vec<Arc<Vec<f64>>>,
    /// Grid points: the product of the sweeps' lengths.
    pub points: u64,
    /// Trajectories per grid point.
    pub per_point: u64,
    /// Whether statistics are grouped by grid point (`per_point` is a multiple of the block).
    pub grouped: bool,
    /// The packed table the kernels read: the number of sweeps and the trajectories per point,
    /// then per sweep its parameter index, length, stride and the offset of its values, then
    /// the values as f32 bits.
    pub table: Vec<u32>,
}

/// Words of the table before the per-sweep entries: count, trajectories per point.
const HEADER: usize = 2;
/// Words per sweep entry: parameter index, length, stride, offset of its values.
const ENTRY: usize = 4;

impl ResolvedSweep {
    /// Checks `sweeps` against the model's parameters and the run's trajectories.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `ensemble.sweep.<param>` for an unknown parameter, an
    /// empty or non-finite list, or trajectories that do not divide into the grid.
    pub fn resolve(
        sweeps: &[Sweep],
        params: &[(String, f64)],
        trajectories: u64,
        first_trajectory: u64,
    ) -> Result<Option<ResolvedSweep>> {
        Self::resolve_in_blocks(
            sweeps,
            params,
            trajectories,
            first_trajectory,
            u64::from(BLOCK_SIZE),
        )
    }

    /// [`ResolvedSweep::resolve`] for statistics folded in blocks of `block` trajectories
    /// (a point holds one trajectory or whole blocks).
    ///
    /// # Errors
    /// As [`ResolvedSweep::resolve`].
    pub fn resolve_in_blocks(
        sweeps: &[Sweep],
        params: &[(String, f64)],
        trajectories: u64,
        first_trajectory: u64,
        block: u64,
    ) -> Result<Option<ResolvedSweep>> {
        if sweeps.is_empty() {
            return Ok(None);
        }
        let mut indices = Vec::new();
        for s in sweeps {
            let field = format!("ensemble.sweep.{}", s.param);
            let index = params
                .iter()
                .position(|(n, _)| *n == s.param)
                .ok_or_else(|| {
                    let hint = crate::expr::parse::closest(
                        &s.param,
                        params.iter().map(|(n, _)| n.as_str()),
                    )
                    .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
                    Error::invalid(
                        &field,
                        &s.param,
                        format!("not a parameter of the model{hint}"),
                    )
                })?;
            if indices.contains(&index) {
                return Err(Error::invalid(&field, &s.param, "swept twice"));
            }
            indices.push(index);
            if s.values.is_empty() {
                return Err(Error::invalid(&field, "[]", "needs at least one value"));
            }
            let bad = |v: &&f64| !(v.is_finite() && v.abs() <= f64::from(f32::MAX));
            if let Some(v) = s
                .values
                .par_chunks(1 << 16)
                .find_map_first(|piece| piece.iter().find(bad).copied())
            {
                return Err(Error::invalid(
                    &field,
                    v,
                    "values must be finite f32 numbers",
                ));
            }
        }
        let points = sweeps
            .iter()
            .try_fold(1u64, |acc, s| acc.checked_mul(s.values.len() as u64))
            .filter(|&p| p <= u64::from(u32::MAX))
            .ok_or_else(|| Error::Limit("the sweep grid has more than 2^32 points".into()))?;
        if first_trajectory + trajectories > u64::from(u32::MAX) {
            return Err(Error::Limit(format!(
                "a sweep covers at most 2^32 - 1 trajectories; this run has {}",
                first_trajectory + trajectories
            )));
        }
        if trajectories % points != 0 {
            return Err(Error::invalid(
                "ensemble.trajectories",
                trajectories,
                format!(
                    "must be a multiple of the {points} sweep points (e.g. {} or {})",
                    points,
                    points * block * (trajectories / (points * block)).max(1)
                ),
            ));
        }
        let per_point = trajectories / points;
        if per_point > 1 && per_point % block != 0 {
            return Err(Error::invalid(
                "ensemble.trajectories",
                trajectories,
                format!(
                    "gives {per_point} trajectories per sweep point: make it one per point \
                     ({points}) or a multiple of {block} per point (e.g. {}), so that statistics \
                     can be grouped by point",
                    points * block * (per_point / block).max(1)
                ),
            ));
        }
        let grouped = per_point % block == 0 && first_trajectory % block == 0;
        let mut table = vec![sweeps.len() as u32, per_point as u32];
        let mut stride = 1u64;
        let mut strides = vec![0u64; sweeps.len()];
        for (k, s) in sweeps.iter().enumerate().rev() {
            strides[k] = stride;
            stride *= s.values.len() as u64;
        }
        let mut offset = HEADER + ENTRY * sweeps.len();
        for (k, s) in sweeps.iter().enumerate() {
            table.extend([
                indices[k] as u32,
                s.values.len() as u32,
                strides[k] as u32,
                offset as u32,
            ]);
            offset += s.values.len();
        }
        // A sweep with a value per trajectory lists millions of values (8.4 million in
        // DiffEqGPU's Lorenz benchmark): they are checked, packed and copied on every core.
        for s in sweeps {
            table.par_extend(s.values.par_iter().map(|v| (*v as f32).to_bits()));
        }
        Ok(Some(ResolvedSweep {
            names: sweeps.iter().map(|s| s.param.clone()).collect(),
            indices,
            values: sweeps.iter().map(|s| Arc::clone(&s.values)).collect(),
            points,
            per_point,
            grouped,
            table,
        }))
    }

    /// The grid point of a global trajectory index.
    pub fn point_of(&self, trajectory: u64) -> u64 {
        trajectory / self.per_point
    }

    /// The swept parameters' values at grid point `c`, in sweep order.
    pub fn values_at(&self, c: u64) -> Vec<f64> {
        let mut stride: u64 = self.values.iter().map(|v| v.len() as u64).product();
        self.values
            .iter()
            .map(|v| {
                stride /= v.len() as u64;
                v[((c / stride) % v.len() as u64) as usize]
            })
            .collect()
    }
}

/// The table of a run without sweeps: no entries.
pub const NO_SWEEP: [u32; 1] = [0];

/// Twin of `apply_sweep` in `shaders/lib/trajectory.wgsl`: overwrites the swept parameters of
/// `params` with the values of `trajectory`'s grid point. `R` is the kernel's `Scalar`, whose
/// table stores each value in [`Real::WORDS`] words ([`ResolvedSweep::table_for`]).
pub fn apply_sweep<R: Real>(table: &[u32], trajectory: [u32; 2], params: &mut [R]) {
    let n = table[0] as usize;
    if n == 0 {
        return;
    }
    let point = trajectory[0] / table[1];
    for k in 0..n {
        let base = HEADER + ENTRY * k;
        let index = (point / table[base + 2]) % table[base + 1];
        let at = (table[base + 3] + R::WORDS as u32 * index) as usize;
        let words = [
            f32::from_bits(table[at]),
            f32::from_bits(table.get(at + 1).copied().unwrap_or(0)),
        ];
        params[table[base] as usize] = R::stored(&words[..R::WORDS]);
    }
}

impl ResolvedSweep {
    /// The table of kernels over `Scalar = R`: [`ResolvedSweep::table`] for f32, and for f64
    /// the same entries over values stored as f32 pairs ([`crate::real::split`]).
    pub fn table_for<R: Real>(&self) -> std::borrow::Cow<'_, [u32]> {
        if R::WORDS == 1 {
            return std::borrow::Cow::Borrowed(&self.table);
        }
        let n = self.values.len();
        let mut table = self.table[..HEADER + ENTRY * n].to_vec();
        let mut offset = HEADER + ENTRY * n;
        for (k, values) in self.values.iter().enumerate() {
            table[HEADER + ENTRY * k + 3] = offset as u32;
            offset += R::WORDS * values.len();
        }
        for values in &self.values {
            table.par_extend(
                values
                    .par_iter()
                    .flat_map_iter(|&v| R::store(v).into_iter().take(R::WORDS).map(f32::to_bits)),
            );
        }
        std::borrow::Cow::Owned(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, f64)> {
        vec![("a".into(), 1.0), ("b".into(), 2.0), ("c".into(), 3.0)]
    }

    #[test]
    fn grid_points_run_first_sweep_slowest_and_the_twin_reads_them() {
        let sweeps = [
            Sweep {
                param: "c".into(),
                values: vec![10.0, 20.0].into(),
            },
            Sweep::linspace("a", 0.0, 1.0, 3),
        ];
        let r = ResolvedSweep::resolve(&sweeps, &params(), 6 * 64, 0)
            .unwrap()
            .unwrap();
        assert_eq!((r.points, r.per_point, r.grouped), (6, 64, true));
        let expect = [
            [10.0, 0.0],
            [10.0, 0.5],
            [10.0, 1.0],
            [20.0, 0.0],
            [20.0, 0.5],
            [20.0, 1.0],
        ];
        for (c, e) in expect.iter().enumerate() {
            assert_eq!(r.values_at(c as u64), e.to_vec());
            for t in [c as u32 * 64, c as u32 * 64 + 63] {
                let mut p = [1.0f32, 2.0, 3.0];
                apply_sweep(&r.table, [t, 0], &mut p);
                assert_eq!(p, [e[1] as f32, 2.0, e[0] as f32], "trajectory {t}");
            }
        }
    }

    #[test]
    fn bad_sweeps_name_the_field() {
        let one = |param: &str, values: Vec<f64>| {
            vec![Sweep {
                param: param.into(),
                values: values.into(),
            }]
        };
        let err = ResolvedSweep::resolve(&one("bb", vec![1.0]), &params(), 64, 0).unwrap_err();
        assert!(err.to_string().contains("ensemble.sweep.bb"), "{err}");
        assert!(err.to_string().contains("did you mean `b`?"), "{err}");
        let err = ResolvedSweep::resolve(&one("b", vec![]), &params(), 64, 0).unwrap_err();
        assert!(err.to_string().contains("at least one value"), "{err}");
        let err =
            ResolvedSweep::resolve(&one("b", vec![1.0, 2.0, 3.0]), &params(), 64, 0).unwrap_err();
        assert!(
            err.to_string().contains("multiple of the 3 sweep points"),
            "{err}"
        );
        let err =
            ResolvedSweep::resolve(&one("b", vec![1.0, 2.0]), &params(), 2 * 96, 0).unwrap_err();
        assert!(
            err.to_string().contains("96 trajectories per sweep point"),
            "{err}"
        );
        let per_trajectory = ResolvedSweep::resolve(&one("b", vec![0.5; 100]), &params(), 100, 0)
            .unwrap()
            .unwrap();
        assert!(!per_trajectory.grouped);
    }

    #[test]
    fn logspace_spans_its_ends_geometrically() {
        let s = Sweep::logspace("a", 1e-3, 10.0, 5);
        assert_eq!(s.values[0], 1e-3);
        assert_eq!(s.values[4], 10.0);
        assert!((s.values[1] / s.values[0] - 10.0).abs() < 1e-12);
    }
}
