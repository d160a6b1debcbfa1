//! `include/driftbench_plugin.h` against the Rust definitions: a C program built with the
//! system's C compiler prints every size, field offset and constant the header declares, and
//! each must equal its Rust counterpart. The header is kept by hand; this keeps it honest.

use driftbench_core::unwritten::{UNWRITTEN64_BITS, UNWRITTEN_BITS};
use driftbench_core::Dtype;
use driftbench_plugin_abi::{
    route, status, DbBuf, PluginHeader, PluginV1, ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL, MAGIC,
    V1_0_TABLE_SIZE, V1_1_TABLE_SIZE, V1_2_TABLE_SIZE, V1_3_TABLE_SIZE,
};
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;

/// The C side: `name value` per line.
const PROGRAM: &str = r#"
#include <stdio.h>
#include <string.h>
#include "driftbench_plugin.h"
#define SIZE(t) printf("sizeof.%s %zu\n", #t, sizeof(t))
#define OFF(t, f) printf("offset.%s.%s %zu\n", #t, #f, offsetof(t, f))
#define NUM(c) printf("%s %llu\n", #c, (unsigned long long)(c))
int main(void) {
    SIZE(DbBuf); OFF(DbBuf, ptr); OFF(DbBuf, cap); OFF(DbBuf, len);
    SIZE(DbPluginHeader); OFF(DbPluginHeader, magic); OFF(DbPluginHeader, abi_major);
    OFF(DbPluginHeader, abi_minor); OFF(DbPluginHeader, struct_size);
    SIZE(DbPluginV1);
    OFF(DbPluginV1, header); OFF(DbPluginV1, name); OFF(DbPluginV1, version);
    OFF(DbPluginV1, probe); OFF(DbPluginV1, open); OFF(DbPluginV1, prefill);
    OFF(DbPluginV1, decode); OFF(DbPluginV1, close); OFF(DbPluginV1, configure);
    OFF(DbPluginV1, last_counters); OFF(DbPluginV1, trace); OFF(DbPluginV1, last_profile);
    OFF(DbPluginV1, peaks); OFF(DbPluginV1, prefill_f64); OFF(DbPluginV1, decode_f64);
    NUM(DB_MAGIC); NUM(DB_ABI_MAJOR); NUM(DB_ABI_MINOR);
    NUM(DB_STATUS_OK); NUM(DB_STATUS_RUN); NUM(DB_STATUS_UNAVAILABLE); NUM(DB_STATUS_INVALID);
    NUM(DB_STATUS_LOAD); NUM(DB_STATUS_PANIC); NUM(DB_STATUS_POISONED);
    NUM(DB_DTYPE_F32); NUM(DB_DTYPE_F16); NUM(DB_DTYPE_BF16); NUM(DB_DTYPE_F64);
    NUM(DB_ROUTE_PREFILL); NUM(DB_ROUTE_DECODE); NUM(DB_POISON_BITS);
    NUM(DB_POISON_BITS_F64);
    NUM(DB_V1_0_TABLE_SIZE); NUM(DB_V1_1_TABLE_SIZE); NUM(DB_V1_2_TABLE_SIZE);
    NUM(DB_V1_3_TABLE_SIZE); NUM(DB_V1_4_TABLE_SIZE);
    printf("DB_ENTRY_SYMBOL_LEN %zu\n", strlen(DB_ENTRY_SYMBOL));
    printf("DB_ENTRY_SYMBOL %s\n", DB_ENTRY_SYMBOL);
    return 0;
}
"#;

/// The C compiler to use (`$CC`, else `cc`), or why there is none.
fn compiler() -> Result<String, String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    match Command::new(&cc).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(cc),
        Ok(o) => Err(format!("`{cc} --version` exited with {}", o.status)),
        Err(e) => Err(format!("cannot run `{cc}`: {e}")),
    }
}

