//! Prompt sources end to end: `run --prompt-text` / `--prompt-tokens` and a sweep's
//! `[prompt]` on the cpu backend with SmolLM2 (the shipped text and llama.cpp's ids of it),
//! the sha256 in the journal's header, `--resume` and `replay` refusing a changed file, and a
//! token prompt's replay bundle on the test plugin.

use crate::common;
use common::{driftbench, journal, library, root, text, write_config};
use driftbench_sweep::prompt::{parse_token_ids, window_start};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Output;

fn smollm2() -> PathBuf {
    let m = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        m.is_file(),
        "{} is missing: run scripts/fetch-model.sh (scripts/test.sh does)",
        m.display()
    );
    m
}

fn shipped(ext: &str) -> PathBuf {
    root().join(format!("prompts/pride-and-prejudice.{ext}"))
}

/// llama.cpp's ids of the shipped text.
fn shipped_ids() -> Vec<u32> {
    parse_token_ids(&std::fs::read_to_string(shipped("tokens")).unwrap(), "ids").unwrap()
}

fn sha256_hex(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `driftbench run` on cpu with SmolLM2 at span 8, seed 3, saving into `save`, plus `args`.
fn run_cpu(save: &Path, args: &[&str]) -> Output {
    library("driftbench_backend_cpu");
    let model = smollm2();
    let mut all = vec![
        "run",
        "--model",
        model.to_str().unwrap(),
        "--backend",
        "cpu",
        "--span",
        "8",
        "--seed",
        "3",
        "--save-logits",
        save.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    driftbench(&all).output().unwrap()
}

fn manifest_tokens(save: &Path) -> Vec<u32> {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("manifest.json")).unwrap())
            .unwrap();
    serde_json::from_value(m["tokens"].clone()).unwrap()
}

