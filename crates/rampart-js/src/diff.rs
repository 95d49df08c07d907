//! What changed between two versions of a script, in behaviour and in code.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::sketch::Region;
use crate::{Analysis, Capability};

/// SPEC §4 verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same bytes.
    Identical,
    /// Same structural hash: whitespace, comments, local names or literal values changed.
    Trivial,
    /// The structure changed.
    Changed,
}

/// A region present on one side only.
#[derive(Debug, Clone, Serialize)]
pub struct RegionChange {
    #[serde(flatten)]
    pub region: Region,
    /// 1-based line of the region's start in its own version.
    pub line: usize,
}

/// The result of [`diff`].
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub verdict: Verdict,
    /// 1.0 for identical structure, falling as structure diverges.
    pub similarity: f64,
    pub added_capabilities: BTreeSet<Capability>,
    pub removed_capabilities: BTreeSet<Capability>,
    pub added_domains: BTreeSet<String>,
    pub removed_domains: BTreeSet<String>,
    /// Sensitive-read → network-sink flows the new version has and the old did not.
    pub added_flows: BTreeSet<String>,
    /// Smallest regions of NEW with no structural match in OLD.
    pub added_regions: Vec<RegionChange>,
    /// Smallest regions of OLD with no structural match in NEW.
    pub removed_regions: Vec<RegionChange>,
}

impl Diff {
    /// Whether the change adds a network sink, a sensitive read, dynamic code or a new domain:
    /// the changes that warrant a critical alert.
    pub fn is_dangerous(&self) -> bool {
        !self.added_domains.is_empty()
            || !self.added_flows.is_empty()
            || self.added_capabilities.iter().any(|c| c.is_sensitive())
    }
}

/// Regions of `side` whose hash `other` lacks, as a person wants to read them: a region that
/// is mostly new (under half of its nodes in matching subregions) is reported whole (the appended skimmer, not its statements one by
/// one); a region that changed around parts that still match is broken down to the smallest
/// changed pieces (the edited statement, not the library's whole wrapper function).
fn unmatched(side: &[Region], other: &[Region], source: &str) -> Vec<RegionChange> {
    let known: HashSet<u64> = other.iter().map(|r| r.hash).collect();
    let matched: Vec<bool> = side.iter().map(|r| known.contains(&r.hash)).collect();
    let mut out = Vec::new();
    let mut covered_until = 0u32;
    for (i, r) in side.iter().enumerate() {
        if r.first < covered_until {
            continue;
        }
        if matched[i] {
            // Everything inside a matching region matches too.
            covered_until = r.last;
            continue;
        }
        // Regions are in pre-order: descendants follow their ancestor directly.
        // How much of the region still matches, counting each matched subtree once.
        let descendants = side[i + 1..]
            .iter()
            .zip(&matched[i + 1..])
            .take_while(|(d, _)| d.first < r.last);
        let (mut reused, mut skip_until) = (0u32, 0u32);
        for (d, m) in descendants {
            if *m && d.first >= skip_until {
                reused += d.last - d.first;
                skip_until = d.last;
            }
        }
        // Mostly new (a common `var s = "";` inside does not make it old): report it whole.
        if reused * 2 < r.last - r.first {
            out.push(RegionChange {
                region: r.clone(),
                line: 0,
            });
            covered_until = r.last;
        }
    }
    let mut out = merge_adjacent(out, source);
    // Line numbers from one pass over the line starts, not one scan per region.
    let starts: Vec<usize> = std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    for r in &mut out {
        r.line = starts.partition_point(|&s| s <= r.region.start as usize);
    }
    out
}

/// Joins changed regions separated only by whitespace and semicolons, so that twenty appended
/// top-level statements read as one block.
fn merge_adjacent(regions: Vec<RegionChange>, source: &str) -> Vec<RegionChange> {
    let mut out: Vec<RegionChange> = Vec::with_capacity(regions.len());
    for r in regions {
        if let Some(prev) = out.last_mut()
            && let Some(gap) = source.get(prev.region.end as usize..r.region.start as usize)
            && gap.chars().all(|c| c.is_whitespace() || c == ';')
        {
            prev.region.end = r.region.end;
            prev.region.last = prev.region.last.max(r.region.last);
            if prev.region.kind != r.region.kind {
                prev.region.kind = "statements";
            }
            prev.region.name = None;
            continue;
        }
        out.push(r);
    }
    out
}

/// Compares two analyses; the sources are needed only to number the lines of changed regions.
pub fn diff(old: &Analysis, old_source: &str, new: &Analysis, new_source: &str) -> Diff {
    let verdict = if old.sha256 == new.sha256 {
        Verdict::Identical
    } else if !old.structural_hash.is_empty() && old.structural_hash == new.structural_hash {
        Verdict::Trivial
    } else {
        Verdict::Changed
    };
    let similarity = if verdict == Verdict::Changed {
        old.shingles.similarity(&new.shingles)
    } else {
        1.0
    };
    let (added_regions, removed_regions) = if verdict == Verdict::Changed {
        (
            unmatched(&new.regions, &old.regions, new_source),
            unmatched(&old.regions, &new.regions, old_source),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Diff {
        verdict,
        similarity,
        added_capabilities: new
            .capabilities
            .difference(&old.capabilities)
            .copied()
            .collect(),
        removed_capabilities: old
            .capabilities
            .difference(&new.capabilities)
            .copied()
            .collect(),
        added_domains: new.domains.difference(&old.domains).cloned().collect(),
        removed_domains: old.domains.difference(&new.domains).cloned().collect(),
        added_flows: new.flows.difference(&old.flows).cloned().collect(),
        added_regions,
        removed_regions,
    }
}
