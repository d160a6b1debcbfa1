//! Host side of the driftbench plugin ABI: find plugin libraries, load them with libloading,
//! check the handshake, and wrap each one as a `driftbench_core::Backend`.
//!
//! Libraries are never unloaded: unloading a library whose threads or thread-locals are still
//! alive (rayon pools, GPU runtimes) crashes at exit.

// Unsafe code here is FFI; every unsafe operation is explicit and says why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod discovery;
pub mod errors;
pub mod loader;
pub mod plugin_backend;
pub mod worker;

pub use discovery::{discover, PluginCandidate, PLUGIN_PATH_ENV};
pub use errors::LoadError;
pub use loader::LoadedPlugin;
pub use plugin_backend::PluginBackend;
pub use worker::{kill_all_workers, terminate_all_workers, Deadlines, WorkerBackend};
