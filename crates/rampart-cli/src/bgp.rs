//! `rampart bgp replay`: the route monitor over archives, events as JSON lines on stdout.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rampart_bgp::{Monitor, Monitored, ReplayInput};
use rampart_server::Config;

use crate::cli::ReplayArgs;
use crate::commands::Failure;

/// Default distinct peer ASNs before an event opens (SPEC §2 `min_peers`).
const DEFAULT_MIN_PEERS: usize = 3;

fn monitored_from_config(path: &Path) -> Result<(Vec<Monitored>, Option<usize>), Failure> {
    let (config, origin) = Config::load(path, true).map_err(|e| Failure::Usage(e.to_string()))?;
    let Some(bgp) = config.bgp else {
        return Ok((Vec::new(), None));
    };
    let mut out = Vec::new();
    for (i, p) in bgp.prefixes.iter().enumerate() {
        let prefix: ipnet::IpNet = p.prefix.parse().map_err(|_| {
            Failure::Usage(format!(
                "{origin}: bgp.prefixes[{i}].prefix: {:?} is not a prefix",
                p.prefix
            ))
        })?;
        out.push(Monitored {
            prefix: prefix.trunc(),
            origins: p.origins.clone(),
            description: p.description.clone(),
            ignore_more_specifics: p.ignore_more_specifics,
            group: "default".into(),
        });
    }
    if let Some(file) = &bgp.prefixes_file {
        let file = path.parent().unwrap_or(Path::new(".")).join(file);
        let (more, _) =
            rampart_bgp::load_prefixes_yml(&file).map_err(|e| Failure::Usage(e.to_string()))?;
        out.extend(more);
    }
    Ok((out, Some(bgp.min_peers as usize)))
}

pub fn replay(args: &ReplayArgs) -> Result<(), Failure> {
    let mut monitored = Vec::new();
    let mut min_peers = None;
    if let Some(path) = &args.config {
        let (m, peers) = monitored_from_config(path)?;
        monitored.extend(m);
        min_peers = peers;
    }
    if let Some(path) = &args.prefixes {
        let (m, _) =
            rampart_bgp::load_prefixes_yml(path).map_err(|e| Failure::Usage(e.to_string()))?;
        monitored.extend(m);
    }
    if monitored.is_empty() {
        return Err(Failure::Usage(
            "no monitored prefixes: give --prefixes FILE or --config FILE with [bgp] prefixes"
                .into(),
        ));
    }
    if args.ribs_and_updates_empty() {
        return Err(Failure::Usage(
            "nothing to replay: give --rib, --updates or --ris-live".into(),
        ));
    }
    for (flag, value) in [("--vrps", &args.vrps), ("--as-rel", &args.as_rel)] {
        if value.is_some() {
            eprintln!(
                "rampart: {flag} given, but RPKI and route-leak detection are not in this build yet; ignoring it"
            );
        }
    }
    let mut monitor = Monitor::new(
        monitored,
        args.min_peers.or(min_peers).unwrap_or(DEFAULT_MIN_PEERS),
    );
    let input = ReplayInput {
        ribs: args.rib.clone(),
        updates: args.updates.clone(),
        ris_live: args.ris_live.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_error = None;
    let stats = rampart_bgp::replay(&input, &mut monitor, |event| {
        if write_error.is_none()
            && let Err(e) = serde_json::to_writer(&mut out, event)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
        {
            write_error = Some(e);
        }
    })
    .context("reading the archives")?;
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

impl ReplayArgs {
    fn ribs_and_updates_empty(&self) -> bool {
        self.rib.is_empty() && self.updates.is_empty() && self.ris_live.is_empty()
    }
}
