//! The fuzz target `config` replayed on every test run (its corpus and regressions, then
//! seeded mutations: see `fuzz/replay.rs`). Its seeds are copies of `configs/*.toml` and
//! hand-written files.

#[path = "../../../fuzz/replay.rs"]
mod replay;
#[path = "../../../fuzz/targets/config.rs"]
mod target;

#[test]
fn fuzz_config() {
    replay::fuzz("config", target::config);
}
