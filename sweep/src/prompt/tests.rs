//! Prompt sources: windows placed by the seed, token files, and the errors that name a
//! file that cannot serve a span or a vocabulary.

use super::*;
use driftbench_core::model_spec::{ModelSpec, SyntheticModel};
use std::path::Path;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn smollm2() -> ModelSpec {
    ModelSpec::Gguf {
        path: root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    }
}

fn synthetic(vocab: usize) -> ModelSpec {
    ModelSpec::Synthetic(SyntheticModel {
        layers: 1,
        hidden: 8,
        heads: 2,
        kv_heads: 1,
        ffn: 16,
        vocab,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 0,
    })
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn corpus(tokens: Vec<u32>) -> Prompt {
    Prompt::File(Arc::new(PromptCorpus {
        file: PromptFile {
            kind: PromptKind::Tokens,
            path: "ids.tokens".into(),
            sha256: "0".repeat(64),
            tokens: tokens.len(),
        },
        tokens,
    }))
}

#[test]
fn random_prompts_are_the_seeded_ids_of_before() {
    for (seed, span) in [(0, 32), (7, 3), (2, 512)] {
        assert_eq!(
            Prompt::Random.tokens(seed, span, 49152).unwrap(),
            prompt_tokens(seed, span, 49152)
        );
    }
    assert_eq!(Prompt::default(), Prompt::Random);
}

#[test]
fn the_seed_places_the_window_inside_the_file() {
    let len = 1155;
    let mut starts = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let start = window_start(seed, 512, len).unwrap();
        assert!(start + 512 <= len);
        assert_eq!(window_start(seed, 512, len), Some(start), "deterministic");
        starts.insert(start);
    }
    assert!(starts.len() > 50, "seeds pick their own places: {starts:?}");
    // The documented recipe: one draw of the prompt stream's generator.
    let mut rng = SplitMix64::new(3 ^ PROMPT_SALT);
    assert_eq!(window_start(3, 100, 1155), Some(rng.below(1056) as usize));
    assert_eq!(
        window_start(9, 10, 10),
        Some(0),
        "a span as long as the file"
    );
    assert_eq!(window_start(9, 11, 10), None);
}

#[test]
fn a_pair_takes_its_window_of_the_file() {
    let ids: Vec<u32> = (0..100).collect();
    let p = corpus(ids.clone());
    for seed in [0, 1, 2, 99] {
        let start = window_start(seed, 16, 100).unwrap();
        assert_eq!(p.tokens(seed, 16, 1000).unwrap(), ids[start..start + 16]);
    }
    assert_eq!(p.tokens(5, 100, 1000).unwrap(), ids, "the whole file");
}

#[test]
fn a_file_shorter_than_the_span_names_its_count_and_the_span() {
    let e = corpus((0..100).collect()).tokens(0, 101, 1000).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ids.tokens: 100 tokens, fewer than the span 101"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "short.tokens", "1 2 3");
    let e = Prompt::load(&PromptSource::Tokens(f.clone()), &synthetic(8), 4).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: 3 tokens, fewer than the span 4", f.display())
    );
    assert_eq!(
        e.expected(),
        "a prompt of at least 4 tokens, the longest span (it has 3 tokens)"
    );
}

#[test]
fn a_token_id_beyond_the_vocab_names_the_file_the_id_and_the_vocab() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ids.tokens", "1 2 3\n4 8 5\n");
    let e = Prompt::load(&PromptSource::Tokens(f.clone()), &synthetic(8), 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: token id 8 is not below the vocab 8", f.display())
    );
    // Against the backend's own vocabulary too, when the pair runs.
    let p = Prompt::load(&PromptSource::Tokens(f), &synthetic(9), 2).unwrap();
    let e = p.tokens(0, 6, 6).unwrap_err().to_string();
    assert!(e.ends_with("is not below the vocab 6"), "{e}");
}

