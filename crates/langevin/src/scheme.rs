//! Time-stepping schemes, each a WGSL `scheme_step` under `shaders/schemes/` and a CPU twin in
//! [`crate::cpu::schemes`], with its orders of convergence as metadata.
//!
//! To add a scheme: write `shaders/schemes/<name>.wgsl`, add it to [`crate::shader::SOURCES`],
//! add its twin to `cpu/schemes.rs`, and a variant here.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// What a scheme integrates, and so which models it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemeKind {
    /// An Ito SDE with diagonal noise (any model).
    Ito,
    /// The Stratonovich reading of the same drift and diffusion (any model).
    Stratonovich,
    /// An ODE: the model must have no noise.
    Ode,
    /// Underdamped Langevin dynamics in positions and momenta: the model must be one
    /// ([`crate::Model::underdamped`]).
    Underdamped,
    /// A Markov jump process: the model must be a reaction network
    /// ([`crate::Model::reactions`]).
    Jump,
}

impl SchemeKind {
    /// A short description for listings.
    pub fn describe(self) -> &'static str {
        match self {
            SchemeKind::Ito => "SDE, Ito",
            SchemeKind::Stratonovich => "SDE, Stratonovich",
            SchemeKind::Ode => "ODE",
            SchemeKind::Underdamped => "underdamped Langevin",
            SchemeKind::Jump => "Markov jump process",
        }
    }
}

/// A fixed-step scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Euler-Maruyama: strong order 1/2, weak order 1.
    EulerMaruyama,
    /// Milstein (diagonal noise): strong order 1, weak order 1.
    Milstein,
    /// SRA1 (Rossler 2010) for additive noise: strong order 1.5, weak order 2, from the
    /// increments and their space-time Levy areas.
    Sra1,
    /// Stochastic Heun, a predictor-corrector for the Stratonovich SDE with the same drift and
    /// diffusion: strong order 1 for diagonal (commutative) noise, weak order 1; the classical
    /// Heun method (order 2) when there is no noise.
    Heun,
    /// The classical fourth-order Runge-Kutta method, for ODEs.
    Rk4,
    /// Dormand-Prince 5(4) with a step size per trajectory, for ODEs: PI step-size control on
    /// the embedded error estimate, `rtol`/`atol`, save times landed on exactly
    /// ([`crate::adaptive`]).
    Dopri5,
    /// Stochastic Heun with a step size per trajectory on a virtual Brownian tree: PI control
    /// of its difference from Euler-Maruyama on the same increment ([`crate::adaptive`]).
    HeunAdaptive,
    /// SRA1 with a step size per trajectory on a virtual Brownian tree (increments and
    /// space-time Levy areas of any step, consistent under rejection), for additive noise.
    Sra1Adaptive,
    /// BAOAB splitting for underdamped Langevin dynamics (Leimkuhler and Matthews, 2013): exact
    /// configurational variance for harmonic forces at any stable step; weak order 2.
    Baoab,
    /// OBABO splitting (Bussi and Parrinello, 2007): exact kinetic energy for harmonic forces
    /// at any stable step; weak order 2.
    Obabo,
    /// Gillespie's direct method for reaction networks: exact sample paths of the jump
    /// process, an event budget per trajectory.
    Ssa,
    /// Tau-leaping for reaction networks (Cao, Gillespie and Petzold 2006): Poisson firings
    /// over leaps that change propensities by about `eps` (`rtol`), critical reactions one at
    /// a time, SSA where leaps would be short; never a negative count.
    TauLeap,
}

