//! What driftbench's cubecl-based plugins (`wgpu`, `cuda`) share.
//!
//! - [`CubeOptions`]: the options of a `[backends.<name>]` table (fusion, autotune level,
//!   device, kernel cache), read with the core's strict option reader.
//! - [`runtime_config`]: cubecl's process-wide runtime config, set once before any device
//!   exists: the autotune cache and the compiled-kernel cache in the folder driftbench
//!   names (not wherever the working directory happens to be), and the autotune level.
//! - [`counters`]: how many kernels a call compiled, how many it found in the kernel cache
//!   and how many autotune keys it tuned, counted from cubecl's own log events, and a
//!   session wrapper that reports them per call — what the report's warm-up table shows.

#![forbid(unsafe_code)]

pub mod counters;
pub mod options;
pub mod runtime_config;

pub use counters::MeteredSession;
pub use options::{CubeOptions, AUTOTUNE_LEVELS};

use driftbench_core::{BackendError, Dtype, Probe};

/// `probe` with the device at `index` moved to the front: the host checks dtypes against a
/// probe's first device, and the report lists the device in use first.
pub fn chosen_first(mut probe: Probe, index: usize) -> Probe {
    if index < probe.devices.len() {
        let d = probe.devices.remove(index);
        probe.devices.insert(0, d);
    }
    probe
}

/// The report name of the probe's first device, or why `dtype` cannot run on it.
pub fn device_for(probe: &Probe, dtype: Dtype) -> Result<String, BackendError> {
    if let Some(why) = probe.dtype_unavailable(dtype) {
        return Err(BackendError::Unavailable(why));
    }
    let dev = &probe.devices[0];
    Ok(format!("{} [{}]", dev.name, dev.kind))
}
