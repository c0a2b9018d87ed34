//! A [`Model`] written as math: drift and diffusion expressions over named state variables and
//! parameters, compiled once to WGSL and to CPU programs, with the Milstein term `g dg/dx`
//! derived symbolically.

use crate::error::{Error, Result};
use crate::expr::eval::LANES;
use crate::expr::simplify;
use crate::expr::{self, Node, Program, Scope, Sym};
use crate::model::{DriftF64, Model, ScalarFlow, Underdamped};
use crate::state::{State, MAX_DIM};
use crate::twin::{LaneParams, LaneState, LaneTerms};

/// One compiled expression: its text, tree and CPU program.
#[derive(Clone, Debug)]
struct Compiled {
    node: Node,
    program: Program,
}

/// An SDE with diagonal noise given by expressions.
#[derive(Clone, Debug)]
pub struct ExprModel {
    name: String,
    state: Vec<String>,
    params: Vec<(String, f64)>,
    drift: Vec<Compiled>,
    diffusion: Vec<Compiled>,
    diffusion_dg: Vec<Compiled>,
    /// For underdamped models: the split layout and the force expressions `-dU/dq_i`.
    split: Option<(Underdamped, Vec<Compiled>)>,
    /// General noise: the `d x m` matrix `G(t, x)`, row by row (`diffusion` is then zero).
    matrix: Option<Vec<Vec<Compiled>>>,
    /// For a reaction network: the network, run exactly by the jump kernels (the drift and
    /// noise are then its chemical Langevin equation).
    reactions: Option<std::sync::Arc<crate::reactions::ReactionNetwork>>,
}

fn compile(field: &str, source: &str, scope: &Scope) -> Result<Compiled> {
    let node = expr::parse(source, scope).map_err(|e| Error::Expression {
        field: field.to_string(),
        rendered: e.render(field, source),
    })?;
    compiled(field, node)
}

fn compiled(field: &str, node: Node) -> Result<Compiled> {
    let program = Program::compile(&node).ok_or_else(|| {
        Error::Limit(format!(
            "{field}: the expression nests deeper than the evaluator's {} stack slots",
            expr::eval::MAX_STACK
        ))
    })?;
    Ok(Compiled { node, program })
}

/// The names of `state` and `params`, with the parameters' values: an expression of
/// parameters alone that is NaN with them is refused where it is written.
fn scope_with_values(state: &[String], params: &[(String, f64)]) -> Scope {
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<f64> = params.iter().map(|(_, v)| *v).collect();
    Scope::new(state, &names).with_values(&values)
}

/// State and parameter names are identifiers, not `t` or `pi`, each used once.
fn check_names(state: &[String], params: &[(String, f64)]) -> Result<()> {
    if state.is_empty() || state.len() > MAX_DIM {
        return Err(Error::invalid(
            "model.state",
            format!("{} names", state.len()),
            format!("the state must have 1 to {MAX_DIM} variables"),
        ));
    }
    let reserved = ["t", "pi"];
    let names = || state.iter().chain(params.iter().map(|(n, _)| n));
    let mut seen = std::collections::HashSet::new();
    for (i, n) in names().enumerate() {
        let valid = n
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || reserved.contains(&n.as_str()) {
            let field = if i < state.len() {
                "model.state"
            } else {
                "model.params"
            };
            return Err(Error::invalid(
                field,
                n,
                "names are letters, digits and _, not `t` or `pi`",
            ));
        }
        if !seen.insert(n.as_str()) {
            return Err(Error::invalid("model", n, "a name is used twice"));
        }
    }
    Ok(())
}

