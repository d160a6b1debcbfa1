//! Checks against the real SmolLM2-135M-Instruct Q4_1 file (98 MB, not in git).
//!
//! Needs the file at `<workspace>/models/SmolLM2-135M-Instruct.Q4_1.gguf` (fetched by
//! `scripts/fetch-model.sh`, which README's test command runs first) or its path in
//! `DRIFTBENCH_SMOLLM2_GGUF`. The expected facts are those of the design notes ("Models").

use std::path::PathBuf;

use driftbench_gguf::{GgmlType, Gguf};

fn model_path() -> PathBuf {
    std::env::var_os("DRIFTBENCH_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../models/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
}

#[test]
fn smollm2_structure_and_dequantization() {
    let path = model_path();
    assert!(
        path.is_file(),
        "{} not found: run scripts/fetch-model.sh first (README's test command does)",
        path.display()
    );
    let g = Gguf::open(path).unwrap();
    assert_eq!(g.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(g.get_u32("llama.block_count").unwrap(), 30);
    assert_eq!(g.get_u32("llama.embedding_length").unwrap(), 576);
    assert_eq!(g.get_u32("llama.feed_forward_length").unwrap(), 1536);
    assert_eq!(g.get_u32("llama.attention.head_count").unwrap(), 9);
    assert_eq!(g.get_u32("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(g.get_f32("llama.rope.freq_base").unwrap(), 100000.0);
    assert_eq!(
        g.get_f32("llama.attention.layer_norm_rms_epsilon").unwrap(),
        1e-5
    );
    assert_eq!(g.get_array_len("tokenizer.ggml.tokens").unwrap(), 49152);

    let count = |t: GgmlType| g.tensors().iter().filter(|i| i.ggml_type() == t).count();
    assert_eq!(
        (
            count(GgmlType::Q4_1),
            count(GgmlType::F32),
            count(GgmlType::Q8_0)
        ),
        (210, 61, 1)
    );
    assert_eq!(g.tensors().len(), 272);
    assert!(g.tensor("output.weight").is_none());
    let emb = g.tensor("token_embd.weight").unwrap();
    assert_eq!(
        (emb.dims(), emb.ggml_type()),
        (&[576u64, 49152][..], GgmlType::Q8_0)
    );
    assert_eq!(emb.shape(), vec![49152, 576]);
    let q = g.tensor("blk.0.attn_q.weight").unwrap();
    assert_eq!(q.dims(), &[576, 576]);
    let k = g.tensor("blk.0.attn_k.weight").unwrap();
    assert_eq!(k.dims(), &[576, 192]); // 3 KV heads of 64: [in, out]

    for info in g.tensors() {
        let v = g.dequantize(info.name()).unwrap();
        assert_eq!(v.len() as u64, info.n_elements());
        assert!(v.iter().all(|x| x.is_finite()), "{}", info.name());
    }
    let norm = g.dequantize("blk.0.attn_norm.weight").unwrap();
    assert_eq!(norm.len(), 576);
}
