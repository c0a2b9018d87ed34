//! An arbitrary string as an SDE drift (under each fixed-step scheme) and as a field
//! potential: refused or compiled to WGSL that validates, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/hostile/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is the drift, the rest (if any) the diffusion.
    let (drift, diffusion) = text.split_once('\n').unwrap_or((&text, "0.1"));
    for scheme in ["euler_maruyama", "milstein", "heun", "sra1"] {
        checks::composes(&checks::sde_config(drift, diffusion, scheme));
    }
    checks::potential_validates(drift);
});