impl ExprModel {
    /// Parses a model. `drift` and `diffusion` hold one expression per state variable; an empty
    /// `diffusion` means no noise (an ODE).
    ///
    /// # Errors
    /// [`Error::Expression`] pointing into the offending expression (field `model.drift[i]` or
    /// `model.diffusion[i]`), [`Error::InvalidInput`] for list lengths or names.
    pub fn new(
        name: &str,
        state: &[String],
        params: &[(String, f64)],
        drift: &[String],
        diffusion: &[String],
    ) -> Result<ExprModel> {
        check_names(state, params)?;
        for (field, list) in [("model.drift", drift), ("model.diffusion", diffusion)] {
            if list.len() != state.len() && !(field == "model.diffusion" && list.is_empty()) {
                return Err(Error::invalid(
                    field,
                    format!("{} expressions", list.len()),
                    format!("expected one per state variable ({})", state.len()),
                ));
            }
        }
        let scope = scope_with_values(state, params);
        let drift = drift
            .iter()
            .enumerate()
            .map(|(i, s)| compile(&format!("model.drift[{i}]"), s, &scope))
            .collect::<Result<Vec<_>>>()?;
        let diffusion = if diffusion.is_empty() {
            (0..state.len())
                .map(|_| compiled("model.diffusion", Node::Num(0.0)))
                .collect::<Result<Vec<_>>>()?
        } else {
            diffusion
                .iter()
                .enumerate()
                .map(|(i, s)| compile(&format!("model.diffusion[{i}]"), s, &scope))
                .collect::<Result<Vec<_>>>()?
        };
        Self::from_compiled(name, state, params, drift, diffusion, None)
    }

    /// An underdamped Langevin model in `positions` q with momenta `p_<q>`:
    /// `dq = p/m dt`, `dp = (-dU/dq - gamma p) dt + sqrt(2 gamma m kT) dW`, the force derived
    /// symbolically from the `potential` U (an expression in the positions, parameters and `t`).
    /// `gamma`, `kT` and `mass` join the parameters under those names.
    ///
    /// # Errors
    /// [`Error::Expression`] pointing into `model.potential`, [`Error::InvalidInput`] for names,
    /// a potential that reads a momentum, or a constant out of range.
    pub fn underdamped(
        name: &str,
        positions: &[String],
        params: &[(String, f64)],
        potential: &str,
        gamma: f64,
        kt: f64,
        mass: f64,
    ) -> Result<ExprModel> {
        let n = positions.len();
        if n == 0 || 2 * n > MAX_DIM {
            return Err(Error::invalid(
                "model.state",
                format!("{n} positions"),
                format!(
                    "an underdamped model has 1 to {} positions (and as many momenta)",
                    MAX_DIM / 2
                ),
            ));
        }
        for (key, value, ok, why) in [
            ("model.gamma", gamma, gamma >= 0.0, "must be >= 0"),
            ("model.kT", kt, kt >= 0.0, "must be >= 0"),
            ("model.mass", mass, mass > 0.0, "must be > 0"),
        ] {
            if !(ok && value.is_finite()) {
                return Err(Error::invalid(key, value, why));
            }
        }
        for reserved in ["gamma", "kT", "mass"] {
            if params.iter().any(|(n, _)| n == reserved) {
                return Err(Error::invalid(
                    format!("model.params.{reserved}"),
                    reserved,
                    format!("an underdamped model takes `{reserved}` as model.{reserved}, not as a parameter"),
                ));
            }
        }
        let mut state = positions.to_vec();
        state.extend(positions.iter().map(|q| format!("p_{q}")));
        let mut all_params = params.to_vec();
        let split = Underdamped {
            positions: n,
            gamma_param: all_params.len(),
            kt_param: all_params.len() + 1,
            mass_param: all_params.len() + 2,
        };
        all_params.extend([
            ("gamma".to_string(), gamma),
            ("kT".to_string(), kt),
            ("mass".to_string(), mass),
        ]);
        check_names(&state, &all_params)?;
        let u = compile(
            "model.potential",
            potential,
            &scope_with_values(&state, &all_params),
        )?;
        if let Some(j) = (n..2 * n).find(|&j| u.node.depends_on(Sym::State(j))) {
            return Err(Error::invalid(
                "model.potential",
                potential,
                format!(
                    "the potential depends on positions only, not on the momentum `{}`",
                    state[j]
                ),
            ));
        }
        let param = |k: usize| Node::Sym(Sym::Param(k));
        let force: Vec<Node> = (0..n)
            .map(|i| simplify::neg(expr::diff(&u.node, Sym::State(i))))
            .collect();
        let mut drift = Vec::with_capacity(2 * n);
        let mut diffusion = Vec::with_capacity(2 * n);
        for i in 0..n {
            let velocity = simplify::div(Node::Sym(Sym::State(n + i)), param(split.mass_param));
            drift.push(compiled(&format!("model.drift[{i}]"), velocity)?);
            diffusion.push(compiled("model.diffusion", Node::Num(0.0))?);
        }
        let noise = simplify::call(
            expr::Func::Sqrt,
            vec![simplify::mul(
                Node::Num(2.0),
                simplify::mul(
                    param(split.gamma_param),
                    simplify::mul(param(split.mass_param), param(split.kt_param)),
                ),
            )],
        );
        for (i, f) in force.iter().enumerate() {
            let friction = simplify::mul(param(split.gamma_param), Node::Sym(Sym::State(n + i)));
            let dp = simplify::sub(f.clone(), friction);
            drift.push(compiled(
                &format!("model.potential (force on {})", state[i]),
                dp,
            )?);
            diffusion.push(compiled("model.diffusion", noise.clone())?);
        }
        let force = force
            .into_iter()
            .enumerate()
            .map(|(i, f)| compiled(&format!("model.potential (force on {})", state[i]), f))
            .collect::<Result<Vec<_>>>()?;
        Self::from_compiled(
            name,
            &state,
            &all_params,
            drift,
            diffusion,
            Some((split, force)),
        )
    }

