//! Similarity: shingles over the normalized stream, and regions (top-level statements, functions,
//! and statements directly in a function body) with structural hashes, so that a diff can say
//! *where* code was added or removed.

use oxc_ast::{AstKind, AstType};
use oxc_span::GetSpan;
use serde::Serialize;

use crate::normalize::Stream;

/// Tokens per shingle: long enough that shared idioms do not make unrelated code look alike.
pub const SHINGLE_TOKENS: usize = 8;

/// Windows kept exactly; a longer stream keeps a uniform sample of about this many to this many
/// times two (see [`Shingles`]).
const EXACT_WINDOWS: usize = 8192;

/// The shingle set of a script, or a uniform sample of it.
///
/// Sampling is by value: a long stream keeps only the hashes below `2^(64 - sample_bits)`, the
/// same rule for every script, so two samples are comparable after cutting both to the coarser
/// rule — and because the hashes are sorted, that cut is a prefix. Jaccard similarity on such a
/// sample is an unbiased estimate with thousands of elements (standard error under 0.01 near
/// similarity 0.99); sorting the full set of a large script cost more than parsing it.
#[derive(Debug, Clone, Default)]
pub struct Shingles {
    /// Sorted, distinct window hashes below the sampling bound.
    pub hashes: Vec<u64>,
    /// 0 = every window kept.
    pub sample_bits: u8,
}

impl Shingles {
    /// The hashes kept under a sampling rule at least as coarse as this one's.
    fn cut(&self, sample_bits: u8) -> &[u64] {
        if sample_bits == 0 {
            return &self.hashes;
        }
        let bound = u64::MAX >> sample_bits;
        &self.hashes[..self.hashes.partition_point(|&h| h <= bound)]
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn similarity(&self, other: &Shingles) -> f64 {
        let bits = self.sample_bits.max(other.sample_bits);
        jaccard(self.cut(bits), other.cut(bits))
    }
}

/// The shingles of the stream (see [`Shingles`]): every window of [`SHINGLE_TOKENS`] loose
/// tokens, hashed by a rolling polynomial over the tokens (already well-mixed 64-bit values) and
/// a finalizer — O(1) per window instead of hashing 64 bytes.
pub(crate) fn shingles(stream: &Stream) -> Shingles {
    let mut tokens = stream.nodes.iter().filter(|n| !n.skip).map(|n| n.loose);
    // The first window (or the whole stream when it is shorter than one).
    let mut window = [0u64; SHINGLE_TOKENS];
    let mut k = 0;
    for t in tokens.by_ref().take(SHINGLE_TOKENS) {
        window[k] = t;
        k += 1;
    }
    if k == 0 {
        return Shingles::default();
    }
    // The node count bounds the window count; it picks the sampling rule deterministically.
    let windows = stream.len();
    let sample_bits = if windows <= EXACT_WINDOWS {
        0
    } else {
        (windows / (EXACT_WINDOWS / 2)).ilog2().min(32) as u8
    };
    let bound = u64::MAX >> sample_bits;
    // BASE^(k-1): the weight of the token leaving the window.
    let top = (1..k).fold(1u64, |p, _| p.wrapping_mul(ROLL_BASE));
    let mut h = window[..k]
        .iter()
        .fold(0u64, |h, &x| h.wrapping_mul(ROLL_BASE).wrapping_add(x));
    let mut hashes = Vec::with_capacity(2 * EXACT_WINDOWS);
    let mut keep = |h: u64| {
        let f = finalize(h);
        if f <= bound {
            hashes.push(f);
        }
    };
    keep(h);
    // `window` is a ring: slot `oldest` holds the token leaving next.
    let mut oldest = 0;
    for t in tokens {
        h = h
            .wrapping_sub(window[oldest].wrapping_mul(top))
            .wrapping_mul(ROLL_BASE)
            .wrapping_add(t);
        window[oldest] = t;
        oldest = (oldest + 1) % SHINGLE_TOKENS;
        keep(h);
    }
    hashes.sort_unstable();
    hashes.dedup();
    Shingles {
        hashes,
        sample_bits,
    }
}

/// Odd multiplier of the rolling hash.
const ROLL_BASE: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64's finalizer: spreads the polynomial's low-entropy high bits.
fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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

/// The subtree hash of one node, built as the walk leaves it: a Merkle hash whose child list
/// is a polynomial hash (value and `BASE^len`, children in source order), so that a skipped node
/// (see [`Stream::skip`]) splices its children into its parent's list and `x => { return y }`
/// hashes like `x => y`.
#[derive(Clone, Copy)]
pub(crate) struct Subtree {
    val: u64,
    pow: u64,
}

impl Default for Subtree {
    fn default() -> Self {
        Self { val: 0, pow: 1 }
    }
}

impl Subtree {
    const BASE: u64 = 0x100_0000_01b3;

