//! The compliance export (PCI DSS 4.0 6.4.3: an inventory of the scripts on payment pages with
//! a written justification for each, and who authorized it: `authorization.rs`), as JSON and
//! CSV, shared by the API and the dashboard.

use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::SiteConfig;
use crate::time::rfc3339;

/// Columns, in order (CSV header and JSON keys).
pub(crate) const COLUMNS: &[&str] = &[
    "url",
    "domain",
    "status",
    "first_seen",
    "last_seen",
    "reports",
    "first_page",
    "pages",
    "sha256",
    "score",
    "malicious",
    "justification",
    "justified_at",
    "authorization",
    "authorized_by",
    "authorized_at",
    "authorized_sha256",
    "authorized_structural_hash",
];

/// One object per script of the site, with its justification.
pub(crate) async fn inventory(state: &AppState, site: &SiteConfig) -> anyhow::Result<Vec<Value>> {
    let scripts = state.store.list_resources(&site.id, "script").await?;
    let latest: std::collections::HashMap<String, rampart_store::VersionRow> = state
        .store
        .latest_versions(&site.id)
        .await?
        .into_iter()
        .map(|(v, _)| (v.url.clone(), v))
        .collect();
    let justified = state.store.justifications(&site.id).await?;
    let authorized = state.store.authorizations(&site.id).await?;
    let now = crate::time::now_ms();
    let inactive = state.config.inactive_after.as_millis() as i64;
    Ok(scripts
        .iter()
        .map(|r| {
            let v = latest.get(&r.url);
            let c = v.map(|v| &v.analysis["classification"]);
            let j = justified.get(&r.url);
            let mut row = json!({
                "url": r.url,
                "domain": r.domain,
                "status": crate::api::status(r, site, inactive, now),
                "first_seen": rfc3339(r.first_seen),
                "last_seen": rfc3339(r.last_seen),
                "reports": r.reports,
                "first_page": r.first_page,
                "pages": r.pages,
                "sha256": v.map(|v| v.sha256.clone()),
                "score": c.and_then(|c| c["score"].as_u64()),
                "malicious": c.and_then(|c| c["malicious"].as_bool()),
                "justification": j.map(|(t, _)| t.clone()),
                "justified_at": j.map(|(_, at)| rfc3339(*at)),
            });
            if let Value::Object(fields) = crate::authorization::fields(authorized.get(&r.url), v) {
                row.as_object_mut().expect("an object").extend(fields);
            }
            row
        })
        .collect())
}

/// A CSV cell: quoted, quotes doubled, and cells a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, CR) prefixed with `'` — report fields are attacker-controlled.
fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

pub(crate) fn to_csv(rows: &[Value]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = COLUMNS.iter().map(|c| cell(&r[*c])).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        let rows = vec![json!({
            "url": "https://cdn.example/a.js?x=\"1\"",
            "justification": "=HYPERLINK(\"http://evil\")",
            "pages": ["/a", "/b"],
            "reports": 3,
            "malicious": false,
        })];
        let csv = to_csv(&rows);
        let line = csv.lines().nth(1).unwrap();
        assert!(
            line.starts_with("\"https://cdn.example/a.js?x=\"\"1\"\"\","),
            "{line}"
        );
        assert!(
            line.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{line}"
        );
        assert!(line.contains("\"/a /b\""));
        assert!(line.contains("\"3\""));
        assert_eq!(
            csv.lines().next().unwrap().split(',').count(),
            COLUMNS.len()
        );
    }
}
