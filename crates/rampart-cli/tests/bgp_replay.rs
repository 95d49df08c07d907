//! `rampart bgp replay` as a user runs it: JSON lines on stdout, a summary on stderr, exit codes.

use std::path::Path;
use std::process::Command;

fn bgp(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rampart-bgp/tests")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn replay_prints_one_json_object_per_event_in_data_time_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "bgp",
            "replay",
            "--ris-live",
            &bgp("incidents/youtube-pakistan-2008.jsonl"),
        ])
        .args(["--prefixes", &bgp("incidents/youtube-pakistan-2008.yml")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for key in [
        "event",
        "kind",
        "prefix",
        "monitored_prefix",
        "origin",
        "expected_origins",
        "as_path",
        "peers",
        "first_seen",
        "leaker",
        "rpki",
    ] {
        assert!(
            lines[0].get(key).is_some(),
            "{key} missing from {}",
            lines[0]
        );
    }
    let times: Vec<&str> = lines.iter().map(|l| l["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert!(String::from_utf8_lossy(&out.stderr).contains("17 announced, 2 withdrawn"));
}

#[test]
fn replay_without_prefixes_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "bgp",
            "replay",
            "--ris-live",
            &bgp("incidents/youtube-pakistan-2008.jsonl"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--prefixes"));
    let missing = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "bgp",
            "replay",
            "--updates",
            "/nonexistent.gz",
            "--prefixes",
            &bgp("incidents/youtube-pakistan-2008.yml"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.gz"));
}

#[test]
fn generate_writes_a_prefixes_yml_that_replay_reads_back_quietly() {
    let rib = bgp("data/ris-rrc00.bview.20180919.0800.one-prefix-64k.gz");
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["bgp", "generate", "--asn", "22773", "--rib", &rib])
        .output()
        .unwrap();
    assert!(out.status.success());
    let yml = String::from_utf8(out.stdout).unwrap();
    assert!(
        yml.contains("2001:579:1040::/46:\n  description: No description provided\n  asn: 22773\n"),
        "{yml}"
    );
    assert!(yml.contains("options:\n  monitorASns:\n    22773:\n"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prefixes.yml");
    std::fs::write(&file, yml).unwrap();
    let replay = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["bgp", "replay", "--rib", &rib, "--prefixes"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(replay.status.success());
    assert!(
        replay.stdout.is_empty(),
        "the owner's own routes raise nothing"
    );
    assert!(String::from_utf8_lossy(&replay.stderr).contains("23 observations"));
}
