//! User mistakes give one clear error line and exit code 2 — never a panic.

use crate::common;
use common::{driftbench, library, mkfifo, output_within, root, text, write_config, LIMIT};
use driftbench_gguf::{GgufWriter, Value, ValueType};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

fn assert_one_error_line(o: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(o.status.code(), Some(2), "exit code; output:\n{}", text(o));
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {}", lines[0]);
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn missing_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "m.toml",
        "[model]\nkind = \"gguf\"\npath = \"nowhere/model.gguf\"\n[sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
    );
    let o = driftbench(&["sweep", &cfg]).output().unwrap();
    assert_one_error_line(&o, &["model.gguf", "not found", "fetch-model.sh"]);
}

#[test]
fn bad_config_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "bad.toml",
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\nffn = 8\nvocab = 16\n[sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\nspanz = 3\n",
    );
    let o = driftbench(&["sweep", &cfg]).output().unwrap();
    assert_one_error_line(&o, &["bad.toml", "spanz"]);
}

#[test]
fn bad_config_value() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "zero.toml",
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\nffn = 8\nvocab = 16\n[sweep]\nspans = [4, 0]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
    );
    let o = driftbench(&["sweep", &cfg]).output().unwrap();
    assert_one_error_line(&o, &["zero.toml", "sweep.spans", "0"]);
}

#[test]
fn missing_config_file() {
    let o = driftbench(&["sweep", "no/such/config.toml"])
        .output()
        .unwrap();
    assert_one_error_line(&o, &["no/such/config.toml"]);
}

#[test]
fn missing_plugin() {
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        "/no/such/libdriftbench_backend_x.so",
    ])
    .output()
    .unwrap();
    assert_one_error_line(&o, &["/no/such/libdriftbench_backend_x.so", "no such file"]);
}

#[test]
fn unknown_backend() {
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&["sweep", cfg.to_str().unwrap(), "--backend", "nosuch"])
        .output()
        .unwrap();
    assert_one_error_line(&o, &["nosuch", "no plugin found"]);
}

#[test]
fn plugin_of_the_wrong_abi_version() {
    let cfg = root().join("configs/ci.toml");
    let lib = library("driftbench_test_plugin");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", "wrong-abi")
    .output()
    .unwrap();
    assert_one_error_line(
        &o,
        &[
            "incompatible plugin ABI",
            "v2.0",
            "this driftbench speaks v1.4",
        ],
    );
}

const SYNTHETIC_MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\nffn = 8\nvocab = 16\n";

/// A config of `model_path` (a gguf) and `spans`.
fn gguf_config(dir: &Path, model_path: &Path, spans: &str) -> PathBuf {
    write_config(
        dir,
        "g.toml",
        &format!(
            "[model]\nkind = \"gguf\"\npath = {:?}\n[sweep]\nspans = [{spans}]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
            model_path.display().to_string()
        ),
    )
}

/// A tiny GGUF: llama metadata with `llama.context_length = context`, a small vocabulary,
/// and one F32 tensor per entry of `tensor_lens`.
fn tiny_gguf(path: &Path, context: Option<u32>, tensor_lens: &[usize]) {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("llama".into()))
        .add_metadata("general.name", Value::String("tiny".into()))
        .add_metadata(
            "tokenizer.ggml.tokens",
            Value::Array(
                ValueType::String,
                (0..16).map(|i| Value::String(format!("t{i}"))).collect(),
            ),
        );
    if let Some(c) = context {
        w.add_metadata("llama.context_length", Value::U32(c));
    }
    for (i, &n) in tensor_lens.iter().enumerate() {
        let values = vec![0.5f32; n];
        w.add_f32_tensor(format!("t{i}"), &[n as u64], &values);
    }
    w.write(path).unwrap();
}

