//! Replay bundles: written and read back whole, logits round trip bit for bit, a rerun
//! replaces the old bundle, and damaged bundles are refused with the file named.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::logits::{Logits, LogitsRef};
use driftbench_core::metrics::Metrics;
use driftbench_core::options::Configured;
use driftbench_core::options::OptionValue;
use driftbench_core::rng::prompt_tokens;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::noise_floor::FloorRef;
use driftbench_sweep::plan::PairPlan;
use driftbench_sweep::records::{BackendEntry, PairKey, PairRecord};
use driftbench_sweep::replay::{
    bundle_dir_name, wants_bundle, write_bundle, Bundle, BundleError, BundleLogits, SavedFloor,
    BUNDLE_FILE, BUNDLE_FORMAT,
};
use driftbench_sweep::verdict::{Transport, Verdict};
use std::path::Path;

const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\n\
    kv_aligned = [1]\nseeds = [7]\ntimeout_s = 30\n";

fn record() -> PairRecord {
    PairRecord {
        key: PairKey {
            backend: "shifted".into(),
            span: 3,
            dtype: Dtype::F32,
            kv_aligned: KvMode::Aligned,
            seed: 7,
        },
        verdict: Verdict::FailEquiv,
        reason: Some("max_abs_diff 0.5 > 1e-4".into()),
        metrics: Some(Metrics {
            max_abs_diff: 0.5,
            p99_abs_diff: 0.5,
            mean_abs_diff: f64::NAN,
            top1_agreement: 1.0,
            positions: 3,
            vocab: 32,
            kl_mean: Some(0.0),
            drift_curve: vec![0.5; 3],
            ..Default::default()
        }),
        envelope: None,
        floor: None,
        repeat_mismatch: Vec::new(),
        transport: None,
    }
}

fn bundle(floor: Option<FloorRef<'_>>) -> Bundle {
    let cfg = SweepConfig::parse(CONFIG, Path::new("replay.toml")).unwrap();
    let mut configured = Configured::default();
    configured
        .options
        .insert("decode_shift".into(), OptionValue::Float(0.5));
    let entry = BackendEntry {
        name: "shifted".into(),
        source: "plugin libtest.so".into(),
        probe: None,
        error: None,
        plugin: Some("testplugin".into()),
        configured: Some(configured),
    };
    let plan = PairPlan::of(&cfg, Dtype::F32);
    Bundle::new(&cfg, &entry, &plan, &record(), 32, floor)
}

/// Logits with every bit pattern that matters: NaN, infinities, -0, subnormals.
fn logits(offset: f32) -> Vec<f32> {
    let mut v: Vec<f32> = (0..96).map(|i| i as f32 * 0.25 + offset).collect();
    v[0] = f32::NAN;
    v[1] = f32::INFINITY;
    v[2] = -0.0;
    v[3] = f32::MIN_POSITIVE / 4.0;
    v
}

#[test]
fn a_bundle_round_trips_with_its_logits() {
    let root = tempfile::tempdir().unwrap();
    let b = bundle(None);
    assert_eq!(b.plugin, "testplugin");
    assert_eq!(b.tokens, prompt_tokens(7, 3, 32));
    assert_eq!(b.run_timeout_s, Some(30.0));
    assert_eq!(b.floor, SavedFloor::Off);
    let dir = root.path().join("replay").join(bundle_dir_name(&b.pair));
    assert!(dir.ends_with("shifted-f32-span3-kv1-seed7"));
    let (p, d) = (logits(0.0), logits(1.0));
    let l = BundleLogits {
        prefill: Some(LogitsRef::F32(&p)),
        decode: Some(LogitsRef::F32(&d)),
        reference: None,
    };
    write_bundle(&dir, &b, &l).unwrap();

    let back = Bundle::read(&dir).unwrap();
    assert_eq!(back.logits.prefill.as_deref(), Some("prefill.f32"));
    assert_eq!(back.logits.reference_prefill, None);
    // Everything but the file list is what was written; NaN metrics survive.
    let mut expect = b.clone();
    expect.logits = back.logits.clone();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&expect).unwrap()
    );
    assert!(back.record.metrics.as_ref().unwrap().mean_abs_diff.is_nan());
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let f32s = |l: Option<Logits>| match l {
        Some(Logits::F32(v)) => v,
        other => panic!("f32 logits expected: {other:?}"),
    };
    let rp = back
        .read_logits(&dir, back.logits.prefill.as_deref())
        .unwrap();
    let rd = back
        .read_logits(&dir, back.logits.decode.as_deref())
        .unwrap();
    assert_eq!(bits(&f32s(rp)), bits(&p));
    assert_eq!(bits(&f32s(rd)), bits(&d));
    assert_eq!(
        std::fs::metadata(dir.join("decode.f32")).unwrap().len(),
        96 * 4
    );
    // No temporary folder is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // A rerun replaces the bundle: a route without logits leaves no file behind.
    let only_prefill = BundleLogits {
        prefill: Some(LogitsRef::F32(&p)),
        ..Default::default()
    };
    write_bundle(&dir, &b, &only_prefill).unwrap();
    let again = Bundle::read(&dir).unwrap();
    assert_eq!(again.logits.decode, None);
    assert!(!dir.join("decode.f32").exists());
}

