//! Observables: named expressions in the state, `t` and the parameters, folded at each save
//! time into the same `(count, mean, M2)` partials as the state's components, on the device,
//! then merged in f64 on the host. A comparison at the top of an expression (`x > 0`) is an
//! indicator, 1 where it holds and 0 elsewhere, so its mean is a probability.
//!
//! The covariance of the state and the observables rides on the same partials by the
//! polarisation identity: for every pair `a < b` of the `m = d + k` values the kernel also
//! folds `v_a + v_b`, and `cov(a, b) = (var(a + b) - var(a) - var(b)) / 2`. Each variance is
//! merged in f64 from f32 block partials of 64 trajectories, so the covariance carries the
//! variances' relative rounding (about 1e-6 of `var(a) + var(b)`), far below the standard error
//! of any ensemble a GPU runs.
//!
//! [`Columns`] is the layout of one trajectory's observed values, the width of a block's
//! partials; `ensemble_observe` (`shaders/ensemble_observe.wgsl`) and its twin write them in
//! this order.

use crate::error::{Error, Result};
use crate::expr::{self, CmpOp, Node, Program, Scope};

/// The most loop iterations one invocation of `ensemble_observe` may run ([`Columns::loop_cost`]):
/// some drivers (llvmpipe) silently leave a loop after 65,535 iterations, nested ones counted.
pub const MAX_LOOP_COST: usize = 60_000;

/// The most observables a run with time averages takes: the stepping kernel sums each at every
/// step, in straight code (loops of at most 16 trips are unrolled, [`crate::unroll`]).
pub const MAX_AVERAGED: usize = 16;

/// One observable as asked for: its name and expression.
pub type ObservableSpec = (String, String);

/// The values observed per trajectory at a save time, in the order of the partials: the state,
/// then with displacements the displacement and the product with the initial state of each
/// component, then the observables, then with covariance the sums of pairs of the state and
/// the observables (`(0, 1), (0, 2), ..., (m - 2, m - 1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Columns {
    /// State components.
    pub dim: usize,
    /// Whether displacements and products with the initial state follow the state.
    pub origin: bool,
    /// Observables.
    pub observables: usize,
    /// Whether the pair sums of the covariance follow.
    pub covariance: bool,
}

impl Columns {
    /// Columns of the state, and of displacements when asked for: where observables start.
    pub fn base(&self) -> usize {
        if self.origin {
            3 * self.dim
        } else {
            self.dim
        }
    }

    /// The values whose covariance is taken: the state's and the observables'.
    pub fn covaried(&self) -> usize {
        self.dim + self.observables
    }

    /// Pair sums folded for the covariance.
    pub fn pairs(&self) -> usize {
        let m = self.covaried();
        if self.covariance {
            m * (m - 1) / 2
        } else {
            0
        }
    }

    /// Values observed per trajectory.
    pub fn width(&self) -> usize {
        self.base() + self.observables + self.pairs()
    }

    /// The loop iterations of one invocation of `ensemble_observe` (a block of 64 trajectories)
    /// beyond the state's own, with `params` model parameters and `sweeps` swept ones: per
    /// trajectory, the pair sums, the observables, the copies of the state and the observables
    /// into one array and the parameters' load; then the stores.
    pub fn loop_cost(&self, params: usize, sweeps: usize) -> usize {
        if self.observables + self.pairs() == 0 {
            return 0;
        }
        let per_trajectory = self.pairs() + 2 * self.observables + 2 * self.dim + params + sweeps;
        64 * (per_trajectory + 1) + self.observables + self.pairs()
    }
}

/// The covariance matrix (`m x m`, row-major) of `m` values from their moments and the moments
/// of their pair sums in [`Columns`] order: population covariances over the finite samples,
/// scaled to the unbiased `N - 1` form. An entry whose pair was not finite on the same
/// trajectories as each of its values is NaN (the identity needs one sample for all three).
pub fn covariance(values: &[crate::stats::Moments], pairs: &[crate::stats::Moments]) -> Vec<f64> {
    let m = values.len();
    let mut c = vec![f64::NAN; m * m];
    let var = |s: &crate::stats::Moments| {
        if s.count > 1 {
            s.m2 / (s.count - 1) as f64
        } else {
            f64::NAN
        }
    };
    for a in 0..m {
        c[a * m + a] = var(&values[a]);
    }
    let mut p = 0;
    for a in 0..m {
        for b in a + 1..m {
            let s = &pairs[p];
            p += 1;
            let same = s.count == values[a].count && s.count == values[b].count;
            let v = if same {
                (var(s) - var(&values[a]) - var(&values[b])) / 2.0
            } else {
                f64::NAN
            };
            c[a * m + b] = v;
            c[b * m + a] = v;
        }
    }
    c
}

