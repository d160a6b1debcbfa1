//! The session's run profile and model cost on burn-flex: every decode step timed on the
//! route that produces the logits (the same logits as the untimed route), and the cost the
//! roofline figures are computed from.

use burn_flex::{Flex, FlexDevice};
use driftbench_core::{rng::prompt_tokens, Dtype, KvLayout, Session, SyntheticModel};
use driftbench_model::{session::model_cost, synthetic, BurnSession, LinearMode, Precision};

fn tiny() -> SyntheticModel {
    SyntheticModel {
        layers: 2,
        hidden: 32,
        heads: 4,
        kv_heads: 2,
        ffn: 48,
        vocab: 53,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 5,
    }
}

#[test]
fn decode_steps_are_timed_on_the_route_that_makes_the_logits() {
    let host = synthetic::build(&tiny()).unwrap();
    let prec = Precision {
        dtype: Dtype::Bf16,
        linear: LinearMode::WidenBf16,
    };
    let mut s = BurnSession::<Flex>::from_host(&host, prec, &FlexDevice, "cpu");
    let tokens = prompt_tokens(1, 9, 53);
    let mut out = vec![0f32; 9 * 53];
    s.decode(&tokens, KvLayout::Padded { block: 4 }, &mut out)
        .unwrap();
    let p = s.last_profile();
    assert_eq!(p.step_s.len(), 9);
    assert!(p.step_s.iter().all(|t| t.is_finite() && *t > 0.0), "{p:?}");
    assert!(p.readback_s.is_some());
    // The timed route's logits are the untimed model's, bit for bit.
    let plain = s
        .model()
        .decode(&tokens, KvLayout::Padded { block: 4 })
        .cast(burn_tensor::DType::F32)
        .into_data();
    let plain = plain.as_slice::<f32>().unwrap();
    assert!(plain
        .iter()
        .zip(&out)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    // A prefill has no steps.
    s.prefill(&tokens, &mut out).unwrap();
    assert!(s.last_profile().step_s.is_empty());
}

#[test]
fn the_cost_counts_every_product_weight_in_the_dtype_it_is_held_in() {
    let host = synthetic::build(&tiny()).unwrap();
    let a = &host.arch;
    // Parameters less the norms (2 per layer and the final one, `hidden` each); the output
    // projection counts as a product even when it is tied to the embedding.
    let products = a.params(true) - (2 * a.layers + 1) * a.hidden;
    for (dtype, linear, bytes, held) in [
        (Dtype::F32, LinearMode::Native, 4, "f32"),
        (Dtype::F16, LinearMode::Native, 2, "f16"),
        (Dtype::Bf16, LinearMode::WidenBf16, 4, "f32"),
        (Dtype::Bf16, LinearMode::Native, 2, "bf16"),
    ] {
        let c = model_cost(a, Precision { dtype, linear });
        assert_eq!(c.product_params, products as u64, "{dtype}");
        assert_eq!(
            c.weight_bytes,
            products as u64 * bytes,
            "{dtype} {linear:?}"
        );
        assert_eq!(c.weight_dtype, held);
        assert_eq!(c.layers, a.layers);
        assert_eq!(c.q_dim, a.heads * a.head_dim);
        assert_eq!(c.kv_dim, a.kv_heads * a.head_dim);
    }
}
