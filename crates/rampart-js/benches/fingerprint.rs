//! Fingerprint throughput on the real-library corpus (`scripts/js-testdata`) against bare oxc
//! parsing of the same files in the same run, classifier inference on the same files, plus the
//! diff of two ~280 KB jQuery releases.
//!
//!   scripts/js-testdata && cargo bench -p rampart-js --bench fingerprint

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use oxc_allocator::Allocator;
use oxc_parser::{ParseOptions, Parser};
use oxc_span::SourceType;
use rampart_js::{Model, Options, analyze, classify, diff};

fn corpus_dir() -> PathBuf {
    std::env::var_os("RAMPART_JS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/js-testdata"))
}

fn load(filter: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("files"))
        .expect("run scripts/js-testdata first")
        .flat_map(|p| {
            std::fs::read_dir(p.unwrap().path())
                .unwrap()
                .map(|f| f.unwrap().path())
        })
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if filter(&name) {
            out.push(String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned());
        }
    }
    out
}

fn bare_parse(src: &str) -> usize {
    let allocator = Allocator::default();
    let options = ParseOptions {
        preserve_parens: false,
        ..ParseOptions::default()
    };
    let ret = Parser::new(&allocator, src, SourceType::script())
        .with_options(options)
        .parse();
    ret.program.body.len()
}

/// Parse plus oxc's scope analysis (no node table), which `analyze` runs before its one walk:
/// the floor under any scope-correct normalization built on oxc_semantic.
fn parse_and_scoping(src: &str) -> usize {
    let allocator = Allocator::default();
    let options = ParseOptions {
        preserve_parens: false,
        ..ParseOptions::default()
    };
    let ret = Parser::new(&allocator, src, SourceType::script())
        .with_options(options)
        .parse();
    let semantic = oxc_semantic::SemanticBuilder::new()
        .build(&ret.program)
        .semantic;
    semantic.scoping().symbols_len()
}

fn bench(c: &mut Criterion) {
    for (group, files) in [
        ("corpus_all", load(|_| true)),
        (
            "corpus_unminified",
            load(|n| !n.contains(".min.") && !n.contains("-min.")),
        ),
    ] {
        let bytes: usize = files.iter().map(String::len).sum();
        eprintln!("{group}: {} files, {} bytes", files.len(), bytes);
        let mut g = c.benchmark_group(group);
        g.sample_size(10);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("oxc_parse_baseline", |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|f| bare_parse(black_box(f)))
                    .sum::<usize>()
            })
        });
        g.bench_function("oxc_parse_scoping", |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|f| parse_and_scoping(black_box(f)))
                    .sum::<usize>()
            })
        });
        let options = Options::default();
        g.bench_function("fingerprint", |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|f| analyze(black_box(f), &options).nodes)
                    .sum::<usize>()
            })
        });
        // Classifier inference: the whole-file view plus segments, features and scoring with the
        // shipped model (issue target: under 2x fingerprint time).
        let model = Model::embedded();
        g.bench_function("classify", |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|f| u32::from(classify(black_box(f), &options, model).score))
                    .sum::<u32>()
            })
        });
        g.finish();
    }
    let dir = corpus_dir().join("files");
    let old = std::fs::read_to_string(dir.join("jquery_3.6.0/dist_jquery.js")).unwrap();
    let new = std::fs::read_to_string(dir.join("jquery_3.7.1/dist_jquery.js")).unwrap();
    let mut g = c.benchmark_group("diff_jquery_3.6.0_3.7.1");
    g.sample_size(20);
    let options = Options::default();
    g.bench_function("analyze_both_and_diff", |b| {
        b.iter(|| {
            let (a, b2) = (analyze(&old, &options), analyze(&new, &options));
            diff(&a, &old, &b2, &new).similarity
        })
    });
    let (a, b2) = (analyze(&old, &options), analyze(&new, &options));
    g.bench_function("diff_only", |b| {
        b.iter(|| diff(black_box(&a), &old, black_box(&b2), &new).similarity)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
