//! Wiring: open the store, start the background tasks, serve HTTP, shut down in order.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::PrometheusHandle;
use rampart_store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::intake::Accepted;

/// Shared by every request handler. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub(crate) struct AppState {
    pub config: Arc<Config>,
    /// Site index by report key.
    pub sites_by_key: Arc<HashMap<String, usize>>,
    pub queue: mpsc::Sender<Accepted>,
    pub store: Arc<dyn Store>,
    pub metrics: PrometheusHandle,
    pub limits: Arc<rampart_csp::Limits>,
    /// Dashboard sign-ins.
    pub sessions: Arc<crate::dashboard::Sessions>,
    /// The route monitor's view of the monitored prefixes right now (empty without `[bgp]`).
    pub bgp_view: crate::bgp::View,
    /// Told when a script's authorization changes (the proxy's authorized-scripts policy).
    pub authorizations_changed: Arc<tokio::sync::Notify>,
}

/// A running server (see [`start`]).
pub struct Server {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// The reverse proxy's address, when `[proxy]` is configured.
    pub proxy_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Stops accepting, drains the queue into the store, and waits for pending notifications.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.context("server task panicked")?
    }
}

/// Binds and starts serving in the background; returns once the port is open.
pub async fn start(config: Config) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let proxy_listener = bind_proxy(&config).await?;
    let proxy_addr = match &proxy_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let (tx, rx) = oneshot::channel::<()>();
    let prepared = prepare(config).await?;
    let task = tokio::spawn(async move {
        prepared
            .serve(listener, proxy_listener, async {
                let _ = rx.await;
            })
            .await
    });
    Ok(Server {
        addr,
        proxy_addr,
        shutdown: Some(tx),
        task,
    })
}

/// Runs until `shutdown` completes (e.g. on SIGTERM), then drains and returns.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "rampart listening");
    let proxy_listener = bind_proxy(&config).await?;
    if let (Some(l), Some(p)) = (&proxy_listener, &config.proxy) {
        tracing::info!(addr = %l.local_addr()?, upstream = %p.upstream, "reverse proxy listening");
    }
    prepare(config)
        .await?
        .serve(listener, proxy_listener, shutdown)
        .await
}

async fn bind_proxy(config: &Config) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(p) = &config.proxy else {
        return Ok(None);
    };
    let l = tokio::net::TcpListener::bind(p.listen)
        .await
        .with_context(|| format!("cannot listen on {} ([proxy] listen)", p.listen))?;
    Ok(Some(l))
}

struct Prepared {
    router: Router,
    proxy: Option<crate::proxy::Service>,
    inventory: JoinHandle<()>,
    fetcher: JoinHandle<()>,
    /// Blocklist watcher: loops forever, aborted at shutdown (it holds an alert sender).
    intel: JoinHandle<()>,
    bgp: Option<JoinHandle<()>>,
    bgp_stop: tokio::sync::watch::Sender<bool>,
    notifier: JoinHandle<()>,
}

