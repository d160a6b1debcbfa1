//! The plugin host: loading real plugins, older ABI tables, and the worker protocol fuzz replay.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test host [FILTER]`.

mod abi_v1_3;
mod abi_v1_4;
mod fuzz_replay;
mod load;

/// Held by every test that loads the test plugin in this process: its behaviour is chosen by
/// `DRIFTBENCH_TEST_PLUGIN_MODE`, an environment variable of the whole process.
static TEST_PLUGIN_MODE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Set the test plugin's mode for as long as the returned guard lives.
fn test_plugin_mode(mode: &str) -> std::sync::MutexGuard<'static, ()> {
    let guard = TEST_PLUGIN_MODE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::env::set_var("DRIFTBENCH_TEST_PLUGIN_MODE", mode);
    guard
}