#[test]
fn run_takes_the_seed_s_window_of_a_text_or_of_its_token_ids() {
    let dir = tempfile::tempdir().unwrap();
    let ids = shipped_ids();
    let start = window_start(3, 8, ids.len()).unwrap();
    let text_file = shipped("txt");
    let ids_file = shipped("tokens");
    let mut prefills = Vec::new();
    for (flag, file, kind) in [
        ("--prompt-text", &text_file, "text"),
        ("--prompt-tokens", &ids_file, "tokens"),
    ] {
        let save = dir.path().join(kind);
        let o = run_cpu(&save, &[flag, file.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{t}");
        assert!(
            t.contains(&format!(
                "prompt: {kind} {} (1155 tokens, sha256 {})",
                file.display(),
                sha256_hex(file)
            )),
            "{t}"
        );
        assert_eq!(manifest_tokens(&save), ids[start..start + 8], "{kind}");
        prefills.push(std::fs::read(save.join("prefill.npy")).unwrap());
    }
    assert_eq!(
        prefills[0], prefills[1],
        "the same tokens give the same logits"
    );
}

#[test]
fn run_refuses_two_prompt_files_and_a_text_shorter_than_the_span() {
    let model = smollm2();
    let (text_file, ids_file) = (shipped("txt"), shipped("tokens"));
    let base = [
        "run",
        "--model",
        model.to_str().unwrap(),
        "--backend",
        "cpu",
    ];
    let o = driftbench(
        &[
            &base[..],
            &[
                "--prompt-text",
                text_file.to_str().unwrap(),
                "--prompt-tokens",
                ids_file.to_str().unwrap(),
            ],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot be used with"), "{}", text(&o));
    let o = driftbench(
        &[
            &base[..],
            &[
                "--span",
                "2048",
                "--prompt-text",
                text_file.to_str().unwrap(),
            ],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        format!(
            "error: --prompt-text: {}: 1155 tokens, fewer than the span 2048",
            text_file.display()
        )
    );
}

/// A sweep of SmolLM2 on cpu (f32, span 8, two seeds, no noise floor) whose prompts are
/// windows of `text`.
fn text_sweep(dir: &Path, text_file: &Path, resume: bool) -> Output {
    library("driftbench_backend_cpu");
    let cfg = write_config(
        dir,
        "text.toml",
        &format!(
            "[model]\nkind = \"gguf\"\npath = {:?}\n\n[sweep]\nspans = [8]\ndtypes = [\"f32\"]\n\
             kv_aligned = [1]\nseeds = [0, 1]\n\n[reference]\nnoise_floor = false\n\n\
             [profile]\nroofline = false\n\n[prompt]\nkind = \"text\"\npath = {:?}\n",
            smollm2().display().to_string(),
            text_file.display().to_string()
        ),
    );
    let out = dir.join("out");
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ];
    if resume {
        args.push("--resume");
    }
    driftbench(&args).output().unwrap()
}

#[test]
fn a_sweep_of_a_text_records_its_sha256_and_resume_refuses_a_changed_text() {
    let dir = tempfile::tempdir().unwrap();
    let text_file = dir.path().join("prose.txt");
    std::fs::copy(shipped("txt"), &text_file).unwrap();
    let o = text_sweep(dir.path(), &text_file, false);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let recs = journal(&dir.path().join("out"), &t);
    let prompt = &recs[0]["plan"]["prompt"];
    assert_eq!(prompt["kind"], "text", "{prompt}");
    assert_eq!(prompt["path"], text_file.display().to_string());
    assert_eq!(prompt["tokens"], 1155);
    let sha = sha256_hex(&text_file);
    assert_eq!(prompt["sha256"], sha.as_str());
    assert_eq!(common::pairs(&recs, "cpu").len(), 2);

    // The same text continues; a changed one is another sweep.
    let o = text_sweep(dir.path(), &text_file, true);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut changed = std::fs::read_to_string(&text_file).unwrap();
    changed.push_str("\nChapter 2\n");
    std::fs::write(&text_file, changed).unwrap();
    let o = text_sweep(dir.path(), &text_file, true);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&format!(
            "prompt: text {} changed since the journal was written (sha256 {sha} then, {} now)",
            text_file.display(),
            sha256_hex(&text_file)
        )),
        "{t}"
    );
}

/// A synthetic model the size of the test plugin's vocabulary (11), spans 3 and 5.
const PLUGIN_MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 11\n\n[sweep]\nspans = [3, 5]\ndtypes = [\"f32\"]\n\
    kv_aligned = [1]\nseeds = [0]\n";

fn replay(bundle: &Path) -> Output {
    let lib = library("driftbench_test_plugin");
    driftbench(&[
        "replay",
        bundle.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ])
    .output()
    .unwrap()
}

#[test]
fn a_token_prompt_s_bundle_replays_its_window_and_refuses_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.tokens");
    std::fs::write(
        &ids,
        "# a prompt for vocab 11\n[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]\n",
    )
    .unwrap();
    // The shifted instance's decode is off by 0.5: its pairs fail and leave bundles.
    let cfg = write_config(
        dir.path(),
        "ids.toml",
        &format!(
            "{PLUGIN_MODEL}\n[prompt]\nkind = \"tokens\"\npath = \"ids.tokens\"\n\n\
             [backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n"
        ),
    );
    let lib = library("driftbench_test_plugin");
    let out = dir.path().join("out");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin,shifted",
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let sha = sha256_hex(&ids);
    let recs = journal(&out, &text(&o));
    assert_eq!(recs[0]["plan"]["prompt"]["sha256"], sha.as_str());

    let bundle = out.join("replay/shifted-f32-span5-kv1-seed0");
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("bundle.json")).unwrap())
            .unwrap();
    assert_eq!(b["prompt"]["kind"], "tokens");
    assert_eq!(b["prompt"]["sha256"], sha.as_str());
    let all = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7];
    let start = window_start(0, 5, all.len()).unwrap();
    assert_eq!(b["tokens"], serde_json::json!(all[start..start + 5]));
    let o = replay(&bundle);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("reproduced (identical metrics)"), "{t}");
    assert!(
        t.contains(&format!("prompt: tokens {}", ids.display())),
        "{t}"
    );

    std::fs::write(&ids, "3 1 4 1 5 9 2 6 5 3 5 8 9 8").unwrap();
    let o = replay(&bundle);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&format!(
            "key `prompt.sha256`: {} has changed since the sweep: sha256 {} now, {sha} in the \
             bundle",
            ids.display(),
            sha256_hex(&ids)
        )),
        "{t}"
    );

    // Gone (a bundle taken to another machine): the bundle's own tokens replay.
    std::fs::remove_file(&ids).unwrap();
    let o = replay(&bundle);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("not found: replaying the bundle's own tokens"),
        "{t}"
    );
    assert!(t.contains("reproduced (identical metrics)"), "{t}");
}
