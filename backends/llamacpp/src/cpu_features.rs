//! Which CPU features llama.cpp was built for, against what this CPU has: a default build of
//! the -sys crate is baseline x86-64 (its build script takes the features from Rust's target
//! features), far slower than llama.cpp as its users build it.

/// llama.cpp's name for a feature and /proc/cpuinfo's flags that make it.
const FEATURES: [(&str, &[&str]); 9] = [
    ("AVX", &["avx"]),
    ("AVX2", &["avx2"]),
    ("FMA", &["fma"]),
    ("F16C", &["f16c"]),
    ("BMI2", &["bmi2"]),
    (
        "AVX512",
        &["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"],
    ),
    ("AVX512_VBMI", &["avx512vbmi"]),
    ("AVX512_VNNI", &["avx512_vnni"]),
    ("AVX512_BF16", &["avx512_bf16"]),
];

/// The features `system_info` (llama.cpp's `X = 1 | Y = 0 | ...`) says are built in.
pub fn built(system_info: &str) -> Vec<&'static str> {
    FEATURES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            system_info
                .split('|')
                .filter_map(|kv| kv.split_once('='))
                .any(|(k, v)| {
                    k.trim().rsplit(':').next().map(str::trim) == Some(name) && v.trim() == "1"
                })
        })
        .collect()
}

/// The features this CPU has, from /proc/cpuinfo's `flags` (empty where it cannot be read).
pub fn present(cpuinfo: &str) -> Vec<&'static str> {
    let Some(flags) = cpuinfo.lines().find(|l| l.starts_with("flags")) else {
        return Vec::new();
    };
    let flags: Vec<&str> = flags.split_whitespace().collect();
    FEATURES
        .iter()
        .filter(|(_, need)| need.iter().all(|f| flags.contains(f)))
        .map(|(name, _)| *name)
        .collect()
}

/// One line for the report: what llama.cpp uses, and what the CPU has that it does not.
pub fn summary(system_info: &str) -> String {
    let built = built(system_info);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let missing: Vec<&str> = present(&cpuinfo)
        .into_iter()
        .filter(|f| !built.contains(f))
        .collect();
    let uses = if built.is_empty() {
        "none of the x86 vector extensions".to_string()
    } else {
        built.join(" ")
    };
    if missing.is_empty() {
        format!("built for {uses}")
    } else {
        format!(
            "built for {uses}; this CPU also has {} (build with scripts/build-llamacpp.sh for the CPU it runs on)",
            missing.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_features_are_read_from_system_info() {
        let info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 0 | \
                    AVX512_VNNI = 1 | REPACK = 1 |";
        assert_eq!(built(info), ["AVX", "AVX2", "FMA", "F16C", "AVX512_VNNI"]);
    }

    #[test]
    fn present_features_need_every_flag() {
        let cpuinfo = "processor : 0\nflags : fpu avx avx2 fma avx512f avx512bw\n";
        assert_eq!(
            present(cpuinfo),
            ["AVX", "AVX2", "FMA"],
            "AVX512 lacks dq/vl/cd"
        );
        assert!(present("no flags here").is_empty());
    }
}
