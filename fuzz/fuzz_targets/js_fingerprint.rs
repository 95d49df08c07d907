//! Arbitrary bytes as a script: fingerprinting, diffing and classifying (decoded payloads and
//! written rules included) must always return data, never panic, never overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_js::{Model, Options, analyze, classify, diff};

fuzz_target!(|data: &[u8]| {
    // Bytes become text as the CLI and the fetcher read them (byte-order marks, UTF-16).
    let text = rampart_js::decode_text(data);
    let options = Options::default();
    let a = analyze(&text, &options);
    assert_eq!(a.bytes, text.len());
    // Diff against a structurally different script exercises regions and similarity.
    let other = "function f(a) { return a + 1; }";
    let b = analyze(other, &options);
    let d = diff(&b, other, &a, &text);
    assert!((0.0..=1.0).contains(&d.similarity));
    // The classifier's views: segments, payloads decoded from constants, rules.
    let c = classify(&text, &options, Model::embedded());
    assert!((1..=99).contains(&c.score));
    // Inline scripts of the same bytes read as HTML.
    let _ = rampart_js::extract_scripts(data);
});
