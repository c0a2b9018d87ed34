//! Arbitrary bytes as a config file: refused with an error or, for the ensemble kinds,
//! composed to WGSL that validates; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/hostile/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        checks::composes(text);
    }
});
