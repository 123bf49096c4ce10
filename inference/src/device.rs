//! Which device the neural parts (BiLSTM, Transformer, fusion head, logistic
//! baseline) run on.
//!
//! * `cpu` — always available.
//! * `cuda` / `cuda:N` — NVIDIA GPU `N` (default 0); needs a binary built with
//!   `--features cuda` (`inference/scripts/cuda-build.sh`) and a machine with
//!   an NVIDIA driver. Asking for it otherwise is an error that says which.
//! * `auto` (the default) — `cuda:0` when the binary was built with the
//!   `cuda` feature and that device can be opened, else the CPU; a `cuda`
//!   build that falls back to the CPU says so once on stderr.
//!
//! The CLI takes the choice as `--device`, everything else (benches,
//! examples) from the [`DEVICE_ENV`] environment variable. The GBDT, TreeSHAP,
//! metrics and the cohort always run on the CPU.
//!
//! Opened CUDA devices are cached per ordinal: candle gives every
//! `Device::new_cuda` call its own device id, and tensors of two ids cannot be
//! combined, so every caller must get the same `Device` for the same GPU.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, Once};

use anyhow::{bail, Result};
use candle_core::Device;

/// Environment variable read by [`device_from_env`]: `auto`, `cpu`, `cuda` or `cuda:N`.
pub const DEVICE_ENV: &str = "CONSENTRY_DEVICE";

/// A requested device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA device 0 if this is a `cuda` build and it opens, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device with this ordinal; an error if it cannot be opened.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            _ => match s.strip_prefix("cuda:") {
                Some(n) => n.parse().map(Self::Cuda).map_err(|_| {
                    format!("bad CUDA ordinal in {s:?}: expected cuda:N, e.g. cuda:0")
                }),
                None => Err(format!(
                    "unknown device {s:?}: expected auto, cpu, cuda or cuda:N"
                )),
            },
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Whether this binary was built with the `cuda` feature.
pub const fn cuda_compiled() -> bool {
    cfg!(feature = "cuda")
}

/// A short name for a device, e.g. `cpu` or `cuda:0`.
pub fn device_name(d: &Device) -> String {
    match d.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// candle's error without the backtrace it carries when `RUST_BACKTRACE` is set.
fn plain(e: candle_core::Error) -> candle_core::Error {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => plain(*inner),
        e => e,
    }
}

/// Opens CUDA device `ordinal` once per process; later calls return the same `Device`.
fn open_cuda(ordinal: usize) -> candle_core::Result<Device> {
    static OPENED: Mutex<Vec<(usize, Device)>> = Mutex::new(Vec::new());
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, d)) = opened.iter().find(|(n, _)| *n == ordinal) {
        return Ok(d.clone());
    }
    let d = Device::new_cuda(ordinal).map_err(plain)?;
    opened.push((ordinal, d.clone()));
    Ok(d)
}

/// The device for `choice`. `what` names where the choice came from (e.g.
/// `--device` or `CONSENTRY_DEVICE`), for the error messages.
pub fn select_device(choice: DeviceChoice, what: &str) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda(n) => {
            if !cuda_compiled() {
                bail!(
                    "{what}=cuda:{n}: this binary was built without the `cuda` feature; \
                     rebuild with `--features cuda` (inference/scripts/cuda-build.sh) \
                     or use {what}=cpu"
                );
            }
            open_cuda(n).map_err(|e| {
                anyhow::anyhow!(
                    "{what}=cuda:{n}: cannot open CUDA device {n} ({e}); this needs an NVIDIA GPU \
                     and its driver; use {what}=cpu (or auto) to run on the CPU"
                )
            })
        }
        DeviceChoice::Auto => Ok(default_device()),
    }
}

/// The device named by [`DEVICE_ENV`] (`auto` when unset or empty).
pub fn device_from_env() -> Result<Device> {
    select_device(choice_from_env()?.unwrap_or_default(), DEVICE_ENV)
}

/// The choice in [`DEVICE_ENV`]; `None` when unset or empty.
pub fn choice_from_env() -> Result<Option<DeviceChoice>> {
    match std::env::var(DEVICE_ENV) {
        Ok(v) if !v.trim().is_empty() => v
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{DEVICE_ENV}={v}: {e}")),
        _ => Ok(None),
    }
}

/// The `auto` device: CUDA device 0 in a `cuda` build when it opens, else the
/// CPU (a `cuda` build says once on stderr that it fell back, and why).
pub fn default_device() -> Device {
    if !cuda_compiled() {
        return Device::Cpu;
    }
    match open_cuda(0) {
        Ok(d) => d,
        Err(e) => {
            static WARN: Once = Once::new();
            WARN.call_once(|| {
                eprintln!(
                    "consentry-inference: built with `cuda` but CUDA device 0 cannot be opened ({e}); \
                     running the neural models on the CPU"
                )
            });
            Device::Cpu
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_choices() {
        assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
        assert_eq!("CPU".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:1".parse(), Ok(DeviceChoice::Cuda(1)));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert!("tpu".parse::<DeviceChoice>().is_err());
        for c in [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::Cuda(3)] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
    }

    #[test]
    fn cpu_is_always_available() {
        assert!(select_device(DeviceChoice::Cpu, "--device")
            .unwrap()
            .is_cpu());
    }

    // Only meaningful (and only compiled) in a build without the feature.
    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_names_the_flag_and_the_feature() {
        let e = select_device(DeviceChoice::Cuda(0), "--device")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--device=cuda:0") && e.contains("--features cuda"),
            "{e}"
        );
        assert!(default_device().is_cpu());
    }
}
