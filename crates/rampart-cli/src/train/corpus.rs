//! The training corpora: malicious samples from `<data dir>/js/manifest.csv` (never executed:
//! read as bytes and parsed) and benign browser builds from the npm corpus fetched by
//! `scripts/js-benign-corpus`. Each sample carries the *group* the split must respect: its
//! malware family (or, for unnamed families, source repository plus folder), or its npm
//! package (all versions and obfuscated variants of one package stay on one side).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use rampart_js::{Options, views};
use sha2::{Digest, Sha256};

/// What a sample is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    Benign,
    Magecart,
    Cryptomining,
    ExploitKit,
    Dropper,
}

impl Label {
    pub fn malicious(self) -> bool {
        self != Label::Benign
    }

    /// The category head this label trains (`None` for benign).
    pub fn head(self) -> Option<&'static str> {
        match self {
            Label::Benign => None,
            Label::Magecart => Some("magecart"),
            Label::Cryptomining => Some("cryptomining"),
            Label::ExploitKit | Label::Dropper => Some("malware"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Label::Benign => "benign",
            Label::Magecart => "magecart",
            Label::Cryptomining => "cryptojacking",
            Label::ExploitKit => "exploit-kit",
            Label::Dropper => "dropper",
        }
    }
}

/// Where a benign sample comes from (hard negatives are reported separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Npm,
    Obfuscated,
    /// `benign-hard/` of the data directory: evaluated, never trained on.
    Hard,
    Malware,
}

pub struct Sample {
    pub path: PathBuf,
    pub label: Label,
    pub origin: Origin,
    pub group: String,
    pub family: String,
    /// The script text (inline scripts joined, for HTML samples).
    pub text: String,
    /// Feature vectors of the classifier's views (`rampart_js::views`): the whole file first,
    /// then segments of its top-level code. Training uses the first; scoring takes the worst.
    pub views: Vec<Vec<f32>>,
    /// The first written rule (`rampart_js::Rule`) any view matches, decoded code included.
    pub rule: Option<rampart_js::Rule>,
    /// Whether the whole file acts (`Analysis::acts`); segments that do not are not views.
    pub acts: bool,
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    crate::js::read_script(path)
}

/// Minimal CSV for the manifest (no quoted fields in it; checked).
fn manifest_rows(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    if header.first() != Some(&"file") || header.len() < 9 {
        bail!(
            "{} does not start with the expected manifest header",
            path.display()
        );
    }
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect())
}

/// Malicious samples and the `benign-hard` files from `<data_dir>/js`.
pub fn malicious(data_dir: &Path) -> anyhow::Result<Vec<Sample>> {
    let js = data_dir.join("js");
    let mut out = Vec::new();
    for row in manifest_rows(&js.join("manifest.csv"))? {
        let [file, category, _sha, _bytes, repo, _commit, source_path, ..] = &row[..] else {
            bail!("manifest row with too few columns: {}", row.join(","));
        };
        let family = row.get(8).cloned().unwrap_or_default();
        let (label, origin) = match category.as_str() {
            "magecart" => (Label::Magecart, Origin::Malware),
            "cryptojacking" => (Label::Cryptomining, Origin::Malware),
            "exploit-kit" => (Label::ExploitKit, Origin::Malware),
            "dropper" => (Label::Dropper, Origin::Malware),
            "benign-hard" => (Label::Benign, Origin::Hard),
            other => bail!("unknown category {other:?} in the manifest"),
        };
        let folder = source_path.rsplit_once('/').map_or("", |(d, _)| d);
        let group = if family.is_empty() {
            format!("{category}:{repo}:{folder}")
        } else {
            format!("{category}:{family}")
        };
        let path = js.join(file);
        out.push(Sample {
            text: read_text(&path)?,
            path,
            label,
            origin,
            group,
            family: if family.is_empty() {
                "-".into()
            } else {
                family
            },
            views: Vec::new(),
            acts: true,
            rule: None,
        });
    }
    Ok(out)
}

/// npm package of a corpus directory name (`_angular_core_17.3.0` → `_angular_core`).
fn package_of(dir_name: &str) -> &str {
    dir_name.rsplit_once('_').map_or(dir_name, |(p, _)| p)
}

/// Benign browser builds from the corpus directory of `scripts/js-benign-corpus`.
pub fn benign(dir: &Path) -> anyhow::Result<Vec<Sample>> {
    let mut out = Vec::new();
    let files = dir.join("files");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&files)
        .with_context(|| {
            format!(
                "cannot read {} (run scripts/js-benign-corpus first)",
                files.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !p.to_string_lossy().ends_with(".part"))
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut scripts: Vec<PathBuf> = std::fs::read_dir(&d)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        scripts.sort();
        for path in scripts {
            out.push(Sample {
                text: read_text(&path)?,
                path,
                label: Label::Benign,
                origin: Origin::Npm,
                group: format!("npm:{}", package_of(&name)),
                family: package_of(&name).to_string(),
                views: Vec::new(),
                acts: true,
                rule: None,
            });
        }
    }
    let obfuscated = dir.join("obfuscated");
    if let Ok(entries) = std::fs::read_dir(&obfuscated) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let pkg = package_of(name.split("__").next().unwrap_or(&name)).to_string();
            out.push(Sample {
                text: read_text(&path)?,
                path,
                label: Label::Benign,
                origin: Origin::Obfuscated,
                group: format!("npm:{pkg}"),
                family: pkg,
                views: Vec::new(),
                acts: true,
                rule: None,
            });
        }
    }
    Ok(out)
}

/// Drops samples with no code of their own (a page whose only script is a `<script src>`):
/// there is nothing for a script classifier to judge — the fetched script and the domain lists
/// judge such a loader — and appended to a library it would make a "skimmer" of nothing.
/// Returns the dropped files, for the report.
pub fn drop_codeless(samples: &mut Vec<Sample>, root: &Path) -> Vec<String> {
    let mut dropped = Vec::new();
    samples.retain(|s| {
        let empty = s.text.trim().is_empty();
        if empty {
            let shown = s.path.strip_prefix(root).unwrap_or(&s.path);
            dropped.push(shown.display().to_string());
        }
        !empty
    });
    dropped
}

/// Drops exact duplicates (same script text), keeping the first; returns how many went.
pub fn dedup(samples: &mut Vec<Sample>) -> usize {
    let mut seen = HashSet::new();
    let before = samples.len();
    samples.retain(|s| seen.insert(Sha256::digest(s.text.as_bytes())));
    before - samples.len()
}

/// Computes every sample's features on all cores, calling `tick` after each. Samples the
/// analyzer refuses (over its size or nesting limits) are dropped and counted.
pub fn featurize(samples: &mut Vec<Sample>, tick: &(dyn Fn() + Sync)) -> usize {
    let options = Options::default();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(samples.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(s) = samples.get(i) else { break };
                    let all = views(&s.text, &options);
                    let rule = all.iter().find_map(|v| v.rule);
                    let acts = all.first().is_none_or(|v| !v.inert());
                    let views: Vec<Vec<f32>> = all
                        .into_iter()
                        .filter(|v| v.decoded == 0)
                        .map(|v| v.analysis.features)
                        .filter(|f| !f.is_empty())
                        .collect();
                    results
                        .lock()
                        .expect("no panics while held")
                        .push((i, views, rule, acts));
                    tick();
                }
            });
        }
    });
    for (i, views, rule, acts) in results.into_inner().expect("threads joined") {
        samples[i].views = views;
        samples[i].rule = rule;
        samples[i].acts = acts;
    }
    let before = samples.len();
    samples.retain(|s| !s.views.is_empty());
    before - samples.len()
}
