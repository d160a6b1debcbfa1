//! Process isolation: each backend can run in a `driftbench worker` child process that loads
//! the plugin and answers a small versioned, framed protocol over its stdin/stdout. A crash,
//! abort or hang of the worker costs the runs it owned (`INCOMPLETE`, with the signal, exit
//! code, timeout or last error as the reason); the next run gets a fresh worker.
//!
//! The plugin's code runs only in workers: the host never loads the library itself, so an
//! entry point that crashes, exits or hangs costs that plugin only.

pub mod client;
mod lifeline;
mod process;
pub mod protocol;
pub mod server;
mod stderr_tail;

pub use client::{Deadlines, StartError, WorkerBackend};
pub use process::{kill_all_workers, terminate_all_workers, Hello};
pub use server::serve;
