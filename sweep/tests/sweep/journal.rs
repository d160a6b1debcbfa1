//! results.jsonl: append + read round trip, a torn last line, and corruption elsewhere.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::profile::Peaks;
use driftbench_core::profile::RunProfile;
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_sweep::journal::{self, Journal, JournalError};
use driftbench_sweep::records::{
    Environment, HarnessTimes, PairKey, PairRecord, PeaksOutcome, PeaksSource, Record,
    RepeatMismatch, RunRecord, RunStatus, SessionRecord, SummaryRecord, SweepHeader,
    SCHEMA_VERSION,
};
use driftbench_sweep::verdict::Verdict;
use std::collections::BTreeMap;
use std::io::Write;

fn key(seed: u64) -> PairKey {
    PairKey {
        backend: "flex".to_string(),
        span: 32,
        dtype: Dtype::F16,
        kv_aligned: KvMode::Padded,
        seed,
    }
}

fn sample() -> Vec<Record> {
    vec![
        Record::Sweep(Box::new(SweepHeader {
            schema_version: SCHEMA_VERSION,
            name: "j".to_string(),
            config_path: "c.toml".to_string(),
            started_unix: 1,
            model: "m".to_string(),
            block_size: 16,
            tolerances: BTreeMap::new(),
            pairs_planned: 1,
            origin: None,
            merged: None,
            plan: None,
            reference: None,
            environment: Environment::default(),
            backends: vec![],
        })),
        Record::Session(SessionRecord {
            backend: "flex".to_string(),
            dtype: Dtype::F16,
            load_s: Some(0.5),
            device: Some("cpu".to_string()),
            model: None,
            error: None,
            cost: Some(ModelCost {
                layers: 2,
                q_dim: 64,
                kv_dim: 32,
                product_params: 1 << 20,
                weight_bytes: 4 << 20,
                weight_dtype: "f32".into(),
                kv_value_bytes: 2,
            }),
            peaks: Some(PeaksOutcome {
                source: PeaksSource::Measured,
                peaks: Some(Peaks {
                    dtype: Dtype::F16,
                    product_dtype: "f16".into(),
                    gemm_gflops: 123.5,
                    gemm_shape: [512, 576, 1536],
                    bandwidth_gbs: 28.25,
                    bandwidth_method: "one-row product".into(),
                    reps: 5,
                }),
                probe_s: Some(0.25),
                error: None,
            }),
        }),
        Record::Run(RunRecord {
            key: key(0),
            route: Route::Decode,
            status: RunStatus::Ok,
            wall_s: Some(1.5),
            host_wall_s: None,
            logits_bytes: Some(4096),
            reason: None,
            counters: [("kernels_compiled".to_string(), 3)].into(),
            rep: 2,
            fingerprint: None,
            profile: RunProfile {
                step_s: vec![0.5, 0.25, 0.75],
                readback_s: Some(0.125),
                peak_rss_bytes: Some(123 << 20),
            },
        }),
        Record::Pair(PairRecord {
            key: key(0),
            verdict: Verdict::ExpectedDrift,
            reason: None,
            metrics: Some(Metrics {
                max_abs_diff: 0.125,
                p99_abs_diff: 0.0625,
                mean_abs_diff: 0.001,
                top1_agreement: 1.0,
                nonfinite_prefill: 0,
                nonfinite_decode: 0,
                positions: 32,
                vocab: 64,
                ..Default::default()
            }),
            envelope: None,
            floor: None,
            repeat_mismatch: vec![RepeatMismatch {
                route: Route::Decode,
                rep: 1,
                differing: 7,
                max_abs_diff: 0.5,
            }],
            transport: None,
        }),
        Record::Summary(SummaryRecord {
            sweep_wall_s: 10.0,
            loads_s: 1.0,
            peaks_s: 0.5,
            warmup_s: 2.0,
            runs_s: 5.0,
            reference_s: 0.25,
            harness: HarnessTimes {
                compare_s: 0.125,
                journal_s: 0.0625,
                ..Default::default()
            },
            interrupted: false,
            host_peak_rss_bytes: Some(300 << 20),
        }),
    ]
}

fn write_all(path: &std::path::Path, recs: &[Record]) {
    let mut j = Journal::create(path).unwrap();
    for r in recs {
        j.append(r).unwrap();
    }
}

