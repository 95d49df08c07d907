//! Fingerprint time against bare oxc parse time as the *minimum* of N passes over the corpus,
//! each pass parsing every file and then analyzing every file. On a shared, noisy machine the
//! minimum is the steadiest estimate of the cost itself, and running two builds of this example
//! alternately (A/B) compares them in the same minutes (see BENCHMARKS.md).
//!
//!   cargo run --release -p rampart-js --example fingerprint_min -- target/js-testdata/files [unminified]
//!
//! `PASSES=1` runs one pass of each, for `valgrind --tool=callgrind`, whose instruction counts
//! repeat exactly from run to run where timings do not.

use std::time::Instant;

use oxc_allocator::Allocator;
use oxc_parser::{ParseOptions, Parser};
use oxc_span::SourceType;
use rampart_js::{Options, analyze};

const PASSES: usize = 15;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: fingerprint_min DIR [unminified]");
    let unminified = args.next().is_some();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("run scripts/js-testdata first")
        .flat_map(|p| std::fs::read_dir(p.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect();
    paths.sort();
    let files: Vec<String> = paths
        .iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !unminified || !(name.contains(".min.") || name.contains("-min."))
        })
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect();
    let options = Options::default();
    let parse_options = ParseOptions {
        preserve_parens: false,
        ..ParseOptions::default()
    };
    let (mut parse, mut fingerprint) = (f64::MAX, f64::MAX);
    let passes = std::env::var("PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(PASSES);
    for _ in 0..passes {
        let start = Instant::now();
        let mut nodes = 0;
        for f in &files {
            let allocator = Allocator::default();
            let parsed = Parser::new(&allocator, f, SourceType::script())
                .with_options(parse_options)
                .parse();
            nodes += parsed.program.body.len();
        }
        parse = parse.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for f in &files {
            nodes += analyze(f, &options).nodes;
        }
        fingerprint = fingerprint.min(start.elapsed().as_secs_f64());
        std::hint::black_box(nodes);
    }
    let bytes: usize = files.iter().map(String::len).sum();
    println!(
        "{} files, {:.1} MB: parse {:.1} ms, fingerprint {:.1} ms ({:.1} MiB/s), fingerprint / parse {:.2}",
        files.len(),
        bytes as f64 / 1e6,
        parse * 1e3,
        fingerprint * 1e3,
        bytes as f64 / fingerprint / (1 << 20) as f64,
        fingerprint / parse
    );
}
