//! Cheap data flow: does a sensitive read reach a network sink? (`input.value` → a variable →
//! `JSON.stringify` → `xhr.send(…)`.) Intra-file, flow-insensitive, by spans: a variable is
//! tainted when the expression assigned to it contains a source or a tainted variable (to a
//! fixpoint); a sink call is reported when one of its arguments does. Names come from the
//! resolved AST, so string-array obfuscation does not hide them (see `capabilities.rs`).

use std::collections::{BTreeSet, HashMap};

use oxc_ast::AstKind;
use oxc_ast::ast::{AssignmentTarget, BindingPattern, Expression, SimpleAssignmentTarget};
use oxc_semantic::Semantic;
use oxc_span::{GetSpan, Span};
use oxc_syntax::symbol::SymbolId;

use crate::Capability;
use crate::capabilities::Resolver;

/// Fixpoint rounds: enough for chains of a few assignments, bounded for hostile input.
const MAX_ROUNDS: usize = 6;

fn root_symbol(semantic: &Semantic<'_>, mut e: &Expression<'_>) -> Option<SymbolId> {
    loop {
        match e.without_parentheses() {
            Expression::Identifier(id) => {
                return id
                    .reference_id
                    .get()
                    .and_then(|r| semantic.scoping().get_reference(r).symbol_id());
            }
            other => e = other.as_member_expression()?.object(),
        }
    }
}

struct Index {
    /// (span, source kind), sorted by start.
    sources: Vec<(Span, Capability)>,
    /// (span, symbol) of identifier references to local symbols, sorted by start.
    refs: Vec<(Span, SymbolId)>,
}

impl Index {
    /// Source kinds inside `outer`, directly or through tainted variables.
    fn kinds_in(
        &self,
        outer: Span,
        taint: &HashMap<SymbolId, BTreeSet<Capability>>,
    ) -> BTreeSet<Capability> {
        let mut out = BTreeSet::new();
        let from = self.sources.partition_point(|(s, _)| s.start < outer.start);
        for (s, k) in &self.sources[from..] {
            if s.start >= outer.end {
                break;
            }
            if s.end <= outer.end {
                out.insert(*k);
            }
        }
        let from = self.refs.partition_point(|(s, _)| s.start < outer.start);
        for (s, sym) in &self.refs[from..] {
            if s.start >= outer.end {
                break;
            }
            if let Some(kinds) = taint.get(sym) {
                out.extend(kinds.iter().copied());
            }
        }
        out
    }
}

/// `source → sink` pairs, e.g. `read:form-fields -> network:xhr`.
pub(crate) fn detect<'a>(semantic: &Semantic<'a>, resolve: &Resolver<'_, 'a>) -> BTreeSet<String> {
    use Capability::*;
    let mut index = Index {
        sources: Vec::new(),
        refs: Vec::new(),
    };
    // Assignments (target symbol, value span) and sink calls (sink kind, argument spans).
    let mut assigns: Vec<(SymbolId, Span)> = Vec::new();
    let mut sinks: Vec<(Capability, Vec<Span>)> = Vec::new();
    for node in semantic.nodes().iter() {
        match node.kind() {
            AstKind::IdentifierReference(r) => {
                if let Some(sym) = r
                    .reference_id
                    .get()
                    .and_then(|id| semantic.scoping().get_reference(id).symbol_id())
                {
                    index.refs.push((r.span, sym));
                }
            }
            // `el.value`, or `el[_0x3a[7]]` through an obfuscator's string array.
            AstKind::StaticMemberExpression(_) | AstKind::ComputedMemberExpression(_) => {
                let (span, name) = match node.kind() {
                    AstKind::StaticMemberExpression(m) => (m.span, Some(m.property.name.as_str())),
                    AstKind::ComputedMemberExpression(m) => {
                        (m.span, resolve.const_string(&m.expression))
                    }
                    _ => continue,
                };
                match name {
                    Some("value") => index.sources.push((span, ReadFormFields)),
                    Some("cookie") => index.sources.push((span, ReadCookie)),
                    Some("localStorage" | "sessionStorage") => {
                        index.sources.push((span, ReadStorage))
                    }
                    _ => {}
                }
            }
            AstKind::NewExpression(n) if matches!(n.callee.without_parentheses(), Expression::Identifier(id) if id.name == "FormData") =>
            {
                index.sources.push((n.span, ReadFormFields));
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
                        index.sources.push((call.span, ReadFormFields))
                    }
                    Some("serialize" | "serializeArray") => {
                        index.sources.push((call.span, ReadFormFields))
                    }
                    Some("getItem") => index.sources.push((call.span, ReadStorage)),
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
                    sinks.push((sink, call.arguments.iter().map(GetSpan::span).collect()));
                }
            }
            AstKind::VariableDeclarator(d) => {
                if let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init)
                    && let Some(sym) = id.symbol_id.get()
                {
                    assigns.push((sym, init.span()));
                }
            }
            AstKind::AssignmentExpression(a) => {
                let target = match &a.left {
                    AssignmentTarget::AssignmentTargetIdentifier(id) => id
                        .reference_id
                        .get()
                        .and_then(|r| semantic.scoping().get_reference(r).symbol_id()),
                    other => other
                        .as_member_expression()
                        .and_then(|m| root_symbol(semantic, m.object())),
                };
                if let Some(sym) = target {
                    assigns.push((sym, a.right.span()));
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
                    sinks.push((NetworkImage, vec![a.right.span()]));
                }
            }
            _ => {}
        }
    }
    index.sources.sort_by_key(|(s, _)| s.start);
    index.refs.sort_by_key(|(s, _)| s.start);
    let mut taint: HashMap<SymbolId, BTreeSet<Capability>> = HashMap::new();
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for (sym, span) in &assigns {
            let kinds = index.kinds_in(*span, &taint);
            if kinds.is_empty() {
                continue;
            }
            let entry = taint.entry(*sym).or_default();
            let before = entry.len();
            entry.extend(kinds);
            changed |= entry.len() != before;
        }
        if !changed {
            break;
        }
    }
    let mut flows = BTreeSet::new();
    for (sink, args) in &sinks {
        for arg in args {
            for source in index.kinds_in(*arg, &taint) {
                flows.insert(format!("{} -> {}", source.name(), sink.name()));
            }
        }
    }
    flows
}
