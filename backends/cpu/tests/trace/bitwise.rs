//! A traced run computes the untraced run's logits bit for bit.

use crate::{routes, spec, HIDDEN, LAYERS, VOCAB};
use driftbench_backend_cpu::elem::Elem;
use driftbench_backend_cpu::CpuModel;
use driftbench_core::route::Route;
use driftbench_core::trace::point_names;
use driftbench_core::{rng::prompt_tokens, Dtype};
use driftbench_model::synthetic;

/// Long enough that prefill's row-wise ops split over several parallel chunks (256 rows of
/// 64 a chunk) and its products take the many-row path: the split must be the same traced.
const SPAN: usize = 300;

/// Bit patterns of an activation type, so NaN and −0 compare as themselves.
trait Bits: Elem {
    fn bits(self) -> u64;
}

impl Bits for f32 {
    fn bits(self) -> u64 {
        self.to_bits().into()
    }
}

impl Bits for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

/// The traced run of each route writes the untraced run's logits, and its trace is whole.
fn traced_logits_are_untraced_logits<T: Bits>(dtype: Dtype) {
    let model = CpuModel::<T>::new(synthetic::build(&spec()).unwrap(), dtype);
    let tokens = prompt_tokens(5, SPAN, VOCAB);
    for (route, layout) in routes() {
        let mut plain = vec![T::ZERO; SPAN * VOCAB];
        match route {
            Route::Prefill => model.prefill(&tokens, &mut plain),
            Route::Decode => model.decode(&tokens, layout, &mut plain, |_| {}),
        }
        // NaN where nothing is written, so a logit the traced run skips cannot pass.
        let mut traced = vec![T::from_f64(f64::NAN); SPAN * VOCAB];
        let trace = model.trace(route, &tokens, layout, &mut traced);
        let what = format!("{dtype} {route:?} {layout:?}");
        assert!(plain.iter().all(|v| !v.is_nan()), "{what}: NaN logits");
        if let Some(i) = (0..plain.len()).find(|&i| plain[i].bits() != traced[i].bits()) {
            panic!(
                "{what}: logit {i} differs: untraced {:e}, traced {:e}",
                plain[i].to_f32(),
                traced[i].to_f32()
            );
        }
        trace.check().unwrap();
        assert_eq!(trace.points, point_names(LAYERS), "{what}");
        assert_eq!((trace.positions, trace.hidden), (SPAN, HIDDEN), "{what}");
    }
}

#[test]
fn traced_routes_give_the_untraced_logits_bitwise() {
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        traced_logits_are_untraced_logits::<f32>(dtype);
    }
    traced_logits_are_untraced_logits::<f64>(Dtype::F64);
}
