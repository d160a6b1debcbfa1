//! The plugin conformance kit on this backend: its probe, prefill/decode agreement in both KV
//! layouts, unwritten logits, option refusal and traces (this backend has none: skipped), on
//! the kit's small synthetic model. Keep it when you make the template yours, with your
//! dtypes and tolerances.

use driftbench_backend_template::Template;
use driftbench_conformance::{Check, Kit, Tolerance};
use driftbench_core::Dtype;

#[test]
fn the_template_passes_the_conformance_kit() {
    // Both routes compute in f64 and cross as f64; they agree to about 1e-13 or better
    // (bit for bit on the kit's model), well inside the host's f64 tolerance of 1e-9. The
    // other dtypes are refused, so they are not listed.
    let kit = Kit::synthetic().dtype(Dtype::F64, Tolerance::new(1e-9, 1.0));
    let report = driftbench_conformance::run(&mut Template, &kit).unwrap();
    println!("{report}");
    // Both KV layouts were compared, not skipped.
    assert_eq!(report.of(Check::Agreement).passed.len(), 2, "{report}");
}
