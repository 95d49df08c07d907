//! Arbitrary bytes as an MRT stream and as RIS Live lines, through the monitor: counted and
//! skipped when malformed, never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_bgp::{Monitor, Monitored, RisLiveStats, parse_ris_live_line, read_mrt_bytes};

fuzz_target!(|data: &[u8]| {
    let monitored = vec![Monitored {
        prefix: "0.0.0.0/0".parse().unwrap(),
        origins: vec![64_496],
        description: String::new(),
        ignore_more_specifics: false,
        group: "default".into(),
    }];
    let mut monitor = Monitor::new(monitored, 1);
    read_mrt_bytes(data, |e| {
        monitor.process(&e);
    });
    let mut stats = RisLiveStats::default();
    for line in String::from_utf8_lossy(data).lines() {
        if let Some(elems) = parse_ris_live_line(line, &mut stats) {
            for e in &elems {
                monitor.process(e);
            }
        }
    }
});