    /// A model from expression trees already resolved against `state` and `params` (for
    /// models derived from others, such as the tangent dynamics of [`crate::lyapunov`]);
    /// `diffusion` empty for an ODE.
    ///
    /// # Errors
    /// As [`ExprModel::new`] for names and lengths, [`Error::Limit`] for trees too deep.
    pub fn from_nodes(
        name: &str,
        state: &[String],
        params: &[(String, f64)],
        drift: Vec<Node>,
        diffusion: Vec<Node>,
    ) -> Result<ExprModel> {
        check_names(state, params)?;
        let length_ok = |n: usize| n == state.len();
        if !length_ok(drift.len()) || !(diffusion.is_empty() || length_ok(diffusion.len())) {
            return Err(Error::invalid(
                "model",
                format!(
                    "{} drift and {} diffusion terms",
                    drift.len(),
                    diffusion.len()
                ),
                format!("expected one per state variable ({})", state.len()),
            ));
        }
        let diffusion = if diffusion.is_empty() {
            vec![Node::Num(0.0); state.len()]
        } else {
            diffusion
        };
        let drift = drift
            .into_iter()
            .enumerate()
            .map(|(i, n)| compiled(&format!("model.drift[{i}]"), n))
            .collect::<Result<Vec<_>>>()?;
        let diffusion = diffusion
            .into_iter()
            .enumerate()
            .map(|(i, n)| compiled(&format!("model.diffusion[{i}]"), n))
            .collect::<Result<Vec<_>>>()?;
        Self::from_compiled(name, state, params, drift, diffusion, None)
    }

    /// The drift expressions, one per state variable.
    pub fn drift_nodes(&self) -> Vec<&Node> {
        self.drift.iter().map(|c| &c.node).collect()
    }

    /// The diffusion expressions, one per state variable (zeros for an ODE).
    pub fn diffusion_nodes(&self) -> Vec<&Node> {
        self.diffusion.iter().map(|c| &c.node).collect()
    }

