//! The live route monitor inside `serve`: `[bgp]` prefixes watched on RIS Live, events stored as
//! alerts (site `bgp`) and delivered by the same notifier as the L7 alerts.

use std::path::Path;
use std::sync::Arc;

use rampart_bgp::{AsRel, Baseline, Event, EventKind, LiveEvent, Monitor, Monitored, Vrps};
use rampart_store::{AlertRow, NewAlert, Store};
use tokio::sync::{mpsc, watch};

use crate::config::BgpConfig;

/// The monitor's current view of the monitored prefixes, shared with the API and dashboard.
pub type View = Arc<std::sync::RwLock<Vec<rampart_bgp::PrefixView>>>;

/// How often the shared view is refreshed from the monitor (data arrives continuously).
const VIEW_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The alert `site` of route-monitor events; reserved (no `[[sites]]` may use it).
pub const BGP_SITE: &str = "bgp";

/// RIPE's public RIS Live endpoint, used when `ris_live_url` is not set.
pub const DEFAULT_RIS_LIVE_URL: &str = "wss://ris-live.ripe.net/v1/ws/?client=rampart";

/// The prefixes `[bgp]` monitors: `[[bgp.prefixes]]` plus `prefixes_file` (relative to `dir`).
/// Shared by `serve` and `rampart bgp replay|watch --config`.
pub fn monitored_prefixes(bgp: &BgpConfig, dir: &Path) -> anyhow::Result<Vec<Monitored>> {
    Ok(monitored_and_asns(bgp, dir)?.0)
}

/// [`monitored_prefixes`] plus the `options.monitorASns` of `prefixes_file`.
pub fn monitored_and_asns(
    bgp: &BgpConfig,
    dir: &Path,
) -> anyhow::Result<(Vec<Monitored>, Vec<u32>)> {
    let mut monitored = Vec::new();
    for (i, p) in bgp.prefixes.iter().enumerate() {
        let prefix: ipnet::IpNet = p.prefix.parse().map_err(|_| {
            anyhow::anyhow!("bgp.prefixes[{i}].prefix: {:?} is not a prefix", p.prefix)
        })?;
        monitored.push(Monitored {
            prefix: prefix.trunc(),
            origins: p.origins.clone(),
            description: p.description.clone(),
            ignore_more_specifics: p.ignore_more_specifics,
            group: "default".into(),
        });
    }
    let mut asns = Vec::new();
    if let Some(file) = &bgp.prefixes_file {
        let (more, monitor_asns) = rampart_bgp::load_prefixes_yml(&dir.join(file))?;
        monitored.extend(more);
        asns = monitor_asns;
    }
    Ok((monitored, asns))
}

/// Builds the monitor from `[bgp]`; files are relative to the working directory.
pub(crate) fn monitor(bgp: &BgpConfig) -> anyhow::Result<Monitor> {
    let (monitored, asns) = monitored_and_asns(bgp, Path::new("."))?;
    let mut monitor = Monitor::new(monitored, bgp.min_peers as usize).with_monitored_asns(&asns);
    let mut aspa = Vec::new();
    if let Some(file) = &bgp.vrps {
        monitor = monitor.with_vrps(Vrps::load(Path::new(file))?);
        aspa = AsRel::load_aspa(Path::new(file))?; // rpki-client/Routinator JSON carries ASPA too
    }
    if let Some(file) = &bgp.as_rel {
        monitor = monitor.with_as_rel(AsRel::load(Path::new(file))?);
    }
    let monitor = monitor.with_aspa(&aspa);
    Ok(monitor)
}

fn severity(kind: EventKind) -> &'static str {
    match kind {
        EventKind::OriginHijack
        | EventKind::SubprefixHijack
        | EventKind::RouteLeak
        | EventKind::RpkiInvalid => "critical",
        EventKind::VisibilityLoss
        | EventKind::NewUpstream
        | EventKind::MoreSpecific
        | EventKind::NewPrefix => "warning",
    }
}

fn alert(event: &Event) -> NewAlert {
    let details = serde_json::to_value(event).unwrap_or_default();
    let kind = details["kind"].as_str().unwrap_or("bgp").to_string();
    NewAlert {
        kind,
        site: BGP_SITE.into(),
        subject: event.prefix.clone(),
        // Each opening and each resolution of an event is its own record.
        dedup: format!(
            "{}|{:?}|{:?}|{:?}|{}|{}",
            event.event, event.origin, event.leaker, event.upstream, event.first_seen, event.time
        ),
        severity: if event.event == "resolved" {
            "info"
        } else {
            severity(event.kind)
        }
        .into(),
        created_at: crate::time::now_ms(),
        details,
    }
}

/// Watches RIS Live until `stop` flips; every event becomes an alert.
pub(crate) fn spawn(
    bgp: &BgpConfig,
    store: Arc<dyn Store>,
    alerts: mpsc::Sender<AlertRow>,
    mut stop: watch::Receiver<bool>,
    view: View,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut monitor = monitor(bgp)?;
    *view.write().expect("not poisoned") = monitor.snapshot();
    let mut refreshed = std::time::Instant::now();
    let prefixes: Vec<ipnet::IpNet> = monitor.prefixes();
    let url = bgp
        .ris_live_url
        .clone()
        .unwrap_or_else(|| DEFAULT_RIS_LIVE_URL.to_string());
    let rtr = bgp.rtr.clone();
    Ok(tokio::spawn(async move {
        if let Some(addr) = rtr {
            // VRPs from the local validator; without them rpki_invalid stays off, loudly.
            match rampart_bgp::fetch_vrps(&addr, rampart_bgp::DEFAULT_RTR_TIMEOUT).await {
                Ok(vrps) => {
                    tracing::info!(%addr, vrps = vrps.len(), "VRPs loaded over RTR");
                    monitor = monitor.with_vrps(vrps);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot load VRPs over RTR; RPKI validation is off")
                }
            }
        }
        let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Event>();
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                while let Some(e) = events_rx.recv().await {
                    crate::alerts::raise(&*store, &alerts, alert(&e)).await;
                }
            })
        };
        let mut stats = rampart_bgp::LiveStats::default();
        let mut baseline = Baseline::new(false);
        rampart_bgp::watch(
            &url,
            &prefixes,
            &mut stats,
            |elem| {
                baseline.apply(&mut monitor, elem.time);
                let mut changed = false;
                for e in monitor.process(&elem) {
                    let _ = events_tx.send(e);
                    changed = true;
                }
                // Refresh on every event (what the page shows must match the alerts) and at
                // least once a second otherwise.
                if changed || refreshed.elapsed() >= VIEW_REFRESH {
                    *view.write().expect("not poisoned") = monitor.snapshot();
                    refreshed = std::time::Instant::now();
                }
            },
            |event| match event {
                LiveEvent::Connected { attempt } => {
                    tracing::info!(%url, attempt, "RIS Live connected")
                }
                LiveEvent::Disconnected { reason } => {
                    tracing::warn!(%reason, "RIS Live disconnected; reconnecting")
                }
                LiveEvent::Resumed { gap_seconds } => {
                    metrics::counter!(crate::metrics::BGP_GAPS).increment(1);
                    tracing::warn!(
                        gap_seconds,
                        "RIS Live resumed after a gap; updates in it were missed"
                    )
                }
            },
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        )
        .await;
        drop(events_tx);
        let _ = writer.await;
    }))
}
