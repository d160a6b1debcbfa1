//! criterion benches of driftbench (`cargo bench -p driftbench-benches`), run through the
//! plugin API exactly as a sweep sees a backend: every backend plugin found is loaded with
//! `driftbench_plugin_host`, probed, and driven only through the `Backend`/`Session` traits.
//!
//! - `routes`: `prefill` latency per span and `decode` latency per step at several cache
//!   lengths, per backend, model and dtype;
//! - `compare`: throughput of the host-side logits comparison on real-sized logits.
//!
//! `DRIFTBENCH_BENCH_BACKENDS` and `DRIFTBENCH_BENCH_DTYPES` narrow what runs (see
//! [`selection`]); software adapters get a shorter plan unless `DRIFTBENCH_BENCH_SOFTWARE=full`
//! (see [`pace`]).

#![forbid(unsafe_code)]

pub mod models;
pub mod pace;
pub mod plugins;
pub mod selection;
pub mod session;
