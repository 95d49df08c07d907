//! Replay of archived data: RIB dumps first (the baseline, in file order), then every update
//! source merged into data-time order (a stable sort, so equal times keep file order). The output
//! is deterministic for the same inputs.

use std::path::PathBuf;

use crate::elem::Elem;
use crate::monitor::{Event, Monitor};
use crate::mrt::read_mrt_filtered;
use crate::rislive::read_ris_live;

/// The archives to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayInput {
    pub ribs: Vec<PathBuf>,
    pub updates: Vec<PathBuf>,
    pub ris_live: Vec<PathBuf>,
}

/// Per-file counts, for the summary on stderr.
#[derive(Debug, Clone, Default)]
pub struct ReplayStats {
    pub files: Vec<(String, u64, u64, u64)>,
    pub relevant: u64,
    pub events: u64,
}

fn named(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> std::io::Error + '_ {
    move |e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Without a RIB, the first this-many seconds of updates are the baseline of known upstreams.
pub const BASELINE_SECS: f64 = 300.0;

/// Decides, per element, whether the monitor is still learning its baseline (also used by
/// the live watcher, which has no RIB).
pub struct Baseline {
    from_rib: bool,
    until: Option<f64>,
}

impl Baseline {
    /// `from_rib`: the baseline came from RIB dumps already; otherwise the first
    /// [`BASELINE_SECS`] of data time are.
    pub fn new(from_rib: bool) -> Self {
        Self {
            from_rib,
            until: None,
        }
    }

    pub fn apply(&mut self, monitor: &mut Monitor, time: f64) {
        if self.from_rib {
            return;
        }
        let until = *self.until.get_or_insert(time + BASELINE_SECS);
        monitor.set_baseline(time < until);
    }
}

/// Runs `monitor` over `input`, calling `emit` for each event in order.
pub fn replay(
    input: &ReplayInput,
    monitor: &mut Monitor,
    emit: impl FnMut(&Event),
) -> std::io::Result<ReplayStats> {
    replay_with_progress(input, monitor, emit, |_, _| {})
}

/// Elements read between two progress reports.
const PROGRESS_EVERY: u64 = 16_384;

/// [`replay`], reporting `(file, elements read so far)` as it goes (for progress bars).
pub fn replay_with_progress(
    input: &ReplayInput,
    monitor: &mut Monitor,
    mut emit: impl FnMut(&Event),
    mut progress: impl FnMut(&std::path::Path, u64),
) -> std::io::Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    let keep = monitor.filter();
    // The baseline of upstreams: the RIB dumps if given, else the first minutes of updates.
    monitor.set_baseline(true);
    let mut baseline = Baseline::new(!input.ribs.is_empty());
    for rib in &input.ribs {
        let mut relevant = 0;
        let mut n = 0u64;
        progress(rib, 0);
        let s = read_mrt_filtered(
            rib,
            |p: &ipnet::IpNet, o: Option<u32>| {
                n += 1;
                if n.is_multiple_of(PROGRESS_EVERY) {
                    progress(rib, n);
                }
                keep(p, o)
            },
            |e| {
                relevant += 1;
                for ev in monitor.process(&e) {
                    stats.events += 1;
                    emit(&ev);
                }
            },
        )
        .map_err(named(rib))?;
        stats.relevant += relevant;
        stats.files.push((
            rib.display().to_string(),
            s.announcements,
            s.withdrawals,
            s.malformed,
        ));
    }
    if baseline.from_rib {
        monitor.set_baseline(false);
    }
    // One MRT update file is already in time order: stream it. Several sources are merged by a
    // stable sort on data time, which needs them in memory (only elements of monitored prefixes).
    if input.updates.len() == 1 && input.ris_live.is_empty() {
        let path = &input.updates[0];
        let mut relevant = 0;
        let mut n = 0u64;
        progress(path, 0);
        let s = read_mrt_filtered(
            path,
            |p: &ipnet::IpNet, o: Option<u32>| {
                n += 1;
                if n.is_multiple_of(PROGRESS_EVERY) {
                    progress(path, n);
                }
                keep(p, o)
            },
            |e| {
                relevant += 1;
                baseline.apply(monitor, e.time);
                for ev in monitor.process(&e) {
                    stats.events += 1;
                    emit(&ev);
                }
            },
        )
        .map_err(named(path))?;
        stats.relevant += relevant;
        stats.files.push((
            path.display().to_string(),
            s.announcements,
            s.withdrawals,
            s.malformed,
        ));
        return Ok(stats);
    }
    let mut pending: Vec<Elem> = Vec::new();
    for path in &input.updates {
        let mut n = 0u64;
        progress(path, 0);
        let s = read_mrt_filtered(
            path,
            |p: &ipnet::IpNet, o: Option<u32>| {
                n += 1;
                if n.is_multiple_of(PROGRESS_EVERY) {
                    progress(path, n);
                }
                keep(p, o)
            },
            |e| pending.push(e),
        )
        .map_err(named(path))?;
        stats.files.push((
            path.display().to_string(),
            s.announcements,
            s.withdrawals,
            s.malformed,
        ));
    }
    for path in &input.ris_live {
        progress(path, 0);
        let s = read_ris_live(path, |e| {
            let origin = match &e.kind {
                crate::elem::ElemKind::Announce { origin, .. } => *origin,
                crate::elem::ElemKind::Withdraw => None,
            };
            if keep(&e.prefix, origin) {
                pending.push(e);
            }
        })
        .map_err(named(path))?;
        stats.files.push((
            path.display().to_string(),
            s.announcements,
            s.withdrawals,
            s.malformed,
        ));
    }
    pending.sort_by(|a, b| a.time.total_cmp(&b.time));
    stats.relevant += pending.len() as u64;
    for e in &pending {
        baseline.apply(monitor, e.time);
        for ev in monitor.process(e) {
            stats.events += 1;
            emit(&ev);
        }
    }
    Ok(stats)
}