#[test]
fn token_files_hold_decimal_ids_with_comments_commas_or_a_json_array() {
    let ok = |t: &str| parse_token_ids(t, "f").unwrap();
    assert_eq!(ok("1 2\t3\n4,5 ,6\n"), [1, 2, 3, 4, 5, 6]);
    assert_eq!(ok("# made by hand\n  # indented comment\n7 8\n"), [7, 8]);
    assert_eq!(ok("[1, 2,\n 3]"), [1, 2, 3]);
    assert_eq!(ok("[ 4 ]"), [4]);
    assert_eq!(ok("[]"), Vec::<u32>::new());
    assert_eq!(ok(""), Vec::<u32>::new());
    let bad = |t: &str| parse_token_ids(t, "f").unwrap_err().to_string();
    assert_eq!(
        bad("1 2\n3 x4\n"),
        "f: line 2: `x4` is not a token id (expected decimal ids separated by whitespace or commas)"
    );
    assert!(bad("-1").contains("`-1` is not a token id"));
    assert!(bad("+1").contains("`+1` is not a token id"));
    assert!(bad("4294967296").contains("`4294967296`"), "beyond u32");
    assert!(bad("[1, 2").contains("`[1`"), "an unclosed array");
    assert!(bad("1 # not a comment").contains("`#`"));
}

#[test]
fn a_text_needs_a_model_with_a_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.txt", "some text");
    let e = Prompt::load(&PromptSource::Text(f.clone()), &synthetic(8), 1).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{}: cannot be tokenized: a synthetic model",
            f.display()
        )),
        "{e}"
    );
    let missing = ModelSpec::Gguf {
        path: dir.path().join("none.gguf"),
    };
    let e = Prompt::load(&PromptSource::Text(f), &missing, 1).unwrap_err();
    assert!(e.to_string().contains("none.gguf"), "{e}");
}

#[test]
fn an_unreadable_prompt_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = Prompt::load(
        &PromptSource::Tokens(dir.path().join("nothing")),
        &synthetic(8),
        1,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    assert!(
        e.expected().starts_with("a readable prompt file ("),
        "{e:?}"
    );
    let e = Prompt::load(&PromptSource::Text(dir.path().to_path_buf()), &smollm2(), 1).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let f = dir.path().join("latin1.txt");
    std::fs::write(&f, b"caf\xe9").unwrap();
    let e = Prompt::load(&PromptSource::Text(f), &smollm2(), 1).unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

/// The shipped text on SmolLM2: llama.cpp's ids (`prompts/pride-and-prejudice.tokens`),
/// its sha256 recorded, windows of it by seed; the token file gives the same prompts.
#[test]
fn the_shipped_text_gives_llama_cpp_s_ids_in_windows() {
    let text = root().join("prompts/pride-and-prejudice.txt");
    let ids_file = root().join("prompts/pride-and-prejudice.tokens");
    let expected =
        parse_token_ids(&std::fs::read_to_string(&ids_file).unwrap(), "expected").unwrap();
    let p = Prompt::load(&PromptSource::Text(text.clone()), &smollm2(), 512).unwrap();
    let file = p.file().unwrap().clone();
    assert_eq!((file.kind, file.tokens), (PromptKind::Text, 1155));
    let bytes = std::fs::read(&text).unwrap();
    assert_eq!(file.sha256, crate::digest::sha256_hex(&bytes));
    assert_eq!(file.path, text.display().to_string());
    let from_ids = Prompt::load(&PromptSource::Tokens(ids_file), &smollm2(), 512).unwrap();
    for seed in [0, 1, 2] {
        let start = window_start(seed, 512, 1155).unwrap();
        let window = p.tokens(seed, 512, 49152).unwrap();
        assert_eq!(window, expected[start..start + 512]);
        assert_eq!(from_ids.tokens(seed, 512, 49152).unwrap(), window);
    }
    let e = Prompt::load(&PromptSource::Text(text.clone()), &smollm2(), 2048).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: 1155 tokens, fewer than the span 2048", text.display())
    );
}

/// Special-token strings in a text are text: `<|im_start|>` is not id 1 (the ids are
/// llama.cpp's for the same text, `parse_special = false`).
#[test]
fn special_token_strings_in_a_text_stay_plain() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "chat.txt", "<|im_start|>user\nHello<|im_end|>");
    let p = Prompt::load(&PromptSource::Text(f), &smollm2(), 1).unwrap();
    let Prompt::File(c) = &p else { panic!() };
    assert_eq!(
        c.tokens,
        [44, 108, 306, 79, 3738, 108, 46, 4093, 198, 19556, 44, 108, 306, 79, 486, 108, 46]
    );
    assert!(!c.tokens.iter().any(|&id| id <= 2), "no control token ids");
}
