//! One route observation, whatever the source.

use std::net::IpAddr;

use ipnet::IpNet;

/// Announce with its path, or withdraw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElemKind {
    Announce {
        /// AS path as announced (prepending kept; AS_SET members flattened in order).
        path: Vec<u32>,
        /// The origin AS; `None` when the path ends in an AS_SET of several ASes.
        origin: Option<u32>,
    },
    Withdraw,
}

/// A route observation from one peer of one collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Elem {
    /// Seconds since the Unix epoch, with fractions (RIS Live) or whole (MRT).
    pub time: f64,
    pub peer_ip: IpAddr,
    pub peer_asn: u32,
    pub prefix: IpNet,
    pub kind: ElemKind,
}

impl Elem {
    /// The AS just before the origin (the origin's upstream), skipping prepends.
    pub fn upstream(&self) -> Option<u32> {
        match &self.kind {
            ElemKind::Announce {
                path,
                origin: Some(o),
            } => path.iter().rev().find(|a| *a != o).copied(),
            _ => None,
        }
    }
}
