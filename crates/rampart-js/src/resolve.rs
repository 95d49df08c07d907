//! Constant strings the code computes without running: literals, string-array entries, and the
//! values of variables assigned and concatenated in straight-line code.
//!
//! Every pass asks this one resolver "what name does this member expression reach?" and "what
//! string is this argument?", so what it sees through, every capability, feature, rule and
//! payload decoder sees through: `el[_0xefb6[12]]` (a string array), `document[a + b]`, and the
//! exploit-kit landing page that builds `"constructor"` and its payload one hex-escaped piece at
//! a time (`v = "\x63"; v = v + "\x6f"; … [][v][v](p1 + p2 + …)()`).
//!
//! Nothing is evaluated. Values follow the walk's pre-order (source order), which is execution
//! order for straight-line code; an assignment inside a loop forgets the variable instead of
//! guessing how often it ran. Folded strings live in the analysis's arena under a byte budget,
//! so a script that appends to a string a million times costs what the budget allows and no
//! more.

use std::cell::{Cell, RefCell};

use oxc_allocator::Allocator;
use oxc_ast::AstKind;
use oxc_ast::ast::{
    Argument, AssignmentTarget, BinaryExpression, BindingPattern, Expression, IdentifierReference,
    SimpleAssignmentTarget,
};
use oxc_semantic::Scoping;
use oxc_syntax::operator::{AssignmentOperator, BinaryOperator};
use oxc_syntax::symbol::SymbolId;
use rustc_hash::FxHashMap as HashMap;

/// Longest folded string kept (bytes): longer concatenations are unknown.
const MAX_VALUE: usize = 1 << 20;
/// Nesting of parenthesized concatenations followed (`a + (b + (c + …))`).
const MAX_FOLD_DEPTH: u32 = 32;

/// A variable: a resolved binding, or an undeclared (implicitly global) name.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Local(SymbolId),
    Global(&'a str),
}

/// What a variable is known to hold.
#[derive(Clone, Copy)]
enum Value<'a> {
    Str(&'a str),
    /// `x.constructor` (1) or `x.constructor.constructor` (2: `Function` itself).
    Constructor(u8),
}

/// Constant strings, including those an obfuscator moved into a string array
/// (`var _0xefb6 = ["\x76\x61\x6c\x75\x65", …]; el[_0xefb6[12]]`) or built in variables.
///
/// The arrays are learned during the one walk over the tree (see `walk.rs`), so a lookup can
/// come before the declaration it needs (a hoisted `var`, a second declaration of the same
/// name). Each lookup records how many arrays were known when it ran; [`Resolver::stale`] says
/// whether any answer could have differed from one given with every array known, and the walk
/// is then run again with the arrays frozen — rare (obfuscators declare the array first), and
/// it keeps the result exactly what a separate first pass would give. Variable values are
/// rebuilt on every walk ([`Resolver::restart`]).
pub(crate) struct Resolver<'s, 'a> {
    scoping: &'s Scoping,
    allocator: &'a Allocator,
    /// Array per symbol, with its registration number.
    arrays: HashMap<SymbolId, (Vec<&'a str>, u32)>,
    registered: u32,
    /// Arrays no longer change (the second walk).
    frozen: bool,
    /// (symbol looked up, arrays registered at the time).
    lookups: RefCell<Vec<(SymbolId, u32)>>,
    /// Variables' current values, in walk order: bindings in a table indexed by symbol (the
    /// lookup runs for every `a[i]` in every pass, so it must be an index, not a hash),
    /// undeclared names in a map.
    locals: Vec<Option<Value<'a>>>,
    globals: HashMap<&'a str, Value<'a>>,
    /// How many values are known, and how many of them are constructors (lookups are skipped
    /// while there are none).
    known: usize,
    constructors: usize,
    /// Bytes the folded strings may still take.
    budget: Cell<usize>,
    source_len: usize,
}

impl<'s, 'a> Resolver<'s, 'a> {
    pub(crate) fn new(scoping: &'s Scoping, allocator: &'a Allocator, source_len: usize) -> Self {
        Self {
            scoping,
            allocator,
            arrays: HashMap::default(),
            registered: 0,
            frozen: false,
            lookups: RefCell::new(Vec::new()),
            locals: Vec::new(),
            globals: HashMap::default(),
            known: 0,
            constructors: 0,
            budget: Cell::new(Self::budget_for(source_len)),
            source_len,
        }
    }

