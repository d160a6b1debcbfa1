//! What a session says about the time and memory of its last run ([`RunProfile`]) and the
//! peak speeds its device reaches ([`Peaks`]), and the process's peak resident memory.

use crate::dtype::Dtype;
use serde::{Deserialize, Serialize};

/// Timing details of one `prefill`/`decode` call, as the session measured them. Every field
/// is optional: a session that measures nothing reports the default (all empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunProfile {
    /// Decode only: seconds of each step, in order (step `t` ends once its logits row is
    /// computed on the device; GPU sessions wait for the device at the end of every step).
    /// Empty for prefill, or when the session does not time steps.
    #[serde(
        default,
        with = "crate::float_vec64",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub step_s: Vec<f64>,
    /// Seconds spent reading the logits back into host memory (after the computation was
    /// waited for).
    #[serde(
        default,
        with = "crate::float_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub readback_s: Option<f64>,
    /// Peak resident memory (VmHWM) of the process that ran the call, in bytes, read after
    /// the call: the worker's in a worker, the host's in process. `None` where unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

impl RunProfile {
    /// True when nothing was measured.
    pub fn is_empty(&self) -> bool {
        self.step_s.is_empty() && self.readback_s.is_none() && self.peak_rss_bytes.is_none()
    }
}

/// The peak speeds a session's device reaches, measured once with short probes in the
/// dtype the session's products run in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peaks {
    /// The session's compute dtype.
    pub dtype: Dtype,
    /// The dtype the probes' products ran in (`f32` where bf16 products are widened).
    pub product_dtype: String,
    /// Best matrix-product throughput, GFLOP/s (2·m·k·n per product).
    #[serde(with = "crate::float_serde")]
    pub gemm_gflops: f64,
    /// `[m, k, n]` of the product probe.
    pub gemm_shape: [usize; 3],
    /// Best memory read bandwidth, GB/s (10^9 bytes per second).
    #[serde(with = "crate::float_serde")]
    pub bandwidth_gbs: f64,
    /// How the bandwidth was measured, e.g. `one-row product 1×4096 · 4096×16384 over
    /// 256 MiB of f32`.
    pub bandwidth_method: String,
    /// Timed repetitions of each probe (the best is kept), after one untimed warm-up.
    pub reps: usize,
}

/// The highest matrix-product throughput a device is believed to reach, GFLOP/s (10 PFLOP/s):
/// a measured figure above it is a broken probe, not a device.
pub const MAX_GEMM_GFLOPS: f64 = 1e7;
/// The highest memory bandwidth a device is believed to reach, GB/s (100 TB/s).
pub const MAX_BANDWIDTH_GBS: f64 = 1e5;

impl Peaks {
    /// Whether these figures can be a device's: finite, above zero and at most
    /// [`MAX_GEMM_GFLOPS`] and [`MAX_BANDWIDTH_GBS`], from at least one timed repetition of
    /// a product of a non-empty shape. Invalid peaks are reported as such, never used.
    pub fn check(&self) -> Result<(), String> {
        check_figure(
            "gemm_gflops",
            self.gemm_gflops,
            MAX_GEMM_GFLOPS,
            "GFLOP/s (10 PFLOP/s)",
        )?;
        check_figure(
            "bandwidth_gbs",
            self.bandwidth_gbs,
            MAX_BANDWIDTH_GBS,
            "GB/s (100 TB/s)",
        )?;
        if self.reps == 0 {
            return Err("reps 0: expected at least one timed repetition".into());
        }
        if self.gemm_shape.contains(&0) {
            return Err(format!(
                "gemm_shape {:?}: expected three sizes above 0",
                self.gemm_shape
            ));
        }
        Ok(())
    }
}

fn check_figure(key: &str, v: f64, max: f64, unit: &str) -> Result<(), String> {
    if v.is_finite() && v > 0.0 && v <= max {
        return Ok(());
    }
    Err(format!(
        "{key} {v:e}: expected a finite figure above 0 and at most {max:e} {unit}"
    ))
}

/// Peak resident set size of this process (VmHWM of `/proc/self/status`), in bytes; `None`
/// where the file or the field is not there (not Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_hwm(&status)
}

/// The VmHWM field of a `/proc/<pid>/status` text, in bytes.
pub fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => n.checked_mul(1024),
        _ => None,
    }
}

/// Reset this process's peak resident set size to its current size (Linux: `5` written to
/// `/proc/self/clear_refs`), so a probe's temporary buffers do not count as the peak of
/// the runs after it. False where that is not possible.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let s = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm(s), Some(1234 * 1024));
        assert_eq!(vm_hwm("Name: x\n"), None);
        assert_eq!(vm_hwm("VmHWM: lots kB\n"), None);
    }

    #[test]
    fn this_process_has_a_peak_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        }
    }
}

#[cfg(test)]
mod peaks_tests {
    use super::*;

    fn peaks() -> Peaks {
        Peaks {
            dtype: Dtype::F32,
            product_dtype: "f32".into(),
            gemm_gflops: 1000.0,
            gemm_shape: [512, 576, 1536],
            bandwidth_gbs: 3000.0,
            bandwidth_method: "test".into(),
            reps: 3,
        }
    }

    /// What the message starts with, and how the peaks are broken.
    type Case = (&'static str, fn(&mut Peaks));

    #[test]
    fn figures_a_device_cannot_reach_are_refused() {
        assert_eq!(peaks().check(), Ok(()));
        let cases: [Case; 7] = [
            ("gemm_gflops NaN", |p| p.gemm_gflops = f64::NAN),
            ("gemm_gflops -1e0", |p| p.gemm_gflops = -1.0),
            ("gemm_gflops 2e7", |p| p.gemm_gflops = 2e7),
            ("bandwidth_gbs 0e0", |p| p.bandwidth_gbs = 0.0),
            ("bandwidth_gbs inf", |p| p.bandwidth_gbs = f64::INFINITY),
            ("reps 0", |p| p.reps = 0),
            ("gemm_shape [0, 576, 1536]", |p| p.gemm_shape[0] = 0),
        ];
        for (said, break_it) in cases {
            let mut p = peaks();
            break_it(&mut p);
            let why = p.check().unwrap_err();
            assert!(why.starts_with(said), "{said}: {why}");
        }
    }
}
