//! Dashboard sessions: a random id in an `HttpOnly` cookie. The store keeps the SHA-256 of the
//! id and its expiry, so every node sharing the store knows the session (a load balancer may
//! send each request elsewhere), a restart keeps it, and signing out ends it everywhere. A copy
//! of the database signs nobody in. Each session's CSRF token is derived from its id
//! (HMAC-SHA256 keyed by the id): different for every session, and nothing more to store.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long a session lasts without signing in again.
const SESSION_MS: i64 = 12 * 3600 * 1000;

pub(crate) struct Sessions {
    store: Arc<dyn rampart_store::Store>,
}

fn id_sha256(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn csrf_of(id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(id.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"rampart dashboard csrf v1");
    hex::encode(mac.finalize().into_bytes())
}

impl Sessions {
    pub fn new(store: Arc<dyn rampart_store::Store>) -> Self {
        Self { store }
    }

    /// A new session id, or `None` when the store cannot record it.
    pub async fn create(&self) -> Option<String> {
        let id = super::random_token();
        let now = crate::time::now_ms();
        match self
            .store
            .create_session(&id_sha256(&id), now + SESSION_MS, now)
            .await
        {
            Ok(()) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "could not record a dashboard session");
                None
            }
        }
    }

    /// The CSRF token of a live session.
    pub async fn csrf(&self, id: &str) -> Option<String> {
        let expires = match self.store.session_expiry(&id_sha256(id)).await {
            Ok(e) => e?,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a dashboard session");
                return None;
            }
        };
        (expires > crate::time::now_ms()).then(|| csrf_of(id))
    }

    pub async fn remove(&self, id: &str) {
        if let Err(e) = self.store.delete_session(&id_sha256(id)).await {
            tracing::warn!(error = %e, "could not end a dashboard session");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_have_their_own_csrf_and_can_end() {
        let store = rampart_store::open("sqlite::memory:").await.unwrap();
        let s = Sessions::new(store.clone());
        let (a, b) = (s.create().await.unwrap(), s.create().await.unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let (ca, cb) = (s.csrf(&a).await.unwrap(), s.csrf(&b).await.unwrap());
        assert_ne!(ca, cb);
        // Another node on the same store knows the session.
        assert_eq!(Sessions::new(store.clone()).csrf(&a).await, Some(ca));
        s.remove(&a).await;
        assert!(s.csrf(&a).await.is_none());
        assert!(s.csrf("not-a-session").await.is_none());
        // An expired session is refused (and pruned when the next one starts).
        store
            .create_session(&id_sha256("old"), crate::time::now_ms() - 1, 0)
            .await
            .unwrap();
        assert!(s.csrf("old").await.is_none());
        s.create().await.unwrap();
        assert_eq!(store.session_expiry(&id_sha256("old")).await.unwrap(), None);
    }
}
