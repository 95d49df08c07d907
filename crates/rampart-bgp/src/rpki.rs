//! RFC 6811 route origin validation against VRPs from JSON: rpki-client (`{"roas":[…]}` with
//! integer ASNs), Routinator and Cloudflare exports (`"AS13335"`), and bare arrays with ASNs as
//! strings. (RTR from a local validator is still to come.)

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use serde::Serialize;
use serde_json::Value;

/// RFC 6811 validation states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RpkiState {
    Valid,
    Invalid,
    NotFound,
}

impl RpkiState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::NotFound => "not_found",
        }
    }
}

/// Why a VRP file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VrpError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: not JSON: {1}")]
    Json(String, String),
    #[error("{0}: no VRP list (expected an array or an object with \"roas\")")]
    Shape(String),
}

/// Validated ROA payloads, indexed by prefix.
#[derive(Default, Clone)]
pub struct Vrps {
    v4: PrefixMap<Ipv4Net, Vec<(u8, u32)>>,
    v6: PrefixMap<Ipv6Net, Vec<(u8, u32)>>,
    count: usize,
    /// Entries that could not be read (counted, skipped).
    pub skipped: usize,
}

fn asn(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s
            .trim_start_matches("AS")
            .trim_start_matches("as")
            .parse()
            .ok(),
        _ => None,
    }
}

impl std::fmt::Debug for Vrps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vrps")
            .field("count", &self.count)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl Vrps {
    /// Parses any of the supported JSON shapes; `origin` names the file in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, VrpError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| VrpError::Json(origin.into(), e.to_string()))?;
        let list = match &doc {
            Value::Array(a) => a,
            Value::Object(o) => match o.get("roas") {
                Some(Value::Array(a)) => a,
                _ => return Err(VrpError::Shape(origin.into())),
            },
            _ => return Err(VrpError::Shape(origin.into())),
        };
        let mut vrps = Vrps::default();
        for entry in list {
            let prefix = entry
                .get("prefix")
                .and_then(Value::as_str)
                .and_then(|p| p.parse::<IpNet>().ok());
            let asn = entry.get("asn").and_then(asn);
            let (Some(prefix), Some(asn)) = (prefix, asn) else {
                vrps.skipped += 1;
                continue;
            };
            let max = entry
                .get("maxLength")
                .or_else(|| entry.get("max_length"))
                .and_then(Value::as_u64)
                .map_or(prefix.prefix_len(), |m| {
                    m.min(u64::from(prefix.max_prefix_len())) as u8
                });
            vrps.insert(prefix.trunc(), max, asn);
        }
        Ok(vrps)
    }

    /// Reads a VRP JSON file.
    pub fn load(path: &std::path::Path) -> Result<Self, VrpError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| VrpError::Read(name.clone(), e))?;
        Self::from_json(&text, &name)
    }

    pub fn insert(&mut self, prefix: IpNet, max_len: u8, asn: u32) {
        self.count += 1;
        match prefix {
            IpNet::V4(p) => self.v4.entry(p).or_default().push((max_len, asn)),
            IpNet::V6(p) => self.v6.entry(p).or_default().push((max_len, asn)),
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// RFC 6811 §2: covered by no VRP → NotFound; matched by a covering VRP with the same origin
    /// and a max length ≥ the route's → Valid; covered but unmatched → Invalid. A route without a
    /// single origin (AS_SET) can match nothing. AS0 VRPs match nothing either (RFC 7607).
    pub fn validate(&self, prefix: &IpNet, origin: Option<u32>) -> RpkiState {
        let len = prefix.prefix_len();
        let mut covered = false;
        let mut check = |entries: &Vec<(u8, u32)>| {
            covered = true;
            entries
                .iter()
                .any(|(max, asn)| origin == Some(*asn) && *asn != 0 && len <= *max)
        };
        let valid = match prefix {
            IpNet::V4(p) => self.v4.cover(p).any(|(_, e)| check(e)),
            IpNet::V6(p) => self.v6.cover(p).any(|(_, e)| check(e)),
        };
        if valid {
            RpkiState::Valid
        } else if covered {
            RpkiState::Invalid
        } else {
            RpkiState::NotFound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6811_states() {
        let vrps = Vrps::from_json(
            r#"{"roas":[{"asn":13335,"prefix":"1.0.0.0/24","maxLength":24},{"asn":"AS64500","prefix":"203.0.112.0/22","maxLength":23},{"prefix":"198.51.100.0/24","maxLength":32,"asn":"0"},{"bad":1}]}"#,
            "t.json",
        )
        .unwrap();
        assert_eq!((vrps.len(), vrps.skipped), (3, 1));
        let v = |p: &str, o: Option<u32>| vrps.validate(&p.parse().unwrap(), o);
        assert_eq!(v("1.0.0.0/24", Some(13335)), RpkiState::Valid);
        assert_eq!(v("1.0.0.0/24", Some(64511)), RpkiState::Invalid);
        assert_eq!(
            v("1.0.0.0/25", Some(13335)),
            RpkiState::Invalid,
            "longer than maxLength"
        );
        assert_eq!(
            v("203.0.113.0/24", Some(64500)),
            RpkiState::Invalid,
            "/24 over maxLength 23"
        );
        assert_eq!(v("203.0.112.0/23", Some(64500)), RpkiState::Valid);
        assert_eq!(
            v("198.51.100.0/25", Some(1)),
            RpkiState::Invalid,
            "AS0 covers and matches nothing"
        );
        assert_eq!(v("192.0.2.0/24", Some(1)), RpkiState::NotFound);
        assert_eq!(
            v("1.0.0.0/24", None),
            RpkiState::Invalid,
            "an AS_SET origin matches nothing"
        );
    }
}
