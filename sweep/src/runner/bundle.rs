//! The replay bundle of a pair that failed or did not finish: what `driftbench replay` needs
//! to run it again, with the logits its routes produced.

use super::pair::{OpenSession, PairOutcome};
use super::planned::PlannedBackend;
use crate::config::SweepConfig;
use crate::noise_floor::FloorRef;
use crate::plan::PairPlan;
use crate::records::Record;
use crate::replay::{self, Bundle, BundleLogits, SavedFloor};
use std::path::Path;

/// Write the replay bundle of `outcome`'s pair under `root` when its verdict wants one, with
/// the logits of the routes that produced them (in `open`'s buffers); an error says why none
/// was written.
pub(crate) fn save_bundle(
    root: &Path,
    (cfg, plan): (&SweepConfig, &PairPlan),
    planned: &PlannedBackend,
    outcome: &PairOutcome,
    open: &OpenSession,
    reference: Option<FloorRef<'_>>,
) -> Result<(), String> {
    let Some(pair) = outcome.records.iter().find_map(|r| match r {
        Record::Pair(p) if replay::wants_bundle(p.verdict) => Some(p),
        _ => None,
    }) else {
        return Ok(());
    };
    let bundle = Bundle::new(cfg, &planned.entry, plan, pair, open.vocab, reference);
    if bundle.tokens.len() != pair.key.span {
        return Err(format!(
            "replay bundle not written: {}",
            pair.reason
                .as_deref()
                .unwrap_or("the pair's prompt gives no tokens")
        ));
    }
    let logits = BundleLogits {
        prefill: outcome.prefill_ok.then(|| open.bufs.prefill.as_ref()),
        decode: outcome.decode_ok.then(|| open.bufs.decode.as_ref()),
        reference: match (&bundle.floor, reference) {
            (
                SavedFloor::Logits { .. },
                Some(FloorRef::Logits {
                    prefill, decode, ..
                }),
            ) => Some((prefill, decode)),
            _ => None,
        },
    };
    let dir = root.join(replay::bundle_dir_name(&pair.key));
    replay::write_bundle(&dir, &bundle, &logits)
        .map_err(|e| format!("replay bundle not written: {e}"))
}
