//! criterion benches of driftbench (`cargo bench -p driftbench-benches`):
//! - `routes`: prefill latency and decode latency per token of a synthetic LLaMA on burn-flex,
//!   per dtype, so the decode/prefill ratio and the dtype ratios come from one run;
//! - `compare`: throughput of the host-side logits comparison.

#![forbid(unsafe_code)]