impl Scheme {
    /// Every scheme, for listings.
    pub const ALL: [Scheme; 12] = [
        Scheme::EulerMaruyama,
        Scheme::Milstein,
        Scheme::Sra1,
        Scheme::Heun,
        Scheme::Rk4,
        Scheme::Dopri5,
        Scheme::HeunAdaptive,
        Scheme::Sra1Adaptive,
        Scheme::Baoab,
        Scheme::Obabo,
        Scheme::Ssa,
        Scheme::TauLeap,
    ];

    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::EulerMaruyama => "euler_maruyama",
            Scheme::Milstein => "milstein",
            Scheme::Sra1 => "sra1",
            Scheme::Heun => "heun",
            Scheme::Rk4 => "rk4",
            Scheme::Dopri5 => "dopri5",
            Scheme::HeunAdaptive => "heun_adaptive",
            Scheme::Sra1Adaptive => "sra1_adaptive",
            Scheme::Baoab => "baoab",
            Scheme::Obabo => "obabo",
            Scheme::Ssa => "ssa",
            Scheme::TauLeap => "tau_leap",
        }
    }

    /// The WGSL module: `scheme_step` for the fixed-step schemes and the adaptive SDE schemes
    /// (which `sde_adaptive` steps), the `ode_adaptive` kernel for Dormand-Prince.
    pub fn shader_module(self) -> &'static str {
        match self {
            Scheme::Dopri5 => "ode_adaptive",
            Scheme::EulerMaruyama => "schemes/euler_maruyama",
            Scheme::Milstein => "schemes/milstein",
            Scheme::Sra1 | Scheme::Sra1Adaptive => "schemes/sra1",
            Scheme::Heun | Scheme::HeunAdaptive => "schemes/heun",
            Scheme::Rk4 => "schemes/rk4",
            Scheme::Baoab => "schemes/baoab",
            Scheme::Obabo => "schemes/obabo",
            Scheme::Ssa => "ssa",
            Scheme::TauLeap => "tau_leap",
        }
    }

    /// What the scheme integrates.
    pub fn kind(self) -> SchemeKind {
        match self {
            Scheme::EulerMaruyama | Scheme::Milstein | Scheme::Sra1 | Scheme::Sra1Adaptive => {
                SchemeKind::Ito
            }
            Scheme::Heun | Scheme::HeunAdaptive => SchemeKind::Stratonovich,
            Scheme::Rk4 | Scheme::Dopri5 => SchemeKind::Ode,
            Scheme::Baoab | Scheme::Obabo => SchemeKind::Underdamped,
            Scheme::Ssa | Scheme::TauLeap => SchemeKind::Jump,
        }
    }

    /// Strong order of convergence (Kloeden and Platen); for an ODE scheme, its classical order.
    pub fn strong_order(self) -> f64 {
        match self {
            Scheme::EulerMaruyama => 0.5,
            Scheme::Milstein | Scheme::Heun | Scheme::HeunAdaptive => 1.0,
            Scheme::Sra1 | Scheme::Sra1Adaptive => 1.5,
            Scheme::Rk4 => 4.0,
            Scheme::Dopri5 => 5.0,
            // Additive noise on the momenta: the splittings are strong order 1.
            Scheme::Baoab | Scheme::Obabo => 1.0,
            // Exact in law and path.
            Scheme::Ssa => f64::INFINITY,
            // Weak order 1 in the leap (Rathinam, Petzold, Cao and Gillespie 2005); as a
            // pathwise approximation, order 1/2.
            Scheme::TauLeap => 0.5,
        }
    }

    /// Weak order of convergence; for an ODE scheme, its classical order.
    pub fn weak_order(self) -> f64 {
        match self {
            Scheme::EulerMaruyama | Scheme::Milstein | Scheme::Heun | Scheme::HeunAdaptive => 1.0,
            Scheme::Sra1 | Scheme::Sra1Adaptive => 2.0,
            Scheme::Rk4 => 4.0,
            Scheme::Dopri5 => 5.0,
            Scheme::Baoab | Scheme::Obabo => 2.0,
            Scheme::Ssa => f64::INFINITY,
            Scheme::TauLeap => 1.0,
        }
    }

    /// Normals drawn per noise component and step: 2 when the scheme needs the space-time
    /// Levy area as well as the increment.
    pub fn normals_per_noise(self) -> usize {
        if self == Scheme::Sra1 {
            2
        } else {
            1
        }
    }

    /// Whether a step reads its Brownian increments. Classical RK4 integrates ODEs and reads
    /// none, so its kernels draw none: the draws are dropped unread, and a driver cannot be
    /// relied on to remove the Philox rounds behind them.
    pub fn draws_noise(self) -> bool {
        self != Scheme::Rk4
    }

    /// Whether the step size adapts per trajectory (run by `ode_adaptive` or `sde_adaptive`,
    /// not `sde_ensemble`).
    pub fn is_adaptive(self) -> bool {
        matches!(
            self,
            Scheme::Dopri5
                | Scheme::HeunAdaptive
                | Scheme::Sra1Adaptive
                | Scheme::Ssa
                | Scheme::TauLeap
        )
    }

    /// Whether the scheme steps adaptively on a Brownian tree (`sde_adaptive`).
    pub fn on_brownian_tree(self) -> bool {
        matches!(self, Scheme::HeunAdaptive | Scheme::Sra1Adaptive)
    }

    /// The fixed-step scheme an adaptive SDE scheme takes its steps with; itself otherwise.
    pub fn fixed_step(self) -> Scheme {
        match self {
            Scheme::HeunAdaptive => Scheme::Heun,
            Scheme::Sra1Adaptive => Scheme::Sra1,
            s => s,
        }
    }

    /// Whether the scheme can run `model`, with the reason when it cannot.
    pub fn check_model(self, model: &dyn crate::Model) -> Result<()> {
        let refuse = |why: &str| {
            Err(Error::invalid(
                "solver.scheme",
                self.name(),
                format!("{why} (model `{}`)", model.name()),
            ))
        };
        if self.kind() == SchemeKind::Jump {
            return match model.reactions() {
                Some(_) => Ok(()),
                None => {
                    refuse("simulates reaction networks only (kind = \"reactions\" in a config)")
                }
            };
        }
        if let Some(network) = model.reactions() {
            if network.reactions.len() > crate::state::MAX_DIM {
                return refuse(&format!(
                    "cannot run the chemical Langevin equation of {} reactions (one noise each, \
                     at most {}); use ssa or tau_leap",
                    network.reactions.len(),
                    crate::state::MAX_DIM
                ));
            }
        }
        let fixed = self.fixed_step();
        if fixed == Scheme::Sra1 && !model.additive_noise() {
            return refuse("needs additive noise (a diffusion that does not depend on the state)");
        }
        let general_ok = matches!(fixed, Scheme::EulerMaruyama | Scheme::Heun | Scheme::Sra1);
        if model.general_noise() && !general_ok {
            return refuse(
                "needs diagonal noise; euler_maruyama and heun take a general noise matrix",
            );
        }
        match self.kind() {
            SchemeKind::Ode if model.has_noise() => {
                refuse("integrates ODEs only, and this model has noise")
            }
            SchemeKind::Underdamped if model.underdamped().is_none() => refuse(
                "integrates underdamped Langevin models only (kind = \"langevin\" in a config)",
            ),

            _ => Ok(()),
        }
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
