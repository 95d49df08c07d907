//! Cheap data flow: does a sensitive read reach a network sink? (`input.value` → a variable →
//! `JSON.stringify` → `xhr.send(…)`.) Intra-file, flow-insensitive, by spans: a variable is
//! tainted when the expression assigned to it contains a source or a tainted variable (to a
//! fixpoint); a sink call is reported when one of its arguments does. Names come from the
//! resolved AST, so string-array obfuscation does not hide them (see `capabilities.rs`).

use std::collections::BTreeSet;

use oxc_ast::AstKind;
use oxc_ast::ast::{AssignmentTarget, BindingPattern, Expression, SimpleAssignmentTarget};
use oxc_span::{GetSpan, Span};
use oxc_syntax::symbol::SymbolId;

use crate::Capability;
use crate::resolve::Resolver;

/// Fixpoint rounds: enough for chains of a few assignments, bounded for hostile input.
const MAX_ROUNDS: usize = 6;

fn root_symbol(resolve: &Resolver<'_, '_>, mut e: &Expression<'_>) -> Option<SymbolId> {
    loop {
        match e.without_parentheses() {
            Expression::Identifier(id) => return resolve.symbol_of(id),
            other => e = other.as_member_expression()?.object(),
        }
    }
}

/// Source kinds as bits of a mask (sources are few; sets would allocate per query).
const SOURCE_KINDS: [Capability; 3] = [
    Capability::ReadFormFields,
    Capability::ReadCookie,
    Capability::ReadStorage,
];

/// Index of a source kind in [`SOURCE_KINDS`] (bit `1 << slot` of a mask).
fn slot(kind: Capability) -> usize {
    SOURCE_KINDS.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Start offsets of spans, sorted, with a query "is any inside `[start, end)`?".
///
/// AST spans nest or are disjoint, so a node that starts inside another node's span ends inside
/// it too: containment is a range query over starts, answered by binary search.
#[derive(Default)]
struct Starts(Vec<u32>);

impl Starts {
    fn any_in(&self, outer: Span) -> bool {
        let from = self.0.partition_point(|&s| s < outer.start);
        self.0.get(from).is_some_and(|&s| s < outer.end)
    }
}

struct Index {
    /// Starts of source expressions, per source kind.
    sources: [Starts; 3],
    /// (start, symbol) of identifier references to local symbols.
    refs: Vec<(u32, SymbolId)>,
    /// Starts of references to symbols tainted by each kind (rebuilt when taint grows).
    tainted_refs: [Starts; 3],
}

impl Index {
    /// Source kinds inside `outer` (as a mask), directly or through tainted variables.
    fn kinds_in(&self, outer: Span) -> u8 {
        let mut out = 0;
        for i in 0..SOURCE_KINDS.len() {
            if self.sources[i].any_in(outer) || self.tainted_refs[i].any_in(outer) {
                out |= 1 << i;
            }
        }
        out
    }

    /// Rebuilds the tainted references from the taint of each symbol (indexed by symbol id),
    /// in one pass over the references, which are sorted, so each list stays sorted.
    fn retaint(&mut self, taint: &[u8]) {
        for starts in &mut self.tainted_refs {
            starts.0.clear();
        }
        for (start, sym) in &self.refs {
            let mask = taint[sym.index()];
            if mask == 0 {
                continue;
            }
            for (i, starts) in self.tainted_refs.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    starts.0.push(*start);
                }
            }
        }
    }
}

/// Sources, local references, assignments and sink calls, gathered node by node (see
/// `walk.rs`).
#[derive(Default)]
pub(crate) struct Collector {
    sources: Vec<(u32, Capability)>,
    refs: Vec<(u32, SymbolId)>,
    /// Assignments (target symbol, value span).
    assigns: Vec<(SymbolId, Span)>,
    /// Sink calls (sink kind, argument spans).
    sinks: Vec<(Capability, Vec<Span>)>,
}

