//! The driftbench plugin C ABI, version 1.
//!
//! A plugin is a `cdylib` exporting one symbol, [`ENTRY_SYMBOL`] (`driftbench_plugin_v1`),
//! that returns a pointer to a static [`PluginV1`] table of `extern "C"` functions. Only C types
//! cross the boundary: integers, raw pointers, `#[repr(C)]` structs. The host allocates every
//! buffer it hands over (text via [`DbBuf`], logits as `f32` arrays, or `f64` ones from v1.4)
//! and frees it; the plugin allocates and frees its sessions. A breaking change gets a new
//! symbol (`..._v2`).
//!
//! Plugin authors write plain Rust: implement `driftbench_core::Backend` for a `Default` type
//! and call [`export_plugin!`]. Every exported function runs inside `catch_unwind`; a panic in a
//! session poisons it (later calls answer [`status::POISONED`]).

// Unsafe code here is FFI; every unsafe operation is explicit and says why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod buf;
mod export;
mod types;

pub use buf::DbBuf;
pub use export::{__export, BackendFactory};
pub use types::{
    route, status, PluginHeader, PluginV1, ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL, MAGIC,
    V1_0_TABLE_SIZE, V1_1_TABLE_SIZE, V1_2_TABLE_SIZE, V1_3_TABLE_SIZE,
};
