//! Process isolation: each backend can run in a `driftbench worker` child process that loads
//! the plugin and answers a small versioned, framed protocol over its stdin/stdout. A crash,
//! abort or hang of the worker costs the runs it owned (`INCOMPLETE`, with the signal, exit
//! code, timeout or last error as the reason); the next run gets a fresh worker.

pub mod client;
pub mod protocol;
pub mod server;

pub use client::WorkerBackend;
pub use server::serve;