#[test]
fn append_then_read_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    // A stale file is truncated by create.
    std::fs::write(&path, "stale garbage\n").unwrap();
    let mut recs = sample();
    write_all(&path, &recs);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), recs.len(), "one line per record");
    assert!(text.ends_with('\n'));
    let (back, warnings) = journal::read(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(back, recs);

    // NaN metrics survive the journal.
    let mut nan = sample().swap_remove(3);
    if let Record::Pair(p) = &mut nan {
        p.metrics.as_mut().unwrap().max_abs_diff = f64::NAN;
        p.verdict = Verdict::FailDrift;
    }
    recs.push(nan);
    // So do NaN and infinite decode steps and read-backs.
    let mut steps = sample().swap_remove(2);
    if let Record::Run(r) = &mut steps {
        r.profile.step_s = vec![0.5, f64::NAN, f64::INFINITY];
        r.profile.readback_s = Some(f64::NAN);
    }
    recs.push(steps);
    write_all(&path, &recs);
    let (back, _) = journal::read(&path).unwrap();
    match &back[recs.len() - 2] {
        Record::Pair(p) => assert!(p.metrics.as_ref().unwrap().max_abs_diff.is_nan()),
        other => panic!("expected a pair, got {other:?}"),
    }
    match &back[recs.len() - 1] {
        Record::Run(r) => {
            let s = &r.profile.step_s;
            assert_eq!(s.len(), 3);
            assert_eq!(s[0], 0.5);
            assert!(s[1].is_nan() && s[2] == f64::INFINITY, "{s:?}");
            assert!(r.profile.readback_s.unwrap().is_nan());
        }
        other => panic!("expected a run, got {other:?}"),
    }
}

#[test]
fn journals_written_before_the_latency_profile_still_read() {
    // Lines as a driftbench without repetitions, profiles, peaks or summaries wrote them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let old = [
        r#"{"type":"session","backend":"flex","dtype":"f16","load_s":0.5,"device":"cpu","model":null,"error":null}"#,
        r#"{"type":"run","backend":"flex","span":32,"dtype":"f16","kv_aligned":0,"seed":0,"route":"decode","status":"ok","wall_s":1.5,"logits_bytes":4096,"reason":null}"#,
        r#"{"type":"pair","backend":"flex","span":32,"dtype":"f16","kv_aligned":0,"seed":0,"verdict":"EXPECTED_DRIFT","reason":null,"metrics":null,"envelope":null}"#,
    ];
    std::fs::write(
        &path,
        old.join(
            "
",
        ) + "
",
    )
    .unwrap();
    let (back, warnings) = journal::read(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    match &back[..] {
        [Record::Session(s), Record::Run(r), Record::Pair(p)] => {
            assert_eq!((s.cost.as_ref(), s.peaks.as_ref()), (None, None));
            assert_eq!(r.rep, 0);
            assert_eq!(r.profile, RunProfile::default());
            assert!(p.repeat_mismatch.is_empty());
        }
        other => panic!("unexpected records {other:?}"),
    }
    // And what is not measured is not written: an unprofiled run's line has no new keys.
    let line = serde_json::to_string(&back[1]).unwrap();
    for key in ["rep", "step_s", "readback_s", "peak_rss_bytes"] {
        assert!(!line.contains(key), "{key} in {line}");
    }
}

#[test]
fn a_run_profile_round_trips_alone() {
    let p = RunProfile {
        step_s: vec![1e-3, 2e-3],
        readback_s: None,
        peak_rss_bytes: Some(1 << 30),
    };
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains("readback_s"), "{json}");
    assert_eq!(serde_json::from_str::<RunProfile>(&json).unwrap(), p);
    assert_eq!(
        serde_json::from_str::<RunProfile>("{}").unwrap(),
        RunProfile::default()
    );
    assert!(RunProfile::default().is_empty() && !p.is_empty());
}

#[test]
fn truncated_last_line_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let recs = sample();
    write_all(&path, &recs[..3]);
    // The process died halfway through writing the 4th line.
    let line = serde_json::to_string(&recs[3]).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(f);
    let (back, warnings) = journal::read(&path).unwrap();
    assert_eq!(back, recs[..3]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(":4:"), "{}", warnings[0]);
    assert!(warnings[0].contains("truncated"), "{}", warnings[0]);
}

#[test]
fn garbage_in_the_middle_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let recs = sample();
    let mut text = String::new();
    for (i, r) in recs.iter().enumerate() {
        if i == 2 {
            text.push_str("{\"type\":\"run\", this is not json}\n");
        }
        text.push_str(&serde_json::to_string(r).unwrap());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let err = journal::read(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::Parse { line: 3, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("results.jsonl:3:"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn a_complete_but_invalid_last_line_is_an_error() {
    // Newline-terminated and syntactically whole: not a torn write, so not tolerated.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let mut text = serde_json::to_string(&sample()[1]).unwrap();
    text.push_str("\n{\"type\":\"bogus\"}\n");
    std::fs::write(&path, text).unwrap();
    let err = journal::read(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::Parse { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn missing_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.jsonl");
    let err = journal::read(&path).unwrap_err();
    assert!(matches!(err, JournalError::Io { .. }));
    assert!(err.to_string().contains("nope.jsonl"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_directory_is_refused_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("results.jsonl");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening the FIFO would block until a writer comes: this returns at once.
    for (path, kind) in [(fifo, "a fifo"), (dir.path().to_path_buf(), "a directory")] {
        let err = journal::read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::NotRegularFile { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("not a regular file ({kind})")),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
}