    fn from_compiled(
        name: &str,
        state: &[String],
        params: &[(String, f64)],
        drift: Vec<Compiled>,
        diffusion: Vec<Compiled>,
        split: Option<(Underdamped, Vec<Compiled>)>,
    ) -> Result<ExprModel> {
        let diffusion_dg = diffusion
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let dg = expr::diff(&g.node, Sym::State(i));
                let gdg = expr::simplify::mul(g.node.clone(), dg);
                compiled(&format!("model.diffusion[{i}]"), gdg)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ExprModel {
            name: name.to_string(),
            state: state.to_vec(),
            params: params.to_vec(),
            drift,
            diffusion,
            diffusion_dg,
            split,
            matrix: None,
            reactions: None,
        })
    }

    /// The chemical Langevin equation of `network` as an SDE model with general noise: drift
    /// `sum_j nu_j a_j(X)`, noise column `j` equal to `nu_j sqrt(max(a_j(X), 0))`. It carries
    /// the network so that [`crate::Scheme::Ssa`] can run it exactly.
    ///
    /// # Errors
    /// From the model's construction.
    pub fn reaction_network(
        name: &str,
        network: crate::reactions::ReactionNetwork,
    ) -> Result<Self> {
        // A network of more reactions than noises a model may have runs on the jump schemes
        // only (`Scheme::check_model` says so); its drift is still the rate equations.
        let mut model = if network.reactions.len() <= MAX_DIM {
            ExprModel::with_noise_matrix(
                name,
                &network.species,
                &network.params,
                &network.rate_equations(),
                &network.noise_matrix(),
            )?
        } else {
            ExprModel::new(
                name,
                &network.species,
                &network.params,
                &network.rate_equations(),
                &[],
            )?
        };
        model.reactions = Some(std::sync::Arc::new(network));
        Ok(model)
    }

    /// Whether every diffusion expression is the constant zero.
    pub fn is_deterministic(&self) -> bool {
        let zero = |g: &Compiled| g.node.as_num() == Some(0.0);
        self.diffusion.iter().all(zero) && self.matrix.iter().flatten().flatten().all(zero)
    }

    /// An SDE with general noise `dX = f(t, X) dt + G(t, X) dW`, `W` of dimension `m`:
    /// `matrix` holds the `d` rows of `G`, each of `m` expressions (1 to 8 columns).
    ///
    /// # Errors
    /// As [`ExprModel::new`], and [`Error::InvalidInput`] naming `model.diffusion` for rows of
    /// unequal or wrong length.
    pub fn with_noise_matrix(
        name: &str,
        state: &[String],
        params: &[(String, f64)],
        drift: &[String],
        matrix: &[Vec<String>],
    ) -> Result<ExprModel> {
        let mut model = ExprModel::new(name, state, params, drift, &[])?;
        if matrix.len() != state.len() {
            return Err(Error::invalid(
                "model.diffusion",
                format!("{} rows", matrix.len()),
                format!(
                    "general noise needs one row per state variable ({})",
                    state.len()
                ),
            ));
        }
        let m = matrix[0].len();
        if m == 0 || m > MAX_DIM || matrix.iter().any(|row| row.len() != m) {
            return Err(Error::invalid(
                "model.diffusion",
                format!(
                    "rows of {:?} entries",
                    matrix.iter().map(Vec::len).collect::<Vec<_>>()
                ),
                format!("every row needs the same number of noise columns, 1 to {MAX_DIM}"),
            ));
        }
        let scope = scope_with_values(state, params);
        let rows = matrix
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, e)| compile(&format!("model.diffusion[{i}][{j}]"), e, &scope))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        model.matrix = Some(rows);
        Ok(model)
    }

    /// The WGSL `noise_apply` of a general-noise model: `G dw` row by row, zero entries left out.
    fn wgsl_noise_apply(rows: &[Vec<Compiled>]) -> String {
        let mut s = String::from(
            "fn noise_apply(t: f32, x: State, dw: Noise) -> State {\n    var r: State;\n",
        );
        for (i, row) in rows.iter().enumerate() {
            let terms: Vec<String> = row
                .iter()
                .enumerate()
                .filter(|(_, g)| g.node.as_num() != Some(0.0))
                .map(|(j, g)| {
                    let g = expr::to_wgsl_bound(&g.node, &format!("g{i}_{j}_"), "    ");
                    s.push_str(&g.lets);
                    format!("{} * dw[{j}]", g.value)
                })
                .collect();
            if !terms.is_empty() {
                s.push_str(&format!("    r[{i}] = {};\n", terms.join(" + ")));
            }
        }
        s.push_str("    return r;\n}\n");
        s
    }

    fn wgsl_fn(name: &str, exprs: &[Compiled]) -> String {
        Self::wgsl_fn_in(name, exprs, false)
    }

    fn wgsl_fn_f64(name: &str, exprs: &[Compiled]) -> String {
        Self::wgsl_fn_in(name, exprs, true)
    }

    /// `fn name(t, x) -> State` of the expressions, in f32 or over `real` (f64), a very long
    /// sum computed by helper functions declared before it.
    fn wgsl_fn_in(name: &str, exprs: &[Compiled], real: bool) -> String {
        let ty = if real { "Scalar" } else { "f32" };
        let mut helpers = String::new();
        let mut s = format!("fn {name}(t: {ty}, x: State) -> State {{\n    var r: State;\n");
        for (i, e) in exprs.iter().enumerate() {
            let (functions, e) = expr::wgsl::to_wgsl_split(
                &e.node,
                real,
                &format!("{name}_{i}_part"),
                &format!("t: {ty}, x: State"),
                "t, x",
                ty,
            );
            helpers.push_str(&functions);
            s.push_str(&format!("{}    r[{i}] = {};\n", e.lets, e.value));
        }
        s.push_str("    return r;\n}\n");
        helpers + &s
    }

    fn eval_all(exprs: &[Compiled], t: f32, x: &State, p: &[f32]) -> State {
        let mut out = [0.0; MAX_DIM];
        for (o, e) in out.iter_mut().zip(exprs) {
            *o = e.program.eval(t, x, p);
        }
        out
    }
}

