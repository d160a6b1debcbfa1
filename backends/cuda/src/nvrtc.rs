//! Find NVRTC where the CUDA toolkit installs it, so binaries built elsewhere run without
//! `LD_LIBRARY_PATH`.
//!
//! cudarc opens NVRTC by bare name (`libnvrtc.so.13`...), which only the loader's search path
//! finds, but toolkits install it under `<toolkit>/targets/<arch>-linux/lib` (with links in
//! `<toolkit>/lib64`), outside that path. Opening it once by full path is enough: the loader
//! then answers cudarc's bare-name open with the library already loaded (it matches on the
//! SONAME). The library stays loaded for the life of the process.

use std::path::{Path, PathBuf};

/// Toolkit roots to search: `$CUDA_HOME`, `$CUDA_PATH`, `/usr/local/cuda`, then every
/// `/usr/local/cuda-*` (newest name first) and `/opt/cuda`.
fn toolkit_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"]
        .iter()
        .filter_map(|v| std::env::var_os(v).map(PathBuf::from))
        .collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    if let Ok(dir) = std::fs::read_dir("/usr/local") {
        let mut versioned: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cuda-"))
            })
            .collect();
        versioned.sort();
        versioned.reverse();
        roots.extend(versioned);
    }
    roots.push(PathBuf::from("/opt/cuda"));
    roots
}

/// Library folders of a toolkit root.
fn lib_dirs(root: &Path) -> Vec<PathBuf> {
    let arch = std::env::consts::ARCH;
    let target = if arch == "aarch64" { "sbsa" } else { arch };
    vec![
        root.join("targets")
            .join(format!("{target}-linux"))
            .join("lib"),
        root.join("lib64"),
        root.join("lib"),
    ]
}

/// The newest `prefix.*` file in `dir` (by name), if any.
fn newest(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found.pop()
}

/// Open NVRTC from the first toolkit folder that has it (its builtins first, which NVRTC
/// itself opens by bare name). Returns the file opened, or `None` when none was found or
/// none would open.
pub(crate) fn preload() -> Option<PathBuf> {
    for root in toolkit_roots() {
        for dir in lib_dirs(&root) {
            let Some(nvrtc) = newest(&dir, "libnvrtc.so.") else {
                continue;
            };
            if let Some(builtins) = newest(&dir, "libnvrtc-builtins.so.") {
                // SAFETY: loading NVIDIA's library runs its initialisers, as cudarc would.
                if let Ok(lib) = unsafe { libloading::Library::new(&builtins) } {
                    std::mem::forget(lib); // never unloaded
                }
            }
            // SAFETY: as above.
            if let Ok(lib) = unsafe { libloading::Library::new(&nvrtc) } {
                std::mem::forget(lib);
                return Some(nvrtc);
            }
        }
    }
    None
}
