//! Chemical reaction networks: species with integer counts, reactions written as equations
//! (`2X -> 3X`, `0 -> X`, `A + B -> C`) with a mass-action rate or an explicit propensity.
//!
//! Mass action counts combinations of molecules: a reaction with reactant coefficients `k_i`
//! has propensity `c * prod_i X_i (X_i - 1) ... (X_i - k_i + 1) / k_i!` (Gillespie 1977), so
//! `2X -> 3X` at rate `c` fires at `c X (X - 1) / 2`. (GillesPy2 writes the same reaction with
//! `c X (X - 1)` in its default mode; divide its constants by `k!` when porting.) A reaction
//! never fires without its reactants, whatever its propensity says.
//!
//! The network runs three ways: exactly by the stochastic simulation algorithm
//! ([`crate::Scheme::Ssa`], kernel `shaders/ssa.wgsl`), and as its chemical Langevin equation
//! `dX = S a(X) dt + S diag(sqrt(a(X))) dW` with the SDE schemes (the model's drift and general
//! noise are that equation), or its reaction-rate ODE when the noise is dropped.

use crate::error::{Error, Result};
use crate::expr::{self, Node, Program, Scope};
use crate::state::MAX_DIM;

/// The most reactions a network may have (tau-leaping's Poisson draws give each reaction one
/// of 32 Philox words; the chemical Langevin equation has one noise per reaction and takes at
/// most [`MAX_DIM`]).
pub const MAX_REACTIONS: usize = 32;

/// Schloegl's bistable network (Schloegl 1972) with the parameters of Gillespie's review of
/// stochastic chemical kinetics (2007): `2X -> 3X` at c1 A, `3X -> 2X` at c2, `0 -> X` at c3 B,
/// `X -> 0` at c4 (mass action), modes near 82 and 563 molecules, started from `x0`.
pub fn schloegl(x0: u32) -> ReactionNetwork {
    let params: Vec<(String, f64)> = [
        ("c1", 3e-7),
        ("c2", 1e-4),
        ("c3", 1e-3),
        ("c4", 3.5),
        ("A", 1e5),
        ("B", 2e5),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), *v))
    .collect();
    let reaction = |eq: &str, rate: &str| ReactionSpec {
        eq: eq.into(),
        rate: Some(rate.into()),
        propensity: None,
    };
    ReactionNetwork::new(
        &[("X".into(), i64::from(x0))],
        &params,
        &[
            reaction("2X -> 3X", "c1*A"),
            reaction("3X -> 2X", "c2"),
            reaction("0 -> X", "c3*B"),
            reaction("X -> 0", "c4"),
        ],
    )
    .expect("Schloegl's network is well formed")
}

/// The default `eps` of tau-leaping (`solver.rtol`): the relative change of any propensity a
/// leap may cause in expectation (Cao, Gillespie and Petzold's recommended 0.03).
pub const TAU_LEAP_EPSILON: f64 = 0.03;

/// A reaction as written in a config.
#[derive(Clone, Debug, PartialEq)]
pub struct ReactionSpec {
    /// `"2X -> 3X"`: reactants and products with integer coefficients; `0` (or nothing) for
    /// none.
    pub eq: String,
    /// A mass-action rate constant (an expression in the parameters).
    pub rate: Option<String>,
    /// Or an explicit propensity (an expression in the species counts and parameters).
    pub propensity: Option<String>,
}

/// One parsed reaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Reaction {
    /// The equation as written.
    pub eq: String,
    /// Reactant coefficient per species.
    pub reactants: Vec<u32>,
    /// Net change of each species when the reaction fires.
    pub change: Vec<i32>,
    /// The propensity as an expression in the counts and parameters.
    pub propensity: String,
    /// Whether it is mass action (nonnegative whenever the counts are).
    pub mass_action: bool,
}

/// A checked reaction network.
#[derive(Clone, Debug)]
pub struct ReactionNetwork {
    /// Species names, in state order.
    pub species: Vec<String>,
    /// Initial counts.
    pub initial: Vec<u32>,
    /// Parameters.
    pub params: Vec<(String, f64)>,
    /// The reactions.
    pub reactions: Vec<Reaction>,
    propensities: Vec<Program>,
    nodes: Vec<Node>,
}

fn syntax(field: &str, eq: &str, why: impl Into<String>) -> Error {
    Error::invalid(field, format!("\"{eq}\""), why)
}

