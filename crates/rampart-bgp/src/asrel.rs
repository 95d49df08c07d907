//! CAIDA AS relationships (serial-1 `a|b|rel`, serial-2 `a|b|rel|source`; `-1` = a is b's
//! provider, `0` = peers), plain or bzip2/gzip, and the valley-free check for route leaks.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

/// How `from` exports a route to `to`, seen from `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `to` is `from`'s provider (customer → provider, "up").
    Up,
    /// Settlement-free peers.
    Flat,
    /// `to` is `from`'s customer ("down").
    Down,
}

/// The relationship graph.
#[derive(Debug, Default, Clone)]
pub struct AsRel {
    links: HashMap<(u32, u32), Link>,
    /// Lines that could not be read (counted, skipped).
    pub skipped: usize,
}

impl AsRel {
    pub fn parse(reader: impl Read) -> std::io::Result<Self> {
        let mut rel = AsRel::default();
        for line in BufReader::new(reader).lines() {
            let line = line?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('|');
            let (a, b, r) = (fields.next(), fields.next(), fields.next());
            let parsed = (
                a.and_then(|x| x.parse::<u32>().ok()),
                b.and_then(|x| x.parse::<u32>().ok()),
                r.map(str::trim),
            );
            match parsed {
                (Some(a), Some(b), Some("-1")) => {
                    rel.links.insert((a, b), Link::Down);
                    rel.links.insert((b, a), Link::Up);
                }
                (Some(a), Some(b), Some("0")) => {
                    rel.links.insert((a, b), Link::Flat);
                    rel.links.insert((b, a), Link::Flat);
                }
                _ => rel.skipped += 1,
            }
        }
        Ok(rel)
    }

    /// Reads a file, decompressing bzip2 or gzip by their magic bytes.
    pub fn load(path: &std::path::Path) -> std::io::Result<Self> {
        let mut file = BufReader::new(std::fs::File::open(path)?);
        let head = file.fill_buf()?.to_vec();
        let named =
            |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if head.starts_with(b"BZh") {
            Self::parse(bzip2::read::MultiBzDecoder::new(file)).map_err(named)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Self::parse(flate2::read::MultiGzDecoder::new(file)).map_err(named)
        } else {
            Self::parse(file).map_err(named)
        }
    }

    pub fn link(&self, from: u32, to: u32) -> Option<Link> {
        self.links.get(&(from, to)).copied()
    }

    /// Adds ASPA objects: each customer's authorized providers are authoritative, so they replace
    /// inferred relationships for those pairs (customer → provider is up, provider → customer
    /// is down). Returns how many customer entries were read.
    pub fn add_aspa(&mut self, aspas: &[(u32, Vec<u32>)]) -> usize {
        for (customer, providers) in aspas {
            for p in providers {
                self.links.insert((*customer, *p), Link::Up);
                self.links.insert((*p, *customer), Link::Down);
            }
        }
        aspas.len()
    }

    /// Reads ASPA objects from a JSON file (none if it has no ASPA section).
    pub fn load_aspa(path: &std::path::Path) -> std::io::Result<Vec<(u32, Vec<u32>)>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Self::aspa_from_json(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// ASPA objects from rpki-client or Routinator JSON: `"aspas": [{"customer_asid",
    /// "providers"}]` (current) or `"provider_authorizations": {"ipv4": […], "ipv6": […]}`
    /// (older rpki-client). Providers may be numbers or `"AS123"` strings.
    pub fn aspa_from_json(text: &str) -> Result<Vec<(u32, Vec<u32>)>, String> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let asn = |v: &serde_json::Value| match v {
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            serde_json::Value::String(s) => s.trim_start_matches("AS").parse().ok(),
            _ => None,
        };
        let mut lists: Vec<&serde_json::Value> = Vec::new();
        if let Some(a) = doc.get("aspas") {
            lists.push(a);
        }
        if let Some(pa) = doc.get("provider_authorizations") {
            lists.extend(["ipv4", "ipv6"].iter().filter_map(|k| pa.get(*k)));
        }
        let mut out: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> =
            Default::default();
        for list in lists {
            for entry in list.as_array().into_iter().flatten() {
                let customer = entry
                    .get("customer_asid")
                    .or_else(|| entry.get("customer"))
                    .and_then(asn);
                let providers = entry.get("providers").and_then(|p| p.as_array());
                if let (Some(c), Some(ps)) = (customer, providers) {
                    out.entry(c).or_default().extend(ps.iter().filter_map(asn));
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(c, ps)| (c, ps.into_iter().collect()))
            .collect())
    }

    pub fn len(&self) -> usize {
        self.links.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The AS that broke valley-freeness on `path` (collector's neighbor first, origin last), if
    /// any: the first AS that, having learned the route from a provider or a peer, passed it to a
    /// provider or a peer. Links of unknown relationship are not judged (and reset the walk).
    pub fn leaker(&self, path: &[u32]) -> Option<u32> {
        let mut hops: Vec<u32> = path.to_vec();
        hops.dedup(); // prepending
        // Walk in the direction the announcement travelled: origin → … → collector's neighbor.
        let mut descending = false;
        let mut judged = false;
        for i in (1..hops.len()).rev() {
            let (from, to) = (hops[i], hops[i - 1]);
            match self.link(from, to) {
                None => {
                    judged = false;
                    descending = false;
                }
                Some(Link::Up) | Some(Link::Flat) if judged && descending => return Some(from),
                Some(Link::Up) => judged = true,
                Some(Link::Flat) | Some(Link::Down) => {
                    judged = true;
                    descending = true;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valley_free_paths_pass_and_the_leaker_is_named() {
        let rel = AsRel::parse(
            "# serial-2 header\n3356|33154|-1\n33154|396531|-1\n701|396531|-1\n701|3356|0\n174|13335|-1\n3356|13335|0|bgp\nbad line\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!((rel.len(), rel.skipped), (6, 1));
        // Across, then down twice: fine.
        assert_eq!(rel.leaker(&[396531, 33154, 3356, 13335]), None);
        // Across twice: a peer's route handed to another peer.
        assert_eq!(rel.leaker(&[396531, 701, 3356, 13335]), Some(3356));
        assert_eq!(rel.leaker(&[33154, 3356, 3356, 3356, 13335]), None);
        // Verizon/DQE 2019: 396531 learned from its provider 33154 and told its provider 701.
        assert_eq!(
            rel.leaker(&[3333, 701, 396531, 33154, 3356, 13335]),
            Some(396531)
        );
        // Unknown links are not judged.
        assert_eq!(rel.leaker(&[65000, 64999, 13335]), None);
    }

    #[test]
    fn aspa_objects_settle_relationships() {
        let aspas = AsRel::aspa_from_json(
            r#"{"provider_authorizations":{"ipv4":[{"customer_asid":64500,"providers":[64501,64502]}],
                "ipv6":[{"customer_asid":64500,"providers":[64503]}]},
                "aspas":[{"customer_asid":64510,"providers":["AS64500"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            aspas,
            vec![(64500, vec![64501, 64502, 64503]), (64510, vec![64500])]
        );
        let mut rel = AsRel::default();
        assert_eq!(rel.add_aspa(&aspas), 2);
        // 64510 → its provider 64500 → 64500's provider 64501: up, up — valley-free.
        assert_eq!(rel.leaker(&[64501, 64500, 64510]), None);
        // 64500 learned from its provider 64502 and passed it to its provider 64501: a leak.
        assert_eq!(rel.leaker(&[64501, 64500, 64502]), Some(64500));
    }
}
