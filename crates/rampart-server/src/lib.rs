//! Rampart's service: the report intake, the inventory writer, alert rules, notifications and
//! the REST API, on axum.
//!
//! The request path never waits on the database: [`intake`] validates and enqueues, the
//! [`inventory`] task aggregates and writes batches every `flush_interval`, raises alerts, and
//! hands them to [`notify`]. Parsing of reports is `rampart-csp`'s job; storage is
//! `rampart-store`'s.
#![forbid(unsafe_code)]

mod alerts;
mod api;
mod app;
mod authorization;
pub mod bgp;
pub mod config;
mod dashboard;
mod export;
mod fetcher;
mod filter;
mod inline;
mod intake;
pub mod intel;
mod inventory;
mod metrics;
pub mod notify;
mod page_scripts;
pub mod policy;
mod proxy;
mod security_headers;
mod time;

pub use app::{Server, run, start};
pub use config::{Config, ConfigError};
pub use proxy::{matches_pattern as page_matches, validate as validate_proxy};
pub use time::now_ms;

/// The monitoring headers for a configured site, as `(name, value)` pairs.
pub fn site_headers(config: &Config, site_id: &str) -> Option<Vec<(&'static str, String)>> {
    let site = config.sites.iter().find(|s| s.id == site_id)?;
    let report_url = config.report_url(&site.key);
    Some(rampart_csp::monitoring_headers(
        &rampart_csp::HeaderOptions {
            report_url: &report_url,
            origins: &site.origins,
            group: "rampart",
        },
    ))
}