/// Parses one side of an equation into coefficients per species.
fn side(field: &str, eq: &str, text: &str, species: &[String]) -> Result<Vec<u32>> {
    let mut coefficients = vec![0u32; species.len()];
    let text = text.trim();
    if text.is_empty() || text == "0" || text == "∅" {
        return Ok(coefficients);
    }
    for term in text.split('+') {
        let term = term.trim();
        let digits = term.chars().take_while(char::is_ascii_digit).count();
        let (number, name) = term.split_at(digits);
        let name = name.trim();
        if name.is_empty() {
            return Err(syntax(
                field,
                eq,
                format!("`{term}` names no species (write `0` for nothing)"),
            ));
        }
        let k: u32 = if number.is_empty() {
            1
        } else {
            number
                .parse()
                .map_err(|_| syntax(field, eq, format!("`{number}` is not a coefficient")))?
        };
        if k == 0 {
            return Err(syntax(
                field,
                eq,
                format!("`{term}` has a zero coefficient"),
            ));
        }
        let Some(i) = species.iter().position(|s| s == name) else {
            let known = species.iter().map(String::as_str);
            let hint = match expr::parse::closest(name, known) {
                Some(c) => format!("; did you mean `{c}`?"),
                None => format!("; the species are {}", species.join(", ")),
            };
            return Err(syntax(field, eq, format!("unknown species `{name}`{hint}")));
        };
        coefficients[i] += k;
    }
    Ok(coefficients)
}

/// The mass-action propensity of `rate` for the given reactant coefficients, as text.
fn mass_action(rate: &str, reactants: &[u32], species: &[String]) -> String {
    let mut terms = vec![format!("({rate})")];
    let mut factorial = 1u64;
    for (name, &k) in species.iter().zip(reactants) {
        for j in 0..k {
            terms.push(if j == 0 {
                name.clone()
            } else {
                format!("({name} - {j})")
            });
            factorial *= u64::from(j + 1);
        }
    }
    let product = terms.join(" * ");
    if factorial > 1 {
        format!("{product} / {factorial}")
    } else {
        product
    }
}

impl ReactionNetwork {
    /// Checks the species, parameters and reactions.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `model.species`, `model.reactions[i].eq`, `.rate` or
    /// `.propensity`: unbalanced or malformed equations, unknown species, negative counts,
    /// rates or propensities that are negative where the counts are not.
    pub fn new(
        species: &[(String, i64)],
        params: &[(String, f64)],
        reactions: &[ReactionSpec],
    ) -> Result<Self> {
        if species.is_empty() || species.len() > MAX_DIM {
            return Err(Error::invalid(
                "model.species",
                format!("{} species", species.len()),
                format!("a network has 1 to {MAX_DIM} species"),
            ));
        }
        let names: Vec<String> = species.iter().map(|(n, _)| n.clone()).collect();
        let mut initial = Vec::new();
        for (name, count) in species {
            if *count < 0 || *count > (1 << 24) {
                return Err(Error::invalid(
                    format!("model.species.{name}"),
                    count,
                    "counts are integers in [0, 2^24] (exact in f32)",
                ));
            }
            initial.push(*count as u32);
        }
        if reactions.is_empty() || reactions.len() > MAX_REACTIONS {
            return Err(Error::invalid(
                "model.reactions",
                format!("{} reactions", reactions.len()),
                format!("a network has 1 to {MAX_REACTIONS} reactions"),
            ));
        }
        let param_names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        let rate_scope = Scope::new(&[] as &[&str], &param_names);
        let scope = Scope::new(&names, &param_names);
        let values: Vec<f64> = params.iter().map(|(_, v)| *v).collect();
        let mut parsed = Vec::new();
        let mut programs = Vec::new();
        let mut nodes = Vec::new();
        for (r, spec) in reactions.iter().enumerate() {
            let field = format!("model.reactions[{r}].eq");
            let eq = spec.eq.as_str();
            let Some((lhs, rhs)) = eq.split_once("->") else {
                return Err(syntax(&field, eq, "expected `reactants -> products`"));
            };
            if rhs.contains("->") {
                return Err(syntax(&field, eq, "one `->` per reaction"));
            }
            let reactants = side(&field, eq, lhs, &names)?;
            let products = side(&field, eq, rhs, &names)?;
            let change: Vec<i32> = reactants
                .iter()
                .zip(&products)
                .map(|(a, b)| *b as i32 - *a as i32)
                .collect();
            if change.iter().all(|c| *c == 0) {
                return Err(syntax(&field, eq, "the reaction changes nothing"));
            }
            let (propensity, mass) = match (&spec.rate, &spec.propensity) {
                (Some(rate), None) => {
                    let field = format!("model.reactions[{r}].rate");
                    let node = expr::parse(rate, &rate_scope).map_err(|e| Error::Expression {
                        field: field.clone(),
                        rendered: e.render(&field, rate),
                    })?;
                    let value = expr::eval_f64(&node, 0.0, &[], &values);
                    if !(value.is_finite() && value >= 0.0) {
                        return Err(Error::invalid(
                            field,
                            format!("{rate} = {value}"),
                            "a rate constant must be a nonnegative number",
                        ));
                    }
                    (mass_action(rate, &reactants, &names), true)
                }
                (None, Some(p)) => (p.clone(), false),
                _ => {
                    return Err(Error::invalid(
                        format!("model.reactions[{r}]"),
                        eq,
                        "give either `rate` (mass action) or `propensity`",
                    ))
                }
            };
            let field = format!(
                "model.reactions[{r}].{}",
                if mass { "rate" } else { "propensity" }
            );
            let node = expr::parse(&propensity, &scope).map_err(|e| Error::Expression {
                field: field.clone(),
                rendered: e.render(&field, &propensity),
            })?;
            let program = Program::compile(&node).ok_or_else(|| {
                Error::invalid(&field, &propensity, "cannot be compiled for the CPU twin")
            })?;
            let reaction = Reaction {
                eq: eq.to_string(),
                reactants,
                change,
                propensity,
                mass_action: mass,
            };
            if !mass {
                check_nonnegative(&field, &reaction, &node, &initial, &values)?;
            }
            parsed.push(reaction);
            programs.push(program);
            nodes.push(node);
        }
        Ok(ReactionNetwork {
            species: names,
            initial,
            params: params.to_vec(),
            reactions: parsed,
            propensities: programs,
            nodes,
        })
    }

