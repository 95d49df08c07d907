//! The per-announcement detectors, one file each. Each looks at one announcement of monitored
//! space and says whether it belongs to an event of its kind. `visibility_loss` is the
//! exception: it is about withdrawals across all peers, so it lives with the route state in
//! `monitor.rs`.

pub(crate) mod more_specific;
pub(crate) mod new_upstream;
pub(crate) mod origin_hijack;
pub(crate) mod route_leak;
pub(crate) mod rpki_invalid;
pub(crate) mod subprefix_hijack;

use ipnet::IpNet;

use crate::monitor::EventKind;
use crate::prefixes::Monitored;

/// One announcement of (a prefix inside) a monitored prefix, as the detectors see it.
pub(crate) struct Announcement<'a> {
    pub prefix: &'a IpNet,
    pub origin: Option<u32>,
    pub path: &'a [u32],
    pub monitored: &'a Monitored,
}

impl Announcement<'_> {
    /// Announced by one of the monitored prefix's own origins.
    pub fn expected(&self) -> bool {
        self.origin
            .is_some_and(|o| self.monitored.origins.contains(&o))
    }

    /// The monitored prefix itself (not a more-specific).
    pub fn exact(&self) -> bool {
        *self.prefix == self.monitored.prefix
    }
}

/// What a detector found: the event kind and, where it has one, the AS it is about.
pub(crate) struct Finding {
    pub kind: EventKind,
    pub leaker: Option<u32>,
    pub upstream: Option<u32>,
}

impl Finding {
    pub fn plain(kind: EventKind) -> Self {
        Self {
            kind,
            leaker: None,
            upstream: None,
        }
    }
}
