//! Hostile input, as a property test over generated inputs (fixed seeds): random expressions
//! (well-formed, then mutated token by token, with deep nesting, wrong arities, huge and
//! tiny numbers, stray characters) as an SDE model's drift and diffusion and as a field's
//! potential, and random byte edits of every example config. Nothing may panic or overflow
//! the stack; every accepted input must compose to WGSL that naga validates (in f32, and in
//! f64 for the potentials); refusals must be errors. Deep nesting, absurd sizes and steps are
//! refused with the limit in the message.

#[path = "hostile/checks.rs"]
mod checks;
mod common;
use checks::{composes, no_panic, potential_validates, sde_config};
use langevin::config::Config;

/// Grammar productions picked by a deterministic xorshift.
struct Gen(common::XorShift);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0.pick(items)
    }

    /// An expression over x, y, a, b, t of nesting up to `depth`, sometimes ill-formed.
    fn expr(&mut self, depth: u32) -> String {
        if depth == 0 || self.next() % 5 == 0 {
            return self
                .pick(&[
                    "x", "y", "a", "b", "t", "0", "1", "0.5", "1e30", "1e-30", "3.4e38", "1e39",
                    "2", "-1", "z", "pi", "1.5e", ".", "",
                ])
                .to_string();
        }
        let a = self.expr(depth - 1);
        let b = self.expr(depth - 1);
        match self.next() % 14 {
            0 => format!("({a} + {b})"),
            1 => format!("({a} - {b})"),
            2 => format!("{a} * {b}"),
            3 => format!("{a} / {b}"),
            4 => format!("{a}^{b}"),
            5 => format!("-{a}"),
            6 => format!(
                "{}({a})",
                self.pick(&[
                    "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan",
                    "abs", "sign", "foo"
                ])
            ),
            7 => format!("{}({a}, {b})", self.pick(&["min", "max", "pow", "sin"])),
            8 => format!("if({a} < {b}, {a}, {b})"),
            9 => format!("if({a}, {b})"),
            10 => format!("({a}"),
            11 => format!("{a})"),
            12 => format!(
                "{a} {} {b}",
                self.pick(&["**", "%", "&", "==", ",", "$", "é"])
            ),
            _ => format!("(({a}))^2"),
        }
    }
}

#[test]
fn random_expressions_never_panic_and_accepted_ones_validate() {
    let mut g = Gen(common::XorShift(0x9e37_79b9_7f4a_7c15));
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..1500 {
        let depth = 1 + (case % 6) as u32;
        let (drift, diffusion) = (g.expr(depth), g.expr(depth.min(3)));
        let scheme = g.pick(&["euler_maruyama", "milstein", "heun", "sra1"]);
        let text = sde_config(&drift, &diffusion, scheme);
        if no_panic("the SDE config path", &text, || composes(&text)) {
            accepted += 1;
        } else {
            refused += 1;
        }
        let potential = g.expr(depth);
        no_panic("Potential::new", &potential, || {
            potential_validates(&potential)
        });
    }
    eprintln!("{accepted} accepted, {refused} refused");
    // The generator must exercise both sides.
    assert!(accepted > 100 && refused > 100, "{accepted} {refused}");
}

/// Found by the `expression` fuzz target: user text echoed into a WGSL comment (a potential,
/// an event, a model name) ended the comment at a carriage return, and what followed became
/// WGSL. Every line break WGSL knows, followed by code, is now refused or stays a comment.
#[test]
fn line_breaks_in_echoed_text_do_not_end_comments() {
    for lb in [
        "\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}",
    ] {
        let potential = format!("2{lb}");
        no_panic("Potential::new", &potential, || {
            potential_validates(&potential)
        });
        let injected = format!("phi^2{lb}fn evil() {{}}");
        no_panic("Potential::new", &injected, || {
            potential_validates(&injected)
        });
        let code = lb.chars().next().unwrap() as u32;
        let named = sde_config("-x", "0.1", "euler_maruyama").replace(
            "name = \"fuzz\"",
            &format!("name = \"a\\u{code:04X}fn evil() {{}}\""),
        );
        assert!(
            no_panic("the SDE config path", &named, || composes(&named)),
            "{named}"
        );
    }
}