/// Build and run the C program; its `name value` lines.
fn c_values(cc: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("layout.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = dir.path().join("layout");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let out = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the header does not compile cleanly:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn the_c_header_matches_the_rust_abi() {
    let cc = match compiler() {
        Ok(cc) => cc,
        Err(why) if std::env::var_os("DRIFTBENCH_REQUIRE_CC").is_none() => {
            eprintln!("SKIPPED the_c_header_matches_the_rust_abi: no C compiler ({why})");
            return;
        }
        Err(why) => panic!("DRIFTBENCH_REQUIRE_CC is set but there is no C compiler: {why}"),
    };
    let c = c_values(&cc);
    let entry = std::str::from_utf8(&ENTRY_SYMBOL[..ENTRY_SYMBOL.len() - 1]).unwrap();
    let rust: Vec<(&str, String)> = vec![
        ("sizeof.DbBuf", size_of::<DbBuf>().to_string()),
        ("offset.DbBuf.ptr", offset_of!(DbBuf, ptr).to_string()),
        ("offset.DbBuf.cap", offset_of!(DbBuf, cap).to_string()),
        ("offset.DbBuf.len", offset_of!(DbBuf, len).to_string()),
        (
            "sizeof.DbPluginHeader",
            size_of::<PluginHeader>().to_string(),
        ),
        (
            "offset.DbPluginHeader.magic",
            offset_of!(PluginHeader, magic).to_string(),
        ),
        (
            "offset.DbPluginHeader.abi_major",
            offset_of!(PluginHeader, abi_major).to_string(),
        ),
        (
            "offset.DbPluginHeader.abi_minor",
            offset_of!(PluginHeader, abi_minor).to_string(),
        ),
        (
            "offset.DbPluginHeader.struct_size",
            offset_of!(PluginHeader, struct_size).to_string(),
        ),
        ("sizeof.DbPluginV1", size_of::<PluginV1>().to_string()),
        (
            "offset.DbPluginV1.header",
            offset_of!(PluginV1, header).to_string(),
        ),
        (
            "offset.DbPluginV1.name",
            offset_of!(PluginV1, name).to_string(),
        ),
        (
            "offset.DbPluginV1.version",
            offset_of!(PluginV1, version).to_string(),
        ),
        (
            "offset.DbPluginV1.probe",
            offset_of!(PluginV1, probe).to_string(),
        ),
        (
            "offset.DbPluginV1.open",
            offset_of!(PluginV1, open).to_string(),
        ),
        (
            "offset.DbPluginV1.prefill",
            offset_of!(PluginV1, prefill).to_string(),
        ),
        (
            "offset.DbPluginV1.decode",
            offset_of!(PluginV1, decode).to_string(),
        ),
        (
            "offset.DbPluginV1.close",
            offset_of!(PluginV1, close).to_string(),
        ),
        (
            "offset.DbPluginV1.configure",
            offset_of!(PluginV1, configure).to_string(),
        ),
        (
            "offset.DbPluginV1.last_counters",
            offset_of!(PluginV1, last_counters).to_string(),
        ),
        (
            "offset.DbPluginV1.trace",
            offset_of!(PluginV1, trace).to_string(),
        ),
        (
            "offset.DbPluginV1.last_profile",
            offset_of!(PluginV1, last_profile).to_string(),
        ),
        (
            "offset.DbPluginV1.peaks",
            offset_of!(PluginV1, peaks).to_string(),
        ),
        (
            "offset.DbPluginV1.prefill_f64",
            offset_of!(PluginV1, prefill_f64).to_string(),
        ),
        (
            "offset.DbPluginV1.decode_f64",
            offset_of!(PluginV1, decode_f64).to_string(),
        ),
        ("DB_MAGIC", MAGIC.to_string()),
        ("DB_ABI_MAJOR", ABI_MAJOR.to_string()),
        ("DB_ABI_MINOR", ABI_MINOR.to_string()),
        ("DB_STATUS_OK", status::OK.to_string()),
        ("DB_STATUS_RUN", status::RUN.to_string()),
        ("DB_STATUS_UNAVAILABLE", status::UNAVAILABLE.to_string()),
        ("DB_STATUS_INVALID", status::INVALID.to_string()),
        ("DB_STATUS_LOAD", status::LOAD.to_string()),
        ("DB_STATUS_PANIC", status::PANIC.to_string()),
        ("DB_STATUS_POISONED", status::POISONED.to_string()),
        ("DB_DTYPE_F32", Dtype::F32.code().to_string()),
        ("DB_DTYPE_F16", Dtype::F16.code().to_string()),
        ("DB_DTYPE_BF16", Dtype::Bf16.code().to_string()),
        ("DB_DTYPE_F64", Dtype::F64.code().to_string()),
        ("DB_ROUTE_PREFILL", route::PREFILL.to_string()),
        ("DB_ROUTE_DECODE", route::DECODE.to_string()),
        ("DB_POISON_BITS", UNWRITTEN_BITS.to_string()),
        ("DB_POISON_BITS_F64", UNWRITTEN64_BITS.to_string()),
        ("DB_V1_0_TABLE_SIZE", V1_0_TABLE_SIZE.to_string()),
        ("DB_V1_1_TABLE_SIZE", V1_1_TABLE_SIZE.to_string()),
        ("DB_V1_2_TABLE_SIZE", V1_2_TABLE_SIZE.to_string()),
        ("DB_V1_3_TABLE_SIZE", V1_3_TABLE_SIZE.to_string()),
        ("DB_V1_4_TABLE_SIZE", size_of::<PluginV1>().to_string()),
        ("DB_ENTRY_SYMBOL_LEN", entry.len().to_string()),
        ("DB_ENTRY_SYMBOL", entry.to_string()),
    ];
    for (name, want) in &rust {
        assert_eq!(
            c.get(*name),
            Some(want),
            "{name}: the C header says {:?}, the Rust ABI {want}",
            c.get(*name)
        );
    }
    assert_eq!(
        c.len(),
        rust.len(),
        "the C program printed values this test does not check"
    );
    // Every table field is covered: the last one ends the table.
    assert_eq!(
        offset_of!(PluginV1, decode_f64) + size_of::<usize>(),
        size_of::<PluginV1>(),
        "a field was added to PluginV1: add it to the header and to this test"
    );
}

/// ABI.md quotes the v1.0 table size for 64-bit targets; it must be the real one.
#[test]
fn the_spec_quotes_the_real_v1_0_table_size() {
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ABI.md")).unwrap();
    if size_of::<usize>() == 8 {
        let quoted =
            format!("the offset of `configure`: {V1_0_TABLE_SIZE} bytes on\n   64-bit targets");
        assert!(spec.contains(&quoted), "ABI.md should say: {quoted}");
    }
    assert!(spec.contains(&format!("{MAGIC:#018X}").replace("0X", "0x")));
}
