//! JavaScript analysis for Rampart, with no I/O: structural fingerprints that ignore what
//! minifiers and build systems change (whitespace, comments, local names, literal values),
//! similarity and region diffs that locate an appended block, and the capabilities and domains
//! that say what a script can do.
//!
//! Results are data: [`analyze`] always returns an [`Analysis`], with parse errors as
//! diagnostics; input over the size limit is refused with a diagnostic, and parsing runs on a
//! thread whose stack grows with the input so hostile nesting cannot overflow it.
#![forbid(unsafe_code)]

mod boost;
mod capabilities;
mod classify;
mod diff;
mod domains;
mod features;
mod flows;
mod html;
mod model;
mod normalize;
mod resolve;
mod rules;
mod sketch;
mod text;
mod unpack;
mod walk;
mod worker;

use std::collections::BTreeSet;

use oxc_allocator::Allocator;
use oxc_parser::{ParseOptions, Parser};
use oxc_semantic::SemanticBuilder;
use oxc_span::SourceType;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use boost::{BoostParams, Forest, train as train_forest};
pub use capabilities::Capability;
pub use classify::{
    Categories, Classification, RULE_PROBABILITY, View, classify, classify_views,
    malicious_probability, view_probability, views,
};
pub use diff::{Diff, RegionChange, Verdict, diff};
pub use features::{FEATURES_VERSION, SIGNALS, dimension, feature_name};
pub use html::{InlineScript, extract_scripts};
pub use model::{HEADS, Head, Model, ModelError, TrainParams, score, standardization, train_head};
pub use rules::{Evidence, Rule};
pub use sketch::{Region, Shingles};
pub use text::decode_text;

/// Default largest script analyzed (bytes); larger input gets a diagnostic and no structure.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Default deepest bracket nesting (`(`, `[`, `{`) analyzed. Real code stays under ~100; each
/// level costs the parser several kilobytes of stack, so this bound is what keeps hostile input
/// like `[[[[…` from overflowing it.
pub const DEFAULT_MAX_NESTING: usize = 1000;
/// Parse errors kept in an [`Analysis`] (the rest are counted).
pub const MAX_ERRORS_KEPT: usize = 20;

/// Analysis settings; every limit has a documented default.
#[derive(Debug, Clone)]
pub struct Options {
    /// Largest input analyzed, in bytes.
    pub max_bytes: usize,
    /// Deepest bracket nesting analyzed.
    pub max_nesting: usize,
    /// Also compute the classifier's feature vector ([`Analysis::features`]); off for plain
    /// fingerprinting, which does not need it.
    pub features: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_nesting: DEFAULT_MAX_NESTING,
            features: false,
        }
    }
}

/// The deepest bracket nesting in the raw text. Brackets inside strings and comments count too:
/// an over-estimate that only matters for pathological input.
///
/// Exact, but mostly not byte by byte: a 64-byte block is counted with vector compares, and
/// only when it could move the maximum or close more brackets than are open (where the depth
/// clamps at zero) is it walked serially. It runs before every parse, over every byte.
fn bracket_depth(source: &str) -> usize {
    const DELTA: [i8; 256] = {
        let mut t = [0i8; 256];
        t[b'(' as usize] = 1;
        t[b'[' as usize] = 1;
        t[b'{' as usize] = 1;
        t[b')' as usize] = -1;
        t[b']' as usize] = -1;
        t[b'}' as usize] = -1;
        t
    };
    fn serial(bytes: &[u8], depth: &mut usize, max: &mut usize) {
        for &b in bytes {
            *depth = depth.saturating_add_signed(DELTA[b as usize].into());
            *max = (*max).max(*depth);
        }
    }
    let (mut depth, mut max) = (0usize, 0usize);
    let blocks = source.as_bytes().chunks_exact(64);
    let tail = blocks.remainder();
    for block in blocks {
        let count = |set: [u8; 3]| {
            block
                .iter()
                .map(|&b| u8::from(b == set[0]) + u8::from(b == set[1]) + u8::from(b == set[2]))
                .fold(0u8, u8::wrapping_add) as usize
        };
        let (opens, closes) = (count(*b"([{"), count(*b")]}"));
        if closes <= depth && depth + opens <= max {
            depth = depth + opens - closes;
        } else {
            serial(block, &mut depth, &mut max);
        }
    }
    serial(tail, &mut depth, &mut max);
    max
}

