//! `rampart js train`: rebuilds the classifier from the corpora with a fixed seed, measures it
//! by grouped cross-validation (every malware family / source folder and every npm package is
//! held out once, never split across train and test), and writes the model file and the
//! evaluation report (EVAL.md).

mod corpus;
mod eval;

use std::path::PathBuf;
use std::time::Instant;

use rampart_js::{
    BoostParams, FEATURES_VERSION, Head, Model, TrainParams, dimension, standardization,
    train_forest, train_head,
};
use serde_json::json;

use crate::commands::Failure;
use corpus::{Label, Origin, Sample};

/// Arguments of `rampart js train`.
pub struct TrainArgs {
    pub data_dir: PathBuf,
    pub benign: PathBuf,
    pub out: PathBuf,
    pub report: Option<PathBuf>,
    pub predictions: Option<PathBuf>,
    pub seed: u64,
    pub folds: usize,
    pub repeats: usize,
    pub params: TrainParams,
    pub algorithm: Algorithm,
}

/// What decides malicious vs benign (the category heads are always logistic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    Boosted,
    Logistic,
}

/// The false-positive rate the threshold is chosen for, on held-out benign code.
const TARGET_FPR: f64 = 0.001;

/// splitmix64: a seeded, dependency-free shuffle source.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fold of each sample: groups of each label are shuffled with the seed, ordered by size
/// (largest first) and dealt round-robin, so every fold gets a share of every category and no
/// group is split.
fn assign_folds(samples: &[Sample], folds: usize, seed: u64) -> Vec<usize> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(Label, &str), Vec<usize>> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        groups
            .entry((s.label, s.group.as_str()))
            .or_default()
            .push(i);
    }
    let mut fold_of = vec![0; samples.len()];
    let mut by_label: BTreeMap<Label, Vec<Vec<usize>>> = BTreeMap::new();
    for ((label, _), members) in groups {
        by_label.entry(label).or_default().push(members);
    }
    let mut state = seed;
    for (_, mut list) in by_label {
        for i in (1..list.len()).rev() {
            let j = (next_random(&mut state) % (i as u64 + 1)) as usize;
            list.swap(i, j);
        }
        list.sort_by_key(|g| std::cmp::Reverse(g.len()));
        // Deal to the fold with the fewest samples of this label so far.
        let mut load = vec![0usize; folds];
        for g in list {
            let f = (0..folds).min_by_key(|&f| (load[f], f)).unwrap_or(0);
            load[f] += g.len();
            for i in g {
                fold_of[i] = f;
            }
        }
    }
    fold_of
}

/// Sample weights: each group counts `sqrt(size)` (830 kit-generated Crimepack variants must
/// not outweigh a family of three); each label then gets an equal share of its side (so 63
/// skimmers weigh as much as 984 exploit-kit pages), and the two sides are balanced.
fn weights(samples: &[&Sample], positive: impl Fn(&Sample) -> bool) -> Vec<f32> {
    use std::collections::HashMap;
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for s in samples {
        *sizes.entry(s.group.as_str()).or_default() += 1;
    }
    let mut w: Vec<f32> = samples
        .iter()
        .map(|s| 1.0 / (sizes[s.group.as_str()] as f32).sqrt())
        .collect();
    let mut per_label: HashMap<(bool, Label), f32> = HashMap::new();
    for (s, w) in samples.iter().zip(&w) {
        *per_label.entry((positive(s), s.label)).or_default() += w;
    }
    let labels = |side: bool| per_label.keys().filter(|(p, _)| *p == side).count().max(1) as f32;
    let (pos_labels, neg_labels) = (labels(true), labels(false));
    for (s, w) in samples.iter().zip(w.iter_mut()) {
        let side = positive(s);
        let share = 0.5 / if side { pos_labels } else { neg_labels };
        *w *= share / per_label[&(side, s.label)].max(1e-9) * samples.len() as f32;
    }
    w
}

