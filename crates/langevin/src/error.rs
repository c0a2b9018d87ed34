//! The error type of the engine: every failure names what was wrong and where.

use thiserror::Error;

/// Everything that can go wrong while setting up or running an ensemble.
#[derive(Debug, Error)]
pub enum Error {
    /// A field of the run's description has a value the engine cannot use.
    #[error("invalid `{field}` = {value}: {reason}")]
    InvalidInput {
        /// The field, as a path (`solver.dt`, `model.params.sigma`).
        field: String,
        /// The offending value, as written.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An expression does not parse; `rendered` shows it with a caret under the mistake.
    #[error("{rendered}")]
    Expression {
        /// The field holding the expression (`model.drift[0]`).
        field: String,
        /// The message, the expression and the caret line.
        rendered: String,
    },
    /// A config file does not parse or has an unknown key.
    #[error("{origin}: {message}")]
    Config {
        /// The file.
        origin: String,
        /// What is wrong, with the location.
        message: String,
    },
    /// The run would exceed a hard limit of the engine or the device.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// A GPU backend was asked for and none could be created.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// A kernel failed to compose or validate.
    #[error("shader `{kernel}`: {message}")]
    Shader {
        /// The kernel or module.
        kernel: String,
        /// naga's report or the composer's message.
        message: String,
    },
    /// A run was stopped through its stop flag before it finished
    /// ([`crate::Engine::run_stoppable`]); nothing of it is returned, so that no partial batch
    /// passes for a whole one.
    #[error("stopped before the run finished")]
    Stopped,
    /// The device reported an error (out of memory, lost device, failed map).
    #[error("device error on {adapter}: {message}")]
    Device {
        /// The adapter's name.
        adapter: String,
        /// What the device said.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidInput {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Result with the engine's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// [`Error::Stopped`] once `stop` is set: the check the engine and both backends make between
/// dispatches. It lives here, beside the error, so that the backends need not import the
/// engine that drives them.
pub(crate) fn check_stop(stop: Option<&std::sync::atomic::AtomicBool>) -> Result<()> {
    match stop {
        Some(flag) if flag.load(std::sync::atomic::Ordering::Relaxed) => Err(Error::Stopped),
        _ => Ok(()),
    }
}
