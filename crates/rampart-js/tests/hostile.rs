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
