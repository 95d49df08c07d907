//! `walk.rs` hands nodes to the passes in the order of oxc's `Visit` walk, while the stored
//! structural hashes were defined over `oxc_semantic`'s node table. The two orders must be the
//! same node for node — kind, span and parent — or an oxc upgrade would change every stored
//! hash. This checks it on the whole real-code corpus.

mod common;

use oxc_allocator::Allocator;
use oxc_ast::AstKind;
use oxc_ast_visit::Visit;
use oxc_parser::{ParseOptions, Parser};
use oxc_span::{GetSpan, SourceType};

/// (type, start, end, parent index) per node, in the visitor's pre-order.
#[derive(Default)]
struct Order {
    nodes: Vec<(u8, u32, u32, u32)>,
    open: Vec<u32>,
}

impl<'a> Visit<'a> for Order {
    fn enter_node(&mut self, kind: AstKind<'a>) {
        let parent = self.open.last().copied().unwrap_or(0);
        self.open.push(self.nodes.len() as u32);
        let span = kind.span();
        self.nodes
            .push((kind.ty() as u8, span.start, span.end, parent));
    }

    fn leave_node(&mut self, _kind: AstKind<'a>) {
        self.open.pop();
    }
}

#[test]
fn the_visit_walk_enters_nodes_in_the_semantic_node_order() {
    let mut files = 0;
    let mut nodes = 0;
    for package in std::fs::read_dir(common::corpus().join("files")).unwrap() {
        for file in std::fs::read_dir(package.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let source = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let allocator = Allocator::default();
            let options = ParseOptions {
                preserve_parens: false,
                ..ParseOptions::default()
            };
            let parsed = Parser::new(&allocator, &source, SourceType::script())
                .with_options(options)
                .parse();
            let semantic = oxc_semantic::SemanticBuilder::new()
                .with_build_nodes(true)
                .build(&parsed.program)
                .semantic;
            let table = semantic.nodes();
            let expected: Vec<(u8, u32, u32, u32)> = table
                .iter_enumerated()
                .map(|(id, node)| {
                    let span = node.kind().span();
                    let parent = if id.index() == 0 {
                        0
                    } else {
                        table.parent_id(id).index() as u32
                    };
                    (node.kind().ty() as u8, span.start, span.end, parent)
                })
                .collect();
            let mut walk = Order::default();
            walk.visit_program(&parsed.program);
            let first_difference = expected.iter().zip(&walk.nodes).position(|(a, b)| a != b);
            assert!(
                first_difference.is_none() && expected.len() == walk.nodes.len(),
                "{}: node {first_difference:?} differs ({} vs {} nodes)",
                path.display(),
                expected.len(),
                walk.nodes.len()
            );
            files += 1;
            nodes += expected.len();
        }
    }
    assert!(
        files >= 100 && nodes > 1_000_000,
        "{files} files, {nodes} nodes"
    );
}
