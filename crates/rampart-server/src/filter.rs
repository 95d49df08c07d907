//! Narrowing and ordering an inventory. The dashboard's tables and the API's resource lists
//! take the same filters with the same meaning, so a question asked in one (say, "scripts on
//! /checkout scoring under 50, newest first") is asked of the other with the same query string.

use rampart_store::ResourceRow;
use serde::Deserialize;

/// The filters, as query parameters. Strings, because an empty `<select>` value must mean
/// "any", not a 400; the API checks them with [`ResourceFilter::check`].
#[derive(Deserialize, Default, Clone, Debug)]
pub(crate) struct ResourceFilter {
    /// URL contains.
    #[serde(default)]
    pub q: String,
    /// Registrable domain equals.
    #[serde(default)]
    pub domain: String,
    /// One of the pages it was reported on contains.
    #[serde(default)]
    pub page: String,
    /// `active`, `infrequent` or `inactive`.
    #[serde(default)]
    pub status: String,
    /// `last_seen` (default, newest first), `first_seen` (newest first), `reports` (most
    /// first), `score` (most dangerous first) or `domain`.
    #[serde(default)]
    pub sort: String,
    /// Highest score kept (e.g. 49: only malicious); scripts never scored are left out.
    #[serde(default)]
    pub max_score: String,
    /// Scripts: `authorized`, `changed` (the authorization lapsed) or `unauthorized`.
    #[serde(default)]
    pub authorization: String,
}

const STATUSES: [&str; 3] = ["active", "infrequent", "inactive"];
const SORTS: [&str; 5] = ["last_seen", "first_seen", "reports", "score", "domain"];

/// A resource with what the store row does not hold: its status now, and (scripts) the score
/// and version count of its latest fetched version.
pub(crate) struct Row<'a> {
    pub r: &'a ResourceRow,
    pub status: &'static str,
    pub score: Option<u64>,
    pub versions: i64,
    /// Scripts only: see `authorization.rs`.
    pub authorization: Option<&'static str>,
}

impl ResourceFilter {
    pub fn max_score(&self) -> Option<u64> {
        self.max_score.parse().ok()
    }

    /// Why the filter cannot be applied as written, naming the parameter (the API answers 400
    /// with it; the dashboard's own forms only send valid values).
    pub fn check(&self) -> Result<(), String> {
        if !self.status.is_empty() && !STATUSES.contains(&self.status.as_str()) {
            return Err(format!(
                "status must be one of {}, not {:?}",
                STATUSES.join(", "),
                self.status
            ));
        }
        if !self.sort.is_empty() && !SORTS.contains(&self.sort.as_str()) {
            return Err(format!(
                "sort must be one of {}, not {:?}",
                SORTS.join(", "),
                self.sort
            ));
        }
        let states = crate::authorization::STATES;
        if !self.authorization.is_empty() && !states.contains(&self.authorization.as_str()) {
            return Err(format!(
                "authorization must be one of {}, not {:?}",
                states.join(", "),
                self.authorization
            ));
        }
        if !self.max_score.is_empty() && !matches!(self.max_score(), Some(1..=99)) {
            return Err(format!(
                "max_score must be a score from 1 to 99, not {:?}",
                self.max_score
            ));
        }
        Ok(())
    }

