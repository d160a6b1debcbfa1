//! The GPUs a host's kernel driver lists, for the machine identity of a journal: read from
//! the NVIDIA driver's files under `/proc` (no tool to run, nothing to load).

use driftbench_sweep::records::GpuInfo;
use std::path::Path;

/// Where the NVIDIA kernel driver describes itself and its GPUs.
pub const NVIDIA_PROC: &str = "/proc/driver/nvidia";

/// Every GPU under `root` (a `/proc/driver/nvidia` layout: `version`, `gpus/*/information`),
/// in bus order; none where the driver is not loaded.
pub fn nvidia_gpus(root: &Path) -> Vec<GpuInfo> {
    let driver = std::fs::read_to_string(root.join("version"))
        .ok()
        .and_then(|v| driver_version(&v))
        .map(|v| format!("nvidia {v}"));
    let Ok(entries) = std::fs::read_dir(root.join("gpus")) else {
        return Vec::new();
    };
    let mut gpus: Vec<GpuInfo> = entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("information")).ok())
        .map(|info| GpuInfo {
            name: field(&info, "Model").unwrap_or_else(|| "unknown NVIDIA GPU".into()),
            driver: driver.clone(),
            bus: field(&info, "Bus Location"),
        })
        .collect();
    gpus.sort_by(|a, b| a.bus.cmp(&b.bus));
    gpus
}

/// `Key:   value` of an `information` file.
fn field(info: &str, key: &str) -> Option<String> {
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The version in the driver's `version` file: the first word shaped like `550.54.15`.
fn driver_version(text: &str) -> Option<String> {
    let first = text.lines().next()?;
    first
        .split_whitespace()
        .find(|w| {
            w.contains('.')
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_and_driver_are_read_from_the_proc_layout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("version"),
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0\n",
        )
        .unwrap();
        for (bus, model) in [
            ("0000:c1:00.0", "NVIDIA A100-SXM4-80GB"),
            ("0000:41:00.0", "NVIDIA H100 80GB HBM3"),
        ] {
            let d = dir.path().join("gpus").join(bus);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("information"),
                format!("Model: \t\t {model}\nIRQ:   \t\t 42\nBus Location: \t {bus}\n"),
            )
            .unwrap();
        }
        let gpus = nvidia_gpus(dir.path());
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].name, "NVIDIA H100 80GB HBM3");
        assert_eq!(gpus[0].driver.as_deref(), Some("nvidia 550.54.15"));
        assert_eq!(gpus[1].bus.as_deref(), Some("0000:c1:00.0"));
        assert!(nvidia_gpus(&dir.path().join("absent")).is_empty());
    }
}