/// One checked observable.
#[derive(Clone, Debug)]
struct Observable {
    name: String,
    node: Node,
    program: Program,
}

/// Checked observables: parsed against the model's names, compiled to WGSL and to the CPU
/// evaluator.
#[derive(Clone, Debug, Default)]
pub struct Observables {
    list: Vec<Observable>,
    params: usize,
}

impl PartialEq for Observables {
    fn eq(&self, other: &Observables) -> bool {
        self.params == other.params
            && self.list.len() == other.list.len()
            && self
                .list
                .iter()
                .zip(&other.list)
                .all(|(a, b)| a.name == b.name && a.node == b.node)
    }
}

/// The comparisons, longest first so that `<=` is not read as `<`.
const COMPARISONS: [(&str, CmpOp); 4] = [
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];

/// The byte offset, operator and length of a comparison outside every parenthesis, if any.
fn top_comparison(text: &str) -> Option<(usize, CmpOp, usize)> {
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ if depth == 0 => {
                for (sym, op) in COMPARISONS {
                    if text[i..].starts_with(sym) {
                        return Some((i, op, sym.len()));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Observables {
    /// Parses `specs` against the state and parameter names. Names are identifiers, distinct
    /// from each other, from the state's and from `t`; an expression is arithmetic, or one
    /// comparison of two (an indicator).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `output.observables.<name>` for a bad name,
    /// [`Error::Expression`] pointing into a bad expression.
    pub fn resolve(specs: &[ObservableSpec], state: &[String], params: &[String]) -> Result<Self> {
        let scope = Scope::new(state, params);
        let mut list: Vec<Observable> = Vec::with_capacity(specs.len());
        for (name, text) in specs {
            let field = format!("output.observables.{name}");
            if !is_identifier(name) || name == "t" || name == "pi" {
                return Err(Error::invalid(
                    &field,
                    name,
                    "an observable's name is letters, digits and _, not `t` or `pi`",
                ));
            }
            if state.contains(name) || list.iter().any(|o| &o.name == name) {
                return Err(Error::invalid(
                    &field,
                    name,
                    "names a state variable or another observable: statistics are reported by name",
                ));
            }
            let parse = |source: &str, offset: usize| -> Result<Node> {
                expr::parse(source, &scope).map_err(|mut e| {
                    e.span = (e.span.0 + offset, e.span.1 + offset);
                    Error::Expression {
                        field: field.clone(),
                        rendered: e.render(&field, text),
                    }
                })
            };
            let node = match top_comparison(text) {
                Some((at, cmp, len)) => Node::If {
                    cmp,
                    lhs: Box::new(parse(&text[..at], 0)?),
                    rhs: Box::new(parse(&text[at + len..], at + len)?),
                    then: Box::new(Node::Num(1.0)),
                    otherwise: Box::new(Node::Num(0.0)),
                },
                None => parse(text, 0)?,
            };
            let program = Program::compile(&node).ok_or_else(|| {
                Error::Limit(format!(
                    "{field}: the expression nests deeper than the evaluator's {} stack slots",
                    expr::eval::MAX_STACK
                ))
            })?;
            list.push(Observable {
                name: name.clone(),
                node,
                program,
            });
        }
        Ok(Observables {
            list,
            params: params.len(),
        })
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|o| o.name.as_str())
    }

    /// The index of the observable called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|o| o.name == name)
    }

    /// The observables of the trajectory `trajectory` (its global index as (low, high) words)
    /// at time `t` and state `x`, with its parameters (`params`, a run's, with the swept ones of
    /// `sweep` overwritten), as the kernel computes them (`covaried_values`); `scratch` holds the
    /// parameters.
    #[allow(clippy::too_many_arguments)]
    pub fn of_trajectory(
        &self,
        params: &[f32],
        sweep: &[u32],
        trajectory: [u32; 2],
        t: f32,
        x: &[f32],
        scratch: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        scratch.clear();
        scratch.extend_from_slice(params);
        crate::sweep::apply_sweep::<f32>(sweep, trajectory, scratch);
        self.observable_values(t, x, scratch, out);
    }

    /// Twin of `observable_values`: the observables at time `t`, state `x`, parameters `p`.
    pub fn observable_values(&self, t: f32, x: &[f32], p: &[f32], out: &mut [f32]) {
        for (o, v) in self.list.iter().zip(out.iter_mut()) {
            *v = o.program.eval(t, x, p);
        }
    }
}

/// The virtual module `observables` of `ensemble_observe`: the counts of its columns
/// (`columns`), the model's parameter count and `observable_values(t, x)`, in f32 as the
/// stepping kernel's model terms.
pub fn wgsl_module(observables: &Observables, columns: Columns) -> String {
    let k = observables.len();
    let m = columns.covaried();
    let pairs = columns.pairs();
    let paired = if columns.covariance { m } else { 0 };
    format!(
        "// Observed columns, generated by the engine.\n\
         const PAIRS: u32 = {pairs}u;\nconst COVARIED: u32 = {m}u;\nconst PAIRED: u32 = {paired}u;\n\
         const EXTRA: u32 = {}u;\nconst NPARAMS: u32 = {}u;\nalias Covaried = array<f32, {m}>;\n\n{}",
        (k + pairs).max(1),
        observables.params.max(1),
        wgsl_values(observables)
    )
}

/// The virtual module `observables` of `sde_ensemble`, which averages the observables over
/// time beside the state: `OBSERVABLES`, `ObservableValues` and `observable_values(t, x)` (the
/// model module gives the parameters).
pub fn wgsl_values(observables: &Observables) -> String {
    let k = observables.len();
    let mut s = format!(
        "// Observables, generated by the engine.\nconst OBSERVABLES: u32 = {k}u;\n\
         alias ObservableValues = array<f32, {}>;\n\n\
         fn observable_values(t: f32, x: State) -> ObservableValues {{\n    var o: ObservableValues;\n",
        k.max(1)
    );
    let mut helpers = String::new();
    for (i, o) in observables.list.iter().enumerate() {
        let (functions, e) = expr::wgsl::to_wgsl_split(
            &o.node,
            false,
            &format!("observable_{i}_part"),
            "t: f32, x: State",
            "t, x",
            "f32",
        );
        helpers.push_str(&functions);
        s.push_str(&format!("{}    o[{i}] = {};\n", e.lets, e.value));
    }
    s.push_str("    return o;\n}\n");
    helpers + &s
}

impl Columns {
    /// The columns of a run that observes its `dim` state components alone.
    pub fn state_only(dim: usize) -> Columns {
        Columns {
            dim,
            ..Columns::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_top_comparison_is_an_indicator() {
        let specs = vec![
            ("right".to_string(), "x > 0".to_string()),
            (
                "inside".to_string(),
                "if(x < 1, x, 0) <= (y >= 0)".to_string(),
            ),
        ];
        let o = Observables::resolve(&specs, &names(&["x", "y"]), &[]);
        // The second has its second comparison inside parentheses, where `if` is required.
        assert!(o.is_err());
        let specs = vec![("right".to_string(), "x > 0".to_string())];
        let o = Observables::resolve(&specs, &names(&["x", "y"]), &[]).unwrap();
        let mut out = [0.0];
        o.observable_values(0.0, &[0.5, 0.0], &[], &mut out);
        assert_eq!(out[0], 1.0);
        o.observable_values(0.0, &[-0.5, 0.0], &[], &mut out);
        assert_eq!(out[0], 0.0);
    }

    #[test]
    fn names_must_be_new_identifiers() {
        for bad in ["x", "t", "2x", "a b"] {
            let specs = vec![(bad.to_string(), "x".to_string())];
            let e = Observables::resolve(&specs, &names(&["x"]), &[]).unwrap_err();
            assert!(e.to_string().contains("output.observables."), "{e}");
        }
        let specs = vec![("e".to_string(), "x^2 + q".to_string())];
        let e = Observables::resolve(&specs, &names(&["x"]), &[]).unwrap_err();
        assert!(e.to_string().contains("output.observables.e"), "{e}");
    }

    #[test]
    fn the_covariance_follows_from_the_pair_sums() {
        use crate::stats::Moments;
        // Samples of (a, b) with known covariance.
        let a = [1.0, 2.0, 4.0, 7.0];
        let b = [0.5, -1.0, 3.0, 2.0];
        let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let c = covariance(
            &[Moments::of(a), Moments::of(b)],
            &[Moments::of(sum.iter().copied())],
        );
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (ma, mb) = (mean(&a), mean(&b));
        let exact = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - ma) * (y - mb))
            .sum::<f64>()
            / 3.0;
        assert!(
            (c[1] - exact).abs() < 1e-12 && c[2] == c[1],
            "{c:?} vs {exact}"
        );
        let columns = Columns {
            dim: 2,
            origin: true,
            observables: 1,
            covariance: true,
        };
        assert_eq!(
            (columns.base(), columns.pairs(), columns.width()),
            (6, 3, 10)
        );
    }
}
