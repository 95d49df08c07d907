//! `rampart bgp replay`: the route monitor over archives, events as JSON lines on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_bgp::{AsRel, Monitor, Monitored, ReplayInput, Vrps};
use rampart_server::Config;

use crate::cli::{MonitorArgs, ReplayArgs};
use crate::commands::Failure;

/// Default distinct peer ASNs before an event opens (SPEC §2 `min_peers`).
const DEFAULT_MIN_PEERS: usize = 3;

/// What a `[bgp]` section adds: prefixes, `min_peers`, and the VRP and AS-relationship files
/// (relative to the configuration file).
#[derive(Default)]
struct FromConfig {
    monitored: Vec<Monitored>,
    monitor_asns: Vec<u32>,
    min_peers: Option<usize>,
    vrps: Option<PathBuf>,
    as_rel: Option<PathBuf>,
    rtr: Option<String>,
    ris_live_url: Option<String>,
}

/// The monitor both commands run: prefixes from `--config` and `--prefixes`, thresholds, VRPs
/// and AS relationships (flags win over the configuration).
fn build_monitor(
    config: &FromConfig,
    prefixes: Option<&Path>,
    min_peers: Option<usize>,
    vrps: Option<&PathBuf>,
    as_rel: Option<&PathBuf>,
    rtr: Option<&String>,
) -> Result<Monitor, Failure> {
    let mut monitored = config.monitored.clone();
    let mut monitor_asns = config.monitor_asns.clone();
    if let Some(path) = prefixes {
        let (m, asns) =
            rampart_bgp::load_prefixes_yml(path).map_err(|e| Failure::Usage(e.to_string()))?;
        monitored.extend(m);
        monitor_asns.extend(asns);
    }
    if monitored.is_empty() {
        return Err(Failure::Usage(
            "no monitored prefixes: give --prefixes FILE or --config FILE with [bgp] prefixes"
                .into(),
        ));
    }
    let min_peers = min_peers.or(config.min_peers).unwrap_or(DEFAULT_MIN_PEERS);
    let mut monitor = Monitor::new(monitored, min_peers).with_monitored_asns(&monitor_asns);
    let mut aspa = Vec::new();
    if let Some(addr) = rtr.or(config.rtr.as_ref()).filter(|_| vrps.is_none()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let vrps = runtime.block_on(rampart_bgp::fetch_vrps(
            addr,
            rampart_bgp::DEFAULT_RTR_TIMEOUT,
        ))?;
        eprintln!("RTR {addr}: {} VRPs", vrps.len());
        monitor = monitor.with_vrps(vrps);
    } else if let Some(path) = vrps.or(config.vrps.as_ref()) {
        let vrps = Vrps::load(path).map_err(|e| Failure::Run(e.into()))?;
        eprintln!(
            "{}: {} VRPs ({} entries skipped)",
            path.display(),
            vrps.len(),
            vrps.skipped
        );
        monitor = monitor.with_vrps(vrps);
        // rpki-client and Routinator put ASPA objects in the same JSON.
        let aspas = AsRel::load_aspa(path)?;
        if !aspas.is_empty() {
            eprintln!("{}: {} ASPA objects", path.display(), aspas.len());
        }
        aspa = aspas;
    }
    if let Some(path) = as_rel.or(config.as_rel.as_ref()) {
        let rel = AsRel::load(path)?;
        eprintln!(
            "{}: {} AS relationships ({} lines skipped)",
            path.display(),
            rel.len(),
            rel.skipped
        );
        monitor = monitor.with_as_rel(rel);
    }
    // ASPA is authoritative where it exists: applied after the inferred relationships.
    let monitor = monitor.with_aspa(&aspa);
    Ok(monitor)
}

fn write_event(out: &mut impl Write, event: &rampart_bgp::Event) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")?;
    out.flush()
}

