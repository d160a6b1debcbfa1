//! The tokenizer of SmolLM2's own GGUF against llama.cpp's: the shipped text
//! (`prompts/pride-and-prejudice.txt`) gives exactly the ids llama.cpp gave it
//! (`prompts/pride-and-prejudice.tokens`, made once with llama-cpp-2 0.1.160, `add_special =
//! false`, `parse_special = false`), and those ids decode to the text. The short cases below
//! were tokenized by llama.cpp the same way, at the same time.

use driftbench_gguf::GgufTokenizer;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn smollm2() -> GgufTokenizer {
    let path = std::env::var_os("DRIFTBENCH_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        path.is_file(),
        "{} not found: run scripts/fetch-model.sh first (README's test command does)",
        path.display()
    );
    GgufTokenizer::open(&path, 256 << 20).unwrap()
}

/// The ids of a token file: decimal ids separated by whitespace, `#` lines are comments.
fn ids_of(text: &str) -> Vec<u32> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(|t| t.parse().unwrap())
        .collect()
}

#[test]
fn the_shipped_text_tokenizes_as_llama_cpp_tokenizes_it() {
    let t = smollm2();
    assert_eq!(t.vocab(), 49152);
    let text = std::fs::read_to_string(root().join("prompts/pride-and-prejudice.txt")).unwrap();
    let expected = ids_of(
        &std::fs::read_to_string(root().join("prompts/pride-and-prejudice.tokens")).unwrap(),
    );
    assert_eq!(expected.len(), 1155);
    let ids = t.encode(&text).unwrap();
    let first_difference = ids.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(
        (ids.len(), first_difference),
        (expected.len(), None),
        "ours vs llama.cpp's"
    );
    assert_eq!(t.decode(&expected).unwrap(), text);
}

/// Special-token strings, digits, non-ASCII text and runs of whitespace, with llama.cpp's
/// ids for each.
#[test]
fn edge_cases_tokenize_as_llama_cpp_tokenizes_them() {
    let t = smollm2();
    let cases: [(&str, &[u32]); 4] = [
        (
            // Plain text, never the control tokens' ids (1, 2 and 0).
            "<|im_start|>user\nHello<|im_end|>\n<|endoftext|>",
            &[
                44, 108, 306, 79, 3738, 108, 46, 4093, 198, 19556, 44, 108, 306, 79, 486, 108, 46,
                198, 44, 108, 486, 1714, 2692, 108, 46,
            ],
        ),
        (
            "In 1813, 42 pages cost 3.50 pounds; 1234567 is 7 digits.",
            &[
                788, 216, 33, 40, 33, 35, 28, 216, 36, 34, 5158, 1708, 216, 35, 30, 37, 32, 8473,
                43, 216, 33, 34, 35, 36, 37, 38, 39, 314, 216, 39, 18638, 30,
            ],
        ),
        (
            "naïve café — “quoted” 日本語 🙂",
            &[
                3546, 46494, 37366, 1841, 619, 385, 5036, 573, 17097, 241, 115, 40993, 179, 120,
                248, 47526,
            ],
        ),
        (
            "  leading spaces\n\n\ttabs   and   runs  \n I'll don't we've HE'S",
            &[
                216, 2899, 5600, 1116, 197, 100, 7366, 256, 284, 256, 7313, 32057, 339, 3060, 1326,
                982, 392, 3543, 18209, 23, 67,
            ],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(t.encode(text).unwrap(), expected, "{text:?}");
        assert_eq!(t.decode(expected).unwrap(), text);
    }
}
