//! Route state and the detectors. Events open once `min_peers` distinct peer ASNs see them, open
//! once per (kind, prefix, origin), and resolve when no peer carries them any more.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use serde::Serialize;

use crate::elem::{Elem, ElemKind};
use crate::prefixes::Monitored;

/// SPEC §5 event kinds implemented in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The exact monitored prefix, announced by an unexpected origin.
    OriginHijack,
    /// A more-specific of a monitored prefix, announced by an unexpected origin.
    SubprefixHijack,
    /// A more-specific announced by an expected origin (unless `ignore_more_specifics`).
    MoreSpecific,
    /// The monitored prefix withdrawn by at least `min_peers` peers that had it.
    VisibilityLoss,
    /// A path that breaks valley-freeness (given AS relationships); `leaker` names the AS.
    RouteLeak,
    /// RFC 6811 invalid (given VRPs).
    RpkiInvalid,
    /// An expected origin reached through an upstream (the AS before it) not seen in the baseline.
    NewUpstream,
    /// A prefix outside the monitored list originated by an AS of `options.monitorASns`
    /// (BGPalerter's "newprefix"/AS monitor).
    NewPrefix,
}

/// One line of `rampart bgp replay` (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `open` or `resolved`.
    pub event: &'static str,
    pub kind: EventKind,
    pub prefix: String,
    pub monitored_prefix: String,
    pub origin: Option<u32>,
    pub expected_origins: Vec<u32>,
    pub as_path: Vec<u32>,
    /// Distinct peer ASNs that saw it (when it opened; still seeing it, when it resolved: 0).
    pub peers: usize,
    /// RFC 3339, from the data.
    pub first_seen: String,
    /// RFC 3339 of the observation that opened or resolved the event (an extension).
    pub time: String,
    pub leaker: Option<u32>,
    pub rpki: Option<&'static str>,
    /// `new_upstream`: the upstream AS not seen in the baseline (an extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    kind: EventKind,
    prefix: IpNet,
    origin: Option<u32>,
    leaker: Option<u32>,
    upstream: Option<u32>,
}

struct State {
    /// The monitored prefix it concerns; `None` for `new_prefix` (outside the list).
    monitored: Option<usize>,
    /// Peers (by address) carrying it now, with their ASN. A short list: a full table has a few
    /// hundred thousand of these, and a map per event costs several times more memory.
    carriers: Vec<(IpAddr, u32)>,
    first_seen: f64,
    path: Box<[u32]>,
    open: bool,
}

fn carrier_asns(carriers: &[(IpAddr, u32)]) -> usize {
    let mut asns: Vec<u32> = carriers.iter().map(|(_, a)| *a).collect();
    asns.sort_unstable();
    asns.dedup();
    asns.len()
}

struct Route {
    keys: Vec<Key>,
    /// Origin and peer ASN of the announcement, for the "who sees it now" view.
    origin: Option<u32>,
    peer_asn: u32,
}

/// One route to a monitored prefix (or a more-specific) as seen right now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteView {
    pub prefix: String,
    pub origin: Option<u32>,
    /// Distinct peer ASNs carrying it.
    pub peers: usize,
    pub rpki: Option<&'static str>,
    /// Whether `origin` is one of the monitored prefix's expected origins.
    pub expected: bool,
}

/// A monitored prefix and the routes to it right now (dashboard, API).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrefixView {
    pub prefix: String,
    pub description: String,
    pub expected_origins: Vec<u32>,
    /// Distinct peer ASNs carrying the exact prefix.
    pub visible_peers: usize,
    pub routes: Vec<RouteView>,
}

/// The route monitor. Feed it elements in data-time order; it returns the events they cause.
pub struct Monitor {
    monitored: Vec<Monitored>,
    v4: PrefixMap<Ipv4Net, usize>,
    v6: PrefixMap<Ipv6Net, usize>,
    min_peers: usize,
    routes: HashMap<(IpNet, IpAddr), Route>,
    events: HashMap<Key, State>,
    /// Per monitored prefix: peers that carry the exact prefix, and peers that withdrew it.
    visible: Vec<HashMap<IpAddr, u32>>,
    lost: Vec<HashMap<IpAddr, u32>>,
    lost_open: Vec<Option<f64>>,
    /// When the loss first reached `min_peers` and has held since (not yet open).
    lost_since: Vec<Option<f64>>,
    /// Monitored prefixes with a pending loss, checked as data time advances.
    pending: Vec<usize>,
    visibility_hold: f64,
    vrps: Option<crate::rpki::Vrps>,
    as_rel: Option<crate::asrel::AsRel>,
    /// While true, observations build the baseline (upstreams) instead of raising new_upstream.
    baseline: bool,
    upstreams: Vec<std::collections::HashSet<u32>>,
    /// `options.monitorASns`: their announcements outside the list raise `new_prefix`.
    monitor_asns: std::collections::HashSet<u32>,
}

