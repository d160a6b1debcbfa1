//! driftbench core: the contract between driftbench and a backend — the [`Backend`] and
//! [`Session`] traits, what crosses them (probe, model spec, options, logits layout, KV
//! layout, profile, peaks, cost, layer traces) and the comparison of two logits matrices.
//! Plugins and backends depend on this crate alone; the sweep and the report live in crates
//! above it (the book's Architecture chapter draws the map).
//!
//! Inside this crate, modules import each other by their own paths; the re-exports below are
//! for plugin authors only.

#![forbid(unsafe_code)]

pub mod backend;
pub mod compact;
pub mod dtype;
pub mod error;
pub mod float_opt;
pub mod float_serde;
pub mod float_vec;
pub mod float_vec64;
pub mod kv;
pub mod lane_exp;
pub mod logits;
pub mod machine;
pub mod metrics;
pub mod model_spec;
pub mod options;
pub mod probe;
pub mod probe_check;
pub mod profile;
pub mod request;
pub mod rng;
pub mod roofline;
pub mod route;
pub mod session_info;
pub mod trace;
pub mod unwritten;

pub use backend::{Backend, Session};
pub use dtype::Dtype;
pub use error::BackendError;
pub use kv::{KvLayout, KvMode};
pub use logits::{Logits, LogitsRef};
pub use metrics::Metrics;
pub use model_spec::{ModelSpec, SyntheticModel};
pub use options::{BackendOptions, BackendSetup, Configured, Counters, OptionValue};
pub use probe::{DeviceInfo, Probe};
pub use profile::{Peaks, RunProfile};
pub use roofline::ModelCost;
pub use route::Route;
pub use session_info::{OpenedInfo, SessionInfo};
pub use unwritten::{UNWRITTEN, UNWRITTEN64};
