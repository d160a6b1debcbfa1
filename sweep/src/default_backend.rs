//! The one default backend, behind every default that names a backend.

/// The backend driftbench uses when none is named: `run --backend`, the f64 reference of
/// `--trace-layers`, the f64 noise floor (`[reference] floor_backend`) and the cross-backend
/// matrix's reference (`[reference] backend`). `cpu`: driftbench's own kernels, always
/// built, every dtype including f64, and the fastest backend on a machine without a GPU.
/// The README, the book and the template's comments state it; a test holds them to it.
pub const DEFAULT_BACKEND: &str = "cpu";
