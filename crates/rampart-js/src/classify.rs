//! "Is this script stealing from my customers?": a score on Page Shield's 1–99 scale
//! (1 = certainly malicious), per-category scores, and reasons in words.
//!
//! The whole file is scored, and so is the code *outside* its main body when one top-level
//! statement dominates (a skimmer appended to a library is a few hundred bytes next to 90 KB of
//! jQuery; scored together it would be diluted). The worse of the two is the answer, and the
//! reasons say which part it came from.

use serde::Serialize;

use crate::features::{NGRAM_BUCKETS, SIGNALS};
use crate::model::{Model, probability, score, sigmoid};
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

/// One scored view of a script: the whole file, or a segment of its top-level statements.
pub struct View {
    /// Byte range of the segment; `None` for the whole file.
    pub part: Option<(u32, u32)>,
    pub analysis: Analysis,
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
    for (start, end) in segments(source, &whole) {
        if let Some(text) = source.get(start as usize..end as usize) {
            out.push(View {
                part: Some((start, end)),
                analysis: analyze(text, &options),
            });
        }
    }
    out.insert(
        0,
        View {
            part: None,
            analysis: whole,
        },
    );
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
        let mut v = verdict(&view.analysis, model);
        if let Some((start, end)) = view.part {
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
    best.unwrap_or_else(|| verdict(&Analysis::refused("", "nothing to classify".into()), model))
}

/// Probability that a feature vector is malicious: the model's, raised by the skimmer rule
/// (training and evaluation use this too, so the threshold accounts for the rule).
pub fn malicious_probability(model: &Model, features: &[f32]) -> f32 {
    if features.is_empty() {
        return 0.0;
    }
    let p = sigmoid(model.malicious_logit(features));
    if skimmer_rule(features) {
        p.max(RULE_PROBABILITY)
    } else {
        p
    }
}

/// Probability the skimmer rule asserts: just over the strictest threshold `threshold_for`
/// can pick, so a rule match is always flagged.
const RULE_PROBABILITY: f32 = 0.9999;
/// Largest code (bytes) the rule judges: a skimmer, or the segment it sits in.
const RULE_MAX_BYTES: f32 = 16_384.0;

/// The BA/Newegg pattern, written down rather than learned (only a few dozen skimmers exist to
/// learn from): small code that listens for submit or click, reads form fields, has a network
/// sink (the data flow between them is not required: it is often hidden in ways the cheap
/// flow analysis cannot follow), and names an absolute URL. Libraries that serialize forms (jQuery) are far
/// over the size limit as a whole and do not name a collection domain.
fn skimmer_rule(x: &[f32]) -> bool {
    let on = |name: &str| x[signal(name)] > 0.0;
    let size_limit = (1.0 + RULE_MAX_BYTES).log2() / 24.0;
    on("skimmer_combo")
        && on("cap:listen:submit-or-click")
        && on("domains")
        && x[signal("size")] <= size_limit
}

fn signal(name: &str) -> usize {
    SIGNALS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no signal {name}"))
}

/// Scores one analysis (the features must have been computed).
fn verdict(a: &Analysis, model: &Model) -> Classification {
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
    let p = malicious_probability(model, &a.features);
    let t = model.threshold;
    let shares: Vec<f32> = ["magecart", "cryptomining", "malware"]
        .iter()
        .map(|c| probability(model.head(c), &z))
        .collect();
    // The most likely category carries the overall probability; the others in proportion.
    let top = shares.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
    let cat = |i: usize| score(p * shares[i] / top, t);
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
            if skimmer_rule(&a.features) {
                let domains: Vec<&str> = a.domains.iter().map(String::as_str).take(3).collect();
                r.insert(
                    usize::from(s < 50),
                    format!(
                        "skimmer pattern: on submit or click it reads form fields, it can send data over the network, and it names {}",
                        domains.join(", ")
                    ),
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
}