/// Heads trained on `samples` (standardization included); threshold left at 0.5. Rows are
/// each sample's whole-file view, plus the segment views of benign samples: `classify` also
/// scores segments, and benign code cut into pieces must be seen as benign too.
fn fit_heads(samples: &[&Sample], params: &TrainParams, algorithm: Algorithm, seed: u64) -> Model {
    let mut train: Vec<&Sample> = Vec::new();
    let mut rows: Vec<&[f32]> = Vec::new();
    for s in samples {
        let n = if s.label.malicious() {
            1
        } else {
            s.views.len()
        };
        for v in &s.views[..n] {
            train.push(s);
            rows.push(v);
        }
    }
    let train = &train[..];
    let (mean, scale) = standardization(&rows);
    let mut model = Model {
        version: String::new(),
        features_version: FEATURES_VERSION,
        mean,
        scale,
        threshold: 0.5,
        heads: Vec::new(),
        provenance: serde_json::Value::Null,
        forest: None,
    };
    let z: Vec<Vec<f32>> = rows.iter().map(|r| model.standardize(r)).collect();
    let y: Vec<bool> = train.iter().map(|s| s.label.malicious()).collect();
    let w = weights(train, |s| s.label.malicious());
    model
        .heads
        .push(train_head("malicious", &z, &y, &w, params));
    if algorithm == Algorithm::Boosted {
        let boost = BoostParams {
            seed,
            ..BoostParams::default()
        };
        model.forest = Some(train_forest(&rows, &y, &w, &boost));
    }
    let bad: Vec<usize> = (0..train.len()).filter(|&i| y[i]).collect();
    let bad_samples: Vec<&Sample> = bad.iter().map(|&i| train[i]).collect();
    let bad_z: Vec<Vec<f32>> = bad.iter().map(|&i| z[i].clone()).collect();
    for head in ["magecart", "cryptomining", "malware"] {
        let is = |s: &Sample| s.label.head() == Some(head);
        let y: Vec<bool> = bad_samples.iter().map(|s| is(s)).collect();
        let w = weights(&bad_samples, is);
        model.heads.push(if y.iter().any(|b| *b) {
            train_head(head, &bad_z, &y, &w, params)
        } else {
            Head {
                name: head.into(),
                bias: -5.0,
                weights: vec![0.0; dimension()],
            }
        });
    }
    model
}

/// What `classify` would answer: the worst of the sample's views, raised by a rule match.
fn malicious_probability(model: &Model, s: &Sample) -> f32 {
    s.views
        .iter()
        .enumerate()
        .map(|(i, v)| rampart_js::view_probability(model, v, i == 0 && !s.acts, s.rule.is_some()))
        .fold(0.0, f32::max)
}

/// The probability above which at most `TARGET_FPR` of `benign` would be flagged (never
/// below 0.5).
fn threshold_for(benign: &mut [f32]) -> f32 {
    benign.sort_by(|a, b| b.total_cmp(a));
    let allowed = (TARGET_FPR * benign.len() as f64).floor() as usize;
    let above = benign.get(allowed).copied().unwrap_or(0.0);
    (above + 1e-4).clamp(0.5, 0.9999)
}

/// A model for `train`, with its threshold chosen by an inner cross-validation of `train`:
/// each of its folds is held out once from a model of the others, and the threshold is set on
/// all those held-out benign predictions together. One inner fold alone holds about 800 benign
/// files, so a 0.1% rate let its single highest score set the threshold: one odd benign file
/// in that fold moved the outer fold's recall, one missing moved its false positives.
fn fit(
    samples: &[Sample],
    fold_of: &[usize],
    train_folds: &[usize],
    params: &TrainParams,
    algorithm: Algorithm,
    seed: u64,
) -> Model {
    let pick = |folds: &[usize]| -> Vec<&Sample> {
        samples
            .iter()
            .zip(fold_of)
            .filter(|(s, f)| folds.contains(f) && s.origin != Origin::Hard)
            .map(|(s, _)| s)
            .collect()
    };
    let mut benign: Vec<f32> = Vec::new();
    for &inner_val in train_folds {
        let inner_train: Vec<usize> = train_folds
            .iter()
            .copied()
            .filter(|&f| f != inner_val)
            .collect();
        let inner = fit_heads(&pick(&inner_train), params, algorithm, seed);
        benign.extend(
            pick(&[inner_val])
                .into_iter()
                .filter(|s| !s.label.malicious())
                .map(|s| malicious_probability(&inner, s)),
        );
    }
    let mut model = fit_heads(&pick(train_folds), params, algorithm, seed);
    model.threshold = threshold_for(&mut benign);
    model
}