/// What one script is and can do.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub bytes: usize,
    /// Hex SHA-256 of the exact bytes.
    pub sha256: String,
    /// Hex 128-bit hash of the normalized syntax tree (see the crate docs for what it ignores).
    pub structural_hash: String,
    /// AST nodes.
    pub nodes: usize,
    pub capabilities: BTreeSet<Capability>,
    /// Registrable domains (eTLD+1) of URL-like string literals, including simple
    /// concatenations and URLs hidden as HTML character references or reversed strings.
    pub domains: BTreeSet<String>,
    /// Sensitive reads that reach network sinks (`read:form-fields -> network:xhr`).
    pub flows: BTreeSet<String>,
    /// Parse errors (at most [`MAX_ERRORS_KEPT`]); non-empty means the structure is partial.
    pub parse_errors: Vec<String>,
    /// Total parse errors, including those not kept.
    pub parse_error_count: usize,
    /// Shingles of the normalized stream (for similarity).
    #[serde(skip)]
    pub shingles: Shingles,
    /// Top-level statements and functions with their structural hashes and source spans.
    #[serde(skip)]
    pub regions: Vec<Region>,
    /// The classifier's feature vector (see `features.rs`), when [`Options::features`] asked
    /// for it; empty otherwise.
    #[serde(skip)]
    pub features: Vec<f32>,
    /// Code the script decodes from its own constants (`eval(atob("…"))` …), with the
    /// features; empty otherwise. See `unpack.rs`.
    #[serde(skip)]
    pub payloads: Vec<String>,
    /// Evidence for the written rules that the feature vector does not carry.
    #[serde(skip)]
    pub evidence: Evidence,
    /// Whether the code does anything on its own (a call, `new`, an assignment, an import …);
    /// `classify` does not score segments that only declare values.
    #[serde(skip)]
    pub acts: bool,
}

