//! Models written as math: an expression language parsed once to a tree that feeds three
//! consumers — WGSL code generation, a CPU evaluator, and symbolic differentiation.
//!
//! Numbers (`1`, `2.5`, `1e-3`), names (state variables, parameters, `t`, `pi`),
//! `+ - * / ^`, unary minus, parentheses, `exp log sqrt sin cos tan tanh sinh cosh atan abs
//! sign min max pow`, and `if(a < b, then, otherwise)` with `< <= > >=`. `^` with a constant
//! integer exponent is a product (any base); otherwise it needs a positive base, as WGSL's
//! `pow` does.
//!
//! ```
//! use langevin::expr::{parse, diff, to_wgsl, Program, Scope, Sym};
//! let scope = Scope::new(&["x"], &["D"]);
//! let u = parse("x^4/4 - x^2/2", &scope).unwrap();
//! let force = diff(&u, Sym::State(0));
//! assert_eq!(Program::compile(&force).unwrap().eval(0.0, &[2.0], &[]), 6.0);
//! assert!(to_wgsl(&force).contains("x[0]"));
//! ```

pub mod ast;
pub mod diff;
pub mod eval;
pub mod parse;
pub mod simplify;
pub mod wgsl;

pub use ast::{BinOp, CmpOp, Func, Node, Sym};
pub use diff::diff;
pub use eval::{eval_f64, Program};
pub use parse::{parse, ExprError, Scope};
pub use wgsl::{to_wgsl, to_wgsl_bound, to_wgsl_real, to_wgsl_real_bound, Bound};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shader;

    fn scope() -> Scope {
        Scope::new(&["x", "y"], &["theta", "sigma"])
    }

    use eval::eval_f64 as eval64;

    fn value(src: &str, x: &[f32]) -> f32 {
        Program::compile(&parse(src, &scope()).unwrap())
            .unwrap()
            .eval(0.5, x, &[2.0, 0.3])
    }

    #[test]
    fn precedence_and_associativity() {
        let x = [3.0, -1.0];
        assert_eq!(value("1 + 2 * 3", &x), 7.0);
        assert_eq!(value("(1 + 2) * 3", &x), 9.0);
        assert_eq!(value("2^3^2", &x), 512.0);
        assert_eq!(value("-2^2", &x), -4.0);
        assert_eq!(value("-x^2", &x), -9.0);
        assert_eq!(value("2^-1", &x), 0.5);
        assert_eq!(value("2 * -3", &x), -6.0);
        assert_eq!(value("x - 1 - 1", &x), 1.0);
        assert_eq!(value("8 / 2 / 2", &x), 2.0);
        assert_eq!(value("theta * t + sigma", &x), 2.0 * 0.5 + 0.3);
        assert_eq!(value("y^3", &x), -1.0);
        assert_eq!(value("if(x > 2, 10, 20) + if(y >= 0, 1, 2)", &x), 12.0);
        assert!((value("2 * pi", &x) - std::f32::consts::TAU).abs() < 1e-6);
        assert_eq!(value("1e-3 * 2.5e3 + .5", &x), 3.0);
    }

    #[test]
    fn every_function_matches_f64() {
        let names = [
            "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan", "abs",
            "sign",
        ];
        for name in names {
            for v in [0.3f64, 1.7, 2.9] {
                let node = parse(&format!("{name}(x)"), &scope()).unwrap();
                let got = f64::from(Program::compile(&node).unwrap().eval(
                    0.0,
                    &[v as f32, 0.0],
                    &[0.0; 2],
                ));
                let want = eval64(&node, 0.0, &[f64::from(v as f32), 0.0], &[0.0; 2]);
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{name}({v}): {got} vs {want}"
                );
            }
        }
        assert_eq!(value("min(x, y) + max(x, y)", &[3.0, -1.0]), 2.0);
        assert_eq!(value("pow(x, 2)", &[3.0, 0.0]), 9.0);
    }

    /// The program in f64 keeps f64's precision: its constants are not rounded to f32, and it
    /// agrees with the tree's f64 value to rounding (integer powers are products there, as in
    /// the WGSL, where the tree calls `powf`).
    #[test]
    fn the_f64_program_matches_the_tree() {
        let src = "exp(-x / 3) * sin(0.1 * y) + x^3 - y^-2 + (x + y)^1.5 \
                   + if(x > y, 1 / 3, 2 / 3) + sqrt(abs(y)) * sign(x - 0.7)";
        let node = parse(src, &scope()).unwrap();
        let program = Program::compile(&node).unwrap();
        for (x, y) in [(0.3, 1.7), (1.9, 0.2), (0.7000001, 2.5)] {
            let got = program.eval_in(0.0, &[x, y], &[0.0; 2]);
            let want = eval64(&node, 0.0, &[x, y], &[0.0; 2]);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs(),
                "({x}, {y}): {got} vs {want}"
            );
        }
        // 1/3 in f64, not its f32 rounding (which is 1e-8 away).
        let third = Program::compile(&parse("x + 1 / 3", &scope()).unwrap()).unwrap();
        assert_eq!(third.eval_in(0.0, &[0.0, 0.0], &[0.0; 2]), 1.0 / 3.0);
    }

    fn error(src: &str) -> ExprError {
        parse(src, &scope()).unwrap_err()
    }

    #[test]
    fn errors_point_at_the_text() {
        let e = error("x - thta * x");
        assert_eq!(e.message, "unknown name `thta`");
        assert_eq!(e.span, (4, 8));
        assert_eq!(e.help.as_deref(), Some("did you mean `theta`?"));
        let shown = e.render("model.drift[0]", "x - thta * x");
        assert!(
            shown.contains("model.drift[0]: unknown name `thta`"),
            "{shown}"
        );
        assert!(shown.contains("\n        ^^^^"), "{shown}");

        let e = error("sinn(x)");
        assert_eq!(e.help.as_deref(), Some("did you mean `sin`?"));
        assert_eq!(error("exp(x, 1)").message, "`exp` takes 1 argument, got 2");
        assert_eq!(error("1 / 0").message, "division by zero");
        assert_eq!(error("x / (2 - 2)").span.0, 2);
        assert!(error("x < 1")
            .message
            .contains("only allowed as the first argument of `if`"));
        assert!(error("if(x, 1, 2)").message.contains("needs a comparison"));
        assert!(error("(x + 1").message.contains("expected `)`"));
        assert_eq!(error("x +").message, "expression ends early");
        assert_eq!(error("  ").message, "empty expression");
        assert!(error("1e50 * x").message.contains("f32 range"));
        assert_eq!(error("x $ 2").span, (2, 3));
        assert!(error("exp").help.unwrap().contains("is a function"));
        let e = error("x + sqrt(-1.5)");
        assert_eq!(
            (e.message.as_str(), e.span),
            ("this constant is not a real number", (4, 14))
        );
        assert!(error("log(0) * x").message.contains("not a real number"));
        assert!(error("1e30 * 1e30 * x")
            .message
            .contains("outside the f32 range"));
        assert_eq!(value("if(1.5 < 2, 1.5, 2) * x", &[2.0, 0.0]), 3.0);
        assert!(error("(-1.5)^0.5 + x")
            .message
            .contains("not a real number"));
        assert!(parse("sqrt(2) * x + (-2)^3", &scope()).is_ok());
    }

    /// A small deterministic generator of well-formed expressions over x, y, theta, t.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn expr(&mut self, depth: u32, smooth: bool) -> String {
            let leaf = depth == 0 || self.next() % 4 == 0;
            if leaf {
                return ["x", "y", "theta", "t", "0.5", "2", "1.5"][(self.next() % 7) as usize]
                    .into();
            }
            let funcs: &[&str] = if smooth {
                &["exp", "sin", "cos", "tanh", "atan", "sinh"]
            } else {
                &[
                    "exp", "sin", "cos", "tanh", "atan", "abs", "sign", "sqrt", "log", "cosh",
                ]
            };
            let a = self.expr(depth - 1, smooth);
            match self.next() % 7 {
                0 => format!("({a} + {})", self.expr(depth - 1, smooth)),
                1 => format!("({a} - {})", self.expr(depth - 1, smooth)),
                2 => format!("({a} * {})", self.expr(depth - 1, smooth)),
                3 => format!("({a} / (2 + {}^2))", self.expr(depth - 1, smooth)),
                4 => format!(
                    "{}({a})",
                    funcs[(self.next() % funcs.len() as u64) as usize]
                ),
                5 => format!("({a})^{}", 1 + self.next() % 3),
                _ if smooth => format!("-({a})"),
                _ => format!(
                    "if({a} < {}, {a}, max(x, {a}))",
                    self.expr(depth - 1, smooth)
                ),
            }
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let mut g = Gen(0x1234_5678_9abc_def1);
        let mut checked = 0;
        for _ in 0..300 {
            let src = g.expr(4, true);
            let node = parse(&src, &scope()).unwrap();
            let dx = diff(&node, Sym::State(0));
            for _ in 0..3 {
                let x0 = (g.next() % 2000) as f64 / 1000.0 - 1.0;
                let y0 = (g.next() % 2000) as f64 / 1000.0 - 1.0;
                let p = [0.7, 0.2];
                let h = 1e-5;
                let f = |x: f64| eval64(&node, 0.3, &[x, y0], &p);
                let fd = (f(x0 + h) - f(x0 - h)) / (2.0 * h);
                let exact = eval64(&dx, 0.3, &[x0, y0], &p);
                if !fd.is_finite() || !exact.is_finite() || fd.abs() > 1e6 {
                    continue;
                }
                let scale = fd.abs().max(exact.abs()).max(1.0);
                assert!(
                    (fd - exact).abs() <= 1e-5 * scale,
                    "d/dx {src} at ({x0}, {y0}): {exact} vs {fd}"
                );
                checked += 1;
            }
        }
        assert!(checked > 500, "only {checked} points checked");
    }

    #[test]
    fn piecewise_derivatives() {
        let s = scope();
        let d = |src: &str, x: f64| {
            eval64(
                &diff(&parse(src, &s).unwrap(), Sym::State(0)),
                0.0,
                &[x, 0.5],
                &[1.0, 1.0],
            )
        };
        assert_eq!(d("abs(x)", -2.0), -1.0);
        assert_eq!(d("max(x, y)", 2.0), 1.0);
        assert_eq!(d("max(x, y)", 0.0), 0.0);
        assert_eq!(d("min(x^2, y)", 0.1), 0.2);
        assert_eq!(d("if(x < 0, -x, x^2)", -1.0), -1.0);
        assert_eq!(d("if(x < 0, -x, x^2)", 3.0), 6.0);
        assert_eq!(d("x^x", 1.0), 1.0);
    }

    #[test]
    fn generated_wgsl_validates_and_cpu_program_matches_f64() {
        let mut g = Gen(0xfeed_beef_cafe_f00d);
        for i in 0..300 {
            let src = g.expr(4, i % 2 == 0);
            let node = parse(&src, &scope()).unwrap();
            let derivative = diff(&node, Sym::State(0));
            for n in [&node, &derivative] {
                let wgsl = format!(
                    "var<private> params: array<f32, 2>;\nfn f(t: f32, x: array<f32, 2>) -> f32 {{\n    return {};\n}}\n",
                    to_wgsl(n)
                );
                shader::validate("expression", &wgsl, false)
                    .unwrap_or_else(|e| panic!("{src}: {e}\n{wgsl}"));
                let x = [0.37f32, -0.81];
                let p = [0.7f32, 0.2];
                let got = f64::from(Program::compile(n).unwrap().eval(0.3, &x, &p));
                let want = eval64(n, 0.3, &x.map(f64::from), &p.map(f64::from));
                if want.is_nan() {
                    assert!(got.is_nan(), "{src}: {got} vs NaN");
                } else if want.is_finite() && want.abs() < 1e30 {
                    assert!(
                        (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                        "{src}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// A sum of 10^5 terms (and one of 10^5 parameters) goes through the parser, the
    /// derivative, the CPU program and the WGSL in linear time and without deep recursion: at
    /// this size a pass quadratic in the length takes minutes, and one that recurses along the
    /// sum overflows the test thread's stack. The values agree with the f64 tree.
    #[test]
    fn sums_of_a_hundred_thousand_terms_compile() {
        let n: usize = 100_000;
        let src: String = (1..=n as u32)
            .map(|k: u32| format!("{}*sin({k}*x)", 0.5 / f64::from(k).powi(2)))
            .collect::<Vec<_>>()
            .join(" + ");
        let node = parse(&format!("-x + {src}"), &scope()).unwrap();
        let x = 0.3f64;
        let want = eval64(&node, 0.0, &[x, 0.0], &[0.0; 2]);
        let program = Program::compile(&node).unwrap();
        let got = program.eval_in(0.0, &[x, 0.0], &[0.0; 2]);
        assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
        let dx = diff(&node, Sym::State(0));
        let slope = eval64(&dx, 0.0, &[x, 0.0], &[0.0; 2]);
        let (exact, scale) = (1..=n as u32).fold((-1.0, 1.0), |(sum, scale), k| {
            let term = 0.5 / f64::from(k).powi(2) * f64::from(k) * (f64::from(k) * x).cos();
            (sum + term, scale + term.abs())
        });
        assert!((slope - exact).abs() <= 1e-12 * scale, "{slope} vs {exact}");
        let wgsl = to_wgsl_bound(&node, "s_", "    ");
        let lets = wgsl.lets.lines().count();
        assert_eq!(lets, n / wgsl::CHAIN_LINKS - 1, "{}", wgsl.value);
        assert!(wgsl.value.matches(" + ").count() <= wgsl::CHAIN_LINKS);
        assert_eq!(node.clone(), node);

        let names: Vec<String> = (0..n).map(|k| format!("p{k}")).collect();
        let values: Vec<f64> = (0..n).map(|k| (k % 7) as f64).collect();
        let scope = Scope::new(&["x"], &names).with_values(&values);
        let src = format!("x + {}", names.join(" + "));
        let node = parse(&src, &scope).unwrap();
        let program = Program::compile(&node).unwrap();
        let p: Vec<f64> = values.clone();
        assert_eq!(
            program.eval_in(0.0, &[1.0], &p),
            1.0 + values.iter().sum::<f64>()
        );
    }

    /// A part of parameters alone that is NaN with their values is refused at its text; in a
    /// branch the values rule out, or in parameters whose values are unknown, it is not.
    #[test]
    fn parameter_parts_that_are_nan_are_refused() {
        let with = |d: f64| Scope::new(&["x"], &["D", "a"]).with_values(&[d, 1.0]);
        let e = parse("x + sqrt(2*D)", &with(-0.25)).unwrap_err();
        assert_eq!(e.span, (4, 13), "{e}");
        assert!(e.message.contains("D = -0.25"), "{e}");
        assert!(e.message.contains("not a real number"), "{e}");
        let e = parse("log(a - 1) * 0 + x", &with(1.0)).unwrap_err();
        assert!(e.message.contains("a = 1"), "{e}");
        assert!(parse("log(a - 1) * 0 + x", &with(1.0).with_values(&[])).is_ok());
        assert!(parse("if(D > 0, sqrt(2*D), 0) + x", &with(-0.25)).is_ok());
        assert!(parse("if(D < 0, 0, sqrt(2*D)) + x", &with(-0.25)).is_ok());
        assert!(parse("if(D < 0, sqrt(2*D), 0) + x", &with(-0.25)).is_err());
        assert!(parse("sqrt(2*D) + x", &with(0.25)).is_ok());
        // A power of a negative parameter: a product for a small integer exponent, else NaN.
        assert!(parse("D^2 + x", &with(-0.25)).is_ok());
        assert!(parse("D^0.5 + x", &with(-0.25)).is_err());
        // A NaN that depends on the state is the model's business.
        assert!(parse("sqrt(D*x)", &with(-0.25)).is_ok());
    }
}
