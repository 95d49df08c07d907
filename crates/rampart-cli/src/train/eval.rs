//! Measures the cross-validated predictions and writes EVAL.md: recall per category at the
//! chosen threshold, false positives on held-out benign packages and on the hard negatives,
//! ROC AUC, skimmers appended to held-out libraries, and every real skimmer and miner case.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use rampart_js::{Model, Options, classify_views, score, view_probability, views};
use sha2::{Digest, Sha256};

use super::corpus::{Label, Origin, Sample};

/// A held-out prediction: the fold model's probability and threshold.
#[derive(Debug, Clone)]
pub struct Scored {
    pub probability: f32,
    pub threshold: f32,
    /// For a flagged benign file: which view scored worst and the features that pushed it
    /// (the report's false-positive table says why each was flagged).
    pub why: Option<String>,
}

/// Features named in a false positive's explanation.
const WHY_FEATURES: usize = 4;

impl Scored {
    pub fn of(model: &Model, s: &Sample) -> Self {
        let probability = super::malicious_probability(model, s);
        let mut scored = Scored {
            probability,
            threshold: model.threshold,
            why: None,
        };
        if !s.label.malicious() && scored.flagged() {
            scored.why = Some(explain(model, s));
        }
        scored
    }

    pub fn flagged(&self) -> bool {
        self.probability >= self.threshold
    }

    pub fn score(&self) -> u8 {
        score(self.probability, self.threshold)
    }
}

/// The worst view of `s` and its strongest contributions, e.g. "segment 3: cap:dynamic-code
/// +1.20, ngram:17 +0.80".
fn explain(model: &Model, s: &Sample) -> String {
    let p = |(i, v): &(usize, &Vec<f32>)| view_probability(model, v, *i == 0 && !s.acts, false);
    let Some((i, view)) = s
        .views
        .iter()
        .enumerate()
        .max_by(|a, b| p(a).total_cmp(&p(b)))
    else {
        return String::new();
    };
    if s.rule.is_some() {
        return "a written rule".into();
    }
    let mut c: Vec<(usize, f32)> = model
        .malicious_contributions(view)
        .into_iter()
        .enumerate()
        .collect();
    c.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = c
        .iter()
        .take(WHY_FEATURES)
        .map(|(f, v)| format!("{} {v:+.2}", rampart_js::feature_name(*f)))
        .collect();
    let view = if i == 0 {
        "whole file".to_string()
    } else {
        format!("segment {i}")
    };
    format!("{view}: {}", top.join(", "))
}

/// One skimmer appended to one held-out library.
pub struct Appended {
    pub skimmer: String,
    pub host: String,
    /// Flagged by `classify` (whole file and the code outside the main body).
    pub flagged: bool,
    /// Flagged when only the whole file is scored.
    pub flagged_whole: bool,
    pub score: u8,
}

/// Libraries of fold `k` that hosts are picked from: unminified-sized builds.
const HOSTS_PER_FOLD: usize = 3;

/// Appends each held-out Magecart sample of fold `k` to a few held-out benign libraries of
/// the same fold and classifies the result with that fold's model.
pub fn appended_skimmers(
    model: &Model,
    samples: &[Sample],
    fold_of: &[usize],
    k: usize,
) -> Vec<Appended> {
    let in_fold = |i: &usize| fold_of[*i] == k;
    let hosts: Vec<&Sample> = (0..samples.len())
        .filter(in_fold)
        .map(|i| &samples[i])
        .filter(|s| s.origin == Origin::Npm && (30_000..400_000).contains(&s.text.len()))
        .filter(|s| s.text.lines().count() > 500)
        .collect();
    // Spread over the fold (paths are sorted by package), not the first few packages.
    let hosts: Vec<&Sample> = (0..HOSTS_PER_FOLD)
        .filter_map(|i| {
            hosts
                .get((2 * i + 1) * hosts.len() / (2 * HOSTS_PER_FOLD))
                .copied()
        })
        .collect();
    let skimmers: Vec<&Sample> = (0..samples.len())
        .filter(in_fold)
        .map(|i| &samples[i])
        .filter(|s| s.label == Label::Magecart)
        .collect();
    let mut out = Vec::new();
    for skimmer in &skimmers {
        for host in &hosts {
            let text = format!("{}\n{}\n", host.text, skimmer.text);
            let views = views(&text, &Options::default());
            let c = classify_views(&views, model);
            let whole = view_probability(
                model,
                &views[0].analysis.features,
                views[0].rules_only(),
                views[0].rule.is_some(),
            );
            out.push(Appended {
                skimmer: name(&skimmer.path),
                host: name(&host.path),
                flagged: c.malicious,
                flagged_whole: whole >= model.threshold,
                score: c.score,
            });
        }
    }
    out
}

