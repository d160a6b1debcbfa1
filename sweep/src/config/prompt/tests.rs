//! `[prompt]` in a config: its kinds, its path against the config's folder, and errors that
//! name the config, the key and the prompt file.

use crate::config::SweepConfig;
use crate::plan::SweepPlan;
use crate::prompt::{Prompt, PromptKind};
use std::path::Path;

/// A synthetic model of vocab 8, spans 2 and 4, and `prompt` (a TOML table or nothing).
fn config(prompt: &str) -> String {
    format!(
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\n\
         ffn = 16\nvocab = 8\n\n[sweep]\nspans = [4, 2]\ndtypes = [\"f32\"]\nkv_aligned = [1]\n\
         seeds = [0]\n\n{prompt}"
    )
}

fn parse(dir: &Path, prompt: &str) -> Result<SweepConfig, String> {
    SweepConfig::parse(&config(prompt), &dir.join("c.toml")).map_err(|e| e.to_string())
}

#[test]
fn without_a_prompt_table_prompts_are_random_ids() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = parse(dir.path(), "").unwrap();
    assert_eq!(cfg.prompt, Prompt::Random);
    assert_eq!(SweepPlan::of(&cfg, &[]).prompt, None);
    let cfg = parse(dir.path(), "[prompt]\nkind = \"random\"\n").unwrap();
    assert_eq!(cfg.prompt, Prompt::Random);
}

#[test]
fn a_token_file_resolves_against_the_config_folder_and_enters_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.tokens"), "# ids\n1 2 3 4 5 6 7\n").unwrap();
    let cfg = parse(
        dir.path(),
        "[prompt]\nkind = \"tokens\"\npath = \"ids.tokens\"\n",
    )
    .unwrap();
    let file = cfg.prompt.file().unwrap();
    assert_eq!(file.kind, PromptKind::Tokens);
    assert_eq!(
        file.path,
        dir.path().join("ids.tokens").display().to_string()
    );
    assert_eq!(file.tokens, 7);
    assert_eq!(SweepPlan::of(&cfg, &[]).prompt.as_ref(), Some(file));
}

#[test]
fn a_changed_prompt_file_is_a_change_of_plan_that_names_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.tokens");
    let table = "[prompt]\nkind = \"tokens\"\npath = \"ids.tokens\"\n";
    std::fs::write(&ids, "1 2 3 4").unwrap();
    let then = SweepPlan::of(&parse(dir.path(), table).unwrap(), &[]);
    std::fs::write(&ids, "1 2 3 5").unwrap();
    let now = SweepPlan::of(&parse(dir.path(), table).unwrap(), &[]);
    let (a, b) = (
        &then.prompt.as_ref().unwrap().sha256,
        &now.prompt.as_ref().unwrap().sha256,
    );
    assert_eq!(
        then.changes(&now),
        [format!(
            "prompt: tokens {} changed since the journal was written (sha256 {a} then, {b} now)",
            ids.display()
        )]
    );
    let random = SweepPlan::of(&parse(dir.path(), "").unwrap(), &[]);
    assert_eq!(
        random.changes(&now),
        [format!(
            "prompt: random token ids in the journal, tokens {} (4 tokens, sha256 {b}) now",
            ids.display()
        )]
    );
}

#[test]
fn prompt_errors_name_the_config_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.toml").display().to_string();
    let ids = dir.path().join("ids.tokens").display().to_string();
    std::fs::write(dir.path().join("ids.tokens"), "1 2 3").unwrap();
    let cases = [
        (
            "[prompt]\nkind = \"words\"\n",
            format!(
                "{c}: key `prompt.kind`: invalid value \"words\": expected one of \"random\", \
                 \"text\" (a UTF-8 text, tokenized with the model's vocabulary), \"tokens\" (a \
                 file of token ids)"
            ),
        ),
        (
            "[prompt]\nkind = \"random\"\npath = \"ids.tokens\"\n",
            format!(
                "{c}: key `prompt.path`: invalid value \"ids.tokens\": expected no path with \
                 kind = \"random\" (its prompts are drawn from the seed)"
            ),
        ),
        (
            "[prompt]\nkind = \"text\"\n",
            format!("{c}: key `prompt.path`: missing field `path` (kind = \"text\" reads a file)"),
        ),
        (
            "[prompt]\nkind = \"tokens\"\npath = \"ids.tokens\"\n",
            format!(
                "{c}: key `prompt.path`: invalid value \"{ids}\": expected a prompt of at least \
                 4 tokens, the longest span (it has 3 tokens)"
            ),
        ),
        (
            "[prompt]\nkind = \"text\"\npath = \"ids.tokens\"\n",
            format!(
                "{c}: key `prompt.path`: invalid value \"{ids}\": expected a text the model can \
                 tokenize (a synthetic model has no text vocabulary: use a gguf model, or a \
                 file of token ids)"
            ),
        ),
    ];
    for (table, expected) in cases {
        assert_eq!(parse(dir.path(), table).unwrap_err(), expected, "{table}");
    }
    std::fs::write(dir.path().join("ids.tokens"), "1 2 3 9 4").unwrap();
    assert_eq!(
        parse(
            dir.path(),
            "[prompt]\nkind = \"tokens\"\npath = \"ids.tokens\"\n"
        )
        .unwrap_err(),
        format!(
            "{c}: key `prompt.path`: invalid value \"{ids}\": expected token ids below the \
             model's vocab 8 (it holds 9)"
        )
    );
    let e = parse(dir.path(), "[prompt]\nkind = \"tokens\"\npath = \"none\"\n").unwrap_err();
    assert!(
        e.starts_with(&format!("{c}: key `prompt.path`: invalid value \"")),
        "{e}"
    );
    assert!(e.contains("expected a readable prompt file ("), "{e}");
    let e = parse(dir.path(), "[prompt]\nkind = \"tokens\"\nfile = \"x\"\n").unwrap_err();
    assert!(e.contains("unknown field `file`"), "{e}");
}