    /// Folded bytes allowed per walk: a few times the script, so the folds of any real script
    /// fit and quadratic appending stops early.
    fn budget_for(source_len: usize) -> usize {
        source_len.saturating_mul(4).saturating_add(64 << 10)
    }

    /// Forgets variable values before another walk (arrays are kept: see [`Self::freeze`]).
    pub(crate) fn restart(&mut self) {
        if self.known > 0 {
            self.locals.clear();
            self.globals.clear();
        }
        self.known = 0;
        self.constructors = 0;
        self.budget.set(Self::budget_for(self.source_len));
    }

    /// Learns `var name = ["…", …]` (string elements only), on entering a node.
    #[inline]
    pub(crate) fn node(&mut self, kind: &AstKind<'a>) {
        // Called for every node: the test stays inline, the work does not.
        if let AstKind::VariableDeclarator(d) = kind
            && !self.frozen
        {
            self.declarator(d);
        }
    }

    fn declarator(&mut self, d: &oxc_ast::ast::VariableDeclarator<'a>) {
        if let BindingPattern::BindingIdentifier(id) = &d.id
            && let Some(Expression::ArrayExpression(array)) = &d.init
            && let Some(symbol) = id.symbol_id.get()
            && !array.elements.is_empty()
        {
            let strings: Option<Vec<&'a str>> = array
                .elements
                .iter()
                .map(|e| match e.as_expression() {
                    Some(Expression::StringLiteral(s)) => Some(s.value.as_str()),
                    _ => None,
                })
                .collect();
            if let Some(strings) = strings {
                let n = self.registered;
                self.registered += 1;
                // A second array for the same name replaces the first, as the old one-pass
                // table did; a lookup that read the first is caught by `stale`.
                self.arrays.insert(symbol, (strings, n));
            }
        }
    }

    /// Learns what an assignment or declaration stores, on leaving it (its right-hand side
    /// has been read with the values before it). `ancestors` ends with the node's parent.
    #[inline]
    pub(crate) fn leave(&mut self, kind: &AstKind<'a>, ancestors: &[AstKind<'a>]) {
        // Called for every node: the test stays inline, the work does not.
        if matches!(
            kind,
            AstKind::VariableDeclarator(_)
                | AstKind::AssignmentExpression(_)
                | AstKind::UpdateExpression(_)
        ) {
            self.learn(kind, ancestors);
        }
    }

