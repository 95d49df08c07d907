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
