//! Run identity, written down once. A run is identified by (record kind, backend instance,
//! machine label, prompt source, span, dtype, kv_aligned, seed, route, repetition); a pair by
//! the same without route and repetition. Journal keys, completeness, `diff` and the merge of
//! journals from many machines all use these types.
//!
//! The machine comes from the journal's header ([`crate::records::Origin`]): every record of
//! one journal ran on one machine, so records do not repeat it. The same backend on two
//! machines is two identities, not a duplicate: a merged journal of several machines names
//! its instances `backend@machine` ([`instance`]).

use crate::machine_label::UNKNOWN_MACHINE;
use crate::records::{PairKey, SweepHeader};
use driftbench_core::route::Route;
use std::fmt;

/// Between an instance and its machine in a merged journal of several machines
/// (`cuda@h100`); neither instance names nor machine labels may hold it.
pub const MACHINE_SEPARATOR: char = '@';

/// `name` on `machine`: `name@machine`.
pub fn instance(name: &str, machine: &str) -> String {
    format!("{name}{MACHINE_SEPARATOR}{machine}")
}

/// An instance name's plain name and machine, if it names one.
pub fn split_instance(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(MACHINE_SEPARATOR) {
        Some((b, m)) => (b, Some(m)),
        None => (name, None),
    }
}

/// The prompt source of a journal without a prompt file: token ids drawn from the seed.
pub const PROMPT_SOURCE: &str = "seeded";

/// A pair's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PairId {
    /// The machine label.
    pub machine: String,
    /// [`PROMPT_SOURCE`], or the prompt file's kind and sha256 (`text:0a1b…`): the same
    /// seed on two texts is two prompts.
    pub prompt: String,
    /// Backend instance, span, dtype, kv_aligned and seed.
    pub key: PairKey,
}

/// A run's identity: its pair's, the record kind, the route and the repetition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId {
    /// `run`, `warmup`, `cross`...
    pub kind: &'static str,
    /// The pair.
    pub pair: PairId,
    /// Prefill or decode.
    pub route: Route,
    /// Repetition index (0: the one the verdict judges).
    pub rep: u32,
}

impl PairId {
    /// The identity of `key` in the journal whose header is `header`.
    pub fn of(header: Option<&SweepHeader>, key: &PairKey) -> PairId {
        PairId {
            machine: machine_of(header).to_string(),
            prompt: prompt_of(header),
            key: key.clone(),
        }
    }
}

impl fmt::Display for PairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = &self.key;
        write!(
            f,
            "{} {} span {} kv_aligned {} seed {}",
            k.backend, k.dtype, k.span, k.kv_aligned, k.seed
        )
    }
}

/// The prompt source a journal's header records: [`PROMPT_SOURCE`], or `kind:sha256`.
pub fn prompt_of(header: Option<&SweepHeader>) -> String {
    header
        .and_then(|h| h.plan.as_ref())
        .and_then(|p| p.prompt.as_ref())
        .map_or_else(
            || PROMPT_SOURCE.to_string(),
            |f| format!("{}:{}", f.kind.as_str(), f.sha256),
        )
}

/// The machine label a journal's header records, or [`UNKNOWN_MACHINE`].
pub fn machine_of(header: Option<&SweepHeader>) -> &str {
    header
        .and_then(|h| h.origin.as_ref())
        .map_or(UNKNOWN_MACHINE, |o| o.machine.as_str())
}
