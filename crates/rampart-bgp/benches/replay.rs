//! (a) MRT replay with every detector against bgpkit-parser's bare element iteration over the
//! same file, in the same run; (b) RIS Live JSON through parse + monitor, messages per second.
//!
//!   cargo bench -p rampart-bgp --bench replay

use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use rampart_bgp::{Monitor, Monitored, ReplayInput, RisLiveStats, parse_ris_live_line, replay};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Everything monitored, with an origin nobody uses: every element reaches every detector and
/// becomes event state — the worst case for the monitor.
fn everything() -> Vec<Monitored> {
    ["0.0.0.0/0", "::/0"]
        .iter()
        .map(|p| Monitored {
            prefix: p.parse().unwrap(),
            origins: vec![64_496],
            description: String::new(),
            ignore_more_specifics: false,
            group: "default".into(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let file = data("ris-rrc21.updates.20160811.1600.gz");
    let mut g = c.benchmark_group("mrt_rrc21_41k_elems");
    g.sample_size(20);
    g.bench_function("bgpkit_bare_iteration", |b| {
        b.iter(|| {
            let f = std::fs::File::open(&file).unwrap();
            let parser =
                bgpkit_parser::BgpkitParser::from_reader(flate2::read::MultiGzDecoder::new(f));
            parser.into_elem_iter().count()
        })
    });
    g.bench_function("replay_all_detectors", |b| {
        b.iter(|| {
            let mut monitor = Monitor::new(everything(), 3);
            let input = ReplayInput {
                updates: vec![file.clone()],
                ..Default::default()
            };
            let mut n = 0u64;
            replay(&input, &mut monitor, |_| n += 1).unwrap();
            n
        })
    });
    g.bench_function("replay_5_monitored_prefixes", |b| {
        b.iter(|| {
            let monitored = [
                ("93.181.192.0/19", 13118),
                ("200.12.26.0/24", 7004),
                ("89.186.32.0/19", 39759),
                ("2a01:6a8::/32", 34554),
                ("2001:df0:230::/48", 56237),
            ]
            .into_iter()
            .map(|(p, asn)| Monitored {
                prefix: p.parse().unwrap(),
                origins: vec![asn],
                description: String::new(),
                ignore_more_specifics: false,
                group: "default".into(),
            })
            .collect();
            let mut monitor = Monitor::new(monitored, 3);
            let input = ReplayInput {
                updates: vec![file.clone()],
                ..Default::default()
            };
            let mut n = 0u64;
            replay(&input, &mut monitor, |_| n += 1).unwrap();
            n
        })
    });
    g.finish();

    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(data("derived_from_mrt.rrc06.20150401.0000.jsonl.gz")).unwrap(),
    )
    .read_to_string(&mut text)
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut g = c.benchmark_group("ris_live_rrc06");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_and_monitor", |b| {
        b.iter(|| {
            let mut monitor = Monitor::new(everything(), 3);
            let mut stats = RisLiveStats::default();
            let mut events = 0;
            for line in &lines {
                if let Some(elems) = parse_ris_live_line(black_box(line), &mut stats) {
                    for e in &elems {
                        events += monitor.process(e).len();
                    }
                }
            }
            events
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