    /// Twin of `propensities` in the kernels' `reactions` module: each reaction's propensity at
    /// counts `x`, zero when its reactants are missing, and clamped at zero when the expression
    /// is negative (the second value says whether any was).
    pub fn propensities(&self, t: f32, x: &[f32], p: &[f32], out: &mut [f32]) -> bool {
        let mut negative = false;
        for (j, (r, program)) in self.reactions.iter().zip(&self.propensities).enumerate() {
            let a = program.eval(t, x, p);
            let ready = r
                .reactants
                .iter()
                .zip(x)
                .all(|(k, v)| *k == 0 || *v >= *k as f32);
            negative |= a < 0.0;
            out[j] = if ready && a > 0.0 { a } else { 0.0 };
        }
        negative
    }

    /// The propensities at counts `x` in f64 (for the exact master equation), with the same
    /// rules: zero without reactants, negative values taken as zero.
    pub fn propensities_f64(&self, x: &[f64], out: &mut [f64]) {
        let p: Vec<f64> = self.params.iter().map(|(_, v)| *v).collect();
        for (j, (r, node)) in self.reactions.iter().zip(&self.nodes).enumerate() {
            let a = expr::eval_f64(node, 0.0, x, &p);
            let ready = r
                .reactants
                .iter()
                .zip(x)
                .all(|(k, v)| *k == 0 || *v >= f64::from(*k));
            out[j] = if ready && a > 0.0 { a } else { 0.0 };
        }
    }

    /// For the tau-leaping step bound of Cao, Gillespie and Petzold (2006), per species: the
    /// highest order of a reaction it is a reactant of, and how many of its molecules that
    /// reaction takes (the largest such count among reactions of that order); (0, 0) when it
    /// is no reactant.
    pub fn highest_orders(&self) -> Vec<(u32, u32)> {
        (0..self.species.len())
            .map(|i| {
                let mut best = (0u32, 0u32);
                for r in &self.reactions {
                    let k = r.reactants[i];
                    if k == 0 {
                        continue;
                    }
                    let order: u32 = r.reactants.iter().sum();
                    if order > best.0 || (order == best.0 && k > best.1) {
                        best = (order, k);
                    }
                }
                best
            })
            .collect()
    }

    /// Twin of `g_factor`: CGP's `g_i`, so that a leap changes propensities by about `eps`.
    pub fn g_factor(order: (u32, u32), x: f32) -> f32 {
        match order {
            (1, _) => 1.0,
            (2, 2) => 2.0 + 1.0 / (x - 1.0).max(1.0),
            (2, _) => 2.0,
            (3, 3) => 3.0 + 1.0 / (x - 1.0).max(1.0) + 2.0 / (x - 2.0).max(1.0),
            (3, 2) => 1.5 * (2.0 + 1.0 / (x - 1.0).max(1.0)),
            (o, _) => o as f32,
        }
    }

