//! MRT archives (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP incl. AS4, ADD-PATH and extended timestamps),
//! compressed with gzip or bzip2 or not at all, through bgpkit-parser. Malformed records are
//! counted and skipped, never fatal.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use bgpkit_parser::BgpkitParser;
use bgpkit_parser::models::{AsPathSegment, ElemType};

use crate::elem::{Elem, ElemKind};

/// What reading one file saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MrtStats {
    pub announcements: u64,
    pub withdrawals: u64,
    pub malformed: u64,
}

/// Consecutive parse errors after which a file is abandoned (garbage, not a damaged record).
const MAX_CONSECUTIVE_ERRORS: u32 = 1000;

fn open(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let mut file = BufReader::new(File::open(path)?);
    let mut magic = [0u8; 3];
    let n = file.read(&mut magic)?;
    let head = std::io::Cursor::new(magic[..n].to_vec()).chain(file);
    Ok(if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(head))
    } else if n == 3 && &magic == b"BZh" {
        Box::new(bzip2::read::MultiBzDecoder::new(head))
    } else {
        Box::new(head)
    })
}

fn flatten(path: &bgpkit_parser::models::AsPath) -> Vec<u32> {
    let mut out = Vec::new();
    for segment in path.iter_segments() {
        match segment {
            AsPathSegment::AsSequence(v) | AsPathSegment::AsSet(v) => {
                out.extend(v.iter().map(|a| a.to_u32()))
            }
            AsPathSegment::ConfedSequence(_) | AsPathSegment::ConfedSet(_) => {}
        }
    }
    out
}

/// Reads every route element of an MRT file, calling `each` in file order.
pub fn read_mrt(path: &Path, each: impl FnMut(Elem)) -> std::io::Result<MrtStats> {
    read_mrt_filtered(path, |_, _| true, each)
}

/// Like [`read_mrt`], but builds (and passes on) only elements whose prefix `keep` accepts:
/// converting paths of prefixes nobody monitors is most of the cost of a replay.
pub fn read_mrt_filtered(
    path: &Path,
    keep: impl FnMut(&ipnet::IpNet, Option<u32>) -> bool,
    each: impl FnMut(Elem),
) -> std::io::Result<MrtStats> {
    Ok(read_mrt_from(open(path)?, keep, each))
}

/// Reads MRT records from memory (uncompressed), e.g. for fuzzing.
pub fn read_mrt_bytes(bytes: &[u8], each: impl FnMut(Elem)) -> MrtStats {
    read_mrt_from(bytes, |_, _| true, each)
}

fn read_mrt_from(
    reader: impl Read,
    mut keep: impl FnMut(&ipnet::IpNet, Option<u32>) -> bool,
    mut each: impl FnMut(Elem),
) -> MrtStats {
    let parser = BgpkitParser::from_reader(reader);
    let mut stats = MrtStats::default();
    let mut consecutive = 0;
    for item in parser.into_fallible_elem_iter() {
        let e = match item {
            Ok(e) => {
                consecutive = 0;
                e
            }
            Err(_) => {
                stats.malformed += 1;
                consecutive += 1;
                if consecutive >= MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                continue;
            }
        };
        let announce = matches!(e.elem_type, ElemType::ANNOUNCE);
        if announce {
            stats.announcements += 1;
        } else {
            stats.withdrawals += 1;
        }
        let origin = if announce {
            e.as_path
                .as_ref()
                .and_then(|p| p.get_origin_opt())
                .map(|a| a.to_u32())
        } else {
            None
        };
        if !keep(&e.prefix.prefix, origin) {
            continue;
        }
        let kind = if announce {
            let path = e.as_path.as_ref().map(flatten).unwrap_or_default();
            let origin = e
                .as_path
                .as_ref()
                .and_then(|p| p.get_origin_opt())
                .map(|a| a.to_u32());
            ElemKind::Announce { path, origin }
        } else {
            ElemKind::Withdraw
        };
        each(Elem {
            time: e.timestamp,
            peer_ip: e.peer_ip,
            peer_asn: e.peer_asn.to_u32(),
            prefix: e.prefix.prefix,
            kind,
        });
    }
    stats
}