/// What the written rules match, per set: they are not trained, so every file counts as held
/// out. A rule matching benign code is a false positive the threshold cannot undo.
fn rule_section(o: &mut String, samples: &[Sample]) {
    let _ = writeln!(o, "## Written rules\n");
    let _ = writeln!(
        o,
        "Files matched by a written rule (`rules.rs`; any view, decoded payloads included). Rules are not trained, so these are held-out numbers on every file.\n"
    );
    let _ = writeln!(
        o,
        "| set | files | matched | by rule |\n| --- | ---: | ---: | --- |"
    );
    let mut sets: BTreeMap<String, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for s in samples {
        let set = if s.label.malicious() {
            format!("malicious: {}", s.label.name())
        } else {
            match s.origin {
                Origin::Npm => "benign: npm browser builds".to_string(),
                Origin::Obfuscated => "benign: javascript-obfuscator variants".to_string(),
                Origin::Hard | Origin::Malware => "benign-hard (data dir)".to_string(),
            }
        };
        let entry = sets.entry(set).or_default();
        entry.0 += 1;
        if let Some(rule) = s.rule {
            let name = serde_json::to_value(rule)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *entry.1.entry(name).or_default() += 1;
        }
    }
    for (set, (n, by)) in &sets {
        let matched: usize = by.values().sum();
        let list: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(o, "| {set} | {n} | {matched} | {} |", list.join(", "));
    }
    let _ = writeln!(o);
}

