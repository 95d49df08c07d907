//! Command implementations: thin adapters from arguments to the libraries.

use std::path::Path;

use anyhow::Context;
use rampart_server::Config;

use crate::cli::{BgpCommand, Cli, Command, ConfigArg, CspCommand, JsCommand};

/// How a command failed, which decides the exit code.
pub enum Failure {
    /// Bad arguments or configuration (exit 2).
    Usage(String),
    /// The command ran and failed (exit 1).
    Run(anyhow::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Run(e.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Run(e)
    }
}

fn load_config(arg: &ConfigArg) -> Result<(Config, String), Failure> {
    let (path, explicit) = match &arg.config {
        Some(p) => (p.as_path(), true),
        None => (Path::new("rampart.toml"), false),
    };
    Config::load(path, explicit).map_err(|e| Failure::Usage(e.to_string()))
}

pub fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve { config } => serve(&config, |_| {}),
        Command::Proxy {
            upstream,
            upstream_ca,
            listen,
            site,
            config,
        } => serve(&config, |c| {
            let p = c.proxy.get_or_insert_with(|| {
                rampart_server::config::ProxyConfig::for_upstream(&upstream)
            });
            p.upstream = upstream.clone();
            if upstream_ca.is_some() {
                p.upstream_ca = upstream_ca.clone();
            }
            if let Some(l) = listen {
                p.listen = l;
            }
            if site.is_some() {
                p.site = site.clone();
            }
        }),
        Command::Csp {
            command: CspCommand::Header { site, config },
        } => header(&site, &config),
        Command::Csp {
            command:
                CspCommand::Policy {
                    site,
                    page,
                    urls,
                    authorized_only,
                    json,
                    config,
                },
        } => {
            let (config, _) = load_config(&config)?;
            let scope = rampart_server::policy::Scope {
                page,
                authorized_only,
                urls,
            };
            crate::csp::policy(&config, &site, scope, json)
        }
        Command::Csp {
            command: CspCommand::Lint { policy, file, json },
        } => crate::csp::lint(policy.as_deref(), file.as_deref(), json),
        Command::Js {
            command: JsCommand::Fingerprint { files, json },
        } => crate::js::fingerprint(&files, json),
        Command::Js {
            command: JsCommand::Diff { old, new, json },
        } => crate::js::diff(&old, &new, json),
        Command::Js {
            command: JsCommand::Classify { files, json, model },
        } => crate::js::classify(&files, json, model.as_deref()),
        Command::Js {
            command:
                JsCommand::Train {
                    data_dir,
                    benign,
                    out,
                    report,
                    predictions,
                    seed,
                    folds,
                    repeats,
                    l2,
                    epochs,
                    algorithm,
                },
        } => crate::train::train(&crate::train::TrainArgs {
            data_dir,
            benign,
            out,
            report,
            predictions,
            seed,
            folds,
            repeats,
            algorithm,
            params: rampart_js::TrainParams {
                l2,
                epochs,
                ..Default::default()
            },
        }),
        Command::Bgp {
            command: BgpCommand::Replay(args),
        } => crate::bgp::replay(&args),
        Command::Bgp {
            command: BgpCommand::Watch(args),
        } => crate::bgp::watch(&args),
        Command::Bgp {
            command: BgpCommand::Generate { asns, rib },
        } => crate::bgp::generate(&asns, &rib),
    }
}

fn header(site: &str, config: &ConfigArg) -> Result<(), Failure> {
    let (config, origin) = load_config(config)?;
    let headers = rampart_server::site_headers(&config, site).ok_or_else(|| {
        let known: Vec<&str> = config.sites.iter().map(|s| s.id.as_str()).collect();
        Failure::Usage(format!(
            "--site {site:?}: no such site in {origin} (known: {})",
            known.join(", ")
        ))
    })?;
    for (name, value) in headers {
        println!("{name}: {value}");
    }
    Ok(())
}

/// `serve`, and `proxy` (which is `serve` with a `[proxy]` section made from its arguments).
fn serve(
    config: &ConfigArg,
    adjust: impl FnOnce(&mut rampart_server::Config),
) -> Result<(), Failure> {
    let (mut config, origin) = load_config(config)?;
    adjust(&mut config);
    if let Some(p) = &config.proxy {
        rampart_server::validate_proxy(&config, p).map_err(|e| Failure::Usage(e.to_string()))?;
    }
    tracing::info!(config = %origin, "configuration loaded");
    if config.api_token == "change-me" {
        tracing::warn!(
            "api_token is the example value; set RAMPART_API_TOKEN or api_token before exposing the API"
        );
    }
    for site in &config.sites {
        tracing::info!(site = %site.id, report_url = %config.report_url(&site.key), "monitoring site");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(rampart_server::run(config, shutdown_signal()))?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: draining accepted reports");
}
