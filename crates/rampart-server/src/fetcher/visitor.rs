//! What a fetch looks like to the script's server: a visitor's browser loading the script from
//! the page it was reported on.
//!
//! Skimmer hosts cloak. They hand clean code to clients that do not look like a shopper's
//! browser — a crawler's User-Agent, no `Referer` from the victim shop, a request that is not a
//! script load — and the payload to everyone else (the Polyfill.io payload went only to some
//! mobile browsers arriving from the sites that embedded it). A fetcher that announces itself
//! stores the clean version and alerts on nothing. So the fetcher sends what Chromium sends for
//! a `<script src>` under the default referrer policy (`strict-origin-when-cross-origin`): the
//! page's origin as `Referer` (the page's path when the script is same-origin, never a query
//! string), `Sec-Fetch-*` for a script load, a browser's `Accept` headers, and
//! over HTTPS the client hints that go with a Chrome User-Agent.
//! Cookies and credentials are never sent: nothing of a visitor is replayed.

use reqwest::Url;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, HeaderMap, HeaderName, HeaderValue, REFERER};

/// A desktop Chrome's User-Agent (the reduced form Chromium has sent since version 110).
pub const DEFAULT_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

/// Adds the User-Agent client hints Chrome sends with every request to an `https://` URL,
/// derived from a Chrome User-Agent (its major version, phone or not, platform); none for
/// other browsers, which send none. A request that claims to be Chrome without them is what a
/// fingerprinting server looks for.
pub(crate) fn client_hints(user_agent: &str, url: &Url, h: &mut HeaderMap) {
    if url.scheme() != "https" {
        return;
    }
    let Some(version) = user_agent
        .split_once("Chrome/")
        .and_then(|(_, rest)| rest.split('.').next())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
    else {
        return;
    };
    let platform = if user_agent.contains("Android") {
        "Android"
    } else if user_agent.contains("Windows") {
        "Windows"
    } else if user_agent.contains("Macintosh") {
        "macOS"
    } else if user_agent.contains("CrOS") {
        "Chrome OS"
    } else {
        "Linux"
    };
    let brands = format!(
        "\"Chromium\";v=\"{version}\", \"Google Chrome\";v=\"{version}\", \"Not_A Brand\";v=\"99\""
    );
    let mobile = if user_agent.contains("Mobile") {
        "?1"
    } else {
        "?0"
    };
    for (name, value) in [
        ("sec-ch-ua", brands),
        ("sec-ch-ua-mobile", mobile.to_string()),
        ("sec-ch-ua-platform", format!("\"{platform}\"")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
}

/// The headers of a browser navigating to a page typed into its address bar (how the fetcher
/// reads a watched page's headers).
pub(crate) fn navigation() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        ACCEPT,
        HeaderValue::from_static(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        ),
    );
    h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"));
    for (name, value) in [
        ("sec-fetch-dest", "document"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-site", "none"),
        ("sec-fetch-user", "?1"),
        ("upgrade-insecure-requests", "1"),
    ] {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    h
}

/// The headers of a browser loading `script` from `page` (when known and when `referer` is on).
pub(crate) fn headers(page: Option<&str>, script: &Url, referer: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT, HeaderValue::from_static("*/*"));
    h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"));
    h.insert(
        HeaderName::from_static("sec-fetch-dest"),
        HeaderValue::from_static("script"),
    );
    h.insert(
        HeaderName::from_static("sec-fetch-mode"),
        HeaderValue::from_static("no-cors"),
    );
    let page = page
        .and_then(|p| Url::parse(p).ok())
        .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
    let Some(mut page) = page else {
        return h;
    };
    let same_origin = page.origin() == script.origin();
    let site = if same_origin {
        "same-origin"
    } else if same_site(&page, script) {
        "same-site"
    } else {
        "cross-site"
    };
    h.insert(
        HeaderName::from_static("sec-fetch-site"),
        HeaderValue::from_static(site),
    );
    if referer {
        // Never the page's credentials, query or fragment (a visitor's query string may carry
        // personal data, and sites that keep queries store them); its path only when
        // same-origin.
        let _ = page.set_username("");
        let _ = page.set_password(None);
        page.set_fragment(None);
        page.set_query(None);
        if !same_origin {
            page.set_path("/");
        }
        if let Ok(v) = HeaderValue::from_str(page.as_str()) {
            h.insert(REFERER, v);
        }
    }
    h
}

/// Schemeful same-site: same scheme and same registrable domain.
fn same_site(a: &Url, b: &Url) -> bool {
    match (a.host_str(), b.host_str()) {
        (Some(x), Some(y)) => {
            a.scheme() == b.scheme()
                && rampart_csp::registrable_domain(x) == rampart_csp::registrable_domain(y)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(h: &HeaderMap, name: &str) -> Option<String> {
        h.get(name).map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn a_third_party_script_gets_the_page_origin_as_referer() {
        let script = Url::parse("https://cdn.widgets.example/lib.js?v=3").unwrap();
        let h = headers(
            Some("https://user:pw@shop.example/checkout/pay#card"),
            &script,
            true,
        );
        assert_eq!(get(&h, "referer").as_deref(), Some("https://shop.example/"));
        assert_eq!(get(&h, "sec-fetch-site").as_deref(), Some("cross-site"));
        assert_eq!(get(&h, "sec-fetch-dest").as_deref(), Some("script"));
        assert_eq!(get(&h, "sec-fetch-mode").as_deref(), Some("no-cors"));
        assert_eq!(get(&h, "accept").as_deref(), Some("*/*"));
    }

    #[test]
    fn a_same_origin_script_gets_the_page_itself_without_credentials_or_fragment() {
        let script = Url::parse("https://shop.example/static/app.js").unwrap();
        let h = headers(
            Some("https://user:pw@shop.example/checkout/pay?email=a%40b.example#card"),
            &script,
            true,
        );
        assert_eq!(
            get(&h, "referer").as_deref(),
            Some("https://shop.example/checkout/pay")
        );
        assert_eq!(get(&h, "sec-fetch-site").as_deref(), Some("same-origin"));
    }

    #[test]
    fn a_sibling_subdomain_is_same_site_but_only_under_the_same_scheme() {
        let page = Some("https://www.shop.co.uk/basket");
        let https = Url::parse("https://static.shop.co.uk/a.js").unwrap();
        let http = Url::parse("http://static.shop.co.uk/a.js").unwrap();
        let other = Url::parse("https://static.other.co.uk/a.js").unwrap();
        assert_eq!(
            get(&headers(page, &https, true), "sec-fetch-site").as_deref(),
            Some("same-site")
        );
        assert_eq!(
            get(&headers(page, &http, true), "sec-fetch-site").as_deref(),
            Some("cross-site")
        );
        assert_eq!(
            get(&headers(page, &other, true), "sec-fetch-site").as_deref(),
            Some("cross-site")
        );
    }

    #[test]
    fn chrome_user_agents_bring_their_client_hints_over_https_only() {
        let https = Url::parse("https://cdn.widgets.example/lib.js").unwrap();
        let mut h = HeaderMap::new();
        client_hints(DEFAULT_USER_AGENT, &https, &mut h);
        assert_eq!(
            get(&h, "sec-ch-ua").as_deref(),
            Some(r#""Chromium";v="156", "Google Chrome";v="156", "Not_A Brand";v="99""#)
        );
        assert_eq!(get(&h, "sec-ch-ua-mobile").as_deref(), Some("?0"));
        assert_eq!(
            get(&h, "sec-ch-ua-platform").as_deref(),
            Some("\"Windows\"")
        );
        let mut h = HeaderMap::new();
        client_hints(crate::fetcher::DEFAULT_MOBILE_USER_AGENT, &https, &mut h);
        assert_eq!(get(&h, "sec-ch-ua-mobile").as_deref(), Some("?1"));
        assert_eq!(
            get(&h, "sec-ch-ua-platform").as_deref(),
            Some("\"Android\"")
        );
        // Firefox sends none; nor does Chrome to a plain-HTTP URL.
        let mut h = HeaderMap::new();
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
        client_hints(firefox, &https, &mut h);
        let http = Url::parse("http://cdn.widgets.example/lib.js").unwrap();
        client_hints(DEFAULT_USER_AGENT, &http, &mut h);
        assert!(h.is_empty(), "{h:?}");
    }

    #[test]
    fn no_referer_when_turned_off_or_when_the_page_is_unknown_or_not_a_web_page() {
        let script = Url::parse("https://cdn.widgets.example/lib.js").unwrap();
        let off = headers(Some("https://shop.example/checkout"), &script, false);
        assert_eq!(get(&off, "referer"), None);
        assert_eq!(get(&off, "sec-fetch-site").as_deref(), Some("cross-site"));
        for page in [None, Some(""), Some("about:blank"), Some("not a url")] {
            let h = headers(page, &script, true);
            assert_eq!(get(&h, "referer"), None, "{page:?}");
            assert_eq!(get(&h, "sec-fetch-site"), None, "{page:?}");
            assert_eq!(get(&h, "sec-fetch-dest").as_deref(), Some("script"));
        }
    }
}
