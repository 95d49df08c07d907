//! `route_leak`: the path breaks valley-freeness given AS relationships (CAIDA, refined by
//! ASPA); the finding names the leaker. Judged for IPv4 routes only: CAIDA infers relationships
//! from IPv4 paths, and IPv6 policies differ (large networks give their IPv6 peers transit), so
//! judging IPv6 paths by them floods false leaks (seen on the 2016 rrc21 capture).

use super::{Announcement, Finding};
use crate::asrel::AsRel;
use crate::monitor::EventKind;

pub(crate) fn check(a: &Announcement<'_>, rel: &AsRel) -> Option<Finding> {
    if !a.prefix.addr().is_ipv4() {
        return None;
    }
    rel.leaker(a.path).map(|leaker| Finding {
        kind: EventKind::RouteLeak,
        leaker: Some(leaker),
        upstream: None,
    })
}
