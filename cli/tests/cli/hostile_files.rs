//! Every file reader refuses what is not a regular file, before reading: a FIFO would hang it
//! and `/dev/zero` behind a symlink would fill memory. The replay bundle and its logits, the
//! reports `diff` reads and the peaks cache a sweep reads are each given both.

use crate::common;
use common::{driftbench, library, mkfifo, output_within, text, write_config, LIMIT};
use std::path::Path;
use std::process::{Command, Output};

const MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\n\
    kv_aligned = [1]\nseeds = [0]\n";

/// A sweep of the test plugin beside an instance whose decode is off: one FAIL pair, so a
/// replay bundle. `cache` is the cache folder (peaks).
fn failing_sweep(dir: &Path, cache: &Path) -> Command {
    let config =
        format!("{MODEL}\n[backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n");
    let cfg = write_config(dir, "sweep.toml", &config);
    let lib = library("driftbench_test_plugin");
    driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin,shifted",
        "--out",
        dir.join("out").to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ])
}

fn replay(bundle: &Path) -> Command {
    let lib = library("driftbench_test_plugin");
    driftbench(&[
        "replay",
        bundle.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ])
}

/// Exit 2, and an error naming `file` and what it is.
fn assert_refused(o: &Output, file: &Path, kind: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&file.display().to_string()),
        "file not named: {t}"
    );
    assert!(
        t.contains(&format!("not a regular file ({kind})")),
        "`{kind}` not said: {t}"
    );
    assert!(!t.contains("panicked"), "{t}");
}

/// Replace `file` with a FIFO, then with a symlink to `/dev/zero`, running `cmd` on each.
fn each_hostile_file(file: &Path, cmd: impl Fn() -> Command) {
    std::fs::remove_file(file).unwrap();
    mkfifo(file);
    assert_refused(&output_within(cmd(), LIMIT), file, "a fifo");
    std::fs::remove_file(file).unwrap();
    std::os::unix::fs::symlink("/dev/zero", file).unwrap();
    assert_refused(&output_within(cmd(), LIMIT), file, "a character device");
}

#[test]
fn replay_diff_and_the_peaks_cache_refuse_fifos_and_devices() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let o = output_within(failing_sweep(dir.path(), &cache), LIMIT);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = dir.path().join("out");
    let bundle = out.join("replay/shifted-f32-span3-kv1-seed0");

    // The bundle's logits, then the bundle itself.
    each_hostile_file(&bundle.join("decode.f32"), || replay(&bundle));
    each_hostile_file(&bundle.join("bundle.json"), || replay(&bundle));

    // Either side of a diff.
    let report = out.join("report.json");
    let copy = dir.path().join("copy.json");
    std::fs::copy(&report, &copy).unwrap();
    let diff = |old: &Path, new: &Path| {
        let (old, new) = (old.to_path_buf(), new.to_path_buf());
        move || driftbench(&["diff", old.to_str().unwrap(), new.to_str().unwrap()])
    };
    each_hostile_file(&report, diff(&report, &copy));
    std::fs::remove_file(&report).unwrap();
    std::fs::copy(&copy, &report).unwrap();
    each_hostile_file(&copy, diff(&report, &copy));

    // A sweep whose cache holds a FIFO or /dev/zero as its peaks file still finishes.
    let peaks = cache.join("peaks.json");
    std::fs::create_dir_all(&cache).unwrap();
    for hostile in ["fifo", "zero"] {
        let _ = std::fs::remove_file(&peaks);
        if hostile == "fifo" {
            mkfifo(&peaks);
        } else {
            std::os::unix::fs::symlink("/dev/zero", &peaks).unwrap();
        }
        let o = output_within(failing_sweep(dir.path(), &cache), LIMIT);
        assert_eq!(
            o.status.code(),
            Some(1),
            "peaks.json {hostile}: {}",
            text(&o)
        );
    }
}