/// Default data-time a visibility loss must persist before it opens. Routers withdraw and
/// re-announce within the same second on every path change; BGPalerter waits too.
pub const DEFAULT_VISIBILITY_HOLD_SECS: f64 = 60.0;

fn rfc3339(t: f64) -> String {
    let ms = (t * 1000.0).round() as i64;
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn distinct_asns(peers: &HashMap<IpAddr, u32>) -> usize {
    let mut asns: Vec<u32> = peers.values().copied().collect();
    asns.sort_unstable();
    asns.dedup();
    asns.len()
}

impl Monitor {
    pub fn new(monitored: Vec<Monitored>, min_peers: usize) -> Self {
        let mut v4 = PrefixMap::new();
        let mut v6 = PrefixMap::new();
        for (i, m) in monitored.iter().enumerate() {
            match m.prefix {
                IpNet::V4(p) => {
                    v4.insert(p, i);
                }
                IpNet::V6(p) => {
                    v6.insert(p, i);
                }
            }
        }
        let n = monitored.len();
        Self {
            monitored,
            v4,
            v6,
            min_peers: min_peers.max(1),
            routes: HashMap::new(),
            events: HashMap::new(),
            visible: vec![HashMap::new(); n],
            lost: vec![HashMap::new(); n],
            lost_open: vec![None; n],
            lost_since: vec![None; n],
            pending: Vec::new(),
            visibility_hold: DEFAULT_VISIBILITY_HOLD_SECS,
            vrps: None,
            as_rel: None,
            baseline: false,
            upstreams: vec![std::collections::HashSet::new(); n],
            monitor_asns: Default::default(),
        }
    }

    /// Watches these ASes for prefixes outside the list (`new_prefix`).
    pub fn with_monitored_asns(mut self, asns: &[u32]) -> Self {
        self.monitor_asns.extend(asns);
        self
    }

    /// Baseline mode: upstreams seen now are the known ones; `new_upstream` fires only outside it.
    pub fn set_baseline(&mut self, on: bool) {
        self.baseline = on;
    }

    /// Enables `rpki_invalid` and fills every route event's `rpki` field.
    pub fn with_vrps(mut self, vrps: crate::rpki::Vrps) -> Self {
        self.vrps = Some(vrps);
        self
    }

    /// Adds ASPA objects to the relationships used for `route_leak` (enabling it if needed).
    pub fn with_aspa(mut self, aspas: &[(u32, Vec<u32>)]) -> Self {
        if !aspas.is_empty() {
            self.as_rel
                .get_or_insert_with(Default::default)
                .add_aspa(aspas);
        }
        self
    }

    /// Enables `route_leak` (valley-free check).
    pub fn with_as_rel(mut self, as_rel: crate::asrel::AsRel) -> Self {
        self.as_rel = Some(as_rel);
        self
    }

    /// Sets how long (data time) a visibility loss must persist before it opens.
    pub fn with_visibility_hold(mut self, secs: f64) -> Self {
        self.visibility_hold = secs.max(0.0);
        self
    }

    /// Opens visibility losses that have persisted for the hold time by data time `now`.
    fn tick(&mut self, now: f64, out: &mut Vec<Event>) {
        let mut i = 0;
        while i < self.pending.len() {
            let m = self.pending[i];
            match self.lost_since[m] {
                Some(since) if now - since >= self.visibility_hold => {
                    self.pending.swap_remove(i);
                    self.lost_since[m] = None;
                    self.lost_open[m] = Some(since);
                    let peers = distinct_asns(&self.lost[m]);
                    out.push(self.visibility_event(m, "open", since, now, peers));
                }
                Some(_) => i += 1,
                None => {
                    self.pending.swap_remove(i);
                }
            }
        }
    }

    /// The monitored prefixes (for subscriptions).
    pub fn prefixes(&self) -> Vec<IpNet> {
        self.monitored.iter().map(|m| m.prefix).collect()
    }

    /// A cheap, independent copy of the monitored-prefix lookup, for filtering input while the
    /// monitor itself is borrowed.
    pub fn filter(&self) -> impl Fn(&IpNet, Option<u32>) -> bool + use<> {
        let (v4, v6) = (self.v4.clone(), self.v6.clone());
        let asns = self.monitor_asns.clone();
        move |prefix: &IpNet, origin: Option<u32>| {
            let covered = match prefix {
                IpNet::V4(p) => v4.get_lpm(p).is_some(),
                IpNet::V6(p) => v6.get_lpm(p).is_some(),
            };
            // With monitored ASes, their announcements anywhere count, and so does any
            // withdrawal (it may end one of them).
            covered || (!asns.is_empty() && origin.is_none_or(|o| asns.contains(&o)))
        }
    }

    /// The most specific monitored prefix covering `prefix` (or equal to it).
    pub fn covering(&self, prefix: &IpNet) -> Option<usize> {
        match prefix {
            IpNet::V4(p) => self.v4.get_lpm(p).map(|(_, i)| *i),
            IpNet::V6(p) => self.v6.get_lpm(p).map(|(_, i)| *i),
        }
    }

    fn event(&self, key: &Key, state: &State, what: &'static str, now: f64, peers: usize) -> Event {
        let (monitored_prefix, expected_origins) = match state.monitored {
            Some(i) => (
                self.monitored[i].prefix.to_string(),
                self.monitored[i].origins.clone(),
            ),
            None => (key.prefix.to_string(), Vec::new()),
        };
        Event {
            event: what,
            kind: key.kind,
            prefix: key.prefix.to_string(),
            monitored_prefix,
            origin: key.origin,
            expected_origins,
            as_path: state.path.to_vec(),
            peers,
            first_seen: rfc3339(state.first_seen),
            time: rfc3339(now),
            leaker: key.leaker,
            rpki: self
                .vrps
                .as_ref()
                .map(|v| v.validate(&key.prefix, key.origin).as_str()),
            upstream: key.upstream,
        }
    }

    /// Every event key an announcement belongs to (one route can be a hijack and a leak).
    fn classify(&self, m: usize, prefix: &IpNet, origin: Option<u32>, path: &[u32]) -> Vec<Key> {
        use crate::detectors::*;
        let a = Announcement {
            prefix,
            origin,
            path,
            monitored: &self.monitored[m],
        };
        let findings = [
            origin_hijack::check(&a),
            subprefix_hijack::check(&a),
            more_specific::check(&a),
            self.as_rel.as_ref().and_then(|r| route_leak::check(&a, r)),
            self.vrps.as_ref().and_then(|v| rpki_invalid::check(&a, v)),
            (!self.baseline)
                .then(|| new_upstream::check(&a, &self.upstreams[m]))
                .flatten(),
        ];
        findings
            .into_iter()
            .flatten()
            .map(|f| Key {
                kind: f.kind,
                prefix: *prefix,
                origin,
                leaker: f.leaker,
                upstream: f.upstream,
            })
            .collect()
    }

    /// Applies one element; returns the events it opens or resolves, in a deterministic order.
    pub fn process(&mut self, e: &Elem) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            self.tick(e.time, &mut out);
        }
        let Some(m) = self.covering(&e.prefix) else {
            self.unlisted(e, &mut out);
            return out;
        };
        let exact = e.prefix == self.monitored[m].prefix;
        // Whatever this peer said before about this prefix no longer holds.
        if let Some(old) = self.routes.remove(&(e.prefix, e.peer_ip)) {
            for key in old.keys {
                self.leave(key, e, &mut out);
            }
        }
        let had_exact = exact && self.visible[m].remove(&e.peer_ip).is_some();
        match &e.kind {
            ElemKind::Announce { path, origin } => {
                if self.baseline
                    && origin.is_some_and(|o| self.monitored[m].origins.contains(&o))
                    && let Some(up) = crate::detectors::new_upstream::upstream_of(path, *origin)
                {
                    self.upstreams[m].insert(up);
                }
                let keys = self.classify(m, &e.prefix, *origin, path);
                self.routes.insert(
                    (e.prefix, e.peer_ip),
                    Route {
                        keys: keys.clone(),
                        origin: *origin,
                        peer_asn: e.peer_asn,
                    },
                );
                if exact {
                    self.visible[m].insert(e.peer_ip, e.peer_asn);
                    if self.lost[m].remove(&e.peer_ip).is_some() {
                        self.check_regained(m, e.time, &mut out);
                    }
                }
                for key in keys {
                    self.join(key, Some(m), e, path, &mut out);
                }
            }
            ElemKind::Withdraw => {
                // Only a peer that carried the prefix can lose it.
                if had_exact {
                    self.lost[m].insert(e.peer_ip, e.peer_asn);
                    self.check_lost(m, e, &mut out);
                }
            }
        }
        out
    }

    /// A prefix outside the list: only monitored ASes' announcements matter (`new_prefix`).
    fn unlisted(&mut self, e: &Elem, out: &mut Vec<Event>) {
        if self.monitor_asns.is_empty() {
            return;
        }
        if let Some(old) = self.routes.remove(&(e.prefix, e.peer_ip)) {
            for key in old.keys {
                self.leave(key, e, out);
            }
        }
        if let ElemKind::Announce {
            path,
            origin: Some(o),
        } = &e.kind
            && self.monitor_asns.contains(o)
        {
            let key = Key {
                kind: EventKind::NewPrefix,
                prefix: e.prefix,
                origin: Some(*o),
                leaker: None,
                upstream: None,
            };
            self.routes.insert(
                (e.prefix, e.peer_ip),
                Route {
                    keys: vec![key],
                    origin: Some(*o),
                    peer_asn: e.peer_asn,
                },
            );
            self.join(key, None, e, path, out);
        }
    }

    fn join(&mut self, key: Key, m: Option<usize>, e: &Elem, path: &[u32], out: &mut Vec<Event>) {
        let min = self.min_peers;
        let state = self.events.entry(key).or_insert_with(|| State {
            monitored: m,
            carriers: Vec::new(),
            first_seen: e.time,
            path: path.into(),
            open: false,
        });
        match state.carriers.iter_mut().find(|(ip, _)| *ip == e.peer_ip) {
            Some(c) => c.1 = e.peer_asn,
            None => state.carriers.push((e.peer_ip, e.peer_asn)),
        }
        let peers = carrier_asns(&state.carriers);
        if !state.open && peers >= min {
            state.open = true;
            let state = &self.events[&key];
            out.push(self.event(&key, state, "open", e.time, peers));
        }
    }

    fn leave(&mut self, key: Key, e: &Elem, out: &mut Vec<Event>) {
        let Some(state) = self.events.get_mut(&key) else {
            return;
        };
        state.carriers.retain(|(ip, _)| *ip != e.peer_ip);
        if state.carriers.is_empty() {
            let state = self.events.remove(&key).expect("present");
            if state.open {
                out.push(self.event(&key, &state, "resolved", e.time, 0));
            }
        }
    }

    fn visibility_event(
        &self,
        m: usize,
        what: &'static str,
        first_seen: f64,
        now: f64,
        peers: usize,
    ) -> Event {
        let mon = &self.monitored[m];
        Event {
            event: what,
            kind: EventKind::VisibilityLoss,
            prefix: mon.prefix.to_string(),
            monitored_prefix: mon.prefix.to_string(),
            origin: None,
            expected_origins: mon.origins.clone(),
            as_path: Vec::new(),
            peers,
            first_seen: rfc3339(first_seen),
            time: rfc3339(now),
            leaker: None,
            rpki: None,
            upstream: None,
        }
    }

    fn check_lost(&mut self, m: usize, e: &Elem, out: &mut Vec<Event>) {
        let lost = distinct_asns(&self.lost[m]);
        if self.lost_open[m].is_none() && self.lost_since[m].is_none() && lost >= self.min_peers {
            self.lost_since[m] = Some(e.time);
            self.pending.push(m);
            if self.visibility_hold == 0.0 {
                self.tick(e.time, out);
            }
        }
    }

    fn check_regained(&mut self, m: usize, now: f64, out: &mut Vec<Event>) {
        if distinct_asns(&self.lost[m]) >= self.min_peers {
            return;
        }
        self.lost_since[m] = None; // a pending loss that healed in time never opens
        if let Some(first) = self.lost_open[m].take() {
            out.push(self.visibility_event(m, "resolved", first, now, 0));
        }
    }

    /// Every monitored prefix with the routes to it now: origins, how many peer ASNs carry each,
    /// RPKI state. Cost is linear in the routes kept (monitored space only).
    pub fn snapshot(&self) -> Vec<PrefixView> {
        // Per monitored prefix: (route prefix, origin) → peer ASNs carrying it.
        type Carriers = BTreeMap<(IpNet, Option<u32>), Vec<u32>>;
        let mut per: Vec<Carriers> = vec![BTreeMap::new(); self.monitored.len()];
        for ((prefix, _), route) in &self.routes {
            if let Some(m) = self.covering(prefix) {
                per[m]
                    .entry((*prefix, route.origin))
                    .or_default()
                    .push(route.peer_asn);
            }
        }
        self.monitored
            .iter()
            .zip(per)
            .enumerate()
            .map(|(i, (m, routes))| PrefixView {
                prefix: m.prefix.to_string(),
                description: m.description.clone(),
                expected_origins: m.origins.clone(),
                visible_peers: distinct_asns(&self.visible[i]),
                routes: routes
                    .into_iter()
                    .map(|((prefix, origin), mut asns)| {
                        asns.sort_unstable();
                        asns.dedup();
                        RouteView {
                            prefix: prefix.to_string(),
                            origin,
                            peers: asns.len(),
                            rpki: self
                                .vrps
                                .as_ref()
                                .map(|v| v.validate(&prefix, origin).as_str()),
                            expected: origin.is_some_and(|o| m.origins.contains(&o)),
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// Events open right now, sorted (for summaries and the API).
    pub fn open_events(&self) -> BTreeMap<String, usize> {
        self.events
            .iter()
            .filter(|(_, s)| s.open)
            .map(|(k, s)| {
                (
                    format!("{:?} {} {:?}", k.kind, k.prefix, k.origin),
                    carrier_asns(&s.carriers),
                )
            })
            .collect()
    }
}