#[test]
fn mutated_example_configs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let mut g = Gen(common::XorShift(0x2545_f491_4f6c_dd1d));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let alphabet: Vec<char> = "=[]{}\"',.#\n -+0123456789eaxyz_^()".chars().collect();
    for path in files {
        let original = std::fs::read_to_string(&path).unwrap();
        for _ in 0..40 {
            let mut chars: Vec<char> = original.chars().collect();
            for _ in 0..1 + g.next() % 4 {
                let at = (g.next() % chars.len() as u64) as usize;
                let c = alphabet[(g.next() % alphabet.len() as u64) as usize];
                match g.next() % 3 {
                    0 => chars[at] = c,
                    1 => chars.insert(at, c),
                    _ => {
                        chars.remove(at);
                    }
                }
            }
            let text: String = chars.into_iter().collect();
            no_panic("a mutated config", &text, || {
                let Ok(cfg) = Config::from_toml("mutated.toml", &text, &[]) else {
                    return;
                };
                match cfg.kind.as_str() {
                    "field" => drop(cfg.to_field()),
                    "kuramoto" => drop(cfg.to_kuramoto()),
                    "chain" => drop(cfg.to_chain()),
                    "cbo" => drop(cfg.to_cbo()),
                    "vicsek" => drop(cfg.to_vicsek()),
                    _ => {
                        if let Ok(spec) = cfg.to_spec() {
                            let _ = spec.resolve();
                        }
                    }
                }
            });
        }
    }
}

#[test]
fn limits_are_refused_with_the_limit_named() {
    let refusal = |text: &str| -> String {
        let cfg = Config::from_toml("limits.toml", text, &[]);
        match cfg.and_then(|c| c.to_spec().and_then(|s| s.resolve().map(|_| ()))) {
            Ok(()) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    };
    // Nesting: 10^5 parentheses, and a chain of 10^4 signs.
    for deep in [
        format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("{}x", "-".repeat(10_000)),
        format!("{}x{}", "sin(".repeat(200), ")".repeat(200)),
    ] {
        let e = refusal(&sde_config(&deep, "1", "euler_maruyama"));
        assert!(e.contains("nested deeper than 64"), "{e}");
    }
    // Just inside the limit is accepted and validates.
    let ok = format!("{}x{}", "(".repeat(60), ")".repeat(60));
    assert!(composes(&sde_config(&ok, "1", "milstein")));
    let base = sde_config("-x", "1", "euler_maruyama");
    let e = refusal(&base.replace("trajectories = 64", "trajectories = 1000000000000000000"));
    assert!(e.contains("2^48") || e.contains("trajectories"), "{e}");
    let e = refusal(&base.replace("dt = 0.01", "dt = 1e-30"));
    assert!(e.contains("steps") || e.contains("dt"), "{e}");
    let e = refusal(&base.replace("dt = 0.01", "dt = -1"));
    assert!(e.contains("dt"), "{e}");
    // f64 is for Dormand-Prince, and a field run's settings are not silently ignored by an
    // ensemble.
    let e = refusal(&base.replace("dt = 0.01", "dt = 0.01\nprecision = \"f64\""));
    assert!(
        e.contains("solver.precision") && e.contains("dopri5"),
        "{e}"
    );
    let e = refusal(&base.replace("dt = 0.01", "dt = 0.01\nprecision = \"f65\""));
    assert!(
        e.contains("solver.precision") && e.contains("\"f64\""),
        "{e}"
    );
    let e = refusal(&base.replace("dt = 0.01", "dt = 0.01\nsafety = 0.5"));
    assert!(e.contains("solver.safety") && e.contains("field"), "{e}");
    let many: Vec<String> = (0..5000).map(|i| format!("\"s{i}\"")).collect();
    let big = base.replace(
        "state = [\"x\", \"y\"]",
        &format!("state = [{}]", many.join(", ")),
    );
    let e = refusal(&big);
    assert!(e.contains("model.state") && e.contains("1 to 8"), "{e}");
}

/// A step beyond the linear stability bound is warned about before the run: dx = -50 x dt
/// with dt = 0.05 under Euler-Maruyama (dt |lambda| = 2.5 > 2), and as an ODE under RK4 at
/// dt = 0.06 (3 > 2.785) but not 0.05; not at dt = 0.03, nor for a nonlinear drift.
#[test]
fn steps_beyond_the_linear_stability_bound_are_warned_about() {
    let warnings = |drift: &str, scheme: &str, dt: &str| {
        let mut text = sde_config(drift, "1", scheme).replace("dt = 0.01", &format!("dt = {dt}"));
        if scheme == "rk4" {
            // RK4 integrates ODEs: no diffusion.
            text = text
                .replace("kind = \"sde\"", "kind = \"ode\"")
                .replace("diffusion = [\"1\", \"0.1\"]\n", "");
        }
        let spec = Config::from_toml("w.toml", &text, &[])
            .unwrap()
            .to_spec()
            .unwrap();
        let run = spec.resolve().unwrap();
        spec.stability_warnings(run.dt)
    };
    let w = warnings("-50 * x + sin(y)", "euler_maruyama", "0.05");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("solver.dt") && w[0].contains("4.0000e-2"),
        "{}",
        w[0]
    );
    assert!(warnings("-50 * x", "euler_maruyama", "0.03").is_empty());
    assert!(warnings("-50 * x", "rk4", "0.05").is_empty());
    assert_eq!(warnings("-50 * x", "rk4", "0.06").len(), 1);
    assert!(warnings("-50 * x^3", "euler_maruyama", "0.05").is_empty());
}
