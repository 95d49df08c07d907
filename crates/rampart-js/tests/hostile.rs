//! Malformed, huge and deeply nested input: always an `Analysis`, never a panic or a stack
//! overflow.

use rampart_js::{Options, analyze};

#[test]
fn deep_nesting_of_every_recursive_kind_is_survived() {
    let n = 200_000;
    let cases = [
        "[".repeat(n),
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}x", "!".repeat(n)),
        format!("{}1", "a=".repeat(n)),
        format!("{}0", "x=>".repeat(n)),
        format!("{}1{}", "{".repeat(n), "}".repeat(n)),
        "a?b:".repeat(n) + "c",
        format!("{}1", "-".repeat(n)),
    ];
    for src in &cases {
        let a = analyze(src, &Options::default());
        assert_eq!(a.bytes, src.len());
    }
    let refused = analyze(&cases[0], &Options::default());
    assert!(
        refused.parse_errors[0].contains("nest"),
        "{:?}",
        refused.parse_errors
    );
    // Deep but within the limit: analyzed for real.
    let ok = format!("{}1{}", "(".repeat(900), ")".repeat(900));
    assert!(analyze(&ok, &Options::default()).parse_errors.is_empty());
}

#[test]
fn garbage_is_data_with_diagnostics() {
    for src in [
        "\u{0}\u{1}\u{fffd}",
        "function (",
        "}}}}",
        "<!-- html comment\nvar a = 1",
        "`${`${`",
    ] {
        let a = analyze(src, &Options::default());
        assert_eq!(a.bytes, src.len());
    }
    let a = analyze("function (", &Options::default());
    assert!(a.parse_error_count > 0);
}

#[test]
fn input_over_the_limit_is_refused_with_a_diagnostic() {
    let a = analyze(
        &"a;".repeat(600),
        &Options {
            max_bytes: 1000,
            ..Options::default()
        },
    );
    assert!(a.structural_hash.is_empty());
    assert!(a.parse_errors[0].contains("limit"), "{:?}", a.parse_errors);
}

/// Found by `cargo fuzz run js_fingerprint`: a mangled Bootstrap build on which oxc 0.146 trips
/// a `debug_assert!` in its pure-comment bookkeeping (trivia_builder.rs). Release builds do not
/// assert; with debug assertions the panic must stay inside the analysis worker and come back
/// as a diagnostic — never take the caller (a server request, a fetcher task) down.
#[test]
fn an_oxc_debug_assertion_on_pure_comments_is_contained() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/regressions/oxc-pure-comment-debug-assert.js"
    ))
    .unwrap();
    let src = String::from_utf8_lossy(&bytes);
    let a = analyze(&src, &Options::default());
    assert_eq!(a.bytes, src.len());
    if cfg!(debug_assertions) {
        assert!(
            a.parse_errors.iter().any(|e| e.contains("panicked")),
            "{:?}",
            a.parse_errors
        );
    }
    // The worker survives and analyzes the next script normally.
    let next = analyze("var a = 1;", &Options::default());
    assert!(next.parse_errors.is_empty() && next.nodes > 0);
}
