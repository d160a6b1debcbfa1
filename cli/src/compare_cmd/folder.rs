//! A `run --save-logits` folder: what its manifest says the matrices are (model, vocab,
//! tokens), checked before any matrix is read, and each matrix checked against it.

use crate::args::SavedRoute;
use crate::npy;
use anyhow::{anyhow, bail, Result};
use driftbench_sweep::input_file;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The most a manifest may hold: its tokens, metrics and drift curve are a few KiB per 1000
/// positions.
const MANIFEST_CAP: u64 = 64 << 20;

/// A `--save-logits` folder whose manifest has been read and checked.
pub struct Folder {
    /// The folder, as given.
    pub dir: PathBuf,
    /// Its manifest.json.
    pub manifest_path: PathBuf,
    /// The whole manifest (the run's backend, dtype and so on, shown beside the metrics).
    pub manifest: Value,
    /// `model`: the model spec the run used.
    pub model: Value,
    /// `vocab`: the width of a row.
    pub vocab: usize,
    /// `tokens`: the prompt, one row per token.
    pub tokens: Vec<u64>,
}

impl Folder {
    /// Read and check `dir/manifest.json`: `model`, `vocab` (at least 1), `tokens` (token
    /// ids) and `span` (their count) are there and agree with each other and with
    /// `logits.shape`, where it is given.
    pub fn open(dir: &Path) -> Result<Folder> {
        let manifest_path = dir.join("manifest.json");
        let text = input_file::read_text(&manifest_path, MANIFEST_CAP)?;
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow!("{}: not JSON: {e}", manifest_path.display()))?;
        let at = manifest_path.display();
        if !manifest.is_object() {
            bail!("{at}: not a --save-logits manifest (not a JSON object)");
        }
        let key = |k: &str| {
            manifest
                .get(k)
                .ok_or_else(|| anyhow!("{at}: no `{k}` key (not a --save-logits manifest?)"))
        };
        let model = key("model")?.clone();
        let vocab = key("vocab")?;
        let vocab = vocab
            .as_u64()
            .filter(|v| *v >= 1)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| anyhow!("{at}: `vocab` is {vocab}, expected an integer >= 1"))?;
        let tokens = key("tokens")?
            .as_array()
            .and_then(|ts| {
                ts.iter()
                    .map(|t| t.as_u64().filter(|t| *t <= u64::from(u32::MAX)))
                    .collect::<Option<Vec<u64>>>()
            })
            .ok_or_else(|| anyhow!("{at}: `tokens` is not an array of token ids"))?;
        let span = key("span")?;
        if span.as_u64() != Some(tokens.len() as u64) {
            bail!(
                "{at}: `span` is {span} but `tokens` holds {} tokens",
                tokens.len()
            );
        }
        if let Some(shape) = manifest.pointer("/logits/shape") {
            let want = serde_json::json!([tokens.len(), vocab]);
            if *shape != want {
                bail!("{at}: `logits.shape` is {shape} but `span` and `vocab` say {want}");
            }
        }
        Ok(Folder {
            dir: dir.to_path_buf(),
            manifest_path,
            manifest,
            model,
            vocab,
            tokens,
        })
    }

    /// The file of `route` in this folder.
    pub fn file(&self, route: SavedRoute) -> PathBuf {
        self.dir.join(file_name(route))
    }

    /// Read the matrix of `route`, refusing one whose shape is not `[span, vocab]` or whose
    /// dtype is not the manifest's `logits.dtype` (where it is given).
    pub fn matrix(&self, route: SavedRoute) -> Result<npy::Array> {
        let path = self.file(route);
        let array = npy::read(&path)?;
        let (rows, cols) = (self.tokens.len(), self.vocab);
        if (array.rows, array.cols) != (rows, cols) {
            bail!(
                "{}: shape ({}, {}), but {} says [span, vocab] = [{rows}, {cols}]",
                path.display(),
                array.rows,
                array.cols,
                self.manifest_path.display()
            );
        }
        if let Some(dtype) = self.manifest.pointer("/logits/dtype") {
            if dtype.as_str() != Some(array.dtype_name()) {
                bail!(
                    "{}: {}, but {} says `logits.dtype` is {dtype}",
                    path.display(),
                    array.dtype_name(),
                    self.manifest_path.display()
                );
            }
        }
        Ok(array)
    }

    /// A manifest value for display (`?` when it is missing).
    pub fn shown(&self, key: &str) -> String {
        match self.manifest.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "?".to_string(),
        }
    }
}

/// The file name of `route`'s matrix.
pub fn file_name(route: SavedRoute) -> &'static str {
    match route {
        SavedRoute::Prefill => "prefill.npy",
        SavedRoute::Decode => "decode.npy",
    }
}

/// Refuse two folders whose matrices are not rows of the same prompt through the same model:
/// their `model`, `vocab` and `tokens` must be equal. The error names the key, both folders
/// and both values.
pub fn check_same(a: &Folder, b: &Folder) -> Result<()> {
    let differ = |key: &str, va: String, vb: String| {
        anyhow!(
            "the folders hold different runs: manifest key `{key}` differs: A ({}) has {va}, \
             B ({}) has {vb}",
            a.manifest_path.display(),
            b.manifest_path.display()
        )
    };
    if a.model != b.model {
        return Err(differ("model", a.model.to_string(), b.model.to_string()));
    }
    if a.vocab != b.vocab {
        return Err(differ("vocab", a.vocab.to_string(), b.vocab.to_string()));
    }
    if a.tokens != b.tokens {
        let (na, nb) = (a.tokens.len(), b.tokens.len());
        // The first position where they part, rather than two lists of thousands of ids.
        let at = a.tokens.iter().zip(&b.tokens).position(|(x, y)| x != y);
        let show = |ts: &[u64], n: usize| match at {
            Some(i) => format!("token {} at position {i} (of {n} tokens)", ts[i]),
            None => format!("{n} tokens"),
        };
        return Err(differ("tokens", show(&a.tokens, na), show(&b.tokens, nb)));
    }
    Ok(())
}
