//! Script authorization: PCI DSS 4.0 6.4.3 asks for "a method to confirm that each script is
//! authorized" and "a method to assure the integrity of each script", next to the written
//! justification (`export.rs`).
//!
//! A person authorizes a script as it is now: the record names who, when, and the structure
//! and bytes of its newest fetched version. Integrity is judged by structure, as `script_changed`
//! is: a new build id or a re-minification keeps the authorization, while a version of another
//! structure lapses it (state `changed`) until someone looks at it and authorizes it again, and
//! its `script_changed` alert says so. A script the fetcher could not fetch yet can be
//! authorized by its URL alone; it stays `authorized` whatever is fetched later, and the record
//! shows that no version was seen.

use std::collections::{HashMap, HashSet};

use rampart_store::{Authorization, VersionRow};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::SiteConfig;
use crate::time::rfc3339;

/// Authorized, and the newest version has the structure that was authorized.
pub(crate) const AUTHORIZED: &str = "authorized";
/// Authorized, but the newest version's structure differs: the authorization has lapsed.
pub(crate) const CHANGED: &str = "changed";
/// Never authorized, or revoked.
pub(crate) const UNAUTHORIZED: &str = "unauthorized";
/// The states, for filters.
pub(crate) const STATES: [&str; 3] = [AUTHORIZED, CHANGED, UNAUTHORIZED];

/// Longest name kept for who authorized (bytes).
pub(crate) const MAX_BY: usize = 200;

/// Where a script stands, given its authorization and its newest fetched version.
pub(crate) fn state(auth: Option<&Authorization>, latest: Option<&VersionRow>) -> &'static str {
    match (auth, latest) {
        (None, _) => UNAUTHORIZED,
        (Some(a), Some(v))
            if a.structural_hash
                .as_ref()
                .is_some_and(|h| *h != v.structural_hash) =>
        {
            CHANGED
        }
        (Some(_), _) => AUTHORIZED,
    }
}

/// The fields the API and the export add to a script: `authorization` (the state) and, when
/// authorized, who, when and the version they authorized.
pub(crate) fn fields(auth: Option<&Authorization>, latest: Option<&VersionRow>) -> Value {
    json!({
        "authorization": state(auth, latest),
        "authorized_by": auth.map(|a| a.by.clone()),
        "authorized_at": auth.map(|a| rfc3339(a.at)),
        "authorized_sha256": auth.and_then(|a| a.sha256.clone()),
        "authorized_structural_hash": auth.and_then(|a| a.structural_hash.clone()),
    })
}

/// Where a site's active scripts stand for PCI DSS 6.4.3, at a glance: how many have a written
/// justification, and how many are authorized as they are now, lapsed, or never authorized.
/// Inactive scripts are history and are not counted.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Tally {
    pub active: usize,
    pub justified: usize,
    pub authorized: usize,
    pub changed: usize,
    pub unauthorized: usize,
}

impl Tally {
    /// Counts `active` scripts (URLs) given the site's justifications, authorizations and newest
    /// versions.
    pub fn of<'a>(
        active: impl Iterator<Item = &'a str>,
        justified: &HashMap<String, (String, i64)>,
        authorized: &HashMap<String, Authorization>,
        latest: impl Fn(&str) -> Option<&'a VersionRow>,
    ) -> Tally {
        let mut t = Tally::default();
        for url in active {
            t.active += 1;
            t.justified += usize::from(justified.contains_key(url));
            match state(authorized.get(url), latest(url)) {
                AUTHORIZED => t.authorized += 1,
                CHANGED => t.changed += 1,
                _ => t.unauthorized += 1,
            }
        }
        t
    }

    /// Active scripts that may run without anyone's authorization of what they are now.
    pub fn not_authorized(&self) -> usize {
        self.changed + self.unauthorized
    }
}

/// Why a request to authorize was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum Refused {
    /// `by` is empty, too long, or holds control characters.
    BadName,
    /// The URL is longer than any inventoried one may be.
    TooLong,
    /// The site's inventory has no such script.
    Unknown,
    /// The person looked at another version than the newest (the fetcher stored one since).
    Stale,
    Store,
}

