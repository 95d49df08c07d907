//! `[[proxy.policies]] authorized = true`: a page policy built from the scripts people
//! authorized (PCI DSS 6.4.3), exact URLs and inline hashes, so browsers run only those. The
//! policy is rebuilt every [`REFRESH`] and at once when an authorization on this node changes
//! (other nodes' changes arrive with the next refresh).
//!
//! While no script is authorized, and until the first build succeeds, the header is left out
//! rather than sent empty: an enforced policy that allows nothing would take the site down the
//! moment the option is turned on, or while the store is unreachable. A failed rebuild keeps
//! the last policy built.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::HeaderValue;
use tokio::sync::Notify;

use crate::config::Config;
use crate::policy::Scope;

/// How often the policy is rebuilt without a local change.
const REFRESH: Duration = Duration::from_secs(10);

/// The current policy, shared by the proxy's workers.
#[derive(Default)]
pub(crate) struct Slot(RwLock<Option<HeaderValue>>);

impl Slot {
    pub fn get(&self) -> Option<HeaderValue> {
        self.0.read().expect("not poisoned").clone()
    }
}

/// Rebuilds `slot` for site `site` (an index into `config.sites`) in a task on the calling
/// runtime (the service's), for as long as that runtime runs.
pub(crate) fn spawn_refresh(
    slot: Arc<Slot>,
    store: Arc<dyn rampart_store::Store>,
    config: Arc<Config>,
    site: usize,
    changed: Arc<Notify>,
) {
    tokio::spawn(async move {
        let scope = Scope {
            page: None,
            authorized_only: true,
            urls: true,
        };
        loop {
            // Registered before the build, so a change made during it is not missed.
            let notified = changed.notified();
            let site_config = &config.sites[site];
            match crate::policy::suggest(&*store, &config, site_config, &scope).await {
                Ok(s) if s.scripts == 0 => {
                    if slot.get().is_some() {
                        tracing::warn!(site = %site_config.id, "no script is authorized any more: the authorized-scripts policy is not sent");
                    }
                    *slot.0.write().expect("not poisoned") = None;
                }
                Ok(s) => match HeaderValue::from_str(&s.policy.policy) {
                    Ok(value) => {
                        let mut current = slot.0.write().expect("not poisoned");
                        if current.as_ref() != Some(&value) {
                            tracing::info!(site = %site_config.id, scripts = s.scripts, policy = %s.policy.policy, "authorized-scripts policy");
                        }
                        *current = Some(value);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the authorized-scripts policy is not a header value")
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot rebuild the authorized-scripts policy")
                }
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(REFRESH) => {}
            }
        }
    });
}
