//! The tokenizer on a tiny byte-level vocabulary written in memory: what its pre-tokenizer
//! splits, that special-token strings stay text, and what a file it cannot serve says.

use super::*;
use crate::value::{Value, ValueType};
use crate::writer::GgufWriter;

/// GPT-2's byte-to-character map: printable bytes stand for themselves, the others for the
/// characters from U+0100 on, in byte order.
fn byte_chars() -> Vec<char> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut next = 256u32;
    (0..=255u8)
        .map(|b| {
            if printable(b) {
                char::from(b)
            } else {
                next += 1;
                char::from_u32(next - 1).unwrap()
            }
        })
        .collect()
}

fn strings(items: &[String]) -> Value {
    Value::Array(
        ValueType::String,
        items.iter().map(|s| Value::String(s.clone())).collect(),
    )
}

/// The 256 byte tokens, then `extra` tokens, with `merges`; `model` and `pre` as given.
fn tiny(model: &str, pre: &str, extra: &[&str], merges: &[&str]) -> Gguf {
    let mut tokens: Vec<String> = byte_chars().iter().map(char::to_string).collect();
    tokens.extend(extra.iter().map(|s| s.to_string()));
    let merges: Vec<String> = merges.iter().map(|s| s.to_string()).collect();
    let mut w = GgufWriter::new();
    w.add_metadata("tokenizer.ggml.model", Value::String(model.into()))
        .add_metadata("tokenizer.ggml.pre", Value::String(pre.into()))
        .add_metadata("tokenizer.ggml.tokens", strings(&tokens))
        .add_metadata("tokenizer.ggml.merges", strings(&merges));
    Gguf::from_bytes(w.to_bytes().unwrap()).unwrap()
}

/// Byte tokens and merges for `he`, `hel`, `hell`, `hello`, ` h` (as `Ġh`), `12` and a
/// `<|im_start|>` token (id 256), as a special token sits in a real vocabulary.
fn hello() -> GgufTokenizer {
    let extra = ["<|im_start|>", "he", "hel", "hell", "hello", "Ġh", "12"];
    let merges = ["h e", "he l", "hel l", "hell o", "Ġ h", "1 2"];
    GgufTokenizer::from_gguf(&tiny("gpt2", "smollm", &extra, &merges)).unwrap()
}

fn id(t: &GgufTokenizer, s: &str) -> u32 {
    t.inner.token_to_id(s).unwrap()
}

#[test]
fn merges_apply_in_rank_order_without_a_prefix_space() {
    let t = hello();
    assert_eq!(t.vocab(), 256 + 7);
    assert_eq!(t.encode("hello").unwrap(), vec![id(&t, "hello")]);
    // A space starts the next word's piece; none is added before the first word.
    assert_eq!(t.encode(" h").unwrap(), vec![id(&t, "Ġh")]);
    // `h e` (rank 0) and `he l` merge before `Ġ h` (rank 4) could.
    assert_eq!(
        t.encode("hello hel").unwrap(),
        vec![id(&t, "hello"), id(&t, "Ġ"), id(&t, "hel")]
    );
}

#[test]
fn digits_are_split_one_by_one_before_merging() {
    let t = hello();
    // `1 2` is a merge, but the digits never reach BPE together.
    assert_eq!(t.encode("12").unwrap(), vec![id(&t, "1"), id(&t, "2")]);
}

#[test]
fn special_token_strings_stay_plain_text() {
    let t = hello();
    let ids = t.encode("<|im_start|>hello").unwrap();
    assert!(!ids.contains(&256), "{ids:?} holds the special token's id");
    assert_eq!(ids.len(), "<|im_start|>".len() + 1, "{ids:?}");
    assert_eq!(t.decode(&ids).unwrap(), "<|im_start|>hello");
}

#[test]
fn any_text_decodes_back_to_itself() {
    let t = hello();
    for text in [
        "",
        "hello 12 world",
        "  tabs\tand\nnewlines  ",
        "naïve café — 日本 🙂",
    ] {
        let ids = t.encode(text).unwrap();
        assert!(ids.iter().all(|&i| (i as usize) < t.vocab()));
        assert_eq!(t.decode(&ids).unwrap(), text);
    }
}

#[test]
fn an_id_beyond_the_vocab_does_not_decode() {
    let t = hello();
    let e = t.decode(&[1, 263]).unwrap_err().to_string();
    assert_eq!(
        e,
        "<in-memory GGUF>: token id 263 is not below the vocab 263"
    );
}

#[test]
fn a_tokenizer_it_cannot_serve_is_named() {
    let e = GgufTokenizer::from_gguf(&tiny("llama", "default", &[], &[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<in-memory GGUF>: tokenizer.ggml.model is \"llama\": only \"gpt2\" (byte-level BPE) is supported"
    );
    let e = GgufTokenizer::from_gguf(&tiny("gpt2", "llama3", &[], &[])).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "<in-memory GGUF>: tokenizer.ggml.pre is \"llama3\": supported are smollm,"
        ),
        "{e}"
    );
    let e = GgufTokenizer::from_gguf(&tiny("gpt2", "smollm", &[], &["ab"])).unwrap_err();
    assert!(
        e.to_string().contains("tokenizer.ggml.merges[0] is \"ab\""),
        "{e}"
    );
    let bare = Gguf::from_bytes(GgufWriter::new().to_bytes().unwrap()).unwrap();
    let e = GgufTokenizer::from_gguf(&bare).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("<in-memory GGUF>: metadata key `tokenizer.ggml.model` is missing"),
        "{e}"
    );
}
