//! Time-stepping schemes, each a WGSL `scheme_step` under `shaders/schemes/` and a CPU twin in
//! [`crate::cpu::schemes`], with its orders of convergence as metadata.
//!
//! To add a scheme: write `shaders/schemes/<name>.wgsl`, add it to [`crate::shader::SOURCES`],
//! add its twin to `cpu/schemes.rs`, and a variant here.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A fixed-step SDE scheme for diagonal noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Euler-Maruyama: strong order 1/2, weak order 1.
    EulerMaruyama,
    /// Milstein (diagonal noise): strong order 1, weak order 1.
    Milstein,
}

impl Scheme {
    /// Every scheme, for listings.
    pub const ALL: [Scheme; 2] = [Scheme::EulerMaruyama, Scheme::Milstein];

    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::EulerMaruyama => "euler_maruyama",
            Scheme::Milstein => "milstein",
        }
    }

    /// The WGSL module defining `scheme_step`.
    pub fn shader_module(self) -> &'static str {
        match self {
            Scheme::EulerMaruyama => "schemes/euler_maruyama",
            Scheme::Milstein => "schemes/milstein",
        }
    }

    /// Strong order of convergence (Kloeden and Platen).
    pub fn strong_order(self) -> f64 {
        match self {
            Scheme::EulerMaruyama => 0.5,
            Scheme::Milstein => 1.0,
        }
    }

    /// Weak order of convergence.
    pub fn weak_order(self) -> f64 {
        1.0
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Scheme::ALL.iter().map(|s| s.name()).collect();
                Error::invalid(
                    "solver.scheme",
                    s,
                    format!("expected one of {}", names.join(", ")),
                )
            })
    }
}
