//! The normalized token stream: one token per AST node, in pre-order.
//!
//! Kept: the node type, operators, variable-declaration kinds, property names, names of globals
//! (unresolved references) and boolean values. Erased: local binding names (replaced by their
//! order of first appearance — alpha-renaming, so a minifier's renaming changes nothing) and the
//! values of strings, numbers, regexes and templates. Whitespace, comments and redundant
//! parentheses are not nodes at all.

use oxc_ast::ast::Expression;
use oxc_ast::{AstKind, AstType};
use oxc_semantic::Scoping;
use oxc_span::{GetSpan, Span};
use oxc_syntax::symbol::SymbolId;
use xxhash_rust::xxh3::{Xxh3, xxh3_64_with_seed};

/// Marker payload of a local binding in the shift-invariant stream used for shingles.
const LOCAL: u64 = 0x4c4f_4341_4c5f_5f5f;

pub(crate) struct Stream {
    /// One entry per node, in pre-order: one vector, so the walk pushes once per node.
    pub nodes: Vec<Node>,
}

/// What the stream keeps of one node.
#[derive(Clone, Copy)]
pub(crate) struct Node {
    /// Token with locals numbered file-wide (for the structural hash).
    pub token: u64,
    /// Token with every local the same (for shingles, robust to prepended code).
    pub loose: u64,
    /// Depth (root = 0).
    pub depth: u32,
    /// Node type (`AstType as u8`).
    pub ty: u8,
    /// A node that carries no behaviour and that printers add or drop at will (empty
    /// statements, the `{ return … }` wrapper of a one-statement arrow): left out of every hash.
    pub skip: bool,
}

fn mix(kind: u8, payload: u64) -> u64 {
    // splitmix64 finalizer over (kind, payload): cheap and well distributed.
    let mut z = payload ^ (u64::from(kind) << 56) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn name_hash(tag: u64, name: &str) -> u64 {
    xxh3_64_with_seed(name.as_bytes(), tag)
}

/// Token of a local with region-relative index `i`.
pub(crate) fn local_token(kind: u8, i: u32) -> u64 {
    mix(kind, 0x10c4_1000_0000_0000 | u64::from(i))
}

/// An ASCII identifier name (what a minifier may write unquoted).
fn ident_like(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// `x => { return y; }` is `x => y` (oxc does not visit the body of the latter): a printer's
/// choice, not a change. True for the body and the `return` of the former. `ancestors` ends
/// with the node's parent.
fn is_sole_arrow_return(kind: &AstKind<'_>, ancestors: &[AstKind<'_>]) -> bool {
    let body_of_arrow = |body: &oxc_ast::ast::FunctionBody<'_>, parent: Option<&AstKind<'_>>| {
        body.directives.is_empty()
            && body.statements.len() == 1
            && matches!(&body.statements[0], oxc_ast::ast::Statement::ReturnStatement(r) if r.argument.is_some())
            && matches!(parent, Some(AstKind::ArrowFunctionExpression(a)) if !a.is_expression())
    };
    match kind {
        AstKind::FunctionBody(b) => body_of_arrow(b, ancestors.last()),
        AstKind::ReturnStatement(_) => match ancestors {
            [.., grandparent, AstKind::FunctionBody(b)] => body_of_arrow(b, Some(grandparent)),
            _ => false,
        },
        _ => false,
    }
}

/// Whether a string literal with this span is a property name of its parent.
fn is_name_position(parent: &AstKind<'_>, span: Span) -> bool {
    match parent {
        AstKind::ObjectProperty(p) => !p.computed && p.key.span() == span,
        AstKind::ComputedMemberExpression(m) => m.expression.span() == span,
        AstKind::MethodDefinition(m) => !m.computed && m.key.span() == span,
        AstKind::PropertyDefinition(p) => !p.computed && p.key.span() == span,
        _ => false,
    }
}

/// Builds the [`Stream`] node by node, in the walk's pre-order (see `walk.rs`).
pub(crate) struct Builder<'s> {
    pub stream: Stream,
    scoping: &'s Scoping,
    /// Alpha-renaming table indexed by symbol id (dense), u32::MAX = not seen yet.
    symbols: Vec<u32>,
    seen: u32,
}

impl<'s> Builder<'s> {
    pub fn new(scoping: &'s Scoping, nodes_hint: usize) -> Self {
        Self {
            stream: Stream {
                nodes: Vec::with_capacity(nodes_hint),
            },
            scoping,
            symbols: vec![u32::MAX; scoping.symbols_len()],
            seen: 0,
        }
    }

    fn local(&mut self, sym: SymbolId) -> u32 {
        let slot = &mut self.symbols[sym.index()];
        if *slot == u32::MAX {
            *slot = self.seen;
            self.seen += 1;
        }
        *slot
    }

