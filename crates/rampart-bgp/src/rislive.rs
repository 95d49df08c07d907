//! RIS Live JSON (`{"type":"ris_message","data":{…}}`), one message per line, as the websocket
//! sends it and as files of captured messages store it. Quirks handled: `peer_asn` is a string,
//! AS_SETs are nested arrays in `path`, IPv6 announcements repeat prefixes under the link-local
//! next hop, other message types (`RIS_PEER_STATE`, `ris_error`, OPEN …) and truncated lines are
//! counted and skipped.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use serde_json::Value;

use crate::elem::{Elem, ElemKind};

/// What reading a RIS Live stream saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RisLiveStats {
    pub updates: u64,
    pub announcements: u64,
    pub withdrawals: u64,
    /// Well-formed messages of other types (peer state, OPEN, KEEPALIVE, errors …).
    pub other: u64,
    /// Lines that are not valid RIS Live JSON, or UPDATEs with unusable fields.
    pub malformed: u64,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    timestamp: Option<f64>,
    peer: Option<String>,
    peer_asn: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    path: Vec<Value>,
    #[serde(default)]
    announcements: Vec<Announcement>,
    #[serde(default)]
    withdrawals: Vec<String>,
}

#[derive(Deserialize)]
struct Announcement {
    #[serde(default)]
    prefixes: Vec<String>,
}

fn asn(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses one line. `Ok(None)` for well-formed messages that carry no routes.
pub fn parse_ris_live_line(line: &str, stats: &mut RisLiveStats) -> Option<Vec<Elem>> {
    let Ok(envelope) = serde_json::from_str::<Envelope>(line.trim()) else {
        stats.malformed += 1;
        return None;
    };
    let data = match (envelope.kind.as_str(), envelope.data) {
        ("ris_message", Some(d)) if d.kind.as_deref() == Some("UPDATE") => d,
        _ => {
            stats.other += 1;
            return None;
        }
    };
    let (Some(time), Some(peer_ip), Some(peer_asn)) = (
        data.timestamp,
        data.peer.as_deref().and_then(|p| p.parse::<IpAddr>().ok()),
        data.peer_asn.as_ref().and_then(asn),
    ) else {
        stats.malformed += 1;
        return None;
    };
    stats.updates += 1;
    let mut path = Vec::with_capacity(data.path.len());
    let mut origin = None;
    for (i, hop) in data.path.iter().enumerate() {
        let last = i + 1 == data.path.len();
        match hop {
            Value::Array(set) => {
                let members: Vec<u32> = set.iter().filter_map(asn).collect();
                if last && members.len() == 1 {
                    origin = Some(members[0]);
                }
                path.extend(members);
            }
            other => match asn(other) {
                Some(a) => {
                    path.push(a);
                    if last {
                        origin = Some(a);
                    }
                }
                None => {
                    stats.malformed += 1;
                    return None;
                }
            },
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for a in &data.announcements {
        for p in &a.prefixes {
            let Ok(prefix) = p.parse::<IpNet>() else {
                continue;
            };
            if seen.insert(prefix) {
                stats.announcements += 1;
                out.push(Elem {
                    time,
                    peer_ip,
                    peer_asn,
                    prefix: prefix.trunc(),
                    kind: ElemKind::Announce {
                        path: path.clone(),
                        origin,
                    },
                });
            }
        }
    }
    for p in &data.withdrawals {
        if let Ok(prefix) = p.parse::<IpNet>() {
            stats.withdrawals += 1;
            out.push(Elem {
                time,
                peer_ip,
                peer_asn,
                prefix: prefix.trunc(),
                kind: ElemKind::Withdraw,
            });
        }
    }
    Some(out)
}

/// Reads a file of RIS Live messages (plain or `.gz`), one per line.
pub fn read_ris_live(path: &Path, mut each: impl FnMut(Elem)) -> std::io::Result<RisLiveStats> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut stats = RisLiveStats::default();
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(elems) = parse_ris_live_line(&line, &mut stats) {
            elems.into_iter().for_each(&mut each);
        }
    }
    Ok(stats)
}
