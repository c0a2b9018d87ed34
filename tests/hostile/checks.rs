//! The checks of hostile input, shared by the property test (`tests/hostile_input.rs`) and the
//! fuzz targets (`fuzz/`): an input may be refused, never panic, and an accepted input must
//! give WGSL that naga validates.
#![allow(dead_code)]

use langevin::config::Config;
use langevin::field::Potential;
use langevin::real::Precision;
use langevin::shader;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into a test failure that shows the input.
pub fn no_panic<T>(what: &str, input: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => panic!("{what} panicked on input:\n{input}"),
    }
}

/// An SDE config with the given drift and diffusion of x (y has fixed ones).
pub fn sde_config(drift: &str, diffusion: &str, scheme: &str) -> String {
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "name = \"fuzz\"\nkind = \"sde\"\n[model]\nstate = [\"x\", \"y\"]\n\
         params = {{ a = 1.0, b = 0.5 }}\ndrift = [\"{}\", \"-y\"]\n\
         diffusion = [\"{}\", \"0.1\"]\ninit = [\"0.1\", \"0\"]\n[solver]\n\
         scheme = \"{scheme}\"\ndt = 0.01\nt_end = 1.0\n[ensemble]\ntrajectories = 64\n",
        q(drift),
        q(diffusion)
    )
}

/// Whether a config's ensemble composes: `Ok(true)` accepted and validated, `Ok(false)`
/// refused with an error.
pub fn composes(text: &str) -> bool {
    let Ok(cfg) = Config::from_toml("fuzz.toml", text, &[]) else {
        return false;
    };
    let Ok(spec) = cfg.to_spec() else {
        return false;
    };
    let Ok(run) = spec.resolve() else {
        return false;
    };
    if spec.scheme.is_adaptive() {
        return false;
    }
    match langevin::gpu::sde_ensemble::compose(
        spec.model.as_ref(),
        spec.scheme,
        spec.first_passage.is_some(),
        run.event.as_ref(),
        &run.observables,
        run.columns,
    ) {
        Ok(_) => true,
        Err(e) => panic!("accepted input gives invalid WGSL: {e}\n{text}"),
    }
}

/// Whether `expr` is accepted as a field potential of `phi` (parameter `a`); an accepted one
/// must validate as WGSL in f32 and in f64.
pub fn potential_validates(expr: &str) -> bool {
    let Ok(p) = Potential::new(expr, &[("a", 1.0)]) else {
        return false;
    };
    for precision in [Precision::F32, Precision::F64] {
        let wgsl = p.wgsl(precision);
        let module = shader::compose(
            "field",
            &[("potential", &wgsl), ("precision", precision.wgsl())],
        )
        .expect("the field kernel composes");
        if let Err(e) = shader::validate("field", &module, precision == Precision::F64) {
            panic!("potential {expr:?} gives invalid {precision:?} WGSL: {e}");
        }
    }
    true
}
