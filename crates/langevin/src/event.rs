//! Events: a condition on the state written as one comparison of two expressions (`x > 2`,
//! `x^2 + y^2 >= r^2`; `if(...)` inside either side combines more), watched at every step
//! end. `record` notes the first time it holds; `stop` also freezes the trajectory there (an
//! absorbing condition), and statistics are taken over the trajectories still running, with
//! the survival fraction at each save time.
//!
//! The kernels keep the first time in the same per-trajectory buffer as first passages; the
//! condition is compiled into the stepping kernel's virtual module `event`.

use crate::error::{Error, Result};
use crate::expr::{self, CmpOp, Node, Program, Scope};

/// What happens when the condition first holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventAction {
    /// Record the time; the trajectory goes on.
    Record,
    /// Record the time and freeze the trajectory: it leaves the statistics.
    Stop,
}

impl EventAction {
    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            EventAction::Record => "record",
            EventAction::Stop => "stop",
        }
    }
}

/// An event as asked for: the condition's text and the action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// One comparison of two expressions in the state, parameters and `t`.
    pub when: String,
    /// Record or stop.
    pub action: EventAction,
}

/// A checked event: both sides parsed against the model's names.
#[derive(Clone, Debug)]
pub struct Event {
    /// The condition as written.
    pub when: String,
    /// Record or stop.
    pub action: EventAction,
    lhs: Node,
    cmp: CmpOp,
    rhs: Node,
    programs: [Program; 2],
}

impl PartialEq for Event {
    /// Two events are the same when their text and action are (the trees follow from them).
    fn eq(&self, other: &Event) -> bool {
        self.when == other.when && self.action == other.action
    }
}

/// The comparisons, longest first so that `<=` is not read as `<`.
const COMPARISONS: [(&str, CmpOp); 4] = [
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];

impl Event {
    /// Parses `spec.when` against the state and parameter names.
    ///
    /// # Errors
    /// [`Error::Expression`] for `output.event.when` pointing at the problem, or
    /// [`Error::InvalidInput`] when there is not exactly one comparison.
    pub fn resolve(spec: &EventSpec, state: &[String], params: &[String]) -> Result<Event> {
        let field = "output.event.when";
        let text = &spec.when;
        let found: Vec<(usize, &str, CmpOp)> = COMPARISONS
            .iter()
            .flat_map(|&(sym, op)| text.match_indices(sym).map(move |(at, _)| (at, sym, op)))
            .collect();
        // `<=` also matches `<` at the same place: keep the longest at each position.
        let mut at_positions: Vec<(usize, &str, CmpOp)> = Vec::new();
        for f in found {
            match at_positions.iter_mut().find(|g| g.0 == f.0) {
                Some(g) if g.1.len() >= f.1.len() => {}
                Some(g) => *g = f,
                None => at_positions.push(f),
            }
        }
        let [(at, sym, cmp)] = at_positions[..] else {
            return Err(Error::invalid(
                field,
                text,
                "needs exactly one comparison (<, <=, > or >=) between two expressions",
            ));
        };
        let scope = Scope::new(state, params);
        let side = |source: &str, offset: usize| -> Result<Node> {
            expr::parse(source, &scope).map_err(|mut e| {
                e.span = (e.span.0 + offset, e.span.1 + offset);
                Error::Expression {
                    field: field.to_string(),
                    rendered: e.render(field, text),
                }
            })
        };
        let lhs = side(&text[..at], 0)?;
        let rhs = side(&text[at + sym.len()..], at + sym.len())?;
        let compile = |n: &Node| {
            Program::compile(n)
                .ok_or_else(|| Error::Limit(format!("{field}: the expression nests too deep")))
        };
        let programs = [compile(&lhs)?, compile(&rhs)?];
        Ok(Event {
            when: text.clone(),
            action: spec.action,
            lhs,
            cmp,
            rhs,
            programs,
        })
    }

    /// Whether the condition holds; mirrors the WGSL `event_hit`.
    pub fn holds(&self, t: f32, x: &[f32], p: &[f32]) -> bool {
        self.cmp.holds(
            self.programs[0].eval(t, x, p),
            self.programs[1].eval(t, x, p),
        )
    }

    /// Whether a trajectory stops when the condition holds.
    pub fn stops(&self) -> bool {
        self.action == EventAction::Stop
    }
}

