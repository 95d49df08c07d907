//! The command line (SPEC §1).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rampart",
    version,
    about = "Client-side protection: script inventory from CSP reports, alerts"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct ConfigArg {
    /// Configuration file; without it, rampart.toml if present, else the embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the service: report intake, inventory, alerts, notifications, API.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Content-Security-Policy helpers.
    Csp {
        #[command(subcommand)]
        command: CspCommand,
    },
    /// JavaScript analysis: structural fingerprints and behavioural diffs.
    Js {
        #[command(subcommand)]
        command: JsCommand,
    },
    /// BGP route monitoring for the site's prefixes.
    Bgp {
        #[command(subcommand)]
        command: BgpCommand,
    },
}

#[derive(Subcommand)]
pub enum BgpCommand {
    /// Run the route monitor over archived BGP data; print events as JSON lines (SPEC §5).
    Replay(ReplayArgs),
    /// Run the route monitor on the live RIS Live stream; print events as JSON lines.
    Watch(WatchArgs),
    /// Print a BGPalerter prefixes.yml for the prefixes these ASes originate in the RIB dumps.
    Generate {
        /// Origin AS; repeatable.
        #[arg(long = "asn", value_name = "N", required = true)]
        asns: Vec<u32>,
        /// MRT RIB dump; repeatable.
        #[arg(long, value_name = "FILE", required = true)]
        rib: Vec<PathBuf>,
    },
}

#[derive(Args)]
pub struct ReplayArgs {
    /// MRT RIB dump (TABLE_DUMP_V2 or TABLE_DUMP), the baseline; repeatable.
    #[arg(long, value_name = "FILE")]
    pub rib: Vec<PathBuf>,
    /// MRT update file (BGP4MP; .gz/.bz2 allowed); repeatable.
    #[arg(long, value_name = "FILE")]
    pub updates: Vec<PathBuf>,
    /// RIS Live `ris_message` JSON lines (.gz allowed); repeatable.
    #[arg(long = "ris-live", value_name = "FILE")]
    pub ris_live: Vec<PathBuf>,
    #[command(flatten)]
    pub monitor: MonitorArgs,
}

/// What the route monitor watches and with which data; shared by `replay` and `watch`.
#[derive(Args)]
pub struct MonitorArgs {
    /// BGPalerter prefixes.yml.
    #[arg(long, value_name = "FILE")]
    pub prefixes: Option<PathBuf>,
    /// rampart.toml whose [bgp] section adds prefixes and settings (min_peers, vrps, rtr, as_rel,
    /// ris_live_url).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// VRPs (rpki-client / Routinator / Cloudflare JSON).
    #[arg(long, value_name = "FILE")]
    pub vrps: Option<PathBuf>,
    /// CAIDA AS relationships (serial-1/serial-2).
    #[arg(long = "as-rel", value_name = "FILE")]
    pub as_rel: Option<PathBuf>,
    /// RTR server (host:port) of a local validator, instead of --vrps.
    #[arg(long, value_name = "ADDR", conflicts_with = "vrps")]
    pub rtr: Option<String>,
    /// Distinct peer ASNs that must see an event before it opens.
    #[arg(long = "min-peers", value_name = "N")]
    pub min_peers: Option<usize>,
}

#[derive(Subcommand)]
pub enum JsCommand {
    /// Structural fingerprint, capabilities and domains of each script.
    Fingerprint {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// One JSON object per file, one per line.
        #[arg(long)]
        json: bool,
    },
    /// What changed between two versions of a script.
    Diff {
        #[arg(value_name = "OLD")]
        old: PathBuf,
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum CspCommand {
    /// Print the response headers a site must send to be monitored (one `Name: value` per line).
    Header {
        /// The site's id from the configuration.
        #[arg(long)]
        site: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub monitor: MonitorArgs,
    /// RIS Live websocket URL (default: the config's, else RIPE's public endpoint).
    #[arg(long = "ris-live-url", value_name = "URL")]
    pub ris_live_url: Option<String>,
}