impl Refused {
    /// The HTTP status that says it.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::BadName => StatusCode::BAD_REQUEST,
            Self::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unknown => StatusCode::NOT_FOUND,
            Self::Stale => StatusCode::CONFLICT,
            Self::Store => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Self::BadName => {
                "the name of who authorizes or revokes must be 1 to 200 characters, without control characters"
            }
            Self::TooLong => "url too long",
            Self::Unknown => "no such script in the site's inventory",
            Self::Stale => {
                "a newer version of the script was fetched since: look at it before authorizing"
            }
            Self::Store => "store unavailable",
        }
    }
}

/// Most scripts one request may authorize (the dashboard sends one page of its table).
pub(crate) const MAX_BATCH: usize = 1000;

/// Checks who is authorizing: a name, not empty, not too long, no control characters.
pub(crate) fn check_name(by: &str) -> Result<&str, Refused> {
    let by = by.trim();
    if by.is_empty() || by.len() > MAX_BY || by.chars().any(char::is_control) {
        return Err(Refused::BadName);
    }
    Ok(by)
}

/// A script to authorize: its URL and, when the person was shown a version, that version's
/// SHA-256 — the authorization is then refused if the fetcher has stored another since, so
/// "authorize this version" never covers code nobody looked at.
pub(crate) struct Request {
    pub url: String,
    pub seen_sha256: Option<String>,
}

impl Request {
    /// As it is now, whatever the version.
    pub fn now(url: &str) -> Self {
        Self {
            url: url.to_string(),
            seen_sha256: None,
        }
    }
}

fn store_failed(e: rampart_store::StoreError) -> Refused {
    tracing::error!(error = %e, "authorization: the store failed");
    Refused::Store
}

/// Authorizes each script of `requests` as it is now (its newest fetched version), in the name
/// of `by`: the records made, and the URLs refused with why. Fails as a whole only when the
/// name is refused or the store fails.
pub(crate) async fn authorize(
    state: &AppState,
    site: &SiteConfig,
    requests: &[Request],
    by: &str,
) -> Result<(Vec<Authorization>, Vec<(String, Refused)>), Refused> {
    let by = check_name(by)?;
    let scripts: HashSet<String> = state
        .store
        .list_resources(&site.id, "script")
        .await
        .map_err(store_failed)?
        .into_iter()
        .map(|r| r.url)
        .collect();
    let latest: HashMap<String, VersionRow> = state
        .store
        .latest_versions(&site.id)
        .await
        .map_err(store_failed)?
        .into_iter()
        .map(|(v, _)| (v.url.clone(), v))
        .collect();
    let at = crate::time::now_ms();
    let (mut done, mut refused) = (Vec::new(), Vec::new());
    for Request { url, seen_sha256 } in requests {
        if url.len() > crate::api::MAX_JUSTIFIED_URL {
            refused.push((url.clone(), Refused::TooLong));
            continue;
        }
        if !scripts.contains(url) {
            refused.push((url.clone(), Refused::Unknown));
            continue;
        }
        let v = latest.get(url);
        if let Some(seen) = seen_sha256
            && v.is_none_or(|v| v.sha256 != *seen)
        {
            refused.push((url.clone(), Refused::Stale));
            continue;
        }
        let auth = Authorization {
            url: url.clone(),
            by: by.to_string(),
            at,
            structural_hash: v.map(|v| v.structural_hash.clone()),
            sha256: v.map(|v| v.sha256.clone()),
        };
        state
            .store
            .set_authorization(&site.id, &auth)
            .await
            .map_err(store_failed)?;
        done.push(auth);
    }
    if !done.is_empty() {
        state.authorizations_changed.notify_waiters();
    }
    Ok((done, refused))
}