async fn prepare(config: Config) -> anyhow::Result<Prepared> {
    let store = rampart_store::open(&config.database)
        .await
        .with_context(|| format!("cannot open database {}", config.database))?;
    let config = Arc::new(config);
    let metrics = crate::metrics::handle();
    let (queue_tx, queue_rx) = mpsc::channel(config.queue_capacity);
    let (alert_tx, notifier) = crate::notify::spawn(&config.notify, store.clone())?;
    // The fetcher's queue sender is weak: the inventory's end (which ends the fetcher) must not
    // wait for the fetcher.
    let (fetch_tx, fetcher) = crate::fetcher::spawn(
        config.clone(),
        store.clone(),
        alert_tx.clone(),
        queue_tx.downgrade(),
    )?;
    let (bgp_stop, bgp_stop_rx) = tokio::sync::watch::channel(false);
    let bgp_view = crate::bgp::View::default();
    let bgp = match &config.bgp {
        Some(b) if !b.prefixes.is_empty() || b.prefixes_file.is_some() => Some(
            crate::bgp::spawn(
                b,
                store.clone(),
                alert_tx.clone(),
                bgp_stop_rx,
                bgp_view.clone(),
            )
            .context("starting the route monitor")?,
        ),
        _ => None,
    };
    let intel =
        Arc::new(crate::intel::Intel::load(&config.intel).context("loading [intel] blocklists")?);
    let intel_task = crate::intel::spawn(
        config.clone(),
        store.clone(),
        intel.clone(),
        alert_tx.clone(),
    );
    let authorizations_changed = Arc::new(tokio::sync::Notify::new());
    let proxy = match &config.proxy {
        Some(p) => {
            let (_, site) = crate::proxy::validate(&config, p)?;
            let baselines = store
                .header_baselines(&config.sites[site].id, crate::proxy::MAX_BASELINES)
                .await
                .context("reading the proxy's security-header baselines")?;
            Some(crate::proxy::service(
                &config,
                p,
                crate::proxy::Deps {
                    queue: queue_tx.clone(),
                    intel: intel.clone(),
                    store: store.clone(),
                    alerts: alert_tx.clone(),
                    baselines,
                    authorizations_changed: authorizations_changed.clone(),
                },
            )?)
        }
        None => None,
    };
    let inventory = tokio::spawn(crate::inventory::run(
        config.clone(),
        store.clone(),
        queue_rx,
        alert_tx,
        fetch_tx,
        intel,
    ));
    let sites_by_key = config
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.clone(), i))
        .collect();
    let state = AppState {
        config,
        sites_by_key: Arc::new(sites_by_key),
        queue: queue_tx,
        sessions: Arc::new(crate::dashboard::Sessions::new(store.clone())),
        store,
        metrics,
        limits: Arc::new(rampart_csp::Limits::default()),
        bgp_view,
        authorizations_changed,
    };
    let router = Router::new()
        .merge(crate::intake::routes())
        .merge(crate::api::routes(state.clone()))
        .merge(crate::dashboard::routes())
        .with_state(state);
    Ok(Prepared {
        router,
        proxy,
        inventory,
        fetcher,
        intel: intel_task,
        bgp,
        bgp_stop,
        notifier,
    })
}

/// Responses go out in several writes (headers, then body frames as they stream); with Nagle
/// on, the last partial segment of each waits for the visitor's delayed ACK.
fn nodelay(tcp: &mut tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
}

/// Serves the reverse proxy on [`crate::proxy::Service::workers`] threads, each accepting on the
/// same socket with a single-threaded runtime of its own (see `proxy::Worker`), until `stop`.
async fn serve_proxy(
    listener: tokio::net::TcpListener,
    service: crate::proxy::Service,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let listener = listener.into_std()?;
    let mut finished = Vec::new();
    for i in 0..service.workers() {
        let listener = listener.try_clone()?;
        let (router, mut stop) = (service.router()?, stop.clone());
        let (done, finished_rx) = oneshot::channel::<anyhow::Result<()>>();
        std::thread::Builder::new()
            .name(format!("rampart-proxy-{i}"))
            .spawn(move || {
                let run = || -> anyhow::Result<()> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        axum::serve(
                            listener.tap_io(nodelay),
                            router.into_make_service_with_connect_info::<SocketAddr>(),
                        )
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|s| *s).await;
                        })
                        .await?;
                        Ok(())
                    })
                };
                let _ = done.send(run());
            })
            .context("cannot start a proxy worker thread")?;
        finished.push(finished_rx);
    }
    for worker in finished {
        worker.await.context("a proxy worker thread panicked")??;
    }
    Ok(())
}

impl Prepared {
    async fn serve(
        self,
        listener: tokio::net::TcpListener,
        proxy_listener: Option<tokio::net::TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // One shutdown signal, two servers.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let main = axum::serve(listener.tap_io(nodelay), self.router)
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future();
        let proxy = async {
            match (proxy_listener, self.proxy) {
                (Some(l), Some(service)) => serve_proxy(l, service, stop_rx.clone()).await,
                _ => Ok(()),
            }
        };
        let (main, proxy) = tokio::join!(main, proxy);
        main.context("HTTP server failed")?;
        proxy.context("reverse proxy failed")?;
        // The router (and with it every queue sender) is gone: the inventory drains and exits,
        // dropping the alert sender, after which the notifier finishes its deliveries.
        self.inventory.await.context("inventory task panicked")?;
        // The inventory held the fetch queue; the fetcher now stops (in-flight fetches are
        // abandoned: the next start refetches) and drops its alert sender.
        self.fetcher.await.context("fetcher task panicked")?;
        self.intel.abort();
        let _ = self.intel.await;
        let _ = self.bgp_stop.send(true);
        if let Some(bgp) = self.bgp {
            bgp.await.context("route monitor task panicked")?;
        }
        self.notifier.await.context("notifier task panicked")?;
        Ok(())
    }
}