/// One grouped cross-validation with its own fold assignment: every sample's held-out
/// prediction and the appended-skimmer test of every fold.
fn cross_validate(
    samples: &[Sample],
    args: &TrainArgs,
    params: &TrainParams,
    seed: u64,
) -> eval::Run {
    let fold_of = assign_folds(samples, args.folds, seed);
    let mut oof = vec![None; samples.len()];
    let mut appended = Vec::new();
    for k in 0..args.folds {
        let train_folds: Vec<usize> = (1..args.folds).map(|i| (k + i) % args.folds).collect();
        let model = fit(
            samples,
            &fold_of,
            &train_folds,
            params,
            args.algorithm,
            seed,
        );
        for (i, s) in samples.iter().enumerate() {
            if fold_of[i] == k {
                oof[i] = Some(eval::Scored::of(&model, s));
            }
        }
        appended.extend(eval::appended_skimmers(&model, samples, &fold_of, k));
    }
    eval::Run {
        seed,
        oof: oof
            .into_iter()
            .map(|o| o.expect("every sample has a fold"))
            .collect(),
        appended,
    }
}

pub fn train(args: &TrainArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if args.folds < 3 {
        return Err(Failure::Usage("--folds must be at least 3".into()));
    }
    if args.repeats == 0 {
        return Err(Failure::Usage("--repeats must be at least 1".into()));
    }
    let mut samples = corpus::malicious(&args.data_dir).map_err(Failure::Run)?;
    samples.extend(corpus::benign(&args.benign).map_err(Failure::Run)?);
    let codeless = corpus::drop_codeless(&mut samples, &args.data_dir.join("js/malicious"));
    let duplicates = corpus::dedup(&mut samples);
    let bar = std::io::IsTerminal::is_terminal(&std::io::stdout()).then(|| {
        let bar = indicatif::ProgressBar::new(samples.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scripts analyzed {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let refused = corpus::featurize(&mut samples, &|| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let analyzed_in = started.elapsed();
    let params = args.params.clone();
    // Repeats are independent (own folds, own seed): one thread each, one per core at a time.
    let mut runs: Vec<eval::Run> = Vec::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for chunk in (0..args.repeats as u64).collect::<Vec<_>>().chunks(threads) {
        let done: Vec<eval::Run> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&r| {
                    let (samples, params) = (&samples, &params);
                    scope.spawn(move || {
                        cross_validate(samples, args, params, args.seed.wrapping_add(r))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a cross-validation run panicked"))
                .collect()
        });
        runs.extend(done);
    }
    let mut final_model = fit_heads(
        &samples
            .iter()
            .filter(|s| s.origin != Origin::Hard)
            .collect::<Vec<_>>(),
        &params,
        args.algorithm,
        args.seed,
    );
    // The shipped threshold: every repeat's held-out benign predictions, pooled.
    let mut benign_oof: Vec<f32> = runs
        .iter()
        .flat_map(|run| {
            samples
                .iter()
                .zip(&run.oof)
                .filter(|(s, _)| !s.label.malicious() && s.origin != Origin::Hard)
                .map(|(_, o)| o.probability)
        })
        .collect();
    final_model.threshold = threshold_for(&mut benign_oof);
    let counts = eval::Counts::of(&samples);
    final_model.version = format!(
        "{}-f{FEATURES_VERSION}-s{}-{}",
        match args.algorithm {
            Algorithm::Boosted => "gbt",
            Algorithm::Logistic => "lr",
        },
        args.seed,
        &eval::fingerprint_of(&final_model)[..8]
    );
    final_model.provenance = json!({
        "trainer": "rampart js train",
        "algorithm": format!("{:?}", args.algorithm).to_lowercase(),
        "seed": args.seed,
        "folds": args.folds,
        "repeats": args.repeats,
        "epochs": params.epochs,
        "learning_rate": params.learning_rate,
        "l2": params.l2,
        "malicious_samples": counts.malicious,
        "benign_samples": counts.benign,
        "benign_packages": counts.packages,
        "target_fpr": TARGET_FPR,
    });
    eval::round_weights(&mut final_model);
    let text = serde_json::to_string(&final_model).map_err(|e| Failure::Run(e.into()))?;
    std::fs::write(&args.out, text + "\n")
        .map_err(|e| Failure::Run(anyhow::anyhow!("cannot write {}: {e}", args.out.display())))?;
    let report = eval::report(&eval::ReportInput {
        samples: &samples,
        runs: &runs,
        model: &final_model,
        duplicates,
        codeless: &codeless,
        refused,
        folds: args.folds,
        seed: args.seed,
        analyzed_in,
        total: started.elapsed(),
        out: &args.out,
    });
    print!("{report}");
    let write = |path: &PathBuf, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| Failure::Run(anyhow::anyhow!("cannot write {}: {e}", path.display())))
    };
    if let Some(path) = &args.report {
        write(path, &report)?;
    }
    if let Some(path) = &args.predictions {
        write(path, &eval::predictions_csv(&samples, &runs))?;
    }
    Ok(())
}