    fn learn(&mut self, kind: &AstKind<'a>, ancestors: &[AstKind<'a>]) {
        let (slot, value) = match kind {
            AstKind::VariableDeclarator(d) => {
                let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init) else {
                    return;
                };
                let Some(symbol) = id.symbol_id.get() else {
                    return;
                };
                (Slot::Local(symbol), self.value_of(init))
            }
            AstKind::AssignmentExpression(a) => {
                let AssignmentTarget::AssignmentTargetIdentifier(id) = &a.left else {
                    return;
                };
                let slot = self.slot(id);
                let value = match a.operator {
                    AssignmentOperator::Assign => self.value_of(&a.right),
                    AssignmentOperator::Addition => match self.get(slot) {
                        Some(Value::Str(left)) => self
                            .const_string(&a.right)
                            .and_then(|right| self.join(&[left, right]))
                            .map(Value::Str),
                        _ => None,
                    },
                    _ => None,
                };
                (slot, value)
            }
            AstKind::UpdateExpression(u) => {
                let SimpleAssignmentTarget::AssignmentTargetIdentifier(id) = &u.argument else {
                    return;
                };
                (self.slot(id), None)
            }
            _ => return,
        };
        // Inside a loop the assignment may run any number of times: unknown.
        let value = value.filter(|_| !ancestors.iter().any(is_loop));
        if value.is_none() && self.known == 0 {
            return;
        }
        if self.locals.is_empty() && matches!(slot, Slot::Local(_)) {
            self.locals = vec![None; self.scoping.symbols_len()];
        }
        let old = match slot {
            Slot::Local(symbol) => match self.locals.get_mut(symbol.index()) {
                Some(cell) => std::mem::replace(cell, value),
                None => return,
            },
            Slot::Global(name) => match value {
                Some(v) => self.globals.insert(name, v),
                None => self.globals.remove(name),
            },
        };
        let is_ctor = |v: Option<Value<'_>>| usize::from(matches!(v, Some(Value::Constructor(_))));
        self.known = self.known + usize::from(value.is_some()) - usize::from(old.is_some());
        self.constructors = self.constructors + is_ctor(value) - is_ctor(old);
    }

    fn get(&self, slot: Slot<'a>) -> Option<Value<'a>> {
        match slot {
            Slot::Local(symbol) => self.locals.get(symbol.index()).copied().flatten(),
            Slot::Global(name) => self.globals.get(name).copied(),
        }
    }

    fn slot(&self, id: &IdentifierReference<'a>) -> Slot<'a> {
        match self.symbol_of(id) {
            Some(symbol) => Slot::Local(symbol),
            None => Slot::Global(id.name.as_str()),
        }
    }

    fn value_of(&self, expr: &Expression<'a>) -> Option<Value<'a>> {
        if let Some(s) = self.const_string(expr) {
            return Some(Value::Str(s));
        }
        match self.constructor_depth(expr) {
            0 => None,
            d => Some(Value::Constructor(d)),
        }
    }

    /// Whether some lookup of this walk ran before an array it needed was known.
    pub(crate) fn stale(&self) -> bool {
        !self.frozen
            && !self.arrays.is_empty()
            && self.lookups.borrow().iter().any(|(symbol, known)| {
                self.arrays
                    .get(symbol)
                    .is_some_and(|(_, registered)| registered >= known)
            })
    }

    /// Keeps the arrays learned so far for a second walk.
    pub(crate) fn freeze(&mut self) {
        self.frozen = true;
        self.lookups.get_mut().clear();
    }

    /// Whether the code declares a string array of at least `min` strings and indexes it
    /// (the first step of most obfuscators).
    pub(crate) fn has_string_array(&self, min: usize) -> bool {
        self.arrays.values().any(|(a, _)| a.len() >= min)
    }

    pub(crate) fn symbol_of(&self, id: &IdentifierReference<'_>) -> Option<SymbolId> {
        id.reference_id
            .get()
            .and_then(|r| self.scoping.get_reference(r).symbol_id())
    }

    pub(crate) fn is_global(&self, id: &IdentifierReference<'_>) -> bool {
        self.symbol_of(id).is_none()
    }

    /// The string `expr` always is here, if the resolver can tell.
    pub(crate) fn const_string(&self, expr: &Expression<'a>) -> Option<&'a str> {
        self.fold(expr, 0)
    }

    fn fold(&self, expr: &Expression<'a>, depth: u32) -> Option<&'a str> {
        match expr.without_parentheses() {
            Expression::StringLiteral(s) => Some(s.value.as_str()),
            Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
                t.quasis.first()?.value.cooked.map(|c| c.as_str())
            }
            Expression::Identifier(id) if self.known > 0 => match self.get(self.slot(id))? {
                Value::Str(s) => Some(s),
                Value::Constructor(_) => None,
            },
            Expression::ComputedMemberExpression(m) => {
                let Expression::Identifier(array) = m.object.without_parentheses() else {
                    return None;
                };
                let Expression::NumericLiteral(index) = m.expression.without_parentheses() else {
                    return None;
                };
                let symbol = self.symbol_of(array)?;
                if !self.frozen {
                    self.lookups.borrow_mut().push((symbol, self.registered));
                }
                let (strings, _) = self.arrays.get(&symbol)?;
                let i = index.value;
                (i >= 0.0 && i.fract() == 0.0)
                    .then(|| strings.get(i as usize).copied())
                    .flatten()
            }
            Expression::BinaryExpression(b)
                if b.operator == BinaryOperator::Addition && depth < MAX_FOLD_DEPTH =>
            {
                self.concat(b, depth)
            }
            _ => None,
        }
    }

    /// `a + b + c …`: the left-leaning chain is walked with a loop (it can be as long as the
    /// script), parenthesized operands by recursion up to [`MAX_FOLD_DEPTH`]. The leftmost
    /// operand must be a string: `1 + 2 + "x"` adds before it concatenates.
    fn concat(&self, b: &BinaryExpression<'a>, depth: u32) -> Option<&'a str> {
        let mut rights = vec![&b.right];
        let mut left = &b.left;
        while let Expression::BinaryExpression(l) = left.without_parentheses()
            && l.operator == BinaryOperator::Addition
        {
            rights.push(&l.right);
            left = &l.left;
        }
        // Built in one scratch string that stops as soon as it outgrows what may be kept, so a
        // long chain that cannot fit costs no arena memory; only the result is stored.
        let mut out = String::from(self.fold(left, depth + 1)?);
        for right in rights.iter().rev() {
            match right.without_parentheses() {
                Expression::NumericLiteral(n) if n.value.fract() == 0.0 && n.value.abs() < 1e15 => {
                    use std::fmt::Write;
                    let _ = write!(out, "{}", n.value as i64);
                }
                e => out.push_str(self.fold(e, depth + 1)?),
            }
            if out.len() > MAX_VALUE.min(self.budget.get()) {
                return None;
            }
        }
        self.join(&[&out])
    }

    /// The parts joined, in the arena, if the budget allows.
    fn join(&self, parts: &[&str]) -> Option<&'a str> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let left = self.budget.get();
        if len > MAX_VALUE || len > left {
            return None;
        }
        self.budget.set(left - len);
        let mut out = String::with_capacity(len);
        parts.iter().for_each(|p| out.push_str(p));
        Some(self.allocator.alloc_str(&out))
    }

    pub(crate) fn first_string(&self, args: &[Argument<'a>]) -> Option<&'a str> {
        self.const_string(args.first()?.as_expression()?)
    }

    /// The property a member expression names, statically or through a constant.
    pub(crate) fn property(&self, expr: &Expression<'a>) -> Option<&'a str> {
        match expr.without_parentheses() {
            Expression::StaticMemberExpression(m) => Some(m.property.name.as_str()),
            Expression::ComputedMemberExpression(m) => self.const_string(&m.expression),
            _ => None,
        }
    }

    /// How many `.constructor` steps `expr` is: `[].constructor` is `Array` (1),
    /// `[].constructor.constructor` and `(function(){}).constructor` are `Function` (2).
    fn constructor_depth(&self, expr: &Expression<'a>) -> u8 {
        let mut depth = 0u8;
        let mut e = expr.without_parentheses();
        loop {
            if let Expression::Identifier(id) = e {
                if self.constructors > 0
                    && let Some(Value::Constructor(d)) = self.get(self.slot(id))
                {
                    depth = depth.saturating_add(d);
                }
                break;
            }
            if matches!(
                e,
                Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_)
            ) && depth > 0
            {
                depth = depth.saturating_add(1);
                break;
            }
            if self.property(e) != Some("constructor") {
                break;
            }
            depth = depth.saturating_add(1);
            let Some(member) = e.as_member_expression() else {
                break;
            };
            e = member.object().without_parentheses();
        }
        depth.min(2)
    }

    /// The name a callee reaches: a global identifier, the property of a member expression, or
    /// `Function` reached through constructors (`[]["constructor"]["constructor"]`).
    pub(crate) fn callee_name(&self, callee: &Expression<'a>) -> Option<&'a str> {
        let callee = callee.without_parentheses();
        if let Expression::Identifier(id) = callee {
            // A variable holding `Function` (declared or not) is called as `Function`.
            if self.constructors > 0 && self.constructor_depth(callee) == 2 {
                return Some("Function");
            }
            return self.is_global(id).then(|| id.name.as_str());
        }
        let name = self.property(callee);
        if name == Some("constructor") && self.constructor_depth(callee) == 2 {
            return Some("Function");
        }
        name
    }
}

fn is_loop(kind: &AstKind<'_>) -> bool {
    matches!(
        kind,
        AstKind::ForStatement(_)
            | AstKind::ForInStatement(_)
            | AstKind::ForOfStatement(_)
            | AstKind::WhileStatement(_)
            | AstKind::DoWhileStatement(_)
    )
}
