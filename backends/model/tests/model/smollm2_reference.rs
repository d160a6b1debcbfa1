//! The real model against an independent implementation: SmolLM2-135M-Instruct (Q4_1 GGUF)
//! in f32 on burn-flex, compared with transformers' logits for the same 48 tokens
//! (`tests/data/README.md` says how those were made).
//!
//! Needs the model: `scripts/fetch-model.sh` (README's test command runs it first).

use burn_flex::{Flex, FlexDevice};
use driftbench_core::{metrics, Dtype, KvLayout, Session};
use driftbench_model::{gguf_load, BurnSession, Precision};
use std::path::PathBuf;

fn model_path() -> PathBuf {
    std::env::var_os("DRIFTBENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
}

struct Reference {
    tokens: Vec<u32>,
    top5: Vec<(Vec<usize>, Vec<f32>)>,
}

fn reference() -> Reference {
    let text = include_str!("../data/smollm2_transformers_top5.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("reference json");
    let tokens = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect();
    let top5 = v["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ids = p["top5_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            let logits = p["top5_logits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (ids, logits)
        })
        .collect();
    Reference { tokens, top5 }
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[test]
fn smollm2_f32_prefill_matches_transformers() {
    let path = model_path();
    assert!(
        path.is_file(),
        "model {} not found: run scripts/fetch-model.sh first (README's test command does)",
        path.display()
    );
    let host = gguf_load::load(&path).expect("load SmolLM2 GGUF");
    let a = &host.arch;
    assert_eq!(
        (a.layers, a.hidden, a.heads, a.kv_heads, a.head_dim, a.ffn, a.vocab),
        (30, 576, 9, 3, 64, 1536, 49152)
    );
    assert!(
        host.output.is_none(),
        "SmolLM2 ties its output projection to the embedding"
    );
    let mut s =
        BurnSession::<Flex>::from_host(&host, Precision::native(Dtype::F32), &FlexDevice, "cpu");
    let r = reference();
    let vocab = a.vocab;
    let mut logits = vec![0f32; r.tokens.len() * vocab];
    s.prefill(&r.tokens, &mut logits).unwrap();

    let mut worst = 0f32;
    for (pos, (ids, vals)) in r.top5.iter().enumerate() {
        let row = &logits[pos * vocab..(pos + 1) * vocab];
        assert_eq!(
            argmax(row),
            ids[0],
            "top-1 differs from transformers at position {pos}"
        );
        for (&id, &want) in ids.iter().zip(vals) {
            let diff = (row[id] - want).abs();
            worst = worst.max(diff);
            assert!(
                diff < 1e-3,
                "position {pos} token {id}: {} vs transformers {want}",
                row[id]
            );
        }
    }
    eprintln!("largest |logit − transformers| over the top-5 of 48 positions: {worst:.2e}");

    // The decode route through the KV cache must agree too, on the real model.
    let mut dec = vec![0f32; logits.len()];
    s.decode(&r.tokens, KvLayout::Aligned, &mut dec).unwrap();
    let m = metrics::compare(&logits, &dec, vocab);
    eprintln!("f32 prefill vs decode (kv_aligned=1): {m:?}");
    assert_eq!(m.top1_agreement, 1.0);
    assert!(m.max_abs_diff < 1e-2, "{m:?}");
}
