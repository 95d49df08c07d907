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
    /// Run the service with a reverse proxy in front of a site: monitoring headers on a sample
    /// of HTML responses, inline scripts inventoried from the pages that stream through.
    Proxy {
        /// The origin server (http://host:port or https://host[:port]).
        #[arg(long, value_name = "URL")]
        upstream: String,
        /// PEM certificates trusted for an https:// upstream besides the public web roots.
        #[arg(long, value_name = "FILE")]
        upstream_ca: Option<std::path::PathBuf>,
        /// Where the proxy listens (default: [proxy] listen, else 127.0.0.1:8481).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// The [[sites]] entry being proxied (needed with several sites).
        #[arg(long, value_name = "ID")]
        site: Option<String>,
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
    /// Maliciousness score (1 = certainly malicious, 99 = certainly clean) with reasons.
    Classify {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// One JSON object per file, one per line.
        #[arg(long)]
        json: bool,
        /// A model file from `rampart js train` instead of the one built in.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Rebuild the classifier from the corpora and print its evaluation (EVAL.md).
    Train {
        /// Data directory holding js/manifest.csv and the malicious samples.
        #[arg(long = "data-dir", env = "RAMPART_DATA_DIR", value_name = "DIR")]
        data_dir: PathBuf,
        /// Benign corpus made by scripts/js-benign-corpus.
        #[arg(long, value_name = "DIR", default_value = "target/js-benign")]
        benign: PathBuf,
        /// Where to write the model.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "crates/rampart-js/model/classifier.json"
        )]
        out: PathBuf,
        /// Also write the evaluation (Markdown) to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Also write every held-out prediction (CSV: seed, file, set, group, probability,
        /// score, flagged) to this file, to audit a run file by file.
        #[arg(long, value_name = "FILE")]
        predictions: Option<PathBuf>,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Cross-validation folds.
        #[arg(long, default_value_t = 4)]
        folds: usize,
        /// Cross-validation repeats, each with its own fold assignment (seeds `seed`,
        /// `seed + 1`, …): one assignment moves the FPR by whole packages, so the headline
        /// numbers are pooled over the repeats.
        #[arg(long, default_value_t = 2)]
        repeats: usize,
        /// Model for the malicious/benign decision: boosted trees or logistic regression.
        #[arg(long, value_enum, default_value = "boosted")]
        algorithm: crate::train::Algorithm,
        /// L2 penalty of the logistic regression.
        #[arg(long, default_value_t = rampart_js::TrainParams::default().l2)]
        l2: f32,
        /// Full-batch training epochs.
        #[arg(long, default_value_t = rampart_js::TrainParams::default().epochs)]
        epochs: usize,
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
    /// Print an enforceable Content-Security-Policy built from the site's active inventory.
    Policy {
        /// The site's id from the configuration.
        #[arg(long)]
        site: String,
        /// Only resources seen on pages matching this pattern (`*` matches anything), e.g.
        /// "https://shop.example/checkout*".
        #[arg(long, value_name = "PATTERN")]
        page: Option<String>,
        /// Allow exact script URLs instead of hosts.
        #[arg(long)]
        urls: bool,
        /// Only scripts someone authorized whose newest version still has the authorized
        /// structure (PCI DSS 6.4.3; the dashboard's script page or the API authorizes).
        #[arg(long)]
        authorized_only: bool,
        /// One JSON object: policy, integrity values, notes, lint findings.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Check a policy for what makes it bypassable (exit 1 on a high-severity finding).
    Lint {
        /// The policy (the header's value); or --file.
        #[arg(value_name = "POLICY", required_unless_present = "file")]
        policy: Option<String>,
        /// Read the policy from a file (a header line `Content-Security-Policy: …` is fine).
        #[arg(long, value_name = "FILE", conflicts_with = "policy")]
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
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