fn from_config(path: &Path) -> Result<FromConfig, Failure> {
    let (config, origin) = Config::load(path, true).map_err(|e| Failure::Usage(e.to_string()))?;
    let Some(bgp) = config.bgp else {
        return Ok(FromConfig::default());
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let (monitored, monitor_asns) = rampart_server::bgp::monitored_and_asns(&bgp, dir)
        .map_err(|e| Failure::Usage(format!("{origin}: {e:#}")))?;
    Ok(FromConfig {
        monitor_asns,
        monitored,
        min_peers: Some(bgp.min_peers as usize),
        vrps: bgp.vrps.as_ref().map(|f| dir.join(f)),
        as_rel: bgp.as_rel.as_ref().map(|f| dir.join(f)),
        rtr: bgp.rtr.clone(),
        ris_live_url: bgp.ris_live_url.clone(),
    })
}

/// The monitor the flags describe, and what the configuration file said.
fn monitor_from_args(args: &MonitorArgs) -> Result<(Monitor, FromConfig), Failure> {
    let config = match &args.config {
        Some(path) => from_config(path)?,
        None => FromConfig::default(),
    };
    let monitor = build_monitor(
        &config,
        args.prefixes.as_deref(),
        args.min_peers,
        args.vrps.as_ref(),
        args.as_rel.as_ref(),
        args.rtr.as_ref(),
    )?;
    Ok((monitor, config))
}

pub fn replay(args: &ReplayArgs) -> Result<(), Failure> {
    if args.rib.is_empty() && args.updates.is_empty() && args.ris_live.is_empty() {
        return Err(Failure::Usage(
            "nothing to replay: give --rib, --updates or --ris-live".into(),
        ));
    }
    let (mut monitor, _) = monitor_from_args(&args.monitor)?;
    let input = ReplayInput {
        ribs: args.rib.clone(),
        updates: args.updates.clone(),
        ris_live: args.ris_live.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_error = None;
    // A progress bar on a terminal; nothing when stdout goes to a file or a pipe (SPEC §1).
    let bar = std::io::IsTerminal::is_terminal(&std::io::stdout()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let progress = |file: &Path, read: u64| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{} · {read} elements", file.display()));
        }
    };
    let stats = rampart_bgp::replay_with_progress(
        &input,
        &mut monitor,
        |event| {
            if write_error.is_none()
                && let Err(e) = serde_json::to_writer(&mut out, event)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
            {
                write_error = Some(e);
            }
        },
        progress,
    )
    .context("reading the archives")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    for (file, announced, withdrawn, malformed) in &stats.files {
        eprintln!(
            "{file}: {announced} announced, {withdrawn} withdrawn, {malformed} malformed records skipped"
        );
    }
    eprintln!(
        "{} observations of monitored prefixes, {} events",
        stats.relevant, stats.events
    );
    Ok(())
}

pub fn generate(asns: &[u32], ribs: &[PathBuf]) -> Result<(), Failure> {
    let prefixes = rampart_bgp::originated(asns, ribs)?;
    if prefixes.is_empty() {
        eprintln!("rampart: no prefix in the given RIB dumps is originated by {asns:?}");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(rampart_bgp::prefixes_yml(&prefixes, asns).as_bytes())?;
    eprintln!("{} prefixes", prefixes.len());
    Ok(())
}

pub fn watch(args: &crate::cli::WatchArgs) -> Result<(), Failure> {
    let (mut monitor, config) = monitor_from_args(&args.monitor)?;
    let url = args
        .ris_live_url
        .clone()
        .or_else(|| config.ris_live_url.clone())
        .unwrap_or_else(|| rampart_server::bgp::DEFAULT_RIS_LIVE_URL.to_string());
    let prefixes = monitor.prefixes();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let mut stats = rampart_bgp::LiveStats::default();
    let mut baseline = rampart_bgp::Baseline::new(false);
    let mut out = std::io::stdout().lock();
    let mut write_error: Option<std::io::Error> = None;
    runtime.block_on(rampart_bgp::watch(
        &url,
        &prefixes,
        &mut stats,
        |elem| {
            baseline.apply(&mut monitor, elem.time);
            for event in monitor.process(&elem) {
                if write_error.is_none()
                    && let Err(e) = write_event(&mut out, &event)
                {
                    write_error = Some(e);
                }
            }
        },
        |event| match event {
            rampart_bgp::LiveEvent::Connected { attempt } => eprintln!("rampart: RIS Live connected to {url} (connection {attempt})"),
            rampart_bgp::LiveEvent::Disconnected { reason } => eprintln!("rampart: RIS Live disconnected: {reason}; reconnecting"),
            rampart_bgp::LiveEvent::Resumed { gap_seconds } => {
                eprintln!("rampart: RIS Live resumed after a gap of {gap_seconds:.2} s (updates in that window were missed)")
            }
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ));
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let m = &stats.messages;
    eprintln!(
        "RIS Live: {} updates ({} announced, {} withdrawn), {} other, {} malformed; {} connections, {} gaps totalling {:.2} s",
        m.updates,
        m.announcements,
        m.withdrawals,
        m.other,
        m.malformed,
        stats.connects,
        stats.gaps,
        stats.gap_seconds
    );
    Ok(())
}
