//! The fuzz target `protocol` replayed on every test run (its corpus and regressions, then
//! seeded mutations: see `fuzz/replay.rs`), its seed corpus checked current, and every fuzz
//! target checked to have a replay test.

#[path = "../../../../fuzz/replay.rs"]
mod replay;
#[path = "../../../../fuzz/targets/protocol.rs"]
mod target;

use std::path::Path;

#[test]
fn fuzz_protocol() {
    replay::fuzz("protocol", target::protocol);
}

/// Every target (a folder of `fuzz/corpus/`) has its one-input function, its cargo-fuzz
/// binary and a replay test in the crate it exercises.
#[test]
fn every_target_has_a_replay_test() {
    let fuzz = replay::fuzz_dir();
    let root = fuzz.parent().unwrap();
    let replays = [
        ("gguf", "gguf/tests/gguf/fuzz_replay.rs"),
        ("config", "sweep/tests/sweep/fuzz_replay.rs"),
        ("bundle", "sweep/tests/sweep/fuzz_replay.rs"),
        ("protocol", "plugins/host/tests/host/fuzz_replay.rs"),
        ("journal", "report/tests/report/fuzz_replay.rs"),
        ("diff", "report/tests/report/fuzz_replay.rs"),
    ];
    let mut targets: Vec<String> = std::fs::read_dir(fuzz.join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    targets.sort();
    let mut listed: Vec<&str> = replays.iter().map(|(t, _)| *t).collect();
    listed.sort();
    assert_eq!(
        targets, listed,
        "fuzz/corpus/ folders vs the replay tests listed here"
    );
    for (t, test) in replays {
        for file in [format!("targets/{t}.rs"), format!("fuzz_targets/{t}.rs")] {
            assert!(fuzz.join(&file).is_file(), "fuzz/{file} is missing");
        }
        let text = std::fs::read_to_string(root.join(test)).unwrap();
        assert!(
            text.contains(&format!("replay::fuzz(\"{t}\", target::{t})")),
            "{test} does not replay `{t}`"
        );
        assert!(Path::new(&root.join(test)).is_file());
    }
}

/// The protocol seeds of `fuzz/corpus/protocol/` are what this code makes.
#[test]
fn protocol_seed_corpus_is_current() {
    use driftbench_plugin_host::worker::protocol::{decode_reply, decode_request, f32_bytes};

    // Protocol: a request stream and a reply stream (with its binary logits frame).
    let frame = |json: &str| {
        let mut out = (json.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(json.as_bytes());
        out
    };
    let requests = [
        r#"{"op":"probe"}"#,
        r#"{"op":"configure","setup":{"options":{"fusion":true,"autotune":"minimal","device":0,"x":1.5},"cache_dir":"/tmp/cache"}}"#,
        r#"{"op":"open","model":{"kind":"synthetic","layers":2,"hidden":32,"heads":4,"kv_heads":2,"ffn":64,"vocab":128,"rope_base":10000.0,"norm_eps":1e-5,"weight_seed":1},"dtype":"f32"}"#,
        r#"{"op":"open","model":{"kind":"gguf","path":"models/tiny.gguf"},"dtype":"bf16"}"#,
        r#"{"op":"prefill","tokens":[1,2,3]}"#,
        r#"{"op":"decode","tokens":[1,2,3],"layout":{"Padded":{"block":16}}}"#,
        r#"{"op":"decode","tokens":[4],"layout":"Aligned"}"#,
        r#"{"op":"shutdown"}"#,
    ];
    let replies = [
        r#"{"reply":"hello","protocol":1,"backend":"flex"}"#,
        r#"{"reply":"probe","probe":{"backend":"flex","version":"0.1.0","burn_version":"0.21.0","unavailable":null,"devices":[{"name":"cpu","kind":"cpu","driver":null,"dtypes":["f32","f16"],"unsupported":[["bf16","no"]],"details":[["threads","2"]]}],"backend_dtypes":["f32"]}}"#,
        r#"{"reply":"configured","configured":{"options":{"fusion":false},"details":[["cache","off"]]}}"#,
        r#"{"reply":"opened","info":{"vocab":2,"max_span":64,"device":"cpu","model":"synthetic"}}"#,
        r#"{"reply":"logits","count":4,"wall_s":0.25,"counters":{"kernels_compiled":3}}"#,
        r#"{"reply":"error","kind":"run","message":"boom"}"#,
    ];
    let mut request_stream = Vec::new();
    for json in requests {
        decode_request(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
        replay::check_seed(
            "protocol",
            &format!("request-{}.bin", request_stream.len()),
            &frame(json),
        );
        request_stream.push(frame(json));
    }
    replay::check_seed("protocol", "requests.bin", &request_stream.concat());
    let mut reply_stream = Vec::new();
    for json in replies {
        decode_reply(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
        reply_stream.extend(frame(json));
    }
    let logits = f32_bytes(&[0.5, -1.0, f32::NAN, f32::INFINITY]);
    reply_stream.extend((logits.len() as u32).to_le_bytes());
    reply_stream.extend(logits);
    replay::check_seed("protocol", "replies.bin", &reply_stream);
}
