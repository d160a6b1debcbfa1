//! cubecl's runtime config, set once per process before any device exists.
//!
//! Left alone, cubecl reads `cubecl.toml` from the working directory upwards and keeps its
//! autotune cache in the `target/` folder beside the nearest `Cargo.toml` (else
//! `~/.cache/cubecl`), and keeps no compiled kernels at all: where driftbench happens to run
//! from would decide what a second sweep reuses. Here the caches go where driftbench says,
//! under `<cache folder>/cubecl`, and the autotune level is the backend's option. cubecl's
//! environment knobs (`CUBECL_DEBUG_LOG`, ...) still apply.

use crate::CubeOptions;
use cubecl::config::autotune::AutotuneLevel;
use cubecl::config::cache::CacheConfig;
use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
use driftbench_core::BackendError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What this process applied, so a second, different configuration is refused rather than
/// silently ignored (cubecl reads its config once).
static APPLIED: Mutex<Option<(CubeOptions, PathBuf)>> = Mutex::new(None);

fn level(name: &str) -> AutotuneLevel {
    match name {
        "minimal" => AutotuneLevel::Minimal,
        "extensive" => AutotuneLevel::Extensive,
        "full" => AutotuneLevel::Full,
        _ => AutotuneLevel::Balanced,
    }
}

/// Where the caches go: `<cache_dir>/cubecl`, or a folder private to this process when the
/// host keeps no cache.
pub fn cache_root(cache_dir: Option<&Path>) -> PathBuf {
    match cache_dir {
        Some(d) => d.join("cubecl"),
        None => std::env::temp_dir().join(format!("driftbench-cubecl-{}", std::process::id())),
    }
}

/// Set cubecl's config for `opts`. `kernel_cache_supported` says whether this runtime can
/// keep compiled kernels on disk. Returns the facts the report shows (cache folders).
/// Applying the same options twice is a no-op; different ones are refused.
pub fn apply(
    opts: &CubeOptions,
    cache_dir: Option<&Path>,
    kernel_cache_supported: bool,
) -> Result<Vec<(String, String)>, BackendError> {
    let root = cache_root(cache_dir);
    let mut details = vec![(
        "cubecl autotune cache".to_string(),
        root.display().to_string(),
    )];
    details.push((
        "cubecl kernel cache".to_string(),
        match (opts.kernel_cache, kernel_cache_supported) {
            (true, true) => root.display().to_string(),
            (false, _) => "off (kernel_cache = false)".to_string(),
            (true, false) => {
                "not supported by this runtime: kernels are compiled in every process".to_string()
            }
        },
    ));
    let mut applied = APPLIED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((prev, prev_root)) = applied.as_ref() {
        if prev == opts && prev_root == &root {
            return Ok(details);
        }
        return Err(BackendError::Invalid(format!(
            "this process already runs cubecl with other options ({prev:?}); cubecl reads its \
             config once per process, so run each backend instance in its own worker \
             (without --in-process)"
        )));
    }
    let mut config = CubeClRuntimeConfig::default().override_from_env();
    config.autotune.level = level(opts.autotune);
    config.autotune.cache = CacheConfig::File(root.clone());
    config.compilation.cache =
        (opts.kernel_cache && kernel_cache_supported).then(|| CacheConfig::File(root.clone()));
    if CubeClRuntimeConfig::storage().lock().as_ref().is_some() {
        return Err(BackendError::Invalid(
            "cubecl's config was read before driftbench could set it (a device was created \
             before `configure`)"
                .into(),
        ));
    }
    CubeClRuntimeConfig::set(config);
    *applied = Some((opts.clone(), root));
    Ok(details)
}