impl Analysis {
    pub(crate) fn refused(source: &str, why: String) -> Self {
        Self {
            bytes: source.len(),
            sha256: sha256_hex(source.as_bytes()),
            structural_hash: String::new(),
            nodes: 0,
            capabilities: BTreeSet::new(),
            domains: BTreeSet::new(),
            flows: BTreeSet::new(),
            parse_errors: vec![why],
            parse_error_count: 1,
            shingles: Shingles::default(),
            regions: Vec::new(),
            features: Vec::new(),
            payloads: Vec::new(),
            evidence: Evidence::default(),
            acts: true,
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stack for an analysis thread. With bracket nesting bounded, the parser's remaining recursion
/// (prefix operators, `a=b=…`, `x=>y=>…`, `a?b:c?…`) measured under 1 KiB per input byte, debug
/// builds included; the stack is sized from the largest input allowed (virtual memory: only
/// touched pages are committed). If the system refuses such a thread, the analysis reports it.
pub(crate) fn stack_for(len: usize) -> usize {
    (32usize << 20).saturating_add(len.saturating_mul(1024))
}

/// Analyzes one classic script (falling back to module syntax when that parses better).
///
/// Runs on a per-calling-thread worker with a large stack and a reused arena (see `worker.rs`):
/// spawning a thread per script cost more in fresh-page faults than the analysis itself.
pub fn analyze(source: &str, options: &Options) -> Analysis {
    if source.len() > options.max_bytes {
        return Analysis::refused(
            source,
            format!(
                "script is {} bytes, over the {} byte limit",
                source.len(),
                options.max_bytes
            ),
        );
    }
    let depth = bracket_depth(source);
    if depth > options.max_nesting {
        return Analysis::refused(
            source,
            format!(
                "brackets nest {depth} deep, over the {} limit",
                options.max_nesting
            ),
        );
    }
    worker::run(source, options.max_bytes, options.features)
}

/// `@cc_on`: JScript's conditional compilation, code hidden from every other engine in a
/// comment (WSH droppers wrap their whole body in it).
fn conditional_compilation(source: &str) -> bool {
    let bytes = source.as_bytes();
    source.match_indices('@').any(|(i, _)| {
        bytes
            .get(i..i + 6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"@cc_on"))
    })
}

/// Capacity for oxc's scope tables, from the script's size: enough for the densest real code
/// measured (the 185 library builds of `scripts/js-testdata`: at most 0.02 scopes, 0.04 symbols
/// and 0.12 references per byte). Without it oxc counts them in a pass of its own over the
/// tree; a hostile script that needs more only makes the tables grow.
fn semantic_stats(bytes: usize) -> oxc_semantic::Stats {
    let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
    oxc_semantic::Stats::new(0, bytes / 40 + 16, bytes / 20 + 16, bytes / 6 + 16)
}

/// The analysis proper; the caller guarantees the stack (see [`stack_for`]).
pub(crate) fn analyze_on_this_stack(
    source: &str,
    allocator: &Allocator,
    with_features: bool,
) -> Analysis {
    let options = ParseOptions {
        preserve_parens: false,
        ..ParseOptions::default()
    };
    let mut parsed = Parser::new(allocator, source, SourceType::script())
        .with_options(options)
        .parse();
    if !parsed.diagnostics.is_empty() {
        let module = Parser::new(allocator, source, SourceType::mjs())
            .with_options(options)
            .parse();
        if module.diagnostics.len() < parsed.diagnostics.len() {
            parsed = module;
        }
    }
    // Scopes only: the passes read the tree in one walk (`walk.rs`), not a node table. The
    // size estimate replaces oxc's counting pass over the tree (see `semantic_stats`).
    let semantic = SemanticBuilder::new()
        .with_stats(semantic_stats(source.len()))
        .build(&parsed.program)
        .semantic;
    let walked = walk::walk(
        &parsed.program,
        semantic.scoping(),
        allocator,
        with_features,
    );
    let stream = walked.stream;
    let resolver = walked.resolver;
    let capabilities = walked.capabilities;
    let (mut domains, hidden) = walked.domains;
    let flows = walked.flows;
    let mut errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .take(MAX_ERRORS_KEPT)
        .map(|d| d.to_string())
        .collect();
    if parsed.panicked && errors.is_empty() {
        errors.push("the parser gave up".into());
    }
    let (features, payloads, evidence) = match walked.classifier {
        Some((counter, evidence, payloads)) => (
            features::extract(
                &semantic,
                &resolver,
                &stream,
                features::Findings {
                    caps: &capabilities,
                    flows: &flows,
                    domains: &domains,
                    parse_errors: parsed.diagnostics.len(),
                },
                counter,
            ),
            payloads,
            evidence,
        ),
        None => (Vec::new(), Vec::new(), Evidence::default()),
    };
    domains.extend(hidden);
    Analysis {
        bytes: source.len(),
        sha256: sha256_hex(source.as_bytes()),
        structural_hash: format!("{:032x}", stream.structural_hash()),
        nodes: stream.len(),
        capabilities,
        domains,
        flows,
        parse_error_count: parsed.diagnostics.len().max(errors.len()),
        parse_errors: errors,
        shingles: sketch::shingles(&stream),
        regions: walked.regions,
        features,
        payloads,
        evidence,
        // JScript runs code inside `/*@cc_on … @*/` comments, which no JS parser sees.
        acts: stream.acts() || conditional_compilation(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte definition `bracket_depth` must agree with.
    fn bracket_depth_serial(source: &str) -> usize {
        let (mut depth, mut max) = (0usize, 0usize);
        for b in source.bytes() {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            max = max.max(depth);
        }
        max
    }

    #[test]
    fn bracket_depth_is_exact() {
        // Random bracket soup of every length around the 64-byte blocks, biased to open, to
        // close, or balanced, so blocks that clamp at zero and blocks that set a new maximum
        // both occur.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..3000 {
            let len = (next() % 700) as usize;
            let bias = case % 3;
            let text: String = (0..len)
                .map(|_| match (next() % 10, bias) {
                    (0..=3, 0) | (0..=2, 2) | (0..=1, 1) => ['(', '[', '{'][(next() % 3) as usize],
                    (4..=5, 0) | (3..=5, 2) | (2..=5, 1) => [')', ']', '}'][(next() % 3) as usize],
                    _ => 'x',
                })
                .collect();
            assert_eq!(bracket_depth(&text), bracket_depth_serial(&text), "{text}");
        }
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        assert_eq!(bracket_depth(&deep), 5000);
        assert_eq!(bracket_depth("}}}}(("), 2);
    }
}
