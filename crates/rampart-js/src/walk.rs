//! One walk over the syntax tree feeds every pass.
//!
//! Each pass (the normalized stream, regions, capabilities, domains, data flow and, for the
//! classifier, features, rule evidence and payloads) used to loop over oxc_semantic's node
//! table on its own, paying for the table's construction and a round of cache misses per loop
//! (this walk and the changes that came with it cut fingerprint time by 8–16%, BENCHMARKS.md).
//! Now `oxc_semantic` only resolves scopes
//! and this visitor hands each node, with its ancestors, to every pass in the pre-order the node
//! table had: `tests/walk_order.rs` checks the two orders node for node on the real-code corpus,
//! because the stored structural hashes are defined over it.

use oxc_allocator::Allocator;
use oxc_ast::AstKind;
use oxc_ast::ast::Program;
use oxc_ast_visit::Visit;
use oxc_semantic::Scoping;

use crate::capabilities;
use crate::normalize::{self, Stream};
use crate::resolve::Resolver;
use crate::sketch::{self, Region};
use crate::{domains, features, flows, rules, unpack};

/// What the passes found.
pub(crate) struct Walked<'s, 'a> {
    pub stream: Stream,
    pub resolver: Resolver<'s, 'a>,
    pub regions: Vec<Region>,
    pub capabilities: std::collections::BTreeSet<crate::Capability>,
    /// Visible and hidden domains (see `domains.rs`).
    pub domains: (
        std::collections::BTreeSet<String>,
        std::collections::BTreeSet<String>,
    ),
    pub flows: std::collections::BTreeSet<String>,
    /// The classifier's passes, when asked for.
    pub classifier: Option<(features::Counter, rules::Evidence, Vec<String>)>,
}

/// A node the walk is inside of.
struct Open {
    id: u32,
    subtree: sketch::Subtree,
    /// The region it starts, if any.
    region: Option<u32>,
}

/// `CLASSIFY`: whether the classifier's passes run. A parameter of the type, not only of the
/// value, so the fingerprint walk is compiled without their (inlined) code.
struct Walker<'s, 'a, const CLASSIFY: bool> {
    /// Kinds of the current node's ancestors, root first.
    ancestors: Vec<AstKind<'a>>,
    /// Their indices in the stream, subtree hashes so far and regions.
    open: Vec<Open>,
    resolver: Resolver<'s, 'a>,
    stream: normalize::Builder<'s>,
    regions: sketch::RegionFinder,
    capabilities: capabilities::Facts,
    domains: domains::Collector,
    flows: flows::Collector,
    classifier: Option<(features::Counter, rules::Gatherer, unpack::Collector)>,
}

impl<'a, const CLASSIFY: bool> Visit<'a> for Walker<'_, 'a, CLASSIFY> {
    fn enter_node(&mut self, kind: AstKind<'a>) {
        let i = self.stream.stream.len();
        let parent = self.open.last().map_or(0, |o| o.id as usize);
        self.resolver.node(&kind);
        self.stream.push(parent, &kind, &self.ancestors);
        let parent_kind = self.ancestors.last();
        let region = self
            .regions
            .node(i, &kind, parent_kind, &self.stream.stream);
        self.capabilities.node(&kind, &self.resolver);
        self.domains.node(&kind, parent_kind);
        self.flows.node(&kind, &self.resolver);
        if CLASSIFY && let Some((counter, gatherer, payloads)) = &mut self.classifier {
            counter.node(&kind, &self.resolver);
            gatherer.node(&kind, &self.resolver);
            payloads.node(&kind, &self.resolver);
        }
        self.ancestors.push(kind);
        self.open.push(Open {
            id: i as u32,
            subtree: sketch::Subtree::default(),
            region,
        });
    }

    fn leave_node(&mut self, kind: AstKind<'a>) {
        self.ancestors.pop();
        self.resolver.leave(&kind, &self.ancestors);
        let Some(node) = self.open.pop() else {
            return;
        };
        let stream = &self.stream.stream;
        let i = node.id as usize;
        let hash = node.subtree.hash(stream, i);
        if let Some(region) = node.region {
            // Pre-order: the subtree is every node entered since this one.
            self.regions.close(region, hash, stream.len());
        }
        if let Some(parent) = self.open.last_mut() {
            parent.subtree.add(stream, i, &node.subtree, hash);
        }
    }
}

/// Runs every pass over `program`, whose references `scoping` resolves; strings the resolver
/// folds are kept in `allocator` (the program's arena).
pub(crate) fn walk<'s, 'a>(
    program: &Program<'a>,
    scoping: &'s Scoping,
    allocator: &'a Allocator,
    classifier: bool,
) -> Walked<'s, 'a> {
    if classifier {
        walk_with::<true>(program, scoping, allocator)
    } else {
        walk_with::<false>(program, scoping, allocator)
    }
}

fn walk_with<'s, 'a, const CLASSIFY: bool>(
    program: &Program<'a>,
    scoping: &'s Scoping,
    allocator: &'a Allocator,
) -> Walked<'s, 'a> {
    let mut resolver = Resolver::new(scoping, allocator, program.source_text.len());
    loop {
        resolver.restart();
        let mut walker = Walker::<CLASSIFY> {
            ancestors: Vec::with_capacity(64),
            open: Vec::with_capacity(64),
            resolver,
            stream: normalize::Builder::new(scoping, program.source_text.len() / 4),
            regions: sketch::RegionFinder::default(),
            capabilities: capabilities::Facts::default(),
            domains: domains::Collector::default(),
            flows: flows::Collector::for_source(program.source_text.len()),
            classifier: CLASSIFY.then(Default::default),
        };
        walker.visit_program(program);
        // A string array declared after a lookup that needed it: walk again knowing them all.
        if walker.resolver.stale() {
            resolver = walker.resolver;
            resolver.freeze();
            continue;
        }
        let stream = walker.stream.stream;
        return Walked {
            regions: walker.regions.finish(),
            stream,
            resolver: walker.resolver,
            capabilities: walker.capabilities.finish(),
            domains: walker.domains.finish(),
            flows: walker.flows.finish(),
            classifier: walker.classifier.map(|(counter, gatherer, payloads)| {
                (counter, gatherer.finish(), payloads.finish())
            }),
        };
    }
}
