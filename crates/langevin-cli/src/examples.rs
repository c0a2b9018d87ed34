//! The built-in example ensembles of `langevin example`.

use clap::ValueEnum;
use langevin::{
    CoxIngersollRoss, DoubleWell, EnsembleSpec, GeometricBrownianMotion, OrnsteinUhlenbeck, SaveAt,
    Scheme,
};

/// A built-in example.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Example {
    /// Overdamped double well U = x^4/4 - x^2/2 at D = 0.25, started in the left well.
    DoubleWell,
    /// Ornstein-Uhlenbeck relaxation from x = 2.
    Ou,
    /// Geometric Brownian motion (Milstein).
    Gbm,
    /// Cox-Ingersoll-Ross below the Feller condition.
    Cir,
}

impl Example {
    /// A one-line title.
    pub fn title(self) -> &'static str {
        match self {
            Example::DoubleWell => "overdamped double well, U = x^4/4 - x^2/2, D = 0.25, x(0) = -1",
            Example::Ou => "Ornstein-Uhlenbeck, theta = 1, mu = 0, sigma = 0.5, x(0) = 2",
            Example::Gbm => "geometric Brownian motion, mu = 0.05, sigma = 0.2, S(0) = 1",
            Example::Cir => "Cox-Ingersoll-Ross, kappa = 1, theta = 0.04, sigma = 0.5, x(0) = 0.04",
        }
    }

    /// The run.
    pub fn spec(self) -> EnsembleSpec {
        match self {
            Example::DoubleWell => EnsembleSpec::new(DoubleWell { temperature: 0.25 })
                .initial_fixed(&[-1.0])
                .time_span(0.0, 20.0)
                .dt(0.002)
                .trajectories(1 << 16)
                .save_at(SaveAt::Count(11))
                .histogram(0, 40, (-2.0, 2.0)),
            Example::Ou => EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5))
                .initial_fixed(&[2.0])
                .time_span(0.0, 5.0)
                .dt(0.001)
                .trajectories(1 << 18)
                .save_at(SaveAt::Count(11))
                .histogram(0, 40, (-1.5, 1.5)),
            Example::Gbm => EnsembleSpec::new(GeometricBrownianMotion {
                mu: 0.05,
                sigma: 0.2,
            })
            .scheme(Scheme::Milstein)
            .initial_fixed(&[1.0])
            .time_span(0.0, 1.0)
            .dt(1.0 / 252.0)
            .trajectories(1 << 18)
            .save_at(SaveAt::Count(5))
            .histogram(0, 40, (0.4, 2.0)),
            Example::Cir => EnsembleSpec::new(CoxIngersollRoss {
                kappa: 1.0,
                theta: 0.04,
                sigma: 0.5,
            })
            .initial_fixed(&[0.04])
            .time_span(0.0, 5.0)
            .dt(0.001)
            .trajectories(1 << 16)
            .save_at(SaveAt::Count(11))
            .histogram(0, 40, (0.0, 0.4)),
        }
    }
}
