//! The noise rules: reports no site owner can act on, dropped and counted, never inventoried.
//!
//! The list follows what CSP intake services converged on (Report URI's and Sentry's filters):
//! browser extensions inject scripts into every page they touch, and documents such as
//! `about:blank` or `data:` frames carry no page a site owner controls. Each rule has a stable
//! reason label that the server exports as a Prometheus label.

use serde::Serialize;

/// Why one report was dropped instead of inventoried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoiseReason {
    /// Blocked URL or source file belongs to a browser extension.
    Extension,
    /// `about:`, `data:`, `blob:`, `filesystem:` and browser-internal schemes.
    NonNetworkScheme,
    /// The document is not an http(s) page.
    NonHttpDocument,
    /// The document's origin is not one of the site's origins (forged or copied header).
    ForeignDocument,
    /// A directive Rampart does not monitor (e.g. `img-src` from a site's own policy).
    UnmonitoredDirective,
    /// A URL that does not parse.
    UnparsableUrl,
    /// A URL longer than the limit.
    Oversized,
    /// A Reporting API report of another type (`deprecation`, `intervention` …).
    OtherReportType,
}

impl NoiseReason {
    /// A short, stable label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Extension => "extension",
            Self::NonNetworkScheme => "non_network_scheme",
            Self::NonHttpDocument => "non_http_document",
            Self::ForeignDocument => "foreign_document",
            Self::UnmonitoredDirective => "unmonitored_directive",
            Self::UnparsableUrl => "unparsable_url",
            Self::Oversized => "oversized",
            Self::OtherReportType => "other_report_type",
        }
    }
}

/// One documented rule: a URL scheme and the reason reports using it are dropped.
#[derive(Debug, Clone, Copy)]
pub struct NoiseRule {
    pub scheme: &'static str,
    pub reason: NoiseReason,
    pub why: &'static str,
}

/// Schemes whose blocked URLs (or source files) are dropped. Matched case-insensitively on the
/// part before `:`; browsers sometimes send the bare scheme (`"data"`, `"blob"`) as blocked URI.
pub const NOISE_RULES: &[NoiseRule] = &[
    NoiseRule {
        scheme: "chrome-extension",
        reason: NoiseReason::Extension,
        why: "Chromium extension",
    },
    NoiseRule {
        scheme: "moz-extension",
        reason: NoiseReason::Extension,
        why: "Firefox extension",
    },
    NoiseRule {
        scheme: "safari-extension",
        reason: NoiseReason::Extension,
        why: "legacy Safari extension",
    },
    NoiseRule {
        scheme: "safari-web-extension",
        reason: NoiseReason::Extension,
        why: "Safari web extension",
    },
    NoiseRule {
        scheme: "ms-browser-extension",
        reason: NoiseReason::Extension,
        why: "legacy Edge extension",
    },
    NoiseRule {
        scheme: "webkit-masked-url",
        reason: NoiseReason::Extension,
        why: "Safari's mask for extension URLs",
    },
    NoiseRule {
        scheme: "about",
        reason: NoiseReason::NonNetworkScheme,
        why: "about:blank / about:srcdoc",
    },
    NoiseRule {
        scheme: "data",
        reason: NoiseReason::NonNetworkScheme,
        why: "inline data, nothing to fetch",
    },
    NoiseRule {
        scheme: "blob",
        reason: NoiseReason::NonNetworkScheme,
        why: "in-page object URL",
    },
    NoiseRule {
        scheme: "filesystem",
        reason: NoiseReason::NonNetworkScheme,
        why: "in-page file system",
    },
    NoiseRule {
        scheme: "chrome",
        reason: NoiseReason::NonNetworkScheme,
        why: "browser internal",
    },
    NoiseRule {
        scheme: "resource",
        reason: NoiseReason::NonNetworkScheme,
        why: "Firefox internal",
    },
    NoiseRule {
        scheme: "view-source",
        reason: NoiseReason::NonNetworkScheme,
        why: "browser internal",
    },
    NoiseRule {
        scheme: "webviewprogressproxy",
        reason: NoiseReason::NonNetworkScheme,
        why: "iOS web view bridge",
    },
    NoiseRule {
        scheme: "gsa",
        reason: NoiseReason::NonNetworkScheme,
        why: "Google app in-app browser",
    },
    NoiseRule {
        scheme: "mx",
        reason: NoiseReason::NonNetworkScheme,
        why: "in-app browser bridge",
    },
];

fn scheme_of(url: &str) -> &str {
    match url.find(':') {
        Some(i) => &url[..i],
        // A bare word such as "data" or "blob" is how some browsers name the scheme alone.
        None => url,
    }
}

fn rule_for(url: &str) -> Option<&'static NoiseRule> {
    let scheme = scheme_of(url.trim());
    NOISE_RULES
        .iter()
        .find(|r| r.scheme.eq_ignore_ascii_case(scheme))
}

/// Drops URLs matching a noise rule; accepts everything else (validity is checked later).
pub(crate) fn classify_url(url: &str) -> Result<(), NoiseReason> {
    match rule_for(url) {
        Some(rule) => Err(rule.reason),
        None => Ok(()),
    }
}

/// Checks the document is an http(s) page of one of the site's origins; returns it trimmed.
pub(crate) fn classify_document(url: &str, origins: &[String]) -> Result<String, NoiseReason> {
    let url = url.trim();
    if let Some(rule) = rule_for(url) {
        return Err(match rule.reason {
            NoiseReason::Extension => NoiseReason::Extension,
            _ => NoiseReason::NonHttpDocument,
        });
    }
    let parsed = url::Url::parse(url).map_err(|_| NoiseReason::UnparsableUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(NoiseReason::NonHttpDocument);
    }
    if !origins.is_empty() {
        let origin = parsed.origin().ascii_serialization();
        if !origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&origin))
        {
            return Err(NoiseReason::ForeignDocument);
        }
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_and_internal_schemes_are_noise() {
        assert_eq!(
            classify_url("chrome-extension://abc/x.js"),
            Err(NoiseReason::Extension)
        );
        assert_eq!(
            classify_url("MOZ-EXTENSION://abc"),
            Err(NoiseReason::Extension)
        );
        assert_eq!(classify_url("data"), Err(NoiseReason::NonNetworkScheme));
        assert_eq!(
            classify_url("blob:https://a/b"),
            Err(NoiseReason::NonNetworkScheme)
        );
        assert_eq!(classify_url("https://cdn.example/a.js"), Ok(()));
    }

    #[test]
    fn documents_must_be_pages_of_the_site() {
        let origins = vec!["https://shop.example".to_string()];
        assert!(classify_document("https://shop.example/cart", &origins).is_ok());
        assert_eq!(
            classify_document("https://evil.example/", &origins),
            Err(NoiseReason::ForeignDocument)
        );
        assert_eq!(
            classify_document("about:blank", &origins),
            Err(NoiseReason::NonHttpDocument)
        );
        assert_eq!(
            classify_document("ftp://shop.example/", &[]),
            Err(NoiseReason::NonHttpDocument)
        );
    }
}