#[test]
fn fifo_as_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let o = output_within(driftbench(&["sweep", f]), LIMIT);
    assert_one_error_line(&o, &[f, "not a regular file (a fifo)"]);
    assert!(!text(&o).contains("not found"), "{}", text(&o));
    let o = output_within(driftbench(&["run", "--config", f]), LIMIT);
    assert_one_error_line(&o, &[f, "not a regular file (a fifo)"]);
    let d = dir.path().to_str().unwrap();
    let o = output_within(driftbench(&["sweep", d]), LIMIT);
    assert_one_error_line(&o, &[d, "not a regular file (a directory)"]);
}

#[test]
fn fifo_as_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("results.jsonl");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let o = output_within(driftbench(&["report", f]), LIMIT);
    assert_one_error_line(&o, &[f, "not a regular file (a fifo)"]);
}

/// Writes a bad model file at the path.
type MakeFile = Box<dyn Fn(&Path)>;

#[test]
fn model_file_that_is_not_gguf_is_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.gguf");
    let cases: [(&str, MakeFile, &[&str]); 5] = [
        (
            "a text file",
            Box::new(|p| std::fs::write(p, "this is not a model\n").unwrap()),
            &["magic 0x74 0x68 0x69 0x73"],
        ),
        (
            "wrong magic",
            Box::new(|p| std::fs::write(p, b"GGML\x03\x00\x00\x00rest of a file").unwrap()),
            &["magic 0x47 0x47 0x4d 0x4c"],
        ),
        (
            "a truncated header",
            Box::new(|p| {
                tiny_gguf(p, Some(64), &[64]);
                let bytes = std::fs::read(p).unwrap();
                std::fs::write(p, &bytes[..40]).unwrap();
            }),
            &["truncated file"],
        ),
        (
            "truncated tensor data",
            Box::new(|p| {
                tiny_gguf(p, Some(64), &[64]);
                let bytes = std::fs::read(p).unwrap();
                std::fs::write(p, &bytes[..bytes.len() - 16]).unwrap();
            }),
            &["tensor `t0`", "out of bounds"],
        ),
        (
            "a sparse 100 GB file",
            Box::new(|p| {
                std::fs::File::create(p)
                    .unwrap()
                    .set_len(100 << 30)
                    .unwrap();
            }),
            &["magic 0x00 0x00 0x00 0x00"],
        ),
    ];
    for (what, make, needles) in cases {
        make(&model);
        let cfg = gguf_config(dir.path(), &model, "4");
        let t0 = Instant::now();
        let o = output_within(driftbench(&["sweep", cfg.to_str().unwrap()]), LIMIT);
        let m = model.display().to_string();
        let head = format!("model file {m} is not a GGUF file: ");
        let mut all = vec![head.as_str()];
        all.extend_from_slice(needles);
        assert_one_error_line(&o, &all);
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{what}: took {:?}",
            t0.elapsed()
        );
        assert!(
            !text(&o).contains("not a GGUF file: not a GGUF file"),
            "{}",
            text(&o)
        );
        let o = output_within(
            driftbench(&["run", "--model", model.to_str().unwrap(), "--span", "4"]),
            LIMIT,
        );
        assert_one_error_line(&o, &[&head]);
        std::fs::remove_file(&model).unwrap();
    }
    // A directory is not a model file either.
    let cfg = gguf_config(dir.path(), dir.path(), "4");
    let o = output_within(driftbench(&["sweep", cfg.to_str().unwrap()]), LIMIT);
    assert_one_error_line(&o, &["is not a regular file (a directory)"]);
}

#[test]
fn truncated_large_gguf_is_refused_without_reading_its_data() {
    // Three tensors past the first piece read (1 MiB): the file is cut inside the last one,
    // while the first one still lies inside the file.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("big.gguf");
    tiny_gguf(&model, Some(64), &[512 << 10, 8, 512 << 10]);
    let len = std::fs::metadata(&model).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&model)
        .unwrap()
        .set_len(len - 1024)
        .unwrap();
    let cfg = gguf_config(dir.path(), &model, "4");
    let o = output_within(driftbench(&["sweep", cfg.to_str().unwrap()]), LIMIT);
    assert_one_error_line(
        &o,
        &[
            &format!("model file {} is not a GGUF file: ", model.display()),
            "tensor `t2`",
            &format!("the file has {} bytes", len - 1024),
        ],
    );
}