/// What an event produced.
#[derive(Clone, Debug, PartialEq)]
pub struct EventResult {
    /// The condition.
    pub when: String,
    /// Record or stop.
    pub action: EventAction,
    /// Trajectories whose condition held by the end.
    pub hit: u64,
    /// Their first times, in trajectory order.
    pub times: Vec<f32>,
    /// At each save time, how many trajectories' condition had held.
    pub hits_by_save: Vec<u64>,
    /// At each save time, the fraction of all trajectories whose condition had not yet held:
    /// for a stopping event, the survivors (the trajectories the statistics are taken over).
    pub survival: Vec<f64>,
}

impl EventResult {
    /// The result of `times` (first times, in trajectory order) over `trajectories`, with the
    /// survival at each save time (the times lie on the step grid of `dt`).
    pub fn new(event: &Event, times: Vec<f32>, saves: &[f64], dt: f64, trajectories: u64) -> Self {
        let mut sorted: Vec<f64> = times.iter().map(|&t| f64::from(t)).collect();
        sorted.sort_by(f64::total_cmp);
        // Both lie on the step grid; half a step absorbs the f32 rounding of the times.
        let hits_by_save: Vec<u64> = saves
            .iter()
            .map(|&t| sorted.partition_point(|&h| h < t + 0.5 * dt) as u64)
            .collect();
        let survival = hits_by_save
            .iter()
            .map(|&h| 1.0 - h as f64 / trajectories as f64)
            .collect();
        EventResult {
            when: event.when.clone(),
            action: event.action,
            hit: times.len() as u64,
            times,
            hits_by_save,
            survival,
        }
    }

    /// Mean, standard deviation and median of the first times (NaN when none held).
    pub fn summary(&self) -> (f64, f64, f64) {
        crate::stats::time_summary(&self.times)
    }
}

/// The WGSL module `event` of the stepping kernel: `HAS_EVENT` and `event_hit(t, x)`.
pub fn wgsl_module(event: Option<&Event>) -> String {
    match event {
        Some(e) => {
            let lhs = expr::to_wgsl_bound(&e.lhs, "lhs_", "    ");
            let rhs = expr::to_wgsl_bound(&e.rhs, "rhs_", "    ");
            format!(
                "// Event `{}`, generated by the engine.\nconst HAS_EVENT: bool = true;\n\
                 fn event_hit(t: f32, x: State) -> bool {{\n{}{}    return ({}) {} ({});\n}}\n",
                crate::shader::comment_text(&e.when),
                lhs.lets,
                rhs.lets,
                lhs.value,
                e.cmp.symbol(),
                rhs.value
            )
        }
        None => "const HAS_EVENT: bool = false;\nfn event_hit(t: f32, x: State) -> bool {\n    \
                 return false;\n}\n"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn event(when: &str) -> Result<Event> {
        Event::resolve(
            &EventSpec {
                when: when.into(),
                action: EventAction::Stop,
            },
            &names(&["x", "y"]),
            &names(&["r"]),
        )
    }

    #[test]
    fn one_comparison_of_two_expressions() {
        let e = event("x^2 + y^2 >= r^2").unwrap();
        assert!(e.holds(0.0, &[3.0, 4.0], &[5.0]));
        assert!(!e.holds(0.0, &[3.0, 3.9], &[5.0]));
        let e = event("x < t").unwrap();
        assert!(e.holds(2.0, &[1.0, 0.0], &[0.0]));
        assert!(!e.holds(1.0, &[1.0, 0.0], &[0.0]));
        assert!(wgsl_module(Some(&e)).contains("return (x[0]) < (t);"));
    }

    #[test]
    fn errors_point_into_the_condition() {
        let err = event("x + 1").unwrap_err().to_string();
        assert!(err.contains("exactly one comparison"), "{err}");
        let err = event("x > 1 > 0").unwrap_err().to_string();
        assert!(err.contains("exactly one comparison"), "{err}");
        let Error::Expression { field, rendered } = event("x > rr").unwrap_err() else {
            panic!()
        };
        assert_eq!(field, "output.event.when");
        assert!(rendered.contains("did you mean `r`?"), "{rendered}");
        // The caret sits under `rr`, after the four-space indent of the quoted source.
        assert!(rendered.contains("\n        ^^\n"), "{rendered}");
    }
}
