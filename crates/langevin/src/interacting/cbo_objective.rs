//! CBO objectives written in the expression language, with reductions over the coordinates:
//! `sum_i(e)` and `prod_i(e)`, where `e` is an expression in the coordinate `x_i`, its index
//! `i` (1 to d) and `d`; around them, any expression in the reductions and `d`. For example
//! Griewank's function is
//!
//! ```text
//! 1 + sum_i(x_i^2) / 4000 - prod_i(cos(x_i / sqrt(i)))
//! ```
//!
//! The text is split once: each reduction's argument is parsed on its own (errors point into
//! the original text), and the reduction is replaced by a name of the same length in the
//! outer expression. The kernel gets one generated function (the virtual module
//! `cbo_objective`); the CPU twin evaluates the same trees with the expression evaluator.

use crate::error::{Error, Result};
use crate::expr::{self, Node, Program, Scope, Sym};

/// The most reductions in one objective.
pub const MAX_REDUCTIONS: usize = 8;

/// A reduction over the coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// `sum_i(...)`, starting from 0.
    Sum,
    /// `prod_i(...)`, starting from 1.
    Prod,
}

/// A parsed objective expression.
#[derive(Clone, Debug)]
pub struct ObjectiveExpr {
    /// The text as given.
    pub text: String,
    /// The reductions and their arguments (in `x_i` = state 0, `i` = param 0, `d` = param 1).
    pub reductions: Vec<(Reduction, Node)>,
    /// The outer expression (in `d` = param 0 and the reductions = params 1, 2, ...).
    pub outer: Node,
    inner_programs: Vec<Program>,
    outer_program: Program,
}

fn expression_error(field: &str, text: &str, e: &expr::ExprError) -> Error {
    Error::Expression {
        field: field.to_string(),
        rendered: e.render(field, text),
    }
}

fn refuse_time(field: &str, text: &str, node: &Node, span: (usize, usize)) -> Result<()> {
    if node.depends_on(Sym::Time) {
        let e = expr::ExprError {
            message: "an objective does not depend on time `t`".into(),
            span,
            help: None,
        };
        return Err(expression_error(field, text, &e));
    }
    Ok(())
}

fn program(field: &str, node: &Node) -> Result<Program> {
    Program::compile(node)
        .ok_or_else(|| Error::Limit(format!("{field}: the expression nests too deeply")))
}