#[test]
fn span_beyond_the_models_context_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ctx.gguf");
    tiny_gguf(&model, Some(64), &[64]);
    let m = model.display().to_string();
    let cfg = gguf_config(dir.path(), &model, "32, 128");
    let c = cfg.display().to_string();
    let o = output_within(driftbench(&["sweep", &c]), LIMIT);
    assert_one_error_line(
        &o,
        &[&format!(
            "error: {c}: sweep.spans: span 128 exceeds the model's context length 64 (llama.context_length in {m})"
        )],
    );
    let o = output_within(driftbench(&["run", "--model", &m, "--span", "65"]), LIMIT);
    assert_one_error_line(
        &o,
        &["--span: span 65 exceeds the model's context length 64", &m],
    );

    // Without llama.context_length, the loader's default of 2048 applies.
    tiny_gguf(&model, None, &[64]);
    let cfg = gguf_config(dir.path(), &model, "4096");
    let o = output_within(driftbench(&["sweep", cfg.to_str().unwrap()]), LIMIT);
    assert_one_error_line(
        &o,
        &[
            "sweep.spans: span 4096 exceeds the model's context length 2048",
            &m,
        ],
    );

    // A valid header followed by 100 GB of (sparse) data: checked without reading it.
    tiny_gguf(&model, Some(64), &[64]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&model)
        .unwrap()
        .set_len(100 << 30)
        .unwrap();
    let cfg = gguf_config(dir.path(), &model, "128");
    let t0 = Instant::now();
    let o = output_within(driftbench(&["sweep", cfg.to_str().unwrap()]), LIMIT);
    assert_one_error_line(&o, &["span 128 exceeds the model's context length 64"]);
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
}

#[test]
fn run_span_out_of_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "s.toml",
        &format!("{SYNTHETIC_MODEL}[sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n"),
    );
    let c = cfg.to_str().unwrap();
    for span in ["1000000000", "1048577", "0"] {
        let o = output_within(driftbench(&["run", "--config", c, "--span", span]), LIMIT);
        assert_one_error_line(
            &o,
            &[&format!("--span: `{span}`: expected"), "at most 1048576"],
        );
    }
}

#[test]
fn out_of_range_config_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = |extra: &str| {
        format!("[sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n{extra}")
    };
    let cases = [
        (
            format!(
                "{SYNTHETIC_MODEL}[sweep]\nspans = [9223372036854775807]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n"
            ),
            vec!["sweep.spans", "9223372036854775807", "at most 1048576"],
        ),
        (
            format!(
                "{SYNTHETIC_MODEL}[sweep]\nspans = [1000000000]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n"
            ),
            vec!["sweep.spans", "1000000000", "at most 1048576"],
        ),
        (
            format!("{SYNTHETIC_MODEL}{}", sweep("timeout_s = 1e300")),
            vec!["sweep.timeout_s", "1e300", "7 days"],
        ),
        (
            format!(
                "{}{}",
                SYNTHETIC_MODEL.replace("vocab = 16", "vocab = 1000000000000"),
                sweep("")
            ),
            vec!["model.vocab", "1000000000000", "at most 1048576"],
        ),
        (
            format!(
                "{}{}",
                SYNTHETIC_MODEL.replace("layers = 1", "layers = 100000000"),
                sweep("")
            ),
            vec!["model.layers", "100000000", "at most 256"],
        ),
        (
            format!("name = \"../..\"\n{SYNTHETIC_MODEL}{}", sweep("")),
            vec!["key `name`", "\"../..\"", "out/<name>"],
        ),
        (
            format!("name = \"/abs\"\n{SYNTHETIC_MODEL}{}", sweep("")),
            vec!["key `name`", "\"/abs\""],
        ),
        (
            format!("name = \"a\\nb\"\n{SYNTHETIC_MODEL}{}", sweep("")),
            vec!["key `name`", "\"a\\nb\""],
        ),
    ];
    for (toml, needles) in cases {
        let cfg = write_config(dir.path(), "r.toml", &toml);
        let o = output_within(driftbench(&["sweep", cfg.to_str().unwrap()]), LIMIT);
        let mut all = vec!["r.toml"];
        all.extend(needles);
        assert_one_error_line(&o, &all);
    }
}

