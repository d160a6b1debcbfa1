//! How much of a model's benchmarks a backend's device can afford.
//!
//! A software adapter (Mesa's lavapipe behind wgpu) pays a large fixed cost per kernel
//! dispatch: one decode step of the synthetic model takes about 0.1 s there, against about
//! 0.5 ms on flex, so the full plan would take most of an hour. On such a device the benches
//! keep the synthetic model with its shortest decode span and skip real models, unless
//! `DRIFTBENCH_BENCH_SOFTWARE=full` ([`SOFTWARE_ENV`]) asks for everything.

use crate::models::BenchModel;
use crate::plugins::{note, BenchBackend};
use driftbench_core::ModelSpec;

/// Set to `full` to run every benchmark on software adapters too.
pub const SOFTWARE_ENV: &str = "DRIFTBENCH_BENCH_SOFTWARE";

/// Whether [`SOFTWARE_ENV`] asks for the full plan on software adapters.
pub fn full_on_software() -> bool {
    std::env::var(SOFTWARE_ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("full"))
}

/// The software adapter `backend` runs on, if it does: its probe's first device, when that
/// device's kind says `software` (wgpu reports lavapipe as `software (CPU)`).
pub fn software_device(backend: &BenchBackend) -> Option<&str> {
    let dev = backend.probe.devices.first()?;
    dev.kind
        .to_ascii_lowercase()
        .contains("software")
        .then_some(dev.name.as_str())
}

/// Whether `backend` compiles or autotunes kernels on first use of a shape, so that each
/// benchmark should run its route once, untimed, before criterion's warm-up (whose estimate
/// would otherwise include the compilation). Every device but a plain CPU may (GPUs, and
/// software adapters, which compile shaders too); CPU backends run precompiled code.
pub fn compiles_kernels(backend: &BenchBackend) -> bool {
    backend
        .probe
        .devices
        .first()
        .is_none_or(|d| !d.kind.eq_ignore_ascii_case("cpu"))
}

/// The part of `model`'s plan to run on `backend`, or why it is skipped there.
pub fn plan_for(
    model: &BenchModel,
    backend: &BenchBackend,
    full: bool,
) -> Result<BenchModel, String> {
    let Some(device) = software_device(backend).filter(|_| !full) else {
        return Ok(model.clone());
    };
    if !matches!(model.spec, ModelSpec::Synthetic(_)) {
        return Err(format!(
            "skipped {} {}: {device} is a software adapter, too slow for this model (the \
             synthetic model's 4 layers already take about 0.1 s per decode step there); \
             set {SOFTWARE_ENV}=full to bench it anyway",
            backend.name, model.name
        ));
    }
    let mut cut = model.clone();
    cut.decode_spans.truncate(1);
    cut.timing.sample_size = cut.timing.sample_size.min(10);
    note(&format!(
        "{} {}: {device} is a software adapter: decode only at span {}, 10 samples \
         ({SOFTWARE_ENV}=full for everything)",
        backend.name,
        model.name,
        cut.decode_spans.first().copied().unwrap_or(0)
    ));
    Ok(cut)
}
