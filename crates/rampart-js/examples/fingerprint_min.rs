//! Fingerprint time against bare oxc parse time as the *minimum* of N passes over the corpus,
//! each pass parsing every file and then analyzing every file. On a shared, noisy machine the
//! minimum is the steadiest estimate of the cost itself, and running two builds of this example
//! alternately (A/B) compares them in the same minutes (see BENCHMARKS.md).
//!
//!   cargo run --release -p rampart-js --example fingerprint_min -- target/js-testdata/files [unminified]
//!
//! `PASSES=1` runs one pass of each, for `valgrind --tool=callgrind`, whose instruction counts
//! repeat exactly from run to run where timings do not.
//!
//! `BREAKDOWN=1` also times, per pass, parse plus an empty visitor walk over the tree (the
//! floor of any design that walks the tree once after parsing) and parse plus oxc_semantic's
//! scoping as `analyze` runs it: what a scope resolver fused into the walk could save at most.

use std::time::Instant;

use oxc_allocator::Allocator;
use oxc_ast_visit::Visit;
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
    let (mut parse, mut fingerprint) = (f64::MAX, f64::MAX);
    let (mut walk, mut scoping) = (f64::MAX, f64::MAX);
    let breakdown = std::env::var_os("BREAKDOWN").is_some();
    let passes = std::env::var("PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(PASSES);
    for _ in 0..passes {
        let start = Instant::now();
        let mut nodes = 0;
        for f in &files {
            let allocator = Allocator::default();
            let parsed = bare_parse(&allocator, f);
            nodes += parsed.program.body.len();
        }
        parse = parse.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for f in &files {
            nodes += analyze(f, &options).nodes;
        }
        fingerprint = fingerprint.min(start.elapsed().as_secs_f64());
        if breakdown {
            let start = Instant::now();
            for f in &files {
                let allocator = Allocator::default();
                let parsed = bare_parse(&allocator, f);
                let mut counter = NodeCounter(0);
                counter.visit_program(&parsed.program);
                nodes += counter.0;
            }
            walk = walk.min(start.elapsed().as_secs_f64());
            let start = Instant::now();
            for f in &files {
                let allocator = Allocator::default();
                let parsed = bare_parse(&allocator, f);
                let semantic = oxc_semantic::SemanticBuilder::new()
                    .with_stats(oxc_semantic::Stats::new(
                        0,
                        f.len() as u32 / 40 + 16,
                        f.len() as u32 / 20 + 16,
                        f.len() as u32 / 6 + 16,
                    ))
                    .build(&parsed.program)
                    .semantic;
                nodes += semantic.scoping().symbols_len();
            }
            scoping = scoping.min(start.elapsed().as_secs_f64());
        }
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
    if breakdown {
        println!(
            "parse + empty walk {:.1} ms ({:.2}), parse + scoping {:.1} ms ({:.2}); \
             fingerprint without scoping {:.2}",
            walk * 1e3,
            walk / parse,
            scoping * 1e3,
            scoping / parse,
            (fingerprint - (scoping - parse)) / parse
        );
    }
}

/// A bare parse with the options `analyze` uses.
fn bare_parse<'a>(allocator: &'a Allocator, source: &'a str) -> oxc_parser::ParserReturn<'a> {
    let options = ParseOptions {
        preserve_parens: false,
        ..ParseOptions::default()
    };
    Parser::new(allocator, source, SourceType::script())
        .with_options(options)
        .parse()
}

/// Visits every node and does nothing else but count them.
struct NodeCounter(usize);

impl<'a> Visit<'a> for NodeCounter {
    fn enter_node(&mut self, _kind: oxc_ast::AstKind<'a>) {
        self.0 += 1;
    }
}
