//! Facts about the machine a backend runs on (CPU model, threads): for the CLI's Environment
//! section and the CPU plugins' probes.

/// CPU model name from `/proc/cpuinfo`, or the architecture where that is unavailable.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Threads a rayon-based CPU backend will use: `RAYON_NUM_THREADS` when set to a positive
/// number, else the logical CPUs available to this process.
pub fn cpu_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