impl Model for ExprModel {
    fn linear_rates(&self) -> Vec<Option<f64>> {
        if self.split.is_some() || self.reactions.is_some() {
            return Vec::new();
        }
        let values: Vec<f64> = self.params.iter().map(|(_, v)| *v).collect();
        self.drift
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let d = expr::diff(&f.node, expr::Sym::State(i));
                let constant = (0..self.state.len()).all(|j| !d.depends_on(expr::Sym::State(j)))
                    && !d.depends_on(expr::Sym::Time);
                constant.then(|| expr::eval_f64(&d, 0.0, &[0.0; MAX_DIM], &values))
            })
            .collect()
    }

    fn name(&self) -> String {
        self.name.clone()
    }
    fn dim(&self) -> usize {
        self.state.len()
    }
    fn state_names(&self) -> Vec<String> {
        self.state.clone()
    }
    fn params(&self) -> Vec<(String, f64)> {
        self.params.clone()
    }
    fn wgsl_functions(&self) -> String {
        let mut functions = vec![
            Self::wgsl_fn("drift", &self.drift),
            Self::wgsl_fn("diffusion", &self.diffusion),
            Self::wgsl_fn("diffusion_dg", &self.diffusion_dg),
        ];
        if let Some((_, force)) = &self.split {
            functions.push(Self::wgsl_fn("force", force));
        }
        if let Some(rows) = &self.matrix {
            functions.push(Self::wgsl_noise_apply(rows));
        }
        functions.join("\n")
    }
    fn noise_dim(&self) -> usize {
        self.matrix
            .as_ref()
            .map_or(self.state.len(), |rows| rows[0].len())
    }
    fn general_noise(&self) -> bool {
        self.matrix.is_some()
    }
    fn additive_noise(&self) -> bool {
        let free = |g: &Compiled| (0..self.state.len()).all(|j| !g.node.depends_on(Sym::State(j)));
        self.diffusion.iter().all(free) && self.matrix.iter().flatten().flatten().all(free)
    }
    fn lane_terms(&self) -> Option<&dyn LaneTerms> {
        (self.matrix.is_none() && self.split.is_none() && self.reactions.is_none())
            .then_some(self as &dyn LaneTerms)
    }
    fn noise_apply(&self, t: f32, x: &State, dw: &State, p: &[f32]) -> State {
        let Some(rows) = &self.matrix else {
            let g = self.diffusion(t, x, p);
            let mut r = [0.0; MAX_DIM];
            for i in 0..self.state.len() {
                r[i] = g[i] * dw[i];
            }
            return r;
        };
        let mut r = [0.0; MAX_DIM];
        for (i, row) in rows.iter().enumerate() {
            // The same terms in the same order as the WGSL sum.
            let mut terms = row
                .iter()
                .enumerate()
                .filter(|(_, g)| g.node.as_num() != Some(0.0))
                .map(|(j, g)| g.program.eval(t, x, p) * dw[j]);
            if let Some(first) = terms.next() {
                r[i] = terms.fold(first, |acc, v| acc + v);
            }
        }
        r
    }
    fn has_noise(&self) -> bool {
        !self.is_deterministic()
    }
    fn underdamped(&self) -> Option<Underdamped> {
        self.split.as_ref().map(|(u, _)| *u)
    }
    fn reactions(&self) -> Option<&crate::reactions::ReactionNetwork> {
        self.reactions.as_deref()
    }
    fn force(&self, t: f32, x: &State, p: &[f32]) -> State {
        match &self.split {
            Some((_, force)) => Self::eval_all(force, t, x, p),
            None => [0.0; MAX_DIM],
        }
    }
    fn drift(&self, t: f32, x: &State, p: &[f32]) -> State {
        Self::eval_all(&self.drift, t, x, p)
    }
    fn f64_drift(&self) -> Option<&dyn DriftF64> {
        (self.split.is_none() && self.reactions.is_none()).then_some(self as &dyn DriftF64)
    }
    fn diffusion(&self, t: f32, x: &State, p: &[f32]) -> State {
        Self::eval_all(&self.diffusion, t, x, p)
    }
    fn diffusion_dg(&self, t: f32, x: &State, p: &[f32]) -> State {
        Self::eval_all(&self.diffusion_dg, t, x, p)
    }
    fn scalar_flow(&self, component: usize) -> Option<ScalarFlow<'_>> {
        let (f, g) = (
            &self.drift.get(component)?.node,
            &self.diffusion[component].node,
        );
        let others = (0..self.dim()).filter(|&j| j != component).map(Sym::State);
        let autonomous = |n: &Node| !n.depends_on(Sym::Time);
        if !autonomous(f) || others.clone().any(|s| f.depends_on(s)) {
            return None;
        }
        if !autonomous(g) || (0..self.dim()).any(|j| g.depends_on(Sym::State(j))) {
            return None;
        }
        let p: Vec<f64> = self.params.iter().map(|(_, v)| *v).collect();
        let noise = expr::eval_f64(g, 0.0, &[0.0; MAX_DIM], &p).abs();
        if !(noise > 0.0 && noise.is_finite()) {
            return None;
        }
        let dim = self.dim();
        Some(ScalarFlow::new(
            move |y| {
                let mut x = [0.0; MAX_DIM];
                x[component] = y;
                expr::eval_f64(f, 0.0, &x[..dim], &p)
            },
            noise,
        ))
    }
}