    /// The WGSL module `reactions` of the jump kernels: the counts of reactions, the change
    /// table, and `propensities(t, x) -> Propensities`.
    pub fn wgsl_module(&self) -> Result<String> {
        let r = self.reactions.len();
        let s = self.species.len();
        let param_names: Vec<&str> = self.params.iter().map(|(n, _)| n.as_str()).collect();
        let scope = Scope::new(&self.species, &param_names);
        let mut body = String::new();
        for (j, reaction) in self.reactions.iter().enumerate() {
            let node =
                expr::parse(&reaction.propensity, &scope).map_err(|e| Error::Expression {
                    field: "model.reactions".into(),
                    rendered: e.render("model.reactions", &reaction.propensity),
                })?;
            let ready: Vec<String> = reaction
                .reactants
                .iter()
                .enumerate()
                .filter(|(_, k)| **k > 0)
                .map(|(i, k)| format!("x[{i}] >= {k}.0"))
                .collect();
            let ready = if ready.is_empty() {
                "true".to_string()
            } else {
                ready.join(" && ")
            };
            let a = expr::to_wgsl_bound(&node, &format!("a{j}_"), "    ");
            body.push_str(&format!(
                "{}    let a{j} = {};\n    r.a[{j}] = select(0.0, a{j}, ({ready}) && a{j} > 0.0);\n    \
                 r.negative = r.negative || a{j} < 0.0;\n",
                a.lets, a.value
            ));
        }
        let change: Vec<String> = self
            .reactions
            .iter()
            .flat_map(|reaction| reaction.change.iter().map(|c| format!("{c}.0")))
            .collect();
        let orders = self.highest_orders();
        let order: Vec<String> = orders.iter().map(|o| format!("{}u", o.0)).collect();
        let taken: Vec<String> = orders.iter().map(|o| format!("{}u", o.1)).collect();
        Ok(format!(
            "// Reactions, generated by the engine.\nconst REACTIONS: u32 = {r}u;\n\
             // Per species: the highest order of a reaction it is a reactant of, and how many of\n\
             // its molecules that reaction takes (0 when it is no reactant).\n\
             const HIGHEST_ORDER = array<u32, {s}>({});\nconst ORDER_TAKES = array<u32, {s}>({});\n\
             alias Rates = array<f32, {r}>;\n\
             // Net change of species i by reaction j at [j * DIM + i].\n\
             var<private> CHANGE: array<f32, {}> = array({});\n\
             struct Propensities {{\n    a: Rates,\n    negative: bool,\n}}\n\
             fn propensities(t: f32, x: State) -> Propensities {{\n    var r: Propensities;\n\
             {body}    return r;\n}}\n",
            order.join(", "),
            taken.join(", "),
            r * s,
            change.join(", ")
        ))
    }

    /// The noise of the chemical Langevin equation of the network, one row per species:
    /// column `j` is `nu_j sqrt(max(a_j(X), 0))`; with the drift [`Self::rate_equations`],
    /// the SDE of [`crate::ExprModel::reaction_network`].
    pub fn noise_matrix(&self) -> Vec<Vec<String>> {
        (0..self.species.len())
            .map(|i| {
                self.reactions
                    .iter()
                    .map(|r| match r.change[i] {
                        0 => "0".to_string(),
                        c => format!("{c} * sqrt(max({}, 0))", r.propensity),
                    })
                    .collect()
            })
            .collect()
    }

    /// The reaction-rate equations `dX_i/dt = sum_j nu_ij a_j(X)`, one expression per species.
    pub fn rate_equations(&self) -> Vec<String> {
        (0..self.species.len())
            .map(|i| {
                let terms: Vec<String> = self
                    .reactions
                    .iter()
                    .filter(|r| r.change[i] != 0)
                    .map(|r| format!("{} * ({})", r.change[i], r.propensity))
                    .collect();
                if terms.is_empty() {
                    "0".to_string()
                } else {
                    terms.join(" + ")
                }
            })
            .collect()
    }
}

