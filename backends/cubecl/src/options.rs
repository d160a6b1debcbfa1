//! The options every cubecl-based backend takes.

use driftbench_core::options::OptionReader;
use driftbench_core::{BackendError, BackendOptions};

/// cubecl's autotune levels, least effort first (`CUBECL_AUTOTUNE_LEVEL`'s names).
pub const AUTOTUNE_LEVELS: [&str; 4] = ["minimal", "balanced", "extensive", "full"];

/// Options of a cubecl backend instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubeOptions {
    /// `fusion` (default true): burn-fusion on top of the cubecl backend, which fuses
    /// element-wise work into fewer kernels (and into matmuls).
    pub fusion: bool,
    /// `autotune` (default: `CUBECL_AUTOTUNE_LEVEL` where set, else `balanced`, cubecl's
    /// own default): how many kernel variants are compiled and timed for each new shape
    /// class; `minimal` compiles the fewest.
    pub autotune: &'static str,
    /// `device` (default 0): index into the probe's device list.
    pub device: usize,
    /// `kernel_cache` (default true): keep compiled kernels on disk in the cache folder, so
    /// a later process loads them instead of compiling (where the runtime supports it).
    pub kernel_cache: bool,
}

impl Default for CubeOptions {
    fn default() -> Self {
        CubeOptions {
            fusion: true,
            autotune: env_autotune_level(),
            device: 0,
            kernel_cache: true,
        }
    }
}

impl CubeOptions {
    /// Read the shared options from `reader` (the caller may read its own first and
    /// finishes the reader). `devices` is the number of devices the probe found (at
    /// least one index is always accepted, so options check out on a machine without one).
    pub fn read(reader: &mut OptionReader<'_>, devices: usize) -> Result<Self, BackendError> {
        Ok(CubeOptions {
            fusion: reader.bool("fusion", true)?,
            autotune: reader.choice("autotune", &AUTOTUNE_LEVELS, env_autotune_level())?,
            device: reader.index("device", 0, devices.max(1) - 1)?,
            kernel_cache: reader.bool("kernel_cache", true)?,
        })
    }

    /// Read the shared options and nothing else.
    pub fn from_options(
        options: &BackendOptions,
        devices: usize,
    ) -> Result<(Self, BackendOptions), BackendError> {
        let mut reader = OptionReader::new(options);
        let opts = Self::read(&mut reader, devices)?;
        Ok((opts, reader.finish()?))
    }
}

/// The level `CUBECL_AUTOTUNE_LEVEL` names (cubecl accepts the names and 0–3), else cubecl's
/// default.
fn env_autotune_level() -> &'static str {
    let v = std::env::var("CUBECL_AUTOTUNE_LEVEL").unwrap_or_default();
    match v.as_str() {
        "minimal" | "0" => "minimal",
        "extensive" | "2" => "extensive",
        "full" | "3" => "full",
        _ => "balanced",
    }
}