    /// The rows that pass every filter, in the asked order (ties keep the store's order:
    /// newest `last_seen` first, then URL).
    pub fn apply<'a>(&self, rows: Vec<Row<'a>>) -> Vec<Row<'a>> {
        let max_score = self.max_score();
        let mut rows: Vec<Row<'a>> = rows
            .into_iter()
            .filter(|x| self.q.is_empty() || x.r.url.contains(self.q.as_str()))
            .filter(|x| self.domain.is_empty() || x.r.domain == self.domain)
            .filter(|x| {
                self.page.is_empty()
                    || x.r
                        .pages
                        .iter()
                        .chain([&x.r.first_page])
                        .any(|p| p.contains(self.page.as_str()))
            })
            .filter(|x| self.status.is_empty() || x.status == self.status)
            .filter(|x| max_score.is_none_or(|m| x.score.is_some_and(|s| s <= m)))
            .filter(|x| {
                self.authorization.is_empty()
                    || x.authorization == Some(self.authorization.as_str())
            })
            .collect();
        match self.sort.as_str() {
            "reports" => rows.sort_by_key(|x| std::cmp::Reverse(x.r.reports)),
            "first_seen" => rows.sort_by_key(|x| std::cmp::Reverse(x.r.first_seen)),
            "score" => rows.sort_by_key(|x| x.score.unwrap_or(100)),
            "domain" => {
                rows.sort_by(|a, b| a.r.domain.cmp(&b.r.domain).then(a.r.url.cmp(&b.r.url)))
            }
            _ => rows.sort_by_key(|x| std::cmp::Reverse(x.r.last_seen)),
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(url: &str, domain: &str, last_seen: i64, reports: i64) -> ResourceRow {
        ResourceRow {
            site: "shop".into(),
            kind: "script".into(),
            url: url.into(),
            host: domain.into(),
            domain: domain.into(),
            first_seen: last_seen - 10,
            last_seen,
            reports,
            first_page: "https://shop.example/checkout".into(),
            pages: vec!["https://shop.example/cart".into()],
            sample: None,
            hash: None,
        }
    }

    #[test]
    fn every_filter_narrows_and_sorts_reorder() {
        let a = row("https://a.example/x.js", "a.example", 3, 5);
        let b = row("https://b.example/y.js", "b.example", 2, 9);
        let c = row("https://c.example/z.js", "c.example", 1, 1);
        let rows = || {
            vec![
                Row {
                    r: &a,
                    status: "active",
                    score: Some(12),
                    versions: 1,
                    authorization: Some("authorized"),
                },
                Row {
                    r: &b,
                    status: "inactive",
                    score: Some(95),
                    versions: 2,
                    authorization: Some("changed"),
                },
                Row {
                    r: &c,
                    status: "active",
                    score: None,
                    versions: 0,
                    authorization: Some("unauthorized"),
                },
            ]
        };
        let urls = |f: ResourceFilter| -> Vec<&str> {
            f.apply(rows()).iter().map(|x| x.r.url.as_str()).collect()
        };
        assert_eq!(urls(ResourceFilter::default()).len(), 3);
        let f = |set: fn(&mut ResourceFilter)| {
            let mut f = ResourceFilter::default();
            set(&mut f);
            f
        };
        assert_eq!(urls(f(|f| f.q = "y.js".into())), ["https://b.example/y.js"]);
        assert_eq!(
            urls(f(|f| f.domain = "c.example".into())),
            ["https://c.example/z.js"]
        );
        assert_eq!(urls(f(|f| f.page = "/cart".into())).len(), 3);
        assert!(urls(f(|f| f.page = "/account".into())).is_empty());
        assert_eq!(
            urls(f(|f| f.status = "inactive".into())),
            ["https://b.example/y.js"]
        );
        assert_eq!(
            urls(f(|f| f.authorization = "changed".into())),
            ["https://b.example/y.js"]
        );
        // Unscored scripts are not "under 50".
        assert_eq!(
            urls(f(|f| f.max_score = "49".into())),
            ["https://a.example/x.js"]
        );
        assert_eq!(
            urls(f(|f| f.sort = "reports".into())),
            [
                "https://b.example/y.js",
                "https://a.example/x.js",
                "https://c.example/z.js"
            ]
        );
        assert_eq!(
            urls(f(|f| f.sort = "score".into())),
            [
                "https://a.example/x.js",
                "https://b.example/y.js",
                "https://c.example/z.js"
            ]
        );
    }

    #[test]
    fn check_names_the_parameter_at_fault() {
        let mut f = ResourceFilter::default();
        assert!(f.check().is_ok());
        f.status = "gone".into();
        assert!(f.check().unwrap_err().starts_with("status"));
        f.status = "active".into();
        f.sort = "url".into();
        assert!(f.check().unwrap_err().starts_with("sort"));
        f.sort = "score".into();
        f.max_score = "0".into();
        assert!(f.check().unwrap_err().starts_with("max_score"));
        f.max_score = "49".into();
        assert!(f.check().is_ok());
    }
}
