//! Rampart's route monitor (L3), with no HTTP and no store: BGP sources (MRT RIB dumps and update
//! files via bgpkit-parser, RIS Live JSON), the monitored prefixes (native and BGPalerter's
//! `prefixes.yml`), route state per (prefix, peer), and detectors that open and resolve events.
//!
//! This build has the hijack family (`origin_hijack`, `subprefix_hijack`, `more_specific`),
//! `visibility_loss`, `rpki_invalid` (VRP JSON) and `route_leak` (valley-free over CAIDA
//! relationships) and `new_upstream`; RTR, ASPA and the live RIS Live websocket are still to come.
#![forbid(unsafe_code)]

mod asrel;
mod detectors;
mod elem;
mod generate;
mod live;
mod monitor;
mod mrt;
mod prefixes;
mod replay;
mod rislive;
mod rpki;
mod rtr;

pub use asrel::{AsRel, Link};
pub use elem::{Elem, ElemKind};
pub use generate::{originated, prefixes_yml};
pub use live::{LiveEvent, LiveStats, subscribe_message, watch};
pub use monitor::{Event, EventKind, Monitor, PrefixView, RouteView};
pub use mrt::{MrtStats, read_mrt, read_mrt_bytes, read_mrt_filtered};
pub use prefixes::{Monitored, PrefixError, load_prefixes_yml, parse_prefixes_yml};
pub use replay::{BASELINE_SECS, Baseline, ReplayInput, ReplayStats, replay, replay_with_progress};
pub use rislive::{RisLiveStats, parse_ris_live_line, read_ris_live};
pub use rpki::{RpkiState, VrpError, Vrps};
pub use rtr::{DEFAULT_RTR_TIMEOUT, fetch_vrps};
