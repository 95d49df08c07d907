//! Dashboard sessions: random ids in memory, each with its CSRF token and an expiry. A restart
//! signs everyone out, which is the safe direction.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a session lasts without signing in again.
const SESSION_MS: i64 = 12 * 3600 * 1000;
/// Sessions kept at most; past it, expired ones go, then the oldest.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    csrf: String,
    expires: i64,
}

#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session id.
    pub fn create(&self) -> String {
        let id = super::random_token();
        let now = crate::time::now_ms();
        let mut map = self
            .map
            .lock()
            .expect("never poisoned: no panics while held");
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.expires)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            id.clone(),
            Session {
                csrf: super::random_token(),
                expires: now + SESSION_MS,
            },
        );
        id
    }

    /// The CSRF token of a live session.
    pub fn csrf(&self, id: &str) -> Option<String> {
        let now = crate::time::now_ms();
        let map = self.map.lock().expect("not poisoned");
        map.get(id)
            .filter(|s| s.expires > now)
            .map(|s| s.csrf.clone())
    }

    pub fn remove(&self, id: &str) {
        self.map.lock().expect("not poisoned").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_have_their_own_csrf_and_can_end() {
        let s = Sessions::default();
        let (a, b) = (s.create(), s.create());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let (ca, cb) = (s.csrf(&a).unwrap(), s.csrf(&b).unwrap());
        assert_ne!(ca, cb);
        s.remove(&a);
        assert!(s.csrf(&a).is_none());
        assert!(s.csrf("not-a-session").is_none());
    }
}
