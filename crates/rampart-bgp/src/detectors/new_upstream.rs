//! `new_upstream`: an expected origin reached through an upstream (the AS before it, prepends
//! skipped) that the baseline never showed for this monitored prefix.

use std::collections::HashSet;

use super::{Announcement, Finding};
use crate::monitor::EventKind;

/// The AS before the origin, prepends skipped.
pub(crate) fn upstream_of(path: &[u32], origin: Option<u32>) -> Option<u32> {
    let o = origin?;
    path.iter().rev().find(|a| **a != o).copied()
}

pub(crate) fn check(a: &Announcement<'_>, known: &HashSet<u32>) -> Option<Finding> {
    if !a.expected() {
        return None;
    }
    let up = upstream_of(a.path, a.origin).filter(|u| !known.contains(u))?;
    Some(Finding {
        kind: EventKind::NewUpstream,
        leaker: None,
        upstream: Some(up),
    })
}