impl ObjectiveExpr {
    /// Parses `text` (named `field` in errors).
    ///
    /// # Errors
    /// [`Error::Expression`] at the offending text: a reduction without its parentheses,
    /// nested reductions, `x_i` or `i` outside a reduction, any parse error;
    /// [`Error::Limit`] past [`MAX_REDUCTIONS`] reductions.
    pub fn parse(field: &str, text: &str) -> Result<ObjectiveExpr> {
        let mut outer_text = String::with_capacity(text.len());
        let mut reductions = Vec::new();
        let mut rest = 0;
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < text.len() {
            let kind = if text[at..].starts_with("sum_i") {
                Some(Reduction::Sum)
            } else if text[at..].starts_with("prod_i") {
                Some(Reduction::Prod)
            } else {
                None
            };
            let boundary =
                at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            let Some(kind) = kind.filter(|_| boundary) else {
                at += text[at..].chars().next().map_or(1, char::len_utf8);
                continue;
            };
            let name_len = if kind == Reduction::Sum { 5 } else { 6 };
            let open = text[at + name_len..]
                .find(|c: char| !c.is_whitespace())
                .map(|o| at + name_len + o)
                .filter(|o| bytes[*o] == b'(')
                .ok_or_else(|| {
                    let e = expr::ExprError {
                        message: "a reduction takes its argument in parentheses: sum_i(...)".into(),
                        span: (at, at + name_len),
                        help: None,
                    };
                    expression_error(field, text, &e)
                })?;
            let mut depth = 0;
            let mut close = None;
            for (k, b) in bytes.iter().enumerate().skip(open) {
                match b {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(k);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let close = close.ok_or_else(|| {
                let e = expr::ExprError {
                    message: "this parenthesis is never closed".into(),
                    span: (open, open + 1),
                    help: None,
                };
                expression_error(field, text, &e)
            })?;
            let inner = &text[open + 1..close];
            if inner.contains("sum_i") || inner.contains("prod_i") {
                let e = expr::ExprError {
                    message: "reductions do not nest".into(),
                    span: (open + 1, close),
                    help: None,
                };
                return Err(expression_error(field, text, &e));
            }
            if reductions.len() == MAX_REDUCTIONS {
                return Err(Error::Limit(format!(
                    "{field}: at most {MAX_REDUCTIONS} reductions in one objective"
                )));
            }
            // Parse the argument in place: blank out the rest of the text so that error
            // positions are those of the original.
            let padded: String = text
                .char_indices()
                .map(|(k, c)| if k > open && k < close { c } else { ' ' })
                .collect();
            let node = expr::parse(&padded, &Scope::new(&["x_i"], &["i", "d"]))
                .map_err(|e| expression_error(field, text, &e))?;
            refuse_time(field, text, &node, (open + 1, close))?;
            // The reduction becomes a name of the same length in the outer text.
            let name = format!("r{}", reductions.len());
            outer_text.push_str(&text[rest..at]);
            outer_text.push_str(&name);
            outer_text.push_str(&" ".repeat(close + 1 - at - name.len()));
            rest = close + 1;
            at = close + 1;
            reductions.push((kind, node));
        }
        outer_text.push_str(&text[rest..]);
        let mut names = vec!["d".to_string()];
        names.extend((0..reductions.len()).map(|k| format!("r{k}")));
        let outer = expr::parse(&outer_text, &Scope::new(&[] as &[&str], &names)).map_err(|e| {
            let mut e = e;
            if e.message.contains("x_i") || text[e.span.0.min(text.len())..].starts_with('i') {
                e.help = Some("x_i and i exist only inside sum_i(...) or prod_i(...)".into());
            }
            expression_error(field, text, &e)
        })?;
        refuse_time(field, text, &outer, (0, text.len()))?;
        Ok(ObjectiveExpr {
            text: text.to_string(),
            inner_programs: reductions
                .iter()
                .map(|(_, n)| program(field, n))
                .collect::<Result<_>>()?,
            outer_program: program(field, &outer)?,
            reductions,
            outer,
        })
    }

    /// The objective at `v` (the coordinates minus the shift), in f64.
    pub fn value(&self, v: &[f64]) -> f64 {
        let d = v.len() as f64;
        let mut params = vec![d];
        for (kind, node) in &self.reductions {
            let terms = v
                .iter()
                .enumerate()
                .map(|(k, x)| expr::eval_f64(node, 0.0, &[*x], &[(k + 1) as f64, d]));
            params.push(match kind {
                Reduction::Sum => terms.sum(),
                Reduction::Prod => terms.product(),
            });
        }
        expr::eval_f64(&self.outer, 0.0, &[], &params)
    }

    /// Twin of the generated `objective_expr`: the objective at `v` in f32, the reductions
    /// accumulated coordinate by coordinate as the kernel does.
    pub fn value_f32(&self, v: &[f32]) -> f32 {
        let d = v.len() as f32;
        let mut acc = [0.0f32; MAX_REDUCTIONS];
        for (a, (kind, _)) in acc.iter_mut().zip(&self.reductions) {
            *a = if *kind == Reduction::Sum { 0.0 } else { 1.0 };
        }
        for (k, x) in v.iter().enumerate() {
            let i = (k + 1) as f32;
            for ((a, (kind, _)), p) in acc
                .iter_mut()
                .zip(&self.reductions)
                .zip(&self.inner_programs)
            {
                let term = p.eval(0.0, &[*x], &[i, d]);
                match kind {
                    Reduction::Sum => *a += term,
                    Reduction::Prod => *a *= term,
                }
            }
        }
        let mut params = vec![d];
        params.extend_from_slice(&acc[..self.reductions.len()]);
        self.outer_program.eval(0.0, &[], &params)
    }

    /// The virtual module `cbo_objective`: `objective_expr(v)` over the first `dim` entries
    /// of `v`.
    pub fn wgsl(&self) -> String {
        let mut body = String::new();
        for (k, (kind, _)) in self.reductions.iter().enumerate() {
            let start = if *kind == Reduction::Sum {
                "0.0"
            } else {
                "1.0"
            };
            body.push_str(&format!("    var r{k} = {start};\n"));
        }
        body.push_str(
            "    for (var k = 0u; k < seg.dim; k++) {\n        \
             var x: array<f32, 1>;\n        x[0] = (*v)[k];\n        \
             var params: array<f32, 2>;\n        params[0] = f32(k + 1u);\n        \
             params[1] = d;\n",
        );
        for (k, (kind, node)) in self.reductions.iter().enumerate() {
            let op = if *kind == Reduction::Sum { "+=" } else { "*=" };
            let term = expr::to_wgsl_bound(node, &format!("r{k}_"), "        ");
            body.push_str(&format!("{}        r{k} {op} {};\n", term.lets, term.value));
        }
        body.push_str("    }\n");
        let n = self.reductions.len() + 1;
        let outer = expr::to_wgsl_bound(&self.outer, "outer_", "    ");
        body.push_str(&format!(
            "    var params: array<f32, {n}>;\n    params[0] = d;\n"
        ));
        for k in 0..self.reductions.len() {
            body.push_str(&format!("    params[{}] = r{k};\n", k + 1));
        }
        format!(
            "// Generated from the objective `{}`.\n\
             fn objective_expr(v: ptr<function, array<f32, 32>>) -> f32 {{\n    \
             let d = f32(seg.dim);\n{body}{}    return {};\n}}\n",
            crate::shader::comment_text(&self.text),
            outer.lets,
            outer.value
        )
    }
}

/// The virtual module `cbo_objective` of the built-in objectives: never called.
pub const NO_OBJECTIVE_EXPR: &str =
    "fn objective_expr(v: ptr<function, array<f32, 32>>) -> f32 {\n    return 0.0;\n}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn griewank_and_rastrigin_by_hand() {
        let g = ObjectiveExpr::parse(
            "model.objective",
            "1 + sum_i(x_i^2) / 4000 - prod_i(cos(x_i / sqrt(i)))",
        )
        .unwrap();
        assert_eq!(g.reductions.len(), 2);
        assert!(g.value(&[0.0; 5]).abs() < 1e-15);
        let v = [1.0, -2.0, 0.5];
        let exact = 1.0 + (1.0 + 4.0 + 0.25) / 4000.0
            - (1.0f64).cos() * (-2.0 / 2f64.sqrt()).cos() * (0.5 / 3f64.sqrt()).cos();
        assert!((g.value(&v) - exact).abs() < 1e-14);
        assert!((f64::from(g.value_f32(&[1.0, -2.0, 0.5])) - exact).abs() < 1e-6);
        let r = ObjectiveExpr::parse("f", "10*d + sum_i(x_i^2 - 10*cos(2*pi*x_i))").unwrap();
        assert!((r.value(&[1.0, 0.5]) - (20.0 + 1.0 - 10.0 + 0.25 + 10.0)).abs() < 1e-12);
        assert!(r.wgsl().contains("fn objective_expr"));
    }

    #[test]
    fn errors_point_into_the_original_text() {
        let err = |t: &str| {
            ObjectiveExpr::parse("model.objective", t)
                .unwrap_err()
                .to_string()
        };
        let e = err("1 + sum_i(x_i^2 + y)");
        assert!(e.contains("y"), "{e}");
        let e = err("x_i^2");
        assert!(e.contains("x_i"), "{e}");
        assert!(err("sum_i(sum_i(x_i))").contains("nest"));
        assert!(err("sum_i x_i").contains("parentheses"));
        assert!(err("sum_i(x_i").contains("never closed"));
        assert!(err("sum_i(x_i * t)").contains("time"));
    }
}
