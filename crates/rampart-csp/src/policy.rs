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

/// Whether `h` is a CSP hash source's value, `sha256-`/`sha384-`/`sha512-` and base64 (CSP3
/// `hash-source`). Report fields are attacker-controlled: a "hash" that is anything else must
/// never be written into a policy or an `integrity` attribute.
pub fn is_hash_source(h: &str) -> bool {
    let Some(b64) = ["sha256-", "sha384-", "sha512-"]
        .iter()
        .find_map(|p| h.strip_prefix(p))
    else {
        return false;
    };
    let body = b64.trim_end_matches('=');
    !body.is_empty()
        && b64.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// `url` as a CSP source expression (CSP3 `host-source`): the origin for hosts, the whole URL
/// for URLs, with `;` and `,` in the path percent-encoded as the grammar asks. `None` when the
/// URL cannot be one — an inventoried URL comes from reports, and a host or path holding
/// quotes, spaces or separators would otherwise write directives of its own into the policy.
fn source_expression(url: &str, granularity: Granularity) -> Option<String> {
    let origin = origin_of(url)?;
    let (scheme, authority) = origin.split_once("://")?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        Some(_) => return None,
        None => (authority, None),
    };
    let scheme_ok = scheme
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let host_ok = !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !scheme_ok || !host_ok || port.is_some_and(|p| p.len() > 5) {
        return None;
    }
    match granularity {
        Granularity::Hosts => Some(origin),
        Granularity::Urls => {
            let rest = &url[url.find("://")? + 3..];
            let path = &rest[rest.find('/').unwrap_or(rest.len())..];
            let path = path.split(['?', '#']).next().unwrap_or("");
            if path
                .bytes()
                .any(|b| !b.is_ascii_graphic() || matches!(b, b'\'' | b'"'))
            {
                return None;
            }
            Some(format!(
                "{origin}{}",
                path.replace(';', "%3B").replace(',', "%2C")
            ))
        }
    }
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

/// Adds the sources of `sources` to `out`; whether one was the site itself (`'self'`), and
/// how many could not be written as source expressions.
fn url_sources(
    sources: &[Source],
    origins: &[String],
    granularity: Granularity,
    out: &mut BTreeSet<String>,
) -> (bool, usize) {
    let (mut self_seen, mut unwritable) = (false, 0);
    for s in sources {
        let Some(origin) = origin_of(&s.url) else {
            continue;
        };
        if origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&origin))
        {
            self_seen = true;
        } else if let Some(source) = source_expression(&s.url, granularity) {
            out.insert(source);
        } else {
            unwritable += 1;
        }
    }
    (self_seen, unwritable)
}

/// Builds the policy.
pub fn build_policy(input: &PolicyInput<'_>) -> Policy {
    let mut notes = Vec::new();
    let mut script = BTreeSet::new();
    let mut hashes = BTreeSet::new();
    let (self_script, mut unwritable) =
        url_sources(input.scripts, input.origins, input.granularity, &mut script);
    let (mut inline_unhashed, mut attrs, mut eval) = (0, 0, false);
    for s in input.scripts {
        if s.url.starts_with("inline-attr:") {
            attrs += 1;
        } else if s.url.starts_with("inline:") {
            match &s.hash {
                Some(h) if is_hash_source(h) => {
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
    let (self_connect, unwritable_connect) = url_sources(
        input.connections,
        input.origins,
        Granularity::Hosts,
        &mut connect,
    );
    unwritable += unwritable_connect;
    if unwritable > 0 {
        notes.push(format!(
            "{unwritable} source(s) left out: their URL cannot be written as a CSP source (unusual characters in the host or path)"
        ));
    }
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
        .filter(|(_, h)| is_hash_source(h))
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

    #[test]
    fn hostile_inventory_entries_cannot_write_directives() {
        let scripts = [
            src("https://cdn.example/a.js;script-src/b,c.js", None),
            src("https://evil.example/x'unsafe-inline'.js", None),
            src("https://a;b.example/x.js", None),
            src(
                "https://ok.example:8443/lib.js?v=1",
                Some("sha256-x\" onload=\"alert(1)"),
            ),
            src("inline:sha256-1", Some("sha256-AAA'; script-src *")),
            src("inline:sha256-2", Some("sha384-q83vEhA+/_-b==")),
        ];
        let p = build_policy(&PolicyInput {
            origins: &[],
            report_url: "/r",
            scripts: &scripts,
            connections: &[src("https://c,d.example/e", None)],
            granularity: Granularity::Urls,
        });
        assert_eq!(
            p.policy,
            "script-src https://cdn.example/a.js%3Bscript-src/b%2Cc.js https://ok.example:8443/lib.js 'sha384-q83vEhA+/_-b=='; connect-src 'self'; object-src 'none'; base-uri 'self'; report-uri /r"
        );
        assert!(p.integrity.is_empty(), "{:?}", p.integrity);
        assert!(
            p.notes
                .iter()
                .any(|n| n.starts_with("3 source(s) left out")),
            "{:?}",
            p.notes
        );
        assert!(is_hash_source(
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        ));
        for bad in [
            "sha256-",
            "sha1-AAAA",
            "sha256-AA=A",
            "sha256-A===",
            "sha256-A B",
        ] {
            assert!(!is_hash_source(bad), "{bad}");
        }
    }
}
