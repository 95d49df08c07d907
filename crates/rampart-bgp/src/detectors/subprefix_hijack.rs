//! `subprefix_hijack`: a more-specific of a monitored prefix announced by an unexpected origin
//! (YouTube 2008: 208.65.153.0/24 of 208.65.152.0/22, by AS17557).

use super::{Announcement, Finding};
use crate::monitor::EventKind;

pub(crate) fn check(a: &Announcement<'_>) -> Option<Finding> {
    (!a.exact() && !a.expected()).then(|| Finding::plain(EventKind::SubprefixHijack))
}
