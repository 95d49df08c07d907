//! A lint for Content-Security-Policy strings, in the spirit of Google's CSP Evaluator: what
//! makes a policy bypassable (unsafe-inline, wildcards, scheme-only sources, hosts that serve
//! JSONP or old AngularJS), what it forgot (object-src, base-uri), and what is obsolete.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Medium,
    High,
}

/// One finding: where, how bad, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub directive: String,
    /// The offending source expression, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub message: String,
}

/// Hosts that serve attacker-controllable script: JSONP endpoints, or libraries (old AngularJS)
/// that turn markup into code. Allowing one in `script-src` allows an injection through it.
const BYPASS_HOSTS: &[(&str, &str)] = &[
    ("www.google.com", "serves JSONP endpoints"),
    ("accounts.google.com", "serves JSONP endpoints"),
    ("www.googleapis.com", "serves JSONP endpoints"),
    (
        "ajax.googleapis.com",
        "hosts AngularJS, which runs code from markup",
    ),
    (
        "cdnjs.cloudflare.com",
        "hosts AngularJS and every other library version",
    ),
    (
        "cdn.jsdelivr.net",
        "serves any file of any npm package or GitHub repository",
    ),
    ("unpkg.com", "serves any file of any npm package"),
    (
        "raw.githubusercontent.com",
        "serves any file of any GitHub repository",
    ),
    ("*.googleusercontent.com", "serves user-uploaded content"),
    ("*.herokuapp.com", "hosts anyone's application"),
    ("*.firebaseapp.com", "hosts anyone's application"),
    ("*.s3.amazonaws.com", "hosts anyone's bucket"),
    ("s3.amazonaws.com", "hosts anyone's bucket"),
    ("api.twitter.com", "serves JSONP endpoints"),
    ("graph.facebook.com", "serves JSONP endpoints"),
];

/// Directives browsers ignore or that were removed from CSP.
const OBSOLETE: &[&str] = &[
    "plugin-types",
    "reflected-xss",
    "referrer",
    "block-all-mixed-content",
    "prefetch-src",
];

fn host_of_source(source: &str) -> &str {
    let rest = source.split_once("://").map_or(source, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit() || c == '*'))
        .map_or(host, |(h, _)| h)
}

/// Parses a policy into `(directive, sources)` pairs, lowercasing names; the first occurrence of
/// a directive wins, as in browsers.
pub fn parse_policy(policy: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for part in policy.split(';') {
        let mut words = part.split_whitespace();
        let Some(name) = words.next() else { continue };
        let name = name.to_ascii_lowercase();
        if out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        out.push((name, words.map(str::to_string).collect()));
    }
    out
}

