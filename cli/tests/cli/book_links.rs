//! The book has no broken links: every relative link of every chapter (and of the files the
//! chapters include) names a file that exists, every chapter is in SUMMARY.md, and every
//! `{{#include}}` resolves. `mdbook build` runs in CI too; this catches what it does not.

use crate::common;
use common::root;
use std::path::{Path, PathBuf};

/// `(target, line)` of every markdown link `[..](target)` in `text` that is not a URL or an
/// in-page anchor, without its `#fragment`.
fn links(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut in_code = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        for piece in line.split("](").skip(1) {
            let Some(end) = piece.find(')') else { continue };
            let target = &piece[..end];
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap_or("");
            if !file.is_empty() {
                out.push((file.to_string(), n + 1));
            }
        }
    }
    out
}

fn check_file(path: &Path, broken: &mut Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let dir = path.parent().unwrap();
    for (target, line) in links(&text) {
        if !dir.join(&target).exists() {
            broken.push(format!("{}:{line}: {target}", path.display()));
        }
    }
}

#[test]
fn the_book_has_no_broken_links() {
    let src = root().join("book/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let mut broken = Vec::new();
    let mut chapters: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            chapters.push(p);
        }
    }
    assert!(chapters.len() > 5, "chapters found: {chapters:?}");
    for p in &chapters {
        let name = p.file_name().unwrap().to_string_lossy();
        if name != "SUMMARY.md" {
            assert!(
                summary.contains(&format!("({name})")),
                "{name} is not in SUMMARY.md"
            );
        }
        check_file(p, &mut broken);
        let text = std::fs::read_to_string(p).unwrap();
        for inc in text.split("{{#include ").skip(1) {
            let target = inc.split("}}").next().unwrap().trim();
            let file = src.join(target.split(':').next().unwrap());
            assert!(file.is_file(), "{name}: include {target} does not exist");
            // Links inside an included file resolve from the including chapter.
            let included = std::fs::read_to_string(&file).unwrap();
            for (t, line) in links(&included) {
                if !src.join(&t).exists() {
                    broken.push(format!("{} (included):{line}: {t}", file.display()));
                }
            }
        }
    }
    for (t, line) in links(&summary) {
        if !src.join(&t).exists() {
            broken.push(format!("SUMMARY.md:{line}: {t}"));
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
