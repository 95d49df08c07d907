//! Where analyses run: one long-lived worker thread per calling thread, with a stack sized for
//! the largest allowed input and an oxc arena that is reset, not reallocated, between scripts.
//!
//! Why not the caller's thread: parser recursion grows with hostile input, and a tokio worker
//! has 2 MiB of stack. Why not a fresh thread per script: a new thread means a new malloc arena
//! and a new oxc arena, and the page faults of touching them cost more than the analysis.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use oxc_allocator::Allocator;

use crate::{Analysis, analyze_on_this_stack, stack_for};

/// An arena grown past this by one huge script is dropped rather than kept for the next.
const MAX_RETAINED_ARENA: usize = 256 << 20;

type Job = (String, bool, mpsc::SyncSender<Analysis>);

struct Worker {
    jobs: mpsc::Sender<Job>,
    max_bytes: usize,
}

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

fn spawn(max_bytes: usize) -> std::io::Result<Worker> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("rampart-js".into())
        .stack_size(stack_for(max_bytes))
        .spawn(move || {
            let mut arena = Allocator::default();
            for (source, features, reply) in rx {
                let result = catch_unwind(AssertUnwindSafe(|| {
                    analyze_on_this_stack(&source, &arena, features)
                }));
                let analysis = result
                    .unwrap_or_else(|_| Analysis::refused(&source, "analysis panicked".into()));
                if arena.capacity() > MAX_RETAINED_ARENA {
                    arena = Allocator::default();
                } else {
                    arena.reset();
                }
                let _ = reply.send(analysis);
            }
        })?;
    Ok(Worker {
        jobs: tx,
        max_bytes,
    })
}

/// Runs the analysis of `source` (at most `max_bytes` long) on this thread's worker, with the
/// classifier's features when asked.
pub(crate) fn run(source: &str, max_bytes: usize, features: bool) -> Analysis {
    WORKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|w| w.max_bytes < max_bytes) {
            match spawn(max_bytes) {
                Ok(w) => *slot = Some(w),
                Err(e) => {
                    return Analysis::refused(
                        source,
                        format!("cannot start the analysis thread: {e}"),
                    );
                }
            }
        }
        let worker = slot.as_ref().expect("set above");
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        if worker
            .jobs
            .send((source.to_string(), features, reply_tx))
            .is_err()
        {
            *slot = None;
            return Analysis::refused(source, "the analysis thread is gone".into());
        }
        reply_rx
            .recv()
            .unwrap_or_else(|_| Analysis::refused(source, "the analysis thread is gone".into()))
    })
}
