//! Record the git commit and rustc version for the report's Environment section.

use std::process::Command;

fn main() {
    let run = |cmd: &str, args: &[&str]| -> Option<String> {
        let out = Command::new(cmd).args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    if let Some(c) = run("git", &["rev-parse", "--short=12", "HEAD"]) {
        let dirty = run("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
        println!(
            "cargo:rustc-env=DRIFTBENCH_COMMIT={c}{}",
            if dirty { "-dirty" } else { "" }
        );
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Some(v) = run(&rustc, &["--version"]) {
        println!("cargo:rustc-env=DRIFTBENCH_RUSTC={v}");
    }
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/index");
}
