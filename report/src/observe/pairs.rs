//! Observations across a backend's pairs: how confident its top-1 flips are, and whether
//! seeds agree on the verdict.

use crate::format::sig2;
use crate::model::spread::SeedSpreadRow;
use crate::model::Observation;
use driftbench_sweep::records::PairRecord;
use std::fmt::Write as _;

/// Confident flips listed by name; the rest are counted.
const LIST_AT_MOST: usize = 10;

/// `span 128, f16, kv_aligned=0, seed 1`.
fn at(p: &PairRecord) -> String {
    format!(
        "span {}, {}, kv_aligned={}, seed {}",
        p.key.span, p.key.dtype, p.key.kv_aligned, p.key.seed
    )
}

/// (c): each pair's first top-1 flip, a near-tie (margin below the pair's max_abs_diff:
/// drift can explain it) or confident (margin above it: drift cannot, likely a bug).
pub fn flips(pairs: &[&PairRecord]) -> Option<Observation> {
    let mut near = Vec::new();
    let mut confident = Vec::new();
    let mut unknown = Vec::new();
    for p in pairs {
        let Some(m) = &p.metrics else { continue };
        let Some(f) = &m.first_flip else { continue };
        let margin = f.margin();
        if margin.is_nan() || m.max_abs_diff.is_nan() {
            unknown.push(p);
        } else if margin > m.max_abs_diff {
            confident.push((p, m, f));
        } else {
            near.push((p, m, f));
        }
    }
    if near.is_empty() && confident.is_empty() && unknown.is_empty() {
        return None;
    }
    let total = near.len() + confident.len() + unknown.len();
    let mut body = format!(
        "{total} pair(s) flip a top-1 token. A flip whose margin (the larger lead of either \
         side) is below the pair's max_abs_diff is a near-tie that drift explains; a margin \
         above it is a confident flip that drift cannot explain.\n\n\
         - near-ties: {}\n- confident: {}",
        near.len(),
        confident.len()
    );
    if !unknown.is_empty() {
        let _ = write!(
            body,
            "\n- undecided (non-finite margin or drift): {}",
            unknown.len()
        );
    }
    for (p, m, f) in confident.iter().take(LIST_AT_MOST) {
        let _ = write!(
            body,
            "\n  - {}: position {}, token {} → {}, margin {} > max_abs_diff {}",
            at(p),
            f.position,
            f.prefill_token,
            f.decode_token,
            sig2(f.margin()),
            sig2(m.max_abs_diff)
        );
    }
    if confident.len() > LIST_AT_MOST {
        let _ = write!(body, "\n  - … {} more", confident.len() - LIST_AT_MOST);
    }
    let title = if confident.is_empty() {
        "Top-1 Flips at Near-Ties (Drift)"
    } else {
        "Confident Top-1 Flips (Likely Bugs)"
    };
    Some(Observation {
        title: title.to_string(),
        body,
    })
}

/// (d): cells whose seeds get different verdicts.
pub fn seed_disagreement(rows: &[SeedSpreadRow]) -> Option<Observation> {
    let split: Vec<&SeedSpreadRow> = rows.iter().filter(|r| r.disagrees()).collect();
    if split.is_empty() {
        return None;
    }
    let mut body = format!(
        "{} (span, dtype, kv_aligned) cell(s) get a different verdict from different seeds: \
         the verdict depends on the prompt, so one seed is not enough to trust it.\n",
        split.len()
    );
    for r in split {
        let seeds: Vec<String> = r
            .verdicts
            .iter()
            .map(|v| format!("seed {} {}", v.seed, v.verdict))
            .collect();
        let range = r.max_abs.map_or_else(String::new, |s| {
            format!(
                "; max_abs_diff {} … {} over seeds",
                sig2(s.min),
                sig2(s.max)
            )
        });
        let _ = write!(
            body,
            "\n- span {}, {}, kv_aligned={}: {}{range}",
            r.span,
            r.dtype,
            r.kv_aligned,
            seeds.join(", ")
        );
    }
    Some(Observation {
        title: "Seeds Disagree on the Verdict".to_string(),
        body,
    })
}

/// Pairs whose repetitions (`[sweep] repetitions`) produced logits that differ bitwise from
/// the first repetition's: the backend is not deterministic for that shape.
pub fn repeat_mismatch(pairs: &[&PairRecord]) -> Option<Observation> {
    let odd: Vec<&&PairRecord> = pairs
        .iter()
        .filter(|p| !p.repeat_mismatch.is_empty())
        .collect();
    if odd.is_empty() {
        return None;
    }
    let mut body = format!(
        "{} pair(s) gave different logits when a route was run again on the same prompt \
         (bitwise; a NaN equals a NaN of the same bits). The verdict judges the first \
         repetition; these shapes are not deterministic on this backend.\n",
        odd.len()
    );
    for p in odd.iter().take(LIST_AT_MOST) {
        let parts: Vec<String> = p
            .repeat_mismatch
            .iter()
            .map(|m| {
                format!(
                    "{} rep {}: {} value(s) differ, max |diff| {}",
                    m.route.as_str(),
                    m.rep,
                    m.differing,
                    sig2(m.max_abs_diff)
                )
            })
            .collect();
        let _ = write!(body, "\n- {}: {}", at(p), parts.join("; "));
    }
    if odd.len() > LIST_AT_MOST {
        let _ = write!(body, "\n- … {} more", odd.len() - LIST_AT_MOST);
    }
    Some(Observation {
        title: "Repetitions Differ Bitwise (Non-determinism)".to_string(),
        body,
    })
}