#[test]
fn read_errors_say_the_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("none.toml");
    let journal = dir.path().join("none.jsonl");
    let bad = write_config(dir.path(), "bad.jsonl", "{\"type\":\"bogus\"}\n{}\n");
    for (args, needle) in [
        (vec!["sweep", cfg.to_str().unwrap()], "No such file"),
        (vec!["report", journal.to_str().unwrap()], "No such file"),
        (vec!["report", bad.to_str().unwrap()], "invalid record"),
    ] {
        let o = output_within(driftbench(&args), LIMIT);
        assert_one_error_line(&o, &[needle]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let cause = stderr.rsplit(": ").next().unwrap().trim();
        assert_eq!(stderr.matches(cause).count(), 1, "said twice: {stderr}");
    }
}

#[test]
fn a_name_with_a_line_break_stays_on_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library("driftbench_test_plugin");
    let sweep = "[sweep]\nspans = [3]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n";
    let cfg = write(&dir, "c.toml", &format!("{SYNTHETIC_MODEL}{sweep}"));
    let bad = write(
        &dir,
        "bad.toml",
        &format!(
            "{SYNTHETIC_MODEL}{sweep}[backends.\"a\\nb\\u001b[31m\"]\nplugin = \"testplugin\"\n"
        ),
    );
    let cases: [(Vec<&str>, &str); 2] = [
        (
            vec![
                "sweep",
                &cfg,
                "--plugin",
                lib.to_str().unwrap(),
                "--backend",
                "x\ny\x1b[31m",
            ],
            "x\\ny\u{FFFD}[31m",
        ),
        (
            vec!["sweep", &bad, "--plugin", lib.to_str().unwrap()],
            "backends.a\\nb",
        ),
    ];
    for (args, shown) in cases {
        let o = driftbench(&args).output().unwrap();
        assert_one_error_line(&o, &[shown]);
        assert!(!o.stderr.contains(&0x1b), "{}", text(&o));
    }
}

#[test]
fn a_cache_folder_that_is_a_file_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "cache", "not a folder");
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&["sweep", cfg.to_str().unwrap(), "--cache-dir", &file])
        .output()
        .unwrap();
    assert_one_error_line(&o, &["--cache-dir", &file, "not a folder (a regular file)"]);
    let o = driftbench(&["sweep", cfg.to_str().unwrap()])
        .env("DRIFTBENCH_CACHE_DIR", &file)
        .output()
        .unwrap();
    assert_one_error_line(&o, &["DRIFTBENCH_CACHE_DIR", &file, "not a folder"]);
}

#[test]
fn out_of_range_run_values_get_driftbench_messages_naming_the_option() {
    for (args, want) in [
        (
            ["--span", "-1"],
            "`-1`: expected a span of at least 1 token",
        ),
        (["--span", "x"], "`x`: expected a span of at least 1 token"),
        (
            ["--kv-aligned", "2"],
            "`2`: expected 0 (block-padded cache) or 1 (aligned cache)",
        ),
        (
            ["--kv-aligned", "-1"],
            "`-1`: expected 0 (block-padded cache) or 1",
        ),
        (["--seed", "-3"], "`-3`: expected a seed"),
        (["--block-size", "-1"], "`-1`: expected a block size from 1"),
    ] {
        let mut all = vec!["run", "--model", "m.gguf"];
        all.extend_from_slice(&args);
        let o = common::driftbench(&all).output().unwrap();
        let t = common::text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(args[0]) && t.contains(want), "{args:?}: {t}");
        assert!(!t.contains("unexpected argument"), "{args:?}: {t}");
    }
}
