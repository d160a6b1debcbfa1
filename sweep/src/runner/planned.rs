//! A backend as a sweep gets it: ready to run, with what the report says about it.

use crate::records::BackendEntry;
use driftbench_core::backend::Backend;

/// A backend ready to run, with what the report says about it.
pub struct PlannedBackend {
    /// Report entry (source, probe, options in force).
    pub entry: BackendEntry,
    /// The backend.
    pub backend: Box<dyn Backend>,
}
