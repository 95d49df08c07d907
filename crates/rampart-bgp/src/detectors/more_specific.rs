//! `more_specific`: a more-specific announced by an expected origin, unless the prefix is
//! configured with `ignore_more_specifics` (BGPalerter's `ignoreMorespecifics`).

use super::{Announcement, Finding};
use crate::monitor::EventKind;

pub(crate) fn check(a: &Announcement<'_>) -> Option<Finding> {
    (!a.exact() && a.expected() && !a.monitored.ignore_more_specifics)
        .then(|| Finding::plain(EventKind::MoreSpecific))
}
