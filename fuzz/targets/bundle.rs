//! The one-input function of the cargo-fuzz target `bundle`, shared by `fuzz/fuzz_targets/bundle.rs`
//! and the stable replay test of the crate it exercises (`sweep/tests/`), both of which include this file
//! with `#[path]`. It must return normally on any input: errors are the expected outcome of
//! garbage; a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

use driftbench_core::kv::KvMode;
use driftbench_sweep::noise_floor::classify_with_floor;
use driftbench_sweep::replay::{bundle_dir_name, Bundle, BUNDLE_FILE};
use std::time::Duration;

/// Largest logits file (bytes) the target writes for `read_logits`.
const MAX_LOGITS: usize = 64 << 10;

/// The replay bundle reader on arbitrary bytes, and what `replay` does with a bundle before
/// it starts a backend:
///
/// 1. the bytes as `bundle.json` in a temp folder, read by `Bundle::read` (JSON, format,
///    fields, then every value through the config's own checks);
/// 2. for a bundle that reads: its logits files written beside it (when small), `prefill.*`
///    and `reference_*` with exactly span × vocab values (as f32 in `.f32` files, f64 in
///    `.f64` ones), `decode.*` one value off; then `read_logits` on each file name the
///    bundle lists (and on a name leading out of the folder);
/// 3. the timeouts as the worker host takes them (`Duration::from_secs_f64`), the pair's
///    plan, layout and envelope, and the recorded metrics judged again under the bundle's
///    tolerance and rule.
pub fn bundle(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join(BUNDLE_FILE), data).is_err() {
        return;
    }
    let b = match Bundle::read(dir.path()) {
        Ok(b) => b,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (format!("{b:?}"), serde_json::to_string(&b).map(|s| s.len()));
    let _ = bundle_dir_name(&b.pair);

    // The logits files: of the right size for the bundle's pair (f32 and f64 widths), and
    // `decode.*` one value off.
    let values = b.pair.span.saturating_mul(b.vocab);
    if values <= MAX_LOGITS / 8 {
        let pattern = [0.5, -1.0, f64::NAN, f64::INFINITY];
        let f32s: Vec<u8> = (0..values)
            .flat_map(|i| (pattern[i % 4] as f32).to_le_bytes())
            .collect();
        let f64s: Vec<u8> = (0..values)
            .flat_map(|i| pattern[i % 4].to_le_bytes())
            .collect();
        let mut f32_long = f32s.clone();
        f32_long.extend_from_slice(&[0; 4]);
        let f64_short = &f64s[..f64s.len().saturating_sub(8)];
        for (name, bytes) in [
            ("prefill.f32", &f32s[..]),
            ("decode.f32", &f32_long[..]),
            ("prefill.f64", &f64s[..]),
            ("decode.f64", f64_short),
            ("reference_prefill.f32", &f32s[..]),
            ("reference_decode.f32", &f32s[..]),
            ("reference_prefill.f64", &f64s[..]),
            ("reference_decode.f64", &f64s[..]),
        ] {
            let _ = std::fs::write(dir.path().join(name), bytes);
        }
    }
    let l = &b.logits;
    for name in [
        &l.prefill,
        &l.decode,
        &l.reference_prefill,
        &l.reference_decode,
        &Some("../bundle.json".to_string()),
    ] {
        match b.read_logits(dir.path(), name.as_deref()) {
            Ok(v) => {
                let _ = v.map(|v| v.len());
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    // What the run is handed.
    for t in [b.open_timeout_s, b.run_timeout_s].into_iter().flatten() {
        let _ = Duration::from_secs_f64(t);
    }
    let plan = b.plan.pair_plan();
    let kv = b.pair.kv_aligned;
    let _ = (plan.layout(kv), plan.envelope(kv));
    for kv in [KvMode::Padded, KvMode::Aligned] {
        let _ = (plan.layout(kv), plan.envelope(kv));
    }
    if let Some(m) = &b.record.metrics {
        let floor = b.record.floor.as_deref().ok_or("no floor in the bundle");
        let (verdict, reason) =
            classify_with_floor(kv, b.pair.dtype, m, &plan.tolerance, &plan.rule, floor);
        let _ = (verdict.as_str(), reason);
    }
}
