//! driftbench core: the [`Backend`] trait, the sweep config and its grid, metrics,
//! verdicts, the results journal and the report. No burn, no libloading.

#![forbid(unsafe_code)]

pub mod backend;
pub mod config;
pub mod dtype;
pub mod errors;
pub mod float_opt;
pub mod float_serde;
pub mod float_vec;
pub mod float_vec64;
pub mod grid;
pub mod host;
pub mod journal;
pub mod kv_mode;
pub mod lane_exp;
pub mod metrics;
pub mod model_spec;
pub mod noise_floor;
pub mod options;
pub mod pair_plan;
pub mod peaks_cache;
pub mod plan;
pub mod poison;
pub mod profile;
pub mod records;
pub mod replay;
pub mod report;
pub mod request;
pub mod resume;
pub mod rng;
pub mod roofline;
pub mod runner;
pub mod trace;
pub mod verdict;

pub use backend::{
    Backend, BackendError, DeviceInfo, KvLayout, OpenedInfo, Probe, Session, SessionInfo,
};
pub use dtype::Dtype;
pub use kv_mode::KvMode;
pub use metrics::Metrics;
pub use model_spec::{ModelSpec, SyntheticModel};
pub use options::{BackendOptions, BackendSetup, Configured, Counters, OptionValue};
pub use poison::POISON;
pub use profile::{Peaks, RunProfile};
pub use roofline::ModelCost;
pub use verdict::{DtypeTolerance, Envelope, GlobalVerdict, Verdict};
