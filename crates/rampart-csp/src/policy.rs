//! An enforceable policy from an inventory: what actually runs becomes what may run. Hosts (or
//! exact URLs) for fetched scripts, `'sha256-…'` for inline scripts whose full hash is known,
//! SRI `integrity` values for scripts whose browsers reported a hash, and the defaults a lint
//! would ask for (`object-src 'none'`, `base-uri 'self'`).

use std::collections::BTreeSet;

use serde::Serialize;

/// One inventoried resource: its key (`https://…`, `inline:sha256-…`, `eval`, …) and the full
/// hash browsers or the proxy reported for it (`sha256-BASE64`), if any.
#[derive(Debug, Clone)]
pub struct Source {
    pub url: String,
    pub hash: Option<String>,
}

/// How specific URL sources are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// `https://cdn.example` — survives new file names on the same host.
    Hosts,
    /// `https://cdn.example/lib/app.js` — only that path.
    Urls,
}

pub struct PolicyInput<'a> {
    pub origins: &'a [String],
    pub report_url: &'a str,
    pub scripts: &'a [Source],
    pub connections: &'a [Source],
    pub granularity: Granularity,
}

/// A generated policy with the SRI values and what the inventory could not express.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// Value of a `Content-Security-Policy` header.
    pub policy: String,
    /// `(script URL, integrity value)` for scripts with a reported hash.
    pub integrity: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| {
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        )
    })
}

fn url_sources(
    sources: &[Source],
    origins: &[String],
    granularity: Granularity,
    out: &mut BTreeSet<String>,
) -> bool {
    let mut self_seen = false;
    for s in sources {
        let Some(origin) = origin_of(&s.url) else {
            continue;
        };
        if origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&origin))
        {
            self_seen = true;
        } else {
            out.insert(match granularity {
                Granularity::Hosts => origin,
                Granularity::Urls => s.url.clone(),
            });
        }
    }
    self_seen
}

/// Builds the policy.
pub fn build_policy(input: &PolicyInput<'_>) -> Policy {
    let mut notes = Vec::new();
    let mut script = BTreeSet::new();
    let mut hashes = BTreeSet::new();
    let self_script = url_sources(input.scripts, input.origins, input.granularity, &mut script);
    let (mut inline_unhashed, mut attrs, mut eval) = (0, 0, false);
    for s in input.scripts {
        if s.url.starts_with("inline-attr:") {
            attrs += 1;
        } else if s.url.starts_with("inline:") {
            match &s.hash {
                Some(h) if h.starts_with("sha256-") => {
                    hashes.insert(format!("'{h}'"));
                }
                _ => inline_unhashed += 1,
            }
        } else if s.url == "eval" {
            eval = true;
        }
    }
    let mut script_src: Vec<String> = Vec::new();
    if self_script {
        script_src.push("'self'".into());
    }
    script_src.extend(script);
    script_src.extend(hashes);
    if eval {
        script_src.push("'unsafe-eval'".into());
        notes.push("the pages use eval or new Function: 'unsafe-eval' is included; remove that code to drop it".into());
    }
    if script_src.is_empty() {
        script_src.push("'none'".into());
    }
    if inline_unhashed > 0 {
        notes.push(format!(
            "{inline_unhashed} inline script(s) were seen only as browser samples, without a full hash: they are not allowed; serve the pages through `rampart proxy` (which hashes inline scripts) or give them a nonce"
        ));
    }
    if attrs > 0 {
        notes.push(format!(
            "{attrs} inline event handler(s) (onclick=…) are not allowed; move them to scripts"
        ));
    }
    let mut connect = BTreeSet::new();
    let self_connect = url_sources(
        input.connections,
        input.origins,
        Granularity::Hosts,
        &mut connect,
    );
    let mut connect_src: Vec<String> = Vec::new();
    if self_connect || input.origins.is_empty() {
        connect_src.push("'self'".into());
    }
    connect_src.extend(connect);
    let policy = format!(
        "script-src {}; connect-src {}; object-src 'none'; base-uri 'self'; report-uri {}",
        script_src.join(" "),
        if connect_src.is_empty() {
            "'none'".into()
        } else {
            connect_src.join(" ")
        },
        input.report_url
    );
    let integrity = input
        .scripts
        .iter()
        .filter(|s| origin_of(&s.url).is_some())
        .filter_map(|s| s.hash.as_ref().map(|h| (s.url.clone(), h.clone())))
        .collect();
    Policy {
        policy,
        integrity,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(url: &str, hash: Option<&str>) -> Source {
        Source {
            url: url.into(),
            hash: hash.map(str::to_string),
        }
    }

    #[test]
    fn inventory_becomes_policy() {
        let scripts = [
            src("https://shop.example/static/app.js", None),
            src(
                "https://cdn.vendor.example/lib/v3/w.js",
                Some("sha256-AAAA"),
            ),
            src("https://cdn.vendor.example/lib/v3/x.js", None),
            src("inline:sha256-1111", Some("sha256-BBBB")),
            src("inline:sha256-2222", None),
            src("eval", None),
        ];
        let connections = [
            src("https://api.collect.example/v1", None),
            src("https://shop.example/cart", None),
        ];
        let origins = ["https://shop.example".to_string()];
        let p = build_policy(&PolicyInput {
            origins: &origins,
            report_url: "https://r.example/report/k",
            scripts: &scripts,
            connections: &connections,
            granularity: Granularity::Hosts,
        });
        assert_eq!(
            p.policy,
            "script-src 'self' https://cdn.vendor.example 'sha256-BBBB' 'unsafe-eval'; connect-src 'self' https://api.collect.example; object-src 'none'; base-uri 'self'; report-uri https://r.example/report/k"
        );
        assert_eq!(
            p.integrity,
            vec![(
                "https://cdn.vendor.example/lib/v3/w.js".to_string(),
                "sha256-AAAA".to_string()
            )]
        );
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
        let lint = crate::lint(&p.policy);
        assert!(
            lint.iter().all(|f| f.severity != crate::Severity::High),
            "{lint:?}"
        );

        let p = build_policy(&PolicyInput {
            origins: &origins,
            report_url: "/r",
            scripts: &scripts[..3],
            connections: &[],
            granularity: Granularity::Urls,
        });
        assert!(p.policy.starts_with("script-src 'self' https://cdn.vendor.example/lib/v3/w.js https://cdn.vendor.example/lib/v3/x.js;"), "{}", p.policy);
        assert!(p.policy.contains("connect-src 'none'"));
    }
}