impl Collector {
    /// A collector sized for a script of `source_len` bytes: local references run to about one
    /// per 16 bytes in the library corpus, and growing the vector by doubling copied it over
    /// and over (callgrind: `realloc` was the largest `memcpy` caller of a fingerprint run).
    pub(crate) fn for_source(source_len: usize) -> Self {
        Self {
            refs: Vec::with_capacity(source_len / 16),
            assigns: Vec::with_capacity(source_len / 64),
            ..Self::default()
        }
    }

    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node<'a>(&mut self, kind: &AstKind<'a>, resolve: &Resolver<'_, 'a>) {
        use Capability::*;
        match kind {
            AstKind::IdentifierReference(r) => {
                if let Some(sym) = resolve.symbol_of(r) {
                    self.refs.push((r.span.start, sym));
                }
            }
            // `el.value`, or `el[_0x3a[7]]` through an obfuscator's string array.
            AstKind::StaticMemberExpression(_) | AstKind::ComputedMemberExpression(_) => {
                let (span, name) = match kind {
                    AstKind::StaticMemberExpression(m) => (m.span, Some(m.property.name.as_str())),
                    AstKind::ComputedMemberExpression(m) => {
                        (m.span, resolve.const_string(&m.expression))
                    }
                    _ => return,
                };
                match name {
                    Some("value") => self.sources.push((span.start, ReadFormFields)),
                    Some("cookie") => self.sources.push((span.start, ReadCookie)),
                    Some("localStorage" | "sessionStorage") => {
                        self.sources.push((span.start, ReadStorage))
                    }
                    _ => {}
                }
            }
            AstKind::NewExpression(n) if matches!(n.callee.without_parentheses(), Expression::Identifier(id) if id.name == "FormData") =>
            {
                self.sources.push((n.span.start, ReadFormFields));
            }
            AstKind::CallExpression(call) => {
                let name =
                    resolve
                        .property(&call.callee)
                        .or(match call.callee.without_parentheses() {
                            Expression::Identifier(id) => Some(id.name.as_str()),
                            _ => None,
                        });
                match name {
                    Some("val") if call.arguments.is_empty() => {
                        self.sources.push((call.span.start, ReadFormFields))
                    }
                    Some("serialize" | "serializeArray") => {
                        self.sources.push((call.span.start, ReadFormFields))
                    }
                    Some("getItem") => self.sources.push((call.span.start, ReadStorage)),
                    _ => {}
                }
                let sink = match name {
                    Some("send") => Some(NetworkXhr),
                    Some("sendBeacon") => Some(NetworkBeacon),
                    Some("fetch") => Some(NetworkFetch),
                    Some("ajax" | "post" | "getJSON") => Some(NetworkXhr),
                    _ => None,
                };
                if let Some(sink) = sink {
                    self.sinks
                        .push((sink, call.arguments.iter().map(GetSpan::span).collect()));
                }
            }
            AstKind::VariableDeclarator(d) => {
                if let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init)
                    && let Some(sym) = id.symbol_id.get()
                {
                    self.assigns.push((sym, init.span()));
                }
            }
            AstKind::AssignmentExpression(a) => {
                let target = match &a.left {
                    AssignmentTarget::AssignmentTargetIdentifier(id) => resolve.symbol_of(id),
                    other => other
                        .as_member_expression()
                        .and_then(|m| root_symbol(resolve, m.object())),
                };
                if let Some(sym) = target {
                    self.assigns.push((sym, a.right.span()));
                }
                // `img.src = url + data` (or `img[_0x1f[2]] = …`): a network sink by assignment.
                let property = match a.left.as_simple_assignment_target() {
                    Some(SimpleAssignmentTarget::StaticMemberExpression(m)) => {
                        Some(m.property.name.as_str())
                    }
                    Some(SimpleAssignmentTarget::ComputedMemberExpression(m)) => {
                        resolve.const_string(&m.expression)
                    }
                    _ => None,
                };
                if property == Some("src") {
                    self.sinks.push((NetworkImage, vec![a.right.span()]));
                }
            }
            _ => {}
        }
    }

    /// `source → sink` pairs, e.g. `read:form-fields -> network:xhr`.
    pub(crate) fn finish(self) -> BTreeSet<String> {
        let Self {
            sources,
            refs,
            assigns,
            sinks,
        } = self;
        // Nothing to connect: most libraries stop here.
        if sinks.is_empty() || sources.is_empty() {
            return BTreeSet::new();
        }
        let mut index = Index {
            sources: Default::default(),
            refs,
            tainted_refs: Default::default(),
        };
        for (start, kind) in sources {
            index.sources[slot(kind)].0.push(start);
        }
        for starts in &mut index.sources {
            starts.0.sort_unstable();
        }
        index.refs.sort_unstable_by_key(|(s, _)| *s);
        // Source kinds per symbol, dense by symbol id.
        let symbols = index
            .refs
            .iter()
            .map(|(_, sym)| sym.index() + 1)
            .chain(assigns.iter().map(|(sym, _)| sym.index() + 1))
            .max()
            .unwrap_or(0);
        let mut taint = vec![0u8; symbols];
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for (sym, span) in &assigns {
                let kinds = index.kinds_in(*span);
                if kinds == 0 {
                    continue;
                }
                let entry = &mut taint[sym.index()];
                changed |= *entry | kinds != *entry;
                *entry |= kinds;
            }
            if !changed {
                break;
            }
            index.retaint(&taint);
        }
        let mut flows = BTreeSet::new();
        for (sink, args) in &sinks {
            for arg in args {
                let kinds = index.kinds_in(*arg);
                for (i, source) in SOURCE_KINDS.iter().enumerate() {
                    if kinds & (1 << i) != 0 {
                        flows.insert(format!("{} -> {}", source.name(), sink.name()));
                    }
                }
            }
        }
        flows
    }
}