    /// Appends node `parent`'s next child (the root is its own parent); `ancestors` ends with
    /// the parent's kind.
    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub fn push(&mut self, parent: usize, kind: &AstKind<'_>, ancestors: &[AstKind<'_>]) {
        const STATIC_MEMBER: u8 = AstType::StaticMemberExpression as u8;
        const IDENTIFIER_NAME: u8 = AstType::IdentifierName as u8;
        let mut ty = kind.ty() as u8;
        let mut sym: Option<u32> = None;
        let payload: u64 = match kind {
            AstKind::IdentifierReference(r) => {
                match r
                    .reference_id
                    .get()
                    .and_then(|rid| self.scoping.get_reference(rid).symbol_id())
                {
                    Some(symbol) => {
                        sym = Some(self.local(symbol));
                        0
                    }
                    None => name_hash(1, r.name.as_str()),
                }
            }
            AstKind::BindingIdentifier(b) => match b.symbol_id.get() {
                Some(symbol) => {
                    sym = Some(self.local(symbol));
                    0
                }
                None => 0,
            },
            AstKind::IdentifierName(p) => name_hash(2, p.name.as_str()),
            // `{"key": v}` is `{key: v}` and `a["b"]` is `a.b`: minifiers switch freely.
            AstKind::StringLiteral(l)
                if ancestors
                    .last()
                    .is_some_and(|parent| is_name_position(parent, l.span))
                    && ident_like(l.value.as_str()) =>
            {
                ty = IDENTIFIER_NAME;
                name_hash(2, l.value.as_str())
            }
            AstKind::ComputedMemberExpression(m) if matches!(&m.expression, Expression::StringLiteral(l) if ident_like(l.value.as_str())) =>
            {
                ty = STATIC_MEMBER;
                0
            }
            AstKind::PrivateIdentifier(p) => name_hash(3, p.name.as_str()),
            AstKind::JSXIdentifier(p) => name_hash(4, p.name.as_str()),
            AstKind::BinaryExpression(e) => e.operator as u64,
            AstKind::LogicalExpression(e) => e.operator as u64,
            AstKind::UnaryExpression(e) => e.operator as u64,
            AstKind::UpdateExpression(e) => (e.operator as u64) << 1 | u64::from(e.prefix),
            AstKind::AssignmentExpression(e) => e.operator as u64,
            AstKind::BooleanLiteral(b) => u64::from(b.value),
            AstKind::VariableDeclaration(d) => d.kind as u64,
            AstKind::MethodDefinition(m) => (m.kind as u64) << 1 | u64::from(m.r#static),
            AstKind::PropertyDefinition(p) => u64::from(p.r#static),
            _ => 0,
        };
        let loose = if sym.is_some() {
            mix(ty, LOCAL)
        } else {
            mix(ty, payload)
        };
        let token = match sym {
            Some(i) => local_token(ty, i),
            None => loose,
        };
        let nodes = &mut self.stream.nodes;
        let skip =
            matches!(kind, AstKind::EmptyStatement(_)) || is_sole_arrow_return(kind, ancestors);
        // Children of a skipped node sit where the skipped node would have; the root (pushed
        // into an empty stream) is at 0.
        let depth = nodes
            .get(parent)
            .map_or(0, |p| p.depth + u32::from(!p.skip));
        nodes.push(Node {
            token,
            loose,
            depth,
            ty,
            skip,
        });
    }
}

impl Stream {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the code does anything when it runs: calls, constructs, assigns, runs a tagged
    /// template or a decorator, or loads a module. Code that only declares values (a table of
    /// constants, a regex map, functions nobody calls) cannot act on its own.
    pub fn acts(&self) -> bool {
        const EFFECTS: [AstType; 9] = [
            AstType::CallExpression,
            AstType::NewExpression,
            AstType::TaggedTemplateExpression,
            AstType::AssignmentExpression,
            AstType::UpdateExpression,
            AstType::ImportExpression,
            AstType::ImportDeclaration,
            AstType::ExportAllDeclaration,
            AstType::Decorator,
        ];
        const IS_EFFECT: [bool; 256] = {
            let mut table = [false; 256];
            let mut i = 0;
            while i < EFFECTS.len() {
                table[EFFECTS[i] as usize] = true;
                i += 1;
            }
            table
        };
        self.nodes.iter().any(|n| IS_EFFECT[n.ty as usize])
    }

    /// 128-bit hash of the tokens with their depths (depth makes the tree shape unambiguous).
    pub fn structural_hash(&self) -> u128 {
        // The same bytes as one `update` per token, fed in chunks: per-call overhead was most of
        // the cost. The value is stored (it is the script's identity), so the byte layout —
        // token then depth, little-endian — must never change.
        const PER_TOKEN: usize = 12;
        let mut h = Xxh3::new();
        let mut buf = [0u8; PER_TOKEN * 512];
        let mut len = 0;
        for n in self.nodes.iter().filter(|n| !n.skip) {
            buf[len..len + 8].copy_from_slice(&n.token.to_le_bytes());
            buf[len + 8..len + PER_TOKEN].copy_from_slice(&n.depth.to_le_bytes());
            len += PER_TOKEN;
            if len == buf.len() {
                h.update(&buf);
                len = 0;
            }
        }
        h.update(&buf[..len]);
        h.digest128()
    }
}
