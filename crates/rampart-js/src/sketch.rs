//! Similarity: shingles over the normalized stream, and regions (top-level statements, functions,
//! and statements directly in a function body) with structural hashes, so that a diff can say
//! *where* code was added or removed.

use oxc_ast::AstKind;
use oxc_semantic::Semantic;
use oxc_span::GetSpan;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::normalize::Stream;

/// Tokens per shingle: long enough that shared idioms do not make unrelated code look alike.
pub const SHINGLE_TOKENS: usize = 8;

/// Sorted, distinct hashes of every window of [`SHINGLE_TOKENS`] loose tokens.
pub(crate) fn shingles(stream: &Stream) -> Vec<u64> {
    let t: Vec<u64> = stream
        .loose
        .iter()
        .zip(&stream.skip)
        .filter(|(_, skip)| !**skip)
        .map(|(t, _)| *t)
        .collect();
    let mut out: Vec<u64> = if t.len() < SHINGLE_TOKENS {
        if t.is_empty() {
            Vec::new()
        } else {
            vec![hash_slice(&t)]
        }
    } else {
        t.windows(SHINGLE_TOKENS).map(hash_slice).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn hash_slice(tokens: &[u64]) -> u64 {
    let mut bytes = [0u8; 8 * SHINGLE_TOKENS];
    for (i, t) in tokens.iter().take(SHINGLE_TOKENS).enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&t.to_le_bytes());
    }
    xxh3_64(&bytes[..tokens.len().min(SHINGLE_TOKENS) * 8])
}

/// Jaccard similarity of two sorted, distinct hash lists.
pub(crate) fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// A unit of code a diff can report as added or removed.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// Hash of the region's loose tokens and relative depths.
    #[serde(skip)]
    pub hash: u64,
    /// `function` or `statement`.
    pub kind: &'static str,
    /// Function name where there is one.
    pub name: Option<String>,
    /// Byte span in the source.
    pub start: u32,
    pub end: u32,
    /// Node index range `[first, last)` in the stream.
    #[serde(skip)]
    pub first: u32,
    #[serde(skip)]
    pub last: u32,
}

/// Subtree hashes for every node in O(n): a Merkle hash whose child list is a polynomial hash,
/// so that a skipped node (see [`Stream::skip`]) splices its children into its parent's list and
/// `x => { return y }` hashes like `x => y`.
fn subtree_hashes(stream: &Stream, parents: &[u32]) -> Vec<u64> {
    const BASE: u64 = 0x100_0000_01b3;
    let n = stream.len();
    // Per node: (polynomial value, BASE^len) of its children's hashes, in source order.
    let mut acc: Vec<(u64, u64)> = vec![(0, 1); n];
    let mut hash = vec![0u64; n];
    for i in (0..n).rev() {
        let (val, pow) = acc[i];
        hash[i] = mix3(stream.loose[i], val, pow);
        if i == 0 {
            break;
        }
        let p = parents[i] as usize;
        // Reverse pre-order reaches later siblings first, so each node is prepended.
        let (pval, ppow) = acc[p];
        acc[p] = if stream.skip[i] {
            (
                val.wrapping_mul(ppow).wrapping_add(pval),
                pow.wrapping_mul(ppow),
            )
        } else {
            (
                hash[i].wrapping_mul(ppow).wrapping_add(pval),
                BASE.wrapping_mul(ppow),
            )
        };
    }
    hash
}

fn mix3(a: u64, b: u64, c: u64) -> u64 {
    let mut bytes = [0u8; 24];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..16].copy_from_slice(&b.to_le_bytes());
    bytes[16..].copy_from_slice(&c.to_le_bytes());
    xxh3_64(&bytes)
}

pub(crate) fn regions(stream: &Stream, semantic: &Semantic<'_>, _source: &str) -> Vec<Region> {
    let nodes = semantic.nodes();
    let hashes = subtree_hashes(stream, &stream.parents);
    let mut out = Vec::new();
    for (id, node) in nodes.iter_enumerated() {
        let i = id.index();
        if i == 0 || stream.skip[i] {
            continue;
        }
        let kind = node.kind();
        let parent = nodes.parent_kind(id);
        let (label, name) = match kind {
            AstKind::Function(f) => (
                "function",
                f.id.as_ref().map(|b| b.name.as_str().to_string()),
            ),
            AstKind::ArrowFunctionExpression(_) => ("function", None),
            _ if matches!(parent, AstKind::Program(_) | AstKind::FunctionBody(_))
                && is_statement(&kind) =>
            {
                ("statement", None)
            }
            _ => continue,
        };
        let span = kind.span();
        out.push(Region {
            hash: hashes[i],
            kind: label,
            name,
            start: span.start,
            end: span.end,
            first: i as u32,
            last: stream.ends[i],
        });
    }
    out
}

fn is_statement(kind: &AstKind<'_>) -> bool {
    !matches!(
        kind,
        AstKind::Directive(_) | AstKind::Hashbang(_) | AstKind::EmptyStatement(_)
    )
}

#[cfg(test)]
mod tests {
    use super::jaccard;

    #[test]
    fn jaccard_of_sorted_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[1, 2, 3]), 1.0);
        assert_eq!(jaccard(&[1, 2], &[3, 4]), 0.0);
        assert!((jaccard(&[1, 2, 3, 4], &[1, 2, 3, 5]) - 0.6).abs() < 1e-9);
        assert_eq!(jaccard(&[], &[]), 1.0);
    }
}
