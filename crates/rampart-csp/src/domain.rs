//! Host and registrable-domain (eTLD+1) extraction, via the Public Suffix List.

/// The lowercase host of an absolute URL, without brackets for IPv6 literals.
/// `None` for URLs without a host (`inline`, `data:` …) or that do not parse.
pub fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.host()? {
        url::Host::Domain(d) => Some(d.to_ascii_lowercase()),
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

/// The registrable domain (eTLD+1) of a host, e.g. `cdn.shop.co.uk` → `shop.co.uk`.
///
/// IP addresses are their own "domain": an attacker's exfiltration endpoint is often a bare IP,
/// and it must still be a distinct, alertable subject. A host that is itself a public suffix
/// (e.g. `github.io`) is returned unchanged rather than dropped.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.');
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host.to_string();
    }
    match psl::domain_str(host) {
        Some(d) => d.to_string(),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etld_plus_one_follows_the_public_suffix_list() {
        assert_eq!(registrable_domain("cdn.shop.co.uk"), "shop.co.uk");
        assert_eq!(
            registrable_domain("www.googletagmanager.com"),
            "googletagmanager.com"
        );
        assert_eq!(registrable_domain("user.github.io"), "user.github.io");
        assert_eq!(registrable_domain("192.0.2.7"), "192.0.2.7");
        assert_eq!(registrable_domain("example.com."), "example.com");
    }

    #[test]
    fn hosts_are_lowercased_and_ipv6_unbracketed() {
        assert_eq!(
            host_of("https://CDN.Example.com/a.js").as_deref(),
            Some("cdn.example.com")
        );
        assert_eq!(
            host_of("https://[2001:db8::1]:8443/x").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(host_of("inline"), None);
    }
}