/// Every held-out prediction of every repeat, one CSV row each (`--predictions`): what the
/// report summarizes, for auditing a run file by file. Fields are quoted where they could hold
/// a comma (file and group names come from the corpora).
pub fn predictions_csv(samples: &[Sample], runs: &[Run]) -> String {
    let quote = |f: &str| {
        if f.contains([',', '"', '\n']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let mut o = String::from("seed,file,set,group,probability,score,flagged\n");
    for run in runs {
        for (s, p) in samples.iter().zip(&run.oof) {
            let set = match s.origin {
                Origin::Npm => "benign-npm",
                Origin::Obfuscated => "benign-obfuscated",
                Origin::Hard => "benign-hard",
                Origin::Malware => s.label.name(),
            };
            let _ = writeln!(
                o,
                "{},{},{set},{},{:.6},{},{}",
                run.seed,
                quote(&name(&s.path)),
                quote(&s.group),
                p.probability,
                p.score(),
                p.flagged()
            );
        }
    }
    o
}

fn name(p: &Path) -> String {
    let file = p.file_name().unwrap_or_default().to_string_lossy();
    match p.parent().and_then(Path::file_name) {
        Some(dir) => format!("{}/{file}", dir.to_string_lossy()),
        None => file.into_owned(),
    }
}

/// Corpus sizes for the model's provenance.
pub struct Counts {
    pub malicious: usize,
    pub benign: usize,
    pub packages: usize,
}

impl Counts {
    pub fn of(samples: &[Sample]) -> Self {
        let packages: BTreeSet<&str> = samples
            .iter()
            .filter(|s| s.origin == Origin::Npm)
            .map(|s| s.group.as_str())
            .collect();
        Counts {
            malicious: samples.iter().filter(|s| s.label.malicious()).count(),
            benign: samples.iter().filter(|s| !s.label.malicious()).count(),
            packages: packages.len(),
        }
    }
}

/// Short hash of a model's numbers (names the model version).
pub fn fingerprint_of(model: &Model) -> String {
    let mut h = Sha256::new();
    for head in &model.heads {
        for w in head.weights.iter().chain([&head.bias]) {
            h.update(w.to_le_bytes());
        }
    }
    if let Some(forest) = &model.forest {
        h.update(serde_json::to_vec(forest).unwrap_or_default());
    }
    // The threshold is part of what a score means.
    h.update(model.threshold.to_le_bytes());
    hex_string(&h.finalize())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Rounds stored numbers to 5 significant digits: the file shrinks by half and scores move by
/// far less than one point.
pub fn round_weights(model: &mut Model) {
    let round = |x: &mut f32| {
        if *x != 0.0 {
            let digits = 5 - (x.abs().log10().floor() as i32) - 1;
            let f = 10f32.powi(digits.clamp(-10, 10));
            *x = (*x * f).round() / f;
        }
    };
    model.mean.iter_mut().for_each(round);
    model.scale.iter_mut().for_each(round);
    for h in &mut model.heads {
        h.weights.iter_mut().for_each(round);
        round(&mut h.bias);
    }
}

/// ROC AUC of `positives` vs `negatives` (probability that a random positive outranks a random
/// negative; ties count half).
fn auc(positives: &[f32], negatives: &[f32]) -> f64 {
    if positives.is_empty() || negatives.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f32, bool)> = positives
        .iter()
        .map(|p| (*p, true))
        .chain(negatives.iter().map(|n| (*n, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0f64, 0usize);
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += avg_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (positives.len() as f64, negatives.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.2}%", 100.0 * a as f64 / b as f64)
    }
}

/// One grouped cross-validation (its own fold assignment and seed).
pub struct Run {
    pub seed: u64,
    /// Held-out prediction of every sample, in sample order.
    pub oof: Vec<Scored>,
    pub appended: Vec<Appended>,
}

/// Flagged and total per headline column: the four malicious categories, all malicious, npm
/// benign builds, appended skimmers.
fn headline(samples: &[Sample], run: &Run) -> [(usize, usize); 7] {
    let mut h = [(0usize, 0usize); 7];
    for (s, o) in samples.iter().zip(&run.oof) {
        let col = match (s.label, s.origin) {
            (Label::Magecart, _) => 0,
            (Label::Cryptomining, _) => 1,
            (Label::ExploitKit, _) => 2,
            (Label::Dropper, _) => 3,
            (Label::Benign, Origin::Npm) => 5,
            _ => continue,
        };
        for c in [Some(col), (col < 4).then_some(4)].into_iter().flatten() {
            h[c].0 += usize::from(o.flagged());
            h[c].1 += 1;
        }
    }
    h[6] = (
        run.appended.iter().filter(|a| a.flagged).count(),
        run.appended.len(),
    );
    h
}

/// The headline numbers of every repeat and pooled over them.
fn repeats_section(o: &mut String, r: &ReportInput<'_>) {
    let _ = writeln!(o, "## Headline: every repeat and pooled\n");
    let _ = writeln!(
        o,
        "Recall per held-out malicious set, FPR on held-out npm builds, recall on appended skimmers. Each repeat assigns folds with its own seed; benign false positives move in whole packages (often two versions at once), so a single assignment moves the FPR by about 0.06% either way. The sections after this one show the first repeat.\n"
    );
    let _ = writeln!(
        o,
        "| seed | magecart | cryptojacking | exploit-kit | dropper | all malicious | FPR | appended |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut pooled = [(0usize, 0usize); 7];
    let row = |o: &mut String, name: String, h: &[(usize, usize); 7]| {
        let cells: Vec<String> = h.iter().map(|(a, b)| pct(*a, *b)).collect();
        let _ = writeln!(o, "| {name} | {} |", cells.join(" | "));
    };
    for run in r.runs {
        let h = headline(r.samples, run);
        for (p, x) in pooled.iter_mut().zip(h) {
            p.0 += x.0;
            p.1 += x.1;
        }
        row(o, run.seed.to_string(), &h);
    }
    if r.runs.len() > 1 {
        row(o, "**pooled**".into(), &pooled);
    }
    let _ = writeln!(o);
}

pub struct ReportInput<'a> {
    pub samples: &'a [Sample],
    /// One per repeat; the first is the pinned seed's, which the detailed sections show.
    pub runs: &'a [Run],
    pub model: &'a Model,
    pub duplicates: usize,
    /// Files with no code of their own, left out (see `corpus::drop_codeless`).
    pub codeless: &'a [String],
    pub refused: usize,
    pub folds: usize,
    pub seed: u64,
    pub analyzed_in: Duration,
    pub total: Duration,
    pub out: &'a Path,
}

/// The evaluation as Markdown (EVAL.md is this output).
pub fn report(r: &ReportInput<'_>) -> String {
    let mut o = String::new();
    let first = &r.runs[0];
    let pairs: Vec<(&Sample, &Scored)> = r.samples.iter().zip(&first.oof).collect();
    let benign_npm: Vec<&(&Sample, &Scored)> = pairs
        .iter()
        .filter(|(s, _)| s.origin == Origin::Npm)
        .collect();
    let benign_probs: Vec<f32> = benign_npm.iter().map(|(_, o)| o.probability).collect();
    let fp = benign_npm.iter().filter(|(_, o)| o.flagged()).count();
    let malicious: Vec<&(&Sample, &Scored)> =
        pairs.iter().filter(|(s, _)| s.label.malicious()).collect();
    let tp = malicious.iter().filter(|(_, o)| o.flagged()).count();
    let _ = writeln!(o, "# Classifier evaluation\n");
    let _ = writeln!(
        o,
        "Reproduce: `scripts/js-benign-corpus && cargo run --release -p rampart-cli -- js train --data-dir ../shared/data --benign target/js-benign --report EVAL.md` \
         (seed {}, {} folds, {} repeats; writes `{}`). The sections up to 'Shipped model' are generated by that command.\n",
        r.seed,
        r.folds,
        r.runs.len(),
        r.out.display()
    );
    let _ = writeln!(
        o,
        "**Protocol.** Grouped {}-fold cross-validation: malware is grouped by `family` (blank families by source repository + folder), benign code by npm package (all versions and obfuscated variants of a package in one group); each group is held out exactly once and every number below is a held-out prediction. \
         Each fold's threshold is chosen by an inner cross-validation of its own training data (every inner fold held out once; their benign predictions pooled) for a false-positive rate ≤ {:.1}%; the whole cross-validation is repeated with other fold assignments (seeds {} onwards) and the headline pools the repeats; the shipped model is trained on everything, with its threshold chosen the same way on the held-out benign predictions of every repeat. \
         The `benign-hard` files are never trained on.\n",
        r.folds,
        super::TARGET_FPR * 100.0,
        r.seed
    );
    let _ = writeln!(o, "## Corpus\n");
    let _ = writeln!(o, "| set | files | groups |\n| --- | ---: | ---: |");
    let mut by: BTreeMap<String, (usize, BTreeSet<&str>)> = BTreeMap::new();
    for s in r.samples {
        let key = match (s.label, s.origin) {
            (Label::Benign, Origin::Npm) => "benign: npm browser builds".to_string(),
            (Label::Benign, Origin::Obfuscated) => "benign: javascript-obfuscator variants".into(),
            (Label::Benign, _) => "benign-hard (data dir)".into(),
            (l, _) => format!("malicious: {}", l.name()),
        };
        let e = by.entry(key).or_default();
        e.0 += 1;
        e.1.insert(&s.group);
    }
    for (k, (n, g)) in &by {
        let _ = writeln!(o, "| {k} | {n} | {} |", g.len());
    }
    let _ = writeln!(
        o,
        "\n{} exact duplicates dropped; {} files refused by the analyzer's limits. Features for all files: {:.1} s; whole run {:.1} s.\n",
        r.duplicates,
        r.refused,
        r.analyzed_in.as_secs_f64(),
        r.total.as_secs_f64()
    );
    if !r.codeless.is_empty() {
        let names: Vec<String> = r.codeless.iter().map(|f| format!("`{f}`")).collect();
        let _ = writeln!(
            o,
            "Not scored: {} file(s) with no code of their own, only `<script src>` (the fetched script and the domain lists judge a loader): {}.\n",
            r.codeless.len(),
            names.join(", ")
        );
    }

    repeats_section(&mut o, r);
    let _ = writeln!(
        o,
        "## Held-out results at the chosen threshold (seed {})\n",
        first.seed
    );
    let _ = writeln!(
        o,
        "| set | n | flagged | recall / FPR | ROC AUC vs benign |\n| --- | ---: | ---: | ---: | ---: |"
    );
    for label in [
        Label::Magecart,
        Label::Cryptomining,
        Label::ExploitKit,
        Label::Dropper,
    ] {
        let set: Vec<f32> = malicious
            .iter()
            .filter(|(s, _)| s.label == label)
            .map(|(_, o)| o.probability)
            .collect();
        let flagged = malicious
            .iter()
            .filter(|(s, o)| s.label == label && o.flagged())
            .count();
        let _ = writeln!(
            o,
            "| {} | {} | {} | recall {} | {:.4} |",
            label.name(),
            set.len(),
            flagged,
            pct(flagged, set.len()),
            auc(&set, &benign_probs)
        );
    }
    let all_bad: Vec<f32> = malicious.iter().map(|(_, o)| o.probability).collect();
    let _ = writeln!(
        o,
        "| **all malicious** | {} | {} | recall {} | {:.4} |",
        malicious.len(),
        tp,
        pct(tp, malicious.len()),
        auc(&all_bad, &benign_probs)
    );
    let _ = writeln!(
        o,
        "| benign npm builds | {} | {} | **FPR {}** | |",
        benign_npm.len(),
        fp,
        pct(fp, benign_npm.len())
    );
    for (label, origin) in [
        ("hard negatives: obfuscated benign", Origin::Obfuscated),
        ("hard negatives: benign-hard (data dir)", Origin::Hard),
    ] {
        let rows: Vec<&(&Sample, &Scored)> =
            pairs.iter().filter(|(s, _)| s.origin == origin).collect();
        let flagged = rows.iter().filter(|(_, o)| o.flagged()).count();
        let _ = writeln!(
            o,
            "| {label} | {} | {} | FPR {} | |",
            rows.len(),
            flagged,
            pct(flagged, rows.len())
        );
    }
    let precision_den = tp + fp;
    let _ = writeln!(
        o,
        "\nPrecision over the held-out set (malicious vs npm benign): {} ({} of {} flagged files are malicious). Note the corpus ratio (about one malicious file per {:.1} benign) is far above what a site sees.\n",
        pct(tp, precision_den),
        tp,
        precision_den,
        benign_npm.len() as f64 / malicious.len().max(1) as f64
    );

    let app = &first.appended;
    let flagged = app.iter().filter(|a| a.flagged).count();
    let whole = app.iter().filter(|a| a.flagged_whole).count();
    let _ = writeln!(o, "## Skimmers appended to held-out libraries\n");
    let _ = writeln!(
        o,
        "Each held-out Magecart sample appended to {HOSTS_PER_FOLD} held-out benign library builds of its fold (BA/Newegg-style injection), classified by that fold's model: **recall {}** ({flagged} of {}); scoring only the whole file would give {} ({whole} of {}).\n",
        pct(flagged, app.len()),
        app.len(),
        pct(whole, app.len()),
        app.len()
    );
    let missed: Vec<&Appended> = app.iter().filter(|a| !a.flagged).collect();
    if !missed.is_empty() {
        let _ = writeln!(o, "Missed (skimmer + host → score):\n");
        for a in missed.iter().take(30) {
            let _ = writeln!(o, "- `{}` + `{}` → {}", a.skimmer, a.host, a.score);
        }
        let _ = writeln!(o);
    }

    rule_section(&mut o, r.samples);

    let _ = writeln!(o, "## Every skimmer and miner, held out\n");
    let _ = writeln!(
        o,
        "| file | category | family | score | verdict |\n| --- | --- | --- | ---: | --- |"
    );
    for (s, sc) in pairs
        .iter()
        .filter(|(s, _)| matches!(s.label, Label::Magecart | Label::Cryptomining))
    {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            name(&s.path),
            s.label.name(),
            s.family,
            sc.score(),
            if sc.flagged() {
                "malicious"
            } else {
                "**missed**"
            }
        );
    }
    let _ = writeln!(o, "\n## Benign files closest to the threshold\n");
    let mut near: Vec<&&(&Sample, &Scored)> = benign_npm.iter().collect();
    near.sort_by(|a, b| b.1.probability.total_cmp(&a.1.probability));
    let _ = writeln!(
        o,
        "| file | score | verdict | strongest contributions (log-odds) |\n| --- | ---: | --- | --- |"
    );
    for (s, sc) in near.iter().take(10).map(|p| (p.0, p.1)) {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} |",
            name(&s.path),
            sc.score(),
            if sc.flagged() {
                "**false positive**"
            } else {
                "clean"
            },
            sc.why.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(
        o,
        "\n## Shipped model\n\n`{}`: version `{}`, threshold probability {:.4} (score 49), {} features, {}.\n",
        r.out.display(),
        r.model.version,
        r.model.threshold,
        r.model.mean.len(),
        if r.model.forest.is_some() {
            "boosted trees for the malicious decision, logistic heads for the categories"
        } else {
            "logistic regression"
        }
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_rank_based() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        assert_eq!(auc(&[0.1], &[0.9]), 0.0);
        assert_eq!(auc(&[0.5], &[0.5]), 0.5);
    }

    #[test]
    fn predictions_are_one_row_per_sample_and_repeat_with_names_quoted() {
        let sample = |path: &str, label, origin, group: &str| Sample {
            path: path.into(),
            label,
            origin,
            group: group.into(),
            family: String::new(),
            text: String::new(),
            views: Vec::new(),
            rule: None,
            acts: true,
        };
        let samples = [
            sample(
                "x/magecart/a.js",
                Label::Magecart,
                Origin::Malware,
                "magecart:a",
            ),
            sample("x/lib_1.0/b,c.js", Label::Benign, Origin::Npm, "lib"),
        ];
        let scored = |probability| Scored {
            probability,
            threshold: 0.5,
            why: None,
        };
        let runs = [7, 8].map(|seed| Run {
            seed,
            oof: vec![scored(0.9), scored(0.25)],
            appended: Vec::new(),
        });
        let csv = predictions_csv(&samples, &runs);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 2 * 2, "{csv}");
        assert_eq!(lines[0], "seed,file,set,group,probability,score,flagged");
        assert!(lines[1].starts_with("7,magecart/a.js,magecart,magecart:a,0.900000,"));
        assert!(lines[1].ends_with(",true"));
        assert!(
            lines[4].starts_with("8,\"lib_1.0/b,c.js\",benign-npm,lib,0.250000,"),
            "{}",
            lines[4]
        );
        assert!(lines[4].ends_with(",false"));
    }
}