/// Refuses an explicit propensity that is negative at some nonnegative counts: it is evaluated
/// on a grid of counts (0, 1, 2, the initial count, twice it plus ten, per species; at most
/// 4096 points).
fn check_nonnegative(
    field: &str,
    reaction: &Reaction,
    node: &Node,
    initial: &[u32],
    params: &[f64],
) -> Result<()> {
    let levels: Vec<Vec<f64>> = initial
        .iter()
        .map(|&c| {
            let mut v = vec![0.0, 1.0, 2.0, f64::from(c), 2.0 * f64::from(c) + 10.0];
            v.dedup();
            v
        })
        .collect();
    let points: usize = levels.iter().map(Vec::len).product();
    let stride = points.div_ceil(4096).max(1);
    let mut x = vec![0.0; initial.len()];
    for point in (0..points).step_by(stride) {
        let mut rest = point;
        for (i, l) in levels.iter().enumerate() {
            x[i] = l[rest % l.len()];
            rest /= l.len();
        }
        let a = expr::eval_f64(node, 0.0, &x, params);
        if a < 0.0 {
            let at: Vec<String> = x.iter().map(|v| format!("{v}")).collect();
            return Err(Error::invalid(
                field,
                &reaction.propensity,
                format!(
                    "is negative ({a}) at counts ({}): a propensity must be nonnegative",
                    at.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(eq: &str, rate: &str) -> ReactionSpec {
        ReactionSpec {
            eq: eq.into(),
            rate: Some(rate.into()),
            propensity: None,
        }
    }

    /// Dimerisation with a source: `0 -> A` (explicit), `2A -> D`, `A + D -> T`, `3T -> A`.
    fn network() -> ReactionNetwork {
        let p: Vec<(String, f64)> = [("s", 5.0), ("k", 0.2), ("q", 0.1), ("r", 0.01)]
            .iter()
            .map(|(n, v)| (n.to_string(), *v))
            .collect();
        ReactionNetwork::new(
            &[("A".into(), 10), ("D".into(), 0), ("T".into(), 0)],
            &p,
            &[
                ReactionSpec {
                    eq: "0 -> A".into(),
                    rate: None,
                    propensity: Some("s".into()),
                },
                spec("2A -> D", "k"),
                spec("A + D -> T", "q"),
                spec("3T -> A", "r"),
            ],
        )
        .unwrap()
    }

    #[test]
    fn mass_action_counts_combinations() {
        let n = network();
        assert_eq!(n.reactions[1].propensity, "(k) * A * (A - 1) / 2");
        assert_eq!(n.reactions[2].propensity, "(q) * A * D");
        assert_eq!(n.reactions[3].propensity, "(r) * T * (T - 1) * (T - 2) / 6");
        assert_eq!(n.reactions[1].change, vec![-2, 1, 0]);
        assert_eq!(n.reactions[3].change, vec![1, 0, -3]);
        let p: Vec<f32> = n.params.iter().map(|(_, v)| *v as f32).collect();
        let mut a = [0.0f32; 4];
        n.propensities(0.0, &[10.0, 3.0, 5.0], &p, &mut a);
        let expect = [5.0, 0.2 * 45.0, 0.1 * 30.0, 0.01 * 10.0];
        for (got, want) in a.iter().zip(expect) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-6 * want,
                "{got} vs {want}"
            );
        }
        // Without its reactants a reaction does not fire.
        n.propensities(0.0, &[1.0, 0.0, 2.0], &p, &mut a);
        assert_eq!(a[1..], [0.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_networks_are_refused_with_the_field() {
        let species = [("X".to_string(), 5i64), ("Y".to_string(), 0)];
        let params = [("k".to_string(), 1.0)];
        let err = |r: ReactionSpec| {
            ReactionNetwork::new(&species, &params, &[r])
                .unwrap_err()
                .to_string()
        };
        assert!(err(spec("X + Z -> Y", "k")).contains("unknown species `Z`"));
        assert!(err(spec("X => Y", "k")).contains("reactants -> products"));
        assert!(err(spec("X -> X", "k")).contains("changes nothing"));
        assert!(err(spec("X -> Y", "-k")).contains("nonnegative"));
        assert!(err(spec("X + -> Y", "k")).contains("names no species"));
        let e = err(ReactionSpec {
            eq: "X -> Y".into(),
            rate: None,
            propensity: Some("k * (X - 3)".into()),
        });
        assert!(
            e.contains("model.reactions[0].propensity") && e.contains("negative"),
            "{e}"
        );
        let e = ReactionNetwork::new(&[("X".to_string(), -1)], &params, &[spec("X -> 0", "k")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("model.species.X"), "{e}");
    }

    #[test]
    fn the_wgsl_module_validates() {
        let n = network();
        let layout = "const DIM: u32 = 3u;\nalias State = array<f32, 3>;\n";
        let module = n.wgsl_module().unwrap();
        let src = format!(
            "const NPARAMS: u32 = 4u;\nvar<private> params: array<f32, NPARAMS>;\n{layout}{module}\n\
             @compute @workgroup_size(1) fn main() {{ let r = propensities(0.0, State(1.0, 2.0, 3.0)); }}"
        );
        let m = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&m)
        .unwrap();
    }
}
