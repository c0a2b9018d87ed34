//! The generated WGSL means what the CPU evaluator computes: several hundred random
//! well-formed expressions evaluated on the device and by the CPU twin (`Program`) agree to
//! 1e-5 relative wherever f32 can resolve the value (the CPU's f32 result within 1e-6 of an
//! f64 reference), and NaN where the reference is NaN is counted for both. Every function is
//! also validated by naga in the expression unit tests.

mod common;
use langevin::expr::{eval_f64 as eval64, parse, Program, Scope};
use langevin::BackendChoice;

struct Gen(common::XorShift);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0.pick(items)
    }

    fn expr(&mut self, depth: u32) -> String {
        if depth == 0 || self.next() % 4 == 0 {
            return self
                .pick(&["x", "y", "theta", "sigma", "t", "0.5", "2", "1.5", "pi"])
                .into();
        }
        let a = self.expr(depth - 1);
        let b = self.expr(depth - 1);
        match self.next() % 9 {
            0 => format!("({a} + {b})"),
            1 => format!("({a} - {b})"),
            2 => format!("({a} * {b})"),
            3 => format!("({a} / {b})"),
            4 => format!("({a})^{}", self.pick(&["2", "3", "-1", "0.5", "1.5"])),
            5 => {
                // Functions whose Vulkan precision bounds are a few ulp (relative) or 2^-21
                // (absolute, log near 1). The trigonometric and hyperbolic ones are allowed far
                // more (2^-11 absolute for sin and cos, 4096 ulp for atan): they are compared
                // with the CPU evaluator in the SDE tests, under those bounds, not at 1e-5.
                let f = self.pick(&["exp", "log", "sqrt", "abs", "sign"]);
                format!("{f}({a})")
            }
            6 => format!("{}({a}, {b})", self.pick(&["min", "max", "pow"])),
            7 => format!(
                "if({a} {} {b}, {a}, {b})",
                self.pick(&["<", "<=", ">", ">="])
            ),
            _ => format!("-{a}"),
        }
    }
}

#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn generated_wgsl_on_the_gpu_matches_the_cpu_evaluator() {
    let Some(engine) = common::engine(BackendChoice::Gpu) else {
        return;
    };
    let scope = Scope::new(&["x", "y"], &["theta", "sigma"]);
    let params = [0.7f32, 1.3];
    let mut g = Gen(common::XorShift(0x5EED_1234_ABCD_0001));
    // Random text can contain constant parts that are zero divisors or not real numbers
    // (`sqrt(-1.5)`), which the parser refuses.
    let (mut sources, mut nodes) = (Vec::new(), Vec::new());
    while nodes.len() < 400 {
        let src = g.expr(4);
        match parse(&src, &scope) {
            Ok(node) => {
                sources.push(src);
                nodes.push(node);
            }
            Err(e) => assert!(
                e.message == "division by zero" || e.message.starts_with("this constant"),
                "{src}: {e}"
            ),
        }
    }
    let points: Vec<(f32, Vec<f32>)> = (0..64)
        .map(|_| {
            let u = |g: &mut Gen| (g.next() % 4001) as f32 / 1000.0 - 2.0;
            (
                (g.next() % 1001) as f32 / 1000.0,
                vec![u(&mut g), u(&mut g)],
            )
        })
        .collect();
    let gpu =
        langevin::gpu::expr_eval::evaluate(engine.gpu().unwrap(), &nodes, 2, &params, &points)
            .unwrap();
    let (mut checked, mut both_nan, mut resolved) = (0, 0, 0);
    for (e, node) in nodes.iter().enumerate() {
        let program = Program::compile(node).unwrap();
        for (p, (t, x)) in points.iter().enumerate() {
            let cpu = program.eval(*t, x, &params);
            let device = gpu[e * points.len() + p];
            let reference = eval64(
                node,
                f64::from(*t),
                &[f64::from(x[0]), f64::from(x[1])],
                &[f64::from(params[0]), f64::from(params[1])],
            );
            checked += 1;
            if reference.is_nan() || cpu.is_nan() {
                both_nan += usize::from(cpu.is_nan() && device.is_nan());
                continue;
            }
            let scale = reference.abs().max(1.0);
            if !reference.is_finite()
                || reference.abs() > 1e30
                || (f64::from(cpu) - reference).abs() > 1e-6 * scale
            {
                continue; // beyond what f32 resolves at this point
            }
            resolved += 1;
            let diff = (f64::from(device) - f64::from(cpu)).abs();
            assert!(
                diff <= 1e-5 * f64::from(cpu.abs()).max(1.0),
                "{} at t = {t}, x = {x:?}: device {device}, CPU {cpu}, f64 {reference}",
                sources[e]
            );
        }
    }
    eprintln!("{checked} evaluations: {resolved} compared, {both_nan} NaN on both sides");
    assert!(
        resolved * 2 > checked,
        "only {resolved} of {checked} evaluations were comparable"
    );
}
