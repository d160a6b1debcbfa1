//! The fuzz targets `config` and `bundle` replayed on every test run (their corpora and
//! regressions, then seeded mutations: see `fuzz/replay.rs`). The config seeds are copies of
//! `configs/*.toml` and hand-written files; the bundle seeds are `bundle.json` files of real
//! sweeps (`real-*`, checked here to still read) and hostile variants of them.

#[path = "../../../fuzz/targets/bundle.rs"]
mod bundle_target;
#[path = "../../../fuzz/targets/config.rs"]
mod config_target;
#[path = "../../../fuzz/replay.rs"]
mod replay;

mod target {
    pub use super::bundle_target::bundle;
    pub use super::config_target::config;
}

#[test]
fn fuzz_config() {
    replay::fuzz("config", target::config);
}

#[test]
fn fuzz_bundle() {
    replay::fuzz("bundle", target::bundle);
}

/// The real bundles of `fuzz/corpus/bundle/` still read (a format change that made them
/// garbage would leave the fuzzer mutating refusals), and reach the logits reader.
#[test]
fn bundle_seeds_still_read() {
    use driftbench_sweep::replay::{Bundle, BUNDLE_FILE};
    let dir = replay::fuzz_dir().join("corpus").join("bundle");
    let mut real = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("real-") {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(&path, tmp.path().join(BUNDLE_FILE)).unwrap();
        let b = Bundle::read(tmp.path())
            .unwrap_or_else(|e| panic!("{name} no longer reads ({e}): make it again"));
        assert!(
            b.logits.prefill.is_some() && b.logits.decode.is_some(),
            "{name}"
        );
        real += 1;
    }
    assert!(real >= 3, "{real} real bundles in {}", dir.display());
}