    /// The hash of node `i` once all its children were added.
    pub(crate) fn hash(&self, stream: &Stream, i: usize) -> u64 {
        mix3(stream.nodes[i].loose, self.val, self.pow)
    }

    /// Adds node `i`'s subtree (`child`, with hash `hash`) after the children added so far.
    pub(crate) fn add(&mut self, stream: &Stream, i: usize, child: &Subtree, hash: u64) {
        if stream.nodes[i].skip {
            self.val = self.val.wrapping_mul(child.pow).wrapping_add(child.val);
            self.pow = self.pow.wrapping_mul(child.pow);
        } else {
            self.val = self.val.wrapping_mul(Self::BASE).wrapping_add(hash);
            self.pow = self.pow.wrapping_mul(Self::BASE);
        }
    }
}

/// Combines a node's token with its children's polynomial (value and length power). Region
/// hashes live only in memory (a diff analyzes both sides), so this need not be a stable format.
fn mix3(a: u64, b: u64, c: u64) -> u64 {
    finalize(a ^ b.rotate_left(23) ^ c.wrapping_mul(0xff51_afd7_ed55_8ccd))
}

const FUNCTION: u8 = AstType::Function as u8;
const ARROW: u8 = AstType::ArrowFunctionExpression as u8;
const PROGRAM: u8 = AstType::Program as u8;
const BODY: u8 = AstType::FunctionBody as u8;

/// Finds the regions node by node (see `walk.rs`); hashes and ends are filled in by
/// [`RegionFinder::close`] as the walk leaves each one.
#[derive(Default)]
pub(crate) struct RegionFinder {
    regions: Vec<Region>,
}

impl RegionFinder {
    /// Node `i`, already in `stream`; `parent` is its parent's kind. Returns the index of the
    /// region it starts, to be closed by [`RegionFinder::close`].
    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node(
        &mut self,
        i: usize,
        kind: &AstKind<'_>,
        parent: Option<&AstKind<'_>>,
        stream: &Stream,
    ) -> Option<u32> {
        if i == 0 || stream.nodes[i].skip {
            return None;
        }
        // Cheap filter on node types before looking at the AST node itself.
        let parent_ty = parent.map_or(PROGRAM, |p| p.ty() as u8);
        if !matches!(stream.nodes[i].ty, FUNCTION | ARROW) && !matches!(parent_ty, PROGRAM | BODY) {
            return None;
        }
        let (label, name) = match kind {
            AstKind::Function(f) => (
                "function",
                f.id.as_ref().map(|b| b.name.as_str().to_string()),
            ),
            AstKind::ArrowFunctionExpression(_) => ("function", None),
            _ if matches!(parent, Some(AstKind::Program(_) | AstKind::FunctionBody(_)))
                && is_statement(kind) =>
            {
                ("statement", None)
            }
            _ => return None,
        };
        let span = kind.span();
        self.regions.push(Region {
            hash: 0,
            kind: label,
            name,
            start: span.start,
            end: span.end,
            first: i as u32,
            last: 0,
        });
        Some(self.regions.len() as u32 - 1)
    }

    /// The walk left the region's node: its subtree hash and end are known.
    pub(crate) fn close(&mut self, region: u32, hash: u64, end: usize) {
        let r = &mut self.regions[region as usize];
        r.hash = hash;
        r.last = end as u32;
    }

    pub(crate) fn finish(self) -> Vec<Region> {
        self.regions
    }
}

fn is_statement(kind: &AstKind<'_>) -> bool {
    !matches!(
        kind,
        AstKind::Directive(_) | AstKind::Hashbang(_) | AstKind::EmptyStatement(_)
    )
}

#[cfg(test)]
mod tests {
    use super::{Shingles, jaccard};

    #[test]
    fn a_sample_is_a_prefix_and_compares_with_an_exact_set() {
        // Hashes spread over the whole range; the sampled copy keeps those under 2^61.
        let hashes: Vec<u64> = (0..64u64).map(|i| i << 58).collect();
        let exact = Shingles {
            hashes: hashes.clone(),
            sample_bits: 0,
        };
        let sampled = Shingles {
            hashes: hashes
                .iter()
                .copied()
                .filter(|&h| h <= u64::MAX >> 3)
                .collect(),
            sample_bits: 3,
        };
        assert_eq!(sampled.hashes.len(), 8);
        assert_eq!(exact.similarity(&sampled), 1.0);
        let half = Shingles {
            hashes: hashes[..4].to_vec(),
            sample_bits: 0,
        };
        assert!((half.similarity(&sampled) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn jaccard_of_sorted_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[1, 2, 3]), 1.0);
        assert_eq!(jaccard(&[1, 2], &[3, 4]), 0.0);
        assert!((jaccard(&[1, 2, 3, 4], &[1, 2, 3, 5]) - 0.6).abs() < 1e-9);
        assert_eq!(jaccard(&[], &[]), 1.0);
    }
}