/// Withdraws `url`'s authorization in the name of `by`; false when it had none.
pub(crate) async fn revoke(
    state: &AppState,
    site: &SiteConfig,
    url: &str,
    by: &str,
) -> Result<bool, Refused> {
    let by = check_name(by)?;
    let revoked = state
        .store
        .revoke_authorization(&site.id, url, by, crate::time::now_ms())
        .await
        .map_err(store_failed)?;
    if revoked {
        state.authorizations_changed.notify_waiters();
    }
    Ok(revoked)
}

/// Most trail entries shown for a script.
pub(crate) const HISTORY_SHOWN: i64 = 50;

/// A trail entry as the API answers it.
pub(crate) fn event_json(e: &rampart_store::AuthorizationEvent) -> Value {
    json!({
        "action": e.action,
        "by": e.by,
        "at": rfc3339(e.at),
        "structural_hash": e.structural_hash,
        "sha256": e.sha256,
    })
}

/// A record as the API answers it.
pub(crate) fn record_json(a: &Authorization) -> Value {
    json!({
        "url": a.url,
        "authorized_by": a.by,
        "authorized_at": rfc3339(a.at),
        "authorized_sha256": a.sha256,
        "authorized_structural_hash": a.structural_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(structure: &str) -> VersionRow {
        VersionRow {
            id: 1,
            site: "shop".into(),
            url: "https://cdn.example/a.js".into(),
            sha256: format!("sha-{structure}"),
            structural_hash: structure.into(),
            bytes: 10,
            fetched_at: 0,
            analysis: Value::Null,
        }
    }

    fn auth(structure: Option<&str>) -> Authorization {
        Authorization {
            url: "https://cdn.example/a.js".into(),
            by: "alice".into(),
            at: 0,
            structural_hash: structure.map(Into::into),
            sha256: None,
        }
    }

    #[test]
    fn a_change_of_structure_lapses_an_authorization() {
        let v1 = version("s1");
        let v2 = version("s2");
        assert_eq!(state(None, Some(&v1)), UNAUTHORIZED);
        assert_eq!(state(None, None), UNAUTHORIZED);
        assert_eq!(state(Some(&auth(Some("s1"))), Some(&v1)), AUTHORIZED);
        assert_eq!(state(Some(&auth(Some("s1"))), Some(&v2)), CHANGED);
        // Versions pruned or not fetched: nothing contradicts the authorization.
        assert_eq!(state(Some(&auth(Some("s1"))), None), AUTHORIZED);
        // Authorized by URL alone (nothing fetched then): any version keeps it.
        assert_eq!(state(Some(&auth(None)), Some(&v2)), AUTHORIZED);
    }

    #[test]
    fn the_tally_counts_each_active_script_once() {
        let mut authorized = std::collections::HashMap::new();
        authorized.insert("a".to_string(), auth(Some("s1")));
        authorized.insert("b".to_string(), auth(Some("s1")));
        let mut justified = std::collections::HashMap::new();
        justified.insert("a".to_string(), ("payment form".to_string(), 0));
        justified.insert("gone".to_string(), ("old".to_string(), 0));
        let (v1, v2) = (version("s1"), version("s2"));
        let t = Tally::of(
            ["a", "b", "c"].into_iter(),
            &justified,
            &authorized,
            |u| match u {
                "a" => Some(&v1),
                "b" => Some(&v2),
                _ => None,
            },
        );
        let want = Tally {
            active: 3,
            justified: 1,
            authorized: 1,
            changed: 1,
            unauthorized: 1,
        };
        assert_eq!(t, want);
        assert_eq!(t.not_authorized(), 2);
    }

    #[test]
    fn fields_name_who_and_which_version() {
        let mut a = auth(Some("s1"));
        a.sha256 = Some("sha-s1".into());
        let f = fields(Some(&a), Some(&version("s2")));
        assert_eq!(f["authorization"], CHANGED);
        assert_eq!(f["authorized_by"], "alice");
        assert_eq!(f["authorized_sha256"], "sha-s1");
        assert_eq!(f["authorized_at"], "1970-01-01T00:00:00.000Z");
        let none = fields(None, None);
        assert_eq!(none["authorization"], UNAUTHORIZED);
        assert!(none["authorized_by"].is_null());
    }
}