/// f64 logits with every bit pattern that matters, and values no f32 holds.
fn logits64(offset: f64) -> Vec<f64> {
    let mut v: Vec<f64> = (0..96)
        .map(|i| i as f64 * 0.25 + offset + 1e-13 * i as f64)
        .collect();
    v[0] = f64::NAN;
    v[1] = f64::NEG_INFINITY;
    v[2] = -0.0;
    v[3] = f64::MIN_POSITIVE / 4.0;
    v[4] = f64::from_bits(0x7FF5_A55A_5A5A_A55A);
    v
}

/// An f64 pair's bundle keeps its logits and its f64 reference as f64, bit for bit, in
/// `.f64` files of `span × vocab × 8` bytes. (Before format 2, every file was f32: an f64
/// pair's logits and the reference lost everything below f32 precision.)
#[test]
fn an_f64_bundle_round_trips_f64_bit_exactly() {
    let root = tempfile::tempdir().unwrap();
    let (p, d, rp, rd) = (logits64(0.0), logits64(1.0), logits64(2.0), logits64(3.0));
    let floor = FloorRef::Logits {
        label: "cpu f64",
        prefill: &rp,
        decode: &rd,
    };
    let cfg = SweepConfig::parse(
        &format!(
            "{}
[reference]
tolerance_mode = \"both\"\n",
            CONFIG.replace("\"f32\"", "\"f64\"")
        ),
        Path::new("replay.toml"),
    )
    .unwrap();
    let entry = BackendEntry {
        name: "cpu".into(),
        source: "plugin libdriftbench_backend_cpu.so".into(),
        probe: None,
        error: None,
        plugin: None,
        configured: None,
    };
    let mut rec = record();
    rec.key.dtype = Dtype::F64;
    rec.transport = Some(Transport::f32(24.5));
    let plan = PairPlan::of(&cfg, Dtype::F64);
    let b = Bundle::new(&cfg, &entry, &plan, &rec, 32, Some(floor));
    assert_eq!(
        b.floor,
        SavedFloor::Logits {
            label: "cpu f64".into()
        }
    );
    let dir = root.path().join(bundle_dir_name(&b.pair));
    let l = BundleLogits {
        prefill: Some(LogitsRef::F64(&p)),
        decode: Some(LogitsRef::F64(&d)),
        reference: Some((&rp, &rd)),
    };
    write_bundle(&dir, &b, &l).unwrap();
    let back = Bundle::read(&dir).unwrap();
    assert_eq!(back.format, BUNDLE_FORMAT);
    assert_eq!(back.record.transport, Some(Transport::f32(24.5)));
    let files = &back.logits;
    assert_eq!(files.prefill.as_deref(), Some("prefill.f64"));
    assert_eq!(files.decode.as_deref(), Some("decode.f64"));
    assert_eq!(
        files.reference_prefill.as_deref(),
        Some("reference_prefill.f64")
    );
    assert_eq!(
        files.reference_decode.as_deref(),
        Some("reference_decode.f64")
    );
    assert_eq!(
        std::fs::metadata(dir.join("decode.f64")).unwrap().len(),
        96 * 8
    );
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (name, want) in [
        (&files.prefill, &p),
        (&files.decode, &d),
        (&files.reference_prefill, &rp),
        (&files.reference_decode, &rd),
    ] {
        match back.read_logits(&dir, name.as_deref()).unwrap() {
            Some(Logits::F64(v)) => assert_eq!(bits(&v), bits(want), "{name:?}"),
            other => panic!("{name:?}: f64 logits expected, got {other:?}"),
        }
    }
    // A truncated .f64 file is refused with its width in the message; so is a name that is
    // neither .f32 nor .f64.
    std::fs::write(dir.join("decode.f64"), [0u8; 96 * 4]).unwrap();
    let e = back
        .read_logits(&dir, Some("decode.f64"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected 768") && e.contains("× 8"), "{e}");
    let e = back
        .read_logits(&dir, Some("decode.bin"))
        .unwrap_err()
        .to_string();
    assert!(e.contains(".f32 or .f64"), "{e}");
}

/// A bundle of format 1 (every logits file `.f32`, the f64 reference too) still reads, and
/// its files read as f32.
#[test]
fn a_format_1_bundle_still_reads() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("old");
    let p = logits(0.0);
    let l = BundleLogits {
        prefill: Some(LogitsRef::F32(&p)),
        ..Default::default()
    };
    write_bundle(&dir, &bundle(None), &l).unwrap();
    let json = dir.join(BUNDLE_FILE);
    let text = std::fs::read_to_string(&json).unwrap();
    let old = text.replace(&format!("\"format\": {BUNDLE_FORMAT}"), "\"format\": 1");
    assert_ne!(old, text);
    std::fs::write(&json, old).unwrap();
    let b = Bundle::read(&dir).unwrap();
    assert_eq!(b.format, 1);
    match b.read_logits(&dir, Some("prefill.f32")).unwrap() {
        Some(Logits::F32(v)) => assert_eq!(v.len(), p.len()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_noise_floor_reference_is_kept_only_when_it_decides() {
    let (rp, rd) = (logits64(2.0), logits64(3.0));
    let floor = FloorRef::Logits {
        label: "flex f64",
        prefill: &rp,
        decode: &rd,
    };
    // The config's rule is `fixed`: the floor does not decide the verdict.
    assert_eq!(
        bundle(Some(floor)).floor,
        SavedFloor::NotSaved {
            label: "flex f64".into()
        }
    );
    assert_eq!(
        bundle(Some(FloorRef::Missing("no f64 here"))).floor,
        SavedFloor::Missing {
            why: "no f64 here".into()
        }
    );
}

#[test]
fn verdicts_that_get_a_bundle() {
    assert!(wants_bundle(Verdict::FailEquiv));
    assert!(wants_bundle(Verdict::FailDrift));
    assert!(wants_bundle(Verdict::Incomplete));
    assert!(!wants_bundle(Verdict::PassEquiv));
    assert!(!wants_bundle(Verdict::ExpectedDrift));
    assert!(!wants_bundle(Verdict::Skipped));
}

#[test]
fn folder_names_are_plain() {
    let mut k = record().key;
    k.backend = "../x y".into();
    let name = bundle_dir_name(&k);
    assert_eq!(name, "_._x_y-f32-span3-kv1-seed7");
}

#[test]
fn damaged_bundles_are_refused_naming_the_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("b");
    let p = logits(0.0);
    let l = BundleLogits {
        prefill: Some(LogitsRef::F32(&p)),
        ..Default::default()
    };
    write_bundle(&dir, &bundle(None), &l).unwrap();
    let b = Bundle::read(&dir).unwrap();

    // A truncated logits file.
    std::fs::write(dir.join("prefill.f32"), [0u8; 10]).unwrap();
    let e = b.read_logits(&dir, Some("prefill.f32")).unwrap_err();
    assert!(matches!(e, BundleError::Invalid { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("prefill.f32") && msg.contains("expected 384"),
        "{msg}"
    );
    // A file name leading out of the bundle.
    let e = b.read_logits(&dir, Some("../escape.f32")).unwrap_err();
    assert!(e.to_string().contains("plain file name"), "{e}");

    // Another format, and something that is not JSON.
    let json = dir.join(BUNDLE_FILE);
    let text = std::fs::read_to_string(&json).unwrap();
    let newer = text.replace(&format!("\"format\": {BUNDLE_FORMAT}"), "\"format\": 99");
    assert_ne!(newer, text);
    std::fs::write(&json, newer).unwrap();
    let msg = Bundle::read(&dir).unwrap_err().to_string();
    assert!(
        msg.contains(BUNDLE_FILE) && msg.contains("format 99: expected 1 to 2"),
        "{msg}"
    );
    std::fs::write(&json, "not json").unwrap();
    assert!(Bundle::read(&dir)
        .unwrap_err()
        .to_string()
        .contains("not JSON"));
    // No bundle at all.
    let e = Bundle::read(&root.path().join("none")).unwrap_err();
    assert!(matches!(e, BundleError::Io { .. }), "{e}");
}
