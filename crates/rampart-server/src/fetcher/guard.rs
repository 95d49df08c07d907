//! The SSRF guard: which addresses the fetcher may connect to.
//!
//! Script URLs come from browser reports, so anyone can make Rampart fetch anything. Three
//! places enforce the policy: the DNS resolver given to reqwest (the addresses it returns are the
//! ones reqwest connects to, so a name cannot resolve "public" for the check and "private" for
//! the connection), a check of IP-literal hosts before any request (reqwest does not resolve
//! those), and the redirect policy, which re-checks every hop.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address is refused, or `None` if it is a public unicast address.
pub(crate) fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let seg = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                return special_v4(v4);
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else {
                None
            }
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if o[0] == 169 && o[1] == 254 {
        Some("link-local (cloud metadata lives here)")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared address space (CGNAT)")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 198 && (o[1] == 18 || o[1] == 19) {
        Some("benchmarking")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

/// The fetcher's address policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressPolicy {
    pub allow_private: bool,
    pub allow: Vec<IpNet>,
}

impl AddressPolicy {
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow_private || self.allow.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match special_purpose(ip) {
            Some(why) => Err(format!("{ip} is {why}")),
            None => Ok(()),
        }
    }

    /// Checks scheme and IP-literal hosts of a URL (names are checked at resolution).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not fetched", url.scheme()));
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("no host".into()),
        }
    }
}

/// The marker error for a refusal, so callers can tell "refused" from "failed".
#[derive(Debug)]
pub(crate) struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused by the SSRF guard: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// Finds a [`Refused`] anywhere in an error's source chain.
pub(crate) fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        current = e.source();
    }
    None
}

/// Resolves names with the system resolver, then keeps only permitted addresses.
pub(crate) struct GuardedResolver {
    pub policy: Arc<AddressPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut reasons = Vec::new();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        reasons.push(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = if reasons.is_empty() {
                    "no addresses".to_string()
                } else {
                    reasons.join(", ")
                };
                return Err(Box::new(Refused(format!("{host} resolves to {why}")))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_purpose_addresses_are_named() {
        for (ip, want) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            (
                "169.254.169.254",
                Some("link-local (cloud metadata lives here)"),
            ),
            ("100.64.0.1", Some("shared address space (CGNAT)")),
            ("0.0.0.0", Some("unspecified")),
            ("224.0.0.1", Some("multicast")),
            ("::1", Some("loopback")),
            ("fd00:ec2::254", Some("private (unique local)")),
            ("fe80::1", Some("link-local")),
            ("::ffff:127.0.0.1", Some("loopback")),
            (
                "64:ff9b::a9fe:a9fe",
                Some("link-local (cloud metadata lives here)"),
            ),
            ("93.184.216.34", None),
            ("2606:4700::6810:84e5", None),
        ] {
            assert_eq!(special_purpose(ip.parse().unwrap()), want, "{ip}");
        }
    }

    #[test]
    fn exceptions_and_the_switch_open_the_guard() {
        let strict = AddressPolicy::default();
        assert!(strict.check("10.20.1.1".parse().unwrap()).is_err());
        let cdn = AddressPolicy {
            allow_private: false,
            allow: vec!["10.20.0.0/16".parse().unwrap()],
        };
        assert!(cdn.check("10.20.1.1".parse().unwrap()).is_ok());
        assert!(cdn.check("10.21.1.1".parse().unwrap()).is_err());
        let open = AddressPolicy {
            allow_private: true,
            allow: vec![],
        };
        assert!(open.check("127.0.0.1".parse().unwrap()).is_ok());
        let url = reqwest::Url::parse("http://[::1]:8080/x.js").unwrap();
        assert!(strict.check_url(&url).unwrap_err().contains("loopback"));
        let file = reqwest::Url::parse("file:///etc/passwd").unwrap();
        assert!(strict.check_url(&file).is_err());
    }
}
