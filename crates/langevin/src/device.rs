//! Which backend runs a job, and what it ran on: recorded with every result.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The environment variable that chooses the backend when the caller does not.
pub const BACKEND_ENV: &str = "LANGEVIN_BACKEND";

/// Where to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// A GPU adapter when there is one (software adapters such as lavapipe count), otherwise
    /// the CPU twin.
    #[default]
    Auto,
    /// A GPU adapter, or an error that says how to get one.
    Gpu,
    /// The CPU twin.
    Cpu,
}

impl BackendChoice {
    /// The choice in `LANGEVIN_BACKEND`, or [`BackendChoice::Auto`] when unset.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a value other than `auto`, `gpu` or `cpu`.
    pub fn from_env() -> Result<Self> {
        match std::env::var(BACKEND_ENV) {
            Ok(v) if !v.trim().is_empty() => v
                .trim()
                .parse()
                .map_err(|_| Error::invalid(BACKEND_ENV, &v, "expected auto, gpu or cpu")),
            _ => Ok(BackendChoice::Auto),
        }
    }
}

impl FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendChoice::Auto),
            "gpu" => Ok(BackendChoice::Gpu),
            "cpu" => Ok(BackendChoice::Cpu),
            _ => Err(Error::invalid("backend", s, "expected auto, gpu or cpu")),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Cpu => "cpu",
        })
    }
}

/// The kind of backend that produced a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A wgpu adapter.
    Gpu,
    /// The CPU twin.
    Cpu,
}

/// The device a result was computed on.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeviceInfo {
    /// GPU or CPU twin.
    pub kind: BackendKind,
    /// Adapter name (`llvmpipe (LLVM 15.0.6, 256 bits)`), or the CPU twin's description.
    pub name: String,
    /// Graphics API (`Vulkan`, `Metal`, `Dx12`), or `cpu`.
    pub api: String,
    /// Adapter type (`DiscreteGpu`, `Cpu` for software adapters, ...).
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Optional features enabled on the device (`SHADER_F64`, `SUBGROUP`, `TIMESTAMP_QUERY`).
    pub features: Vec<String>,
}

impl DeviceInfo {
    /// Whether this is a GPU adapter that runs on the CPU (a software Vulkan driver such as
    /// lavapipe).
    pub fn is_software_adapter(&self) -> bool {
        self.kind == BackendKind::Gpu && self.device_type == "Cpu"
    }

    /// The CPU twin on this machine.
    pub fn cpu() -> Self {
        DeviceInfo {
            kind: BackendKind::Cpu,
            name: format!("CPU twin ({} threads)", rayon::current_num_threads()),
            api: "cpu".into(),
            device_type: "Cpu".into(),
            driver: format!("rustc, {}", std::env::consts::ARCH),
            features: vec![],
        }
    }
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BackendKind::Gpu => write!(
                f,
                "GPU adapter \"{}\" ({}, {}, driver {})",
                self.name, self.api, self.device_type, self.driver
            ),
            BackendKind::Cpu => write!(f, "{}", self.name),
        }
    }
}