/// Lints a policy (the value of a `Content-Security-Policy` header).
pub fn lint(policy: &str) -> Vec<Finding> {
    let directives = parse_policy(policy);
    let get = |name: &str| directives.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut out = Vec::new();
    let mut push = |severity, directive: &str, value: Option<&str>, message: String| {
        out.push(Finding {
            severity,
            directive: directive.to_string(),
            value: value.map(str::to_string),
            message,
        })
    };
    for (name, _) in &directives {
        if OBSOLETE.contains(&name.as_str()) {
            push(
                Severity::Info,
                name,
                None,
                format!("{name} is obsolete; browsers ignore it"),
            );
        }
    }
    let (script_name, script) = match (get("script-src"), get("default-src")) {
        (Some(s), _) => ("script-src", Some(s)),
        (None, Some(d)) => ("default-src", Some(d)),
        (None, None) => ("script-src", None),
    };
    match script {
        None => push(
            Severity::High,
            "script-src",
            None,
            "no script-src or default-src: any script may run".into(),
        ),
        Some(sources) => {
            let lower: Vec<String> = sources.iter().map(|s| s.to_ascii_lowercase()).collect();
            let has = |k: &str| lower.iter().any(|s| s == k);
            let nonce_or_hash = lower.iter().any(|s| {
                s.starts_with("'nonce-")
                    || s.starts_with("'sha256-")
                    || s.starts_with("'sha384-")
                    || s.starts_with("'sha512-")
            });
            let strict_dynamic = has("'strict-dynamic'");
            if has("'unsafe-inline'") && !nonce_or_hash {
                push(
                    Severity::High,
                    script_name,
                    Some("'unsafe-inline'"),
                    "'unsafe-inline' lets any injected inline script run".into(),
                );
            }
            if has("'unsafe-eval'") {
                push(
                    Severity::Medium,
                    script_name,
                    Some("'unsafe-eval'"),
                    "'unsafe-eval' lets strings become code (eval, Function, string timers)".into(),
                );
            }
            for (s, original) in lower.iter().zip(sources) {
                if strict_dynamic && !s.starts_with('\'') {
                    continue; // host sources are ignored under 'strict-dynamic'
                }
                match s.as_str() {
                    "*" => push(
                        Severity::High,
                        script_name,
                        Some(original),
                        "* allows script from any host".into(),
                    ),
                    "http:" | "https:" | "data:" | "blob:" | "filesystem:" => push(
                        Severity::High,
                        script_name,
                        Some(original),
                        format!("{s} allows script from any URL of that scheme"),
                    ),
                    _ if s.starts_with("http://") => push(
                        Severity::Medium,
                        script_name,
                        Some(original),
                        "a plain-HTTP source can be replaced on the network".into(),
                    ),
                    _ if s.starts_with('\'') => {}
                    _ => {
                        let host = host_of_source(s);
                        if let Some((_, why)) = BYPASS_HOSTS.iter().find(|(h, _)| {
                            *h == host
                                || h.strip_prefix('*')
                                    .is_some_and(|suffix| host.ends_with(suffix))
                        }) {
                            push(
                                Severity::High,
                                script_name,
                                Some(original),
                                format!("{host} {why}: an injection can load script through it"),
                            );
                        } else if host.starts_with("*.") {
                            push(
                                Severity::Info,
                                script_name,
                                Some(original),
                                "a wildcard subdomain allows every host under it".into(),
                            );
                        } else if host.parse::<std::net::IpAddr>().is_ok() {
                            push(
                                Severity::Info,
                                script_name,
                                Some(original),
                                "an IP address source".into(),
                            );
                        }
                    }
                }
            }
            for s in &lower {
                if let Some(nonce) = s.strip_prefix("'nonce-").and_then(|n| n.strip_suffix('\''))
                    && nonce.len() < 16
                {
                    push(
                        Severity::Medium,
                        script_name,
                        Some(s),
                        "a nonce under 16 characters may be guessed; use 128 random bits".into(),
                    );
                }
            }
        }
    }
    if get("object-src").is_none()
        && get("default-src").is_none_or(|d| !d.iter().any(|s| s == "'none'"))
    {
        push(
            Severity::High,
            "object-src",
            None,
            "no object-src: plugins can run script; add object-src 'none'".into(),
        );
    }
    if get("base-uri").is_none() {
        push(
            Severity::Medium,
            "base-uri",
            None,
            "no base-uri: an injected <base> redirects relative script URLs; add base-uri 'self' or 'none'".into(),
        );
    }
    if get("report-uri").is_none() && get("report-to").is_none() {
        push(
            Severity::Info,
            "report-uri",
            None,
            "no report-uri or report-to: violations go unseen".into(),
        );
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(f: &[Finding], severity: Severity, directive: &str, needle: &str) -> bool {
        f.iter().any(|x| {
            x.severity == severity && x.directive == directive && x.message.contains(needle)
        })
    }

    #[test]
    fn a_weak_policy_gets_the_classic_findings() {
        let f = lint(
            "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' https: ajax.googleapis.com *.cdn.example http://legacy.example; plugin-types application/pdf",
        );
        assert!(has(&f, Severity::High, "script-src", "'unsafe-inline'"));
        assert!(has(&f, Severity::Medium, "script-src", "'unsafe-eval'"));
        assert!(has(&f, Severity::High, "script-src", "https: allows"));
        assert!(has(&f, Severity::High, "script-src", "AngularJS"));
        assert!(has(&f, Severity::Info, "script-src", "wildcard subdomain"));
        assert!(has(&f, Severity::Medium, "script-src", "plain-HTTP"));
        assert!(has(&f, Severity::High, "object-src", "no object-src"));
        assert!(has(&f, Severity::Medium, "base-uri", "no base-uri"));
        assert!(has(&f, Severity::Info, "plugin-types", "obsolete"));
        assert_eq!(f[0].severity, Severity::High, "sorted by severity");
    }

    #[test]
    fn a_strict_policy_is_clean() {
        let f = lint(
            "script-src 'nonce-r4nd0mR4nd0mR4nd0m' 'strict-dynamic' https:; object-src 'none'; base-uri 'none'; report-uri /csp",
        );
        assert!(f.is_empty(), "{f:?}");
        let f = lint(
            "script-src 'sha256-abc' 'unsafe-inline'; object-src 'none'; base-uri 'self'; report-to g",
        );
        assert!(
            f.is_empty(),
            "'unsafe-inline' is ignored next to a hash: {f:?}"
        );
    }

    #[test]
    fn missing_script_src_and_short_nonces() {
        let f = lint("img-src *");
        assert!(has(&f, Severity::High, "script-src", "any script may run"));
        let f = lint("script-src 'nonce-abc'; object-src 'none'; base-uri 'self'");
        assert!(has(&f, Severity::Medium, "script-src", "nonce under 16"));
    }

    #[test]
    fn first_directive_wins_and_ports_are_not_hosts() {
        let d = parse_policy("script-src a; SCRIPT-SRC b");
        assert_eq!(d, vec![("script-src".to_string(), vec!["a".to_string()])]);
        assert_eq!(host_of_source("https://unpkg.com:443/x"), "unpkg.com");
        assert_eq!(host_of_source("cdn.example:*"), "cdn.example");
    }
}
