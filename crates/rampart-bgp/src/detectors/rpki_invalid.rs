//! `rpki_invalid`: RFC 6811 origin validation says invalid (a covering VRP exists, none
//! matches origin and length).

use super::{Announcement, Finding};
use crate::monitor::EventKind;
use crate::rpki::{RpkiState, Vrps};

pub(crate) fn check(a: &Announcement<'_>, vrps: &Vrps) -> Option<Finding> {
    (vrps.validate(a.prefix, a.origin) == RpkiState::Invalid)
        .then(|| Finding::plain(EventKind::RpkiInvalid))
}
