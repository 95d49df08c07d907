//! `origin_hijack`: the exact monitored prefix announced by an origin not listed for it
//! (AS_SET origins included: they match no listed origin).

use super::{Announcement, Finding};
use crate::monitor::EventKind;

pub(crate) fn check(a: &Announcement<'_>) -> Option<Finding> {
    (a.exact() && !a.expected()).then(|| Finding::plain(EventKind::OriginHijack))
}