impl DriftF64 for ExprModel {
    fn wgsl_f64(&self) -> String {
        Self::wgsl_fn_f64("drift", &self.drift)
    }
    fn drift_f64(&self, t: f64, x: &[f64; MAX_DIM], p: &[f64]) -> [f64; MAX_DIM] {
        let mut out = [0.0; MAX_DIM];
        for (o, e) in out.iter_mut().zip(&self.drift) {
            *o = e.program.eval_in(t, x, p);
        }
        out
    }
}

impl LaneTerms for ExprModel {
    fn drift_lanes(&self, t: f32, x: &LaneState, p: &LaneParams<'_>) -> LaneState {
        let mut out = [[0.0; LANES]; MAX_DIM];
        for (o, e) in out.iter_mut().zip(&self.drift) {
            *o = e.program.eval_lanes(t, x, p);
        }
        out
    }
    fn noise_apply_lanes(
        &self,
        t: f32,
        x: &LaneState,
        dw: &LaneState,
        p: &LaneParams<'_>,
    ) -> LaneState {
        let mut r = [[0.0; LANES]; MAX_DIM];
        for (i, e) in self.diffusion.iter().enumerate() {
            let g = e.program.eval_lanes(t, x, p);
            for l in 0..LANES {
                r[i][l] = g[l] * dw[i][l];
            }
        }
        r
    }
}
