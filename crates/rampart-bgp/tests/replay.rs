//! The route monitor on real captures (counts, a quiet replay, MRT ≡ RIS Live) and on an incident
//! re-enacted from published facts, asserting the exact events including "resolved".

use std::path::{Path, PathBuf};

use rampart_bgp::{
    Event, Monitor, Monitored, ReplayInput, load_prefixes_yml, read_mrt, read_ris_live, replay,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn incident(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/incidents")
        .join(name)
}

fn run(input: &ReplayInput, monitored: Vec<Monitored>, min_peers: usize) -> Vec<Event> {
    let mut monitor = Monitor::new(monitored, min_peers);
    let mut events = Vec::new();
    replay(input, &mut monitor, |e| events.push(e.clone())).unwrap();
    events
}

#[test]
fn mrt_and_ris_live_counts_match_the_reference_tools() {
    let count = |path: &Path| {
        let mut n = 0;
        let s = read_mrt(path, |_| n += 1).unwrap();
        assert_eq!(n, s.announcements + s.withdrawals);
        (s.announcements, s.withdrawals, s.malformed)
    };
    assert_eq!(
        count(&data("ris-rrc21.updates.20160811.1600.gz")),
        (39_256, 1_956, 0)
    );
    assert_eq!(
        count(&data("ris-rrc06.updates.20150401.0000.gz")),
        (1_435, 122, 0)
    );
    assert_eq!(
        count(&data("routeviews-AS6447.updates.20240914.2230.bz2")),
        (159, 109, 0)
    );
    assert_eq!(
        count(&data("ris-rrc00.bview.20180919.0800.one-prefix-64k.gz")),
        (23, 0, 0)
    );
    // TABLE_DUMP_V2 with ADD-PATH (RFC 8050 subtypes 8 and 10): 31 prefixes, two paths each.
    assert_eq!(
        count(&data("lab-bird.rib.ipv4_addpath.20160107.gz")),
        (62, 0, 0)
    );
    assert_eq!(
        count(&data("lab-bird.rib.ipv6_addpath.20160107.gz")),
        (62, 0, 0)
    );

    let s = read_ris_live(
        &data("derived_from_mrt.rrc06.20150401.0000.jsonl.gz"),
        |_| {},
    )
    .unwrap();
    assert_eq!((s.announcements, s.withdrawals), (1_435, 122));
    let s = read_ris_live(
        &data("libbgpstream_ris-live-stream.2019-03-26.jsonl"),
        |_| {},
    )
    .unwrap();
    assert_eq!(
        (s.updates, s.malformed),
        (1, 1),
        "one UPDATE; the truncated last line is counted, not fatal"
    );
    let s = read_ris_live(&data("ris_live_update_samples.jsonl"), |_| {}).unwrap();
    assert_eq!(
        (s.updates, s.announcements, s.withdrawals, s.malformed),
        (8, 10, 3, 0)
    );
}

#[test]
fn four_byte_paths_from_a_rib_record_over_64k() {
    let mut paths = Vec::new();
    read_mrt(
        &data("ris-rrc00.bview.20180919.0800.one-prefix-64k.gz"),
        |e| {
            assert_eq!(e.prefix.to_string(), "2001:579:1040::/46");
            if let rampart_bgp::ElemKind::Announce { path, origin } = e.kind {
                assert_eq!(origin, Some(22773));
                paths.push(path);
            }
        },
    )
    .unwrap();
    assert!(paths.contains(&vec![3333, 2914, 22773]), "{paths:?}");
}

/// Prefixes and origins as the rrc21 capture itself shows them: their owners would list them.
fn rrc21_prefixes() -> Vec<Monitored> {
    [
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
    .collect()
}

#[test]
fn a_quiet_day_of_real_updates_raises_nothing() {
    let mrt = ReplayInput {
        updates: vec![data("ris-rrc21.updates.20160811.1600.gz")],
        ..Default::default()
    };
    assert_eq!(run(&mrt, rrc21_prefixes(), 3), Vec::new());
}

#[test]
fn mrt_and_its_ris_live_encoding_give_the_same_events() {
    // A deliberately wrong expected origin turns every observation into an event.
    let wrong: Vec<Monitored> = rrc21_prefixes()
        .into_iter()
        .map(|mut m| {
            m.origins = vec![64_496];
            m
        })
        .collect();
    let mrt = ReplayInput {
        updates: vec![data("ris-rrc06.updates.20150401.0000.gz")],
        ..Default::default()
    };
    let live = ReplayInput {
        ris_live: vec![data("derived_from_mrt.rrc06.20150401.0000.jsonl.gz")],
        ..Default::default()
    };
    let all: Vec<Monitored> = ["0.0.0.0/0", "::/0"]
        .iter()
        .map(|p| Monitored {
            prefix: p.parse().unwrap(),
            origins: vec![64_496],
            description: String::new(),
            ignore_more_specifics: false,
            group: "default".into(),
        })
        .collect();
    // Every rrc06 update comes from peer AS25152: one peer suffices here.
    let a = run(&mrt, all.clone(), 1);
    let b = run(&live, all, 1);
    assert!(a.len() > 10, "{}", a.len());
    assert_eq!(a, b);
    assert_eq!(
        run(&mrt, wrong.clone(), 1),
        run(&mrt, wrong, 1),
        "deterministic"
    );
}

/// (event, kind, prefix, origin, first_seen, time)
type Line = (&'static str, String, String, Option<u32>, String, String);

#[test]
fn youtube_pakistan_telecom_2008() {
    let (monitored, _) = load_prefixes_yml(&incident("youtube-pakistan-2008.yml")).unwrap();
    let input = ReplayInput {
        ris_live: vec![incident("youtube-pakistan-2008.jsonl")],
        ..Default::default()
    };
    let events = run(&input, monitored.clone(), 3);
    let summary: Vec<Line> = events
        .iter()
        .map(|e| {
            (
                e.event,
                format!("{:?}", e.kind),
                e.prefix.clone(),
                e.origin,
                e.first_seen.clone(),
                e.time.clone(),
            )
        })
        .collect();
    let t = |s: &str| format!("2008-02-24T{s}Z");
    assert_eq!(
        summary,
        vec![
            (
                "open",
                "SubprefixHijack".into(),
                "208.65.153.0/24".into(),
                Some(17557),
                t("18:47:45"),
                t("18:47:50")
            ),
            (
                "open",
                "MoreSpecific".into(),
                "208.65.153.0/25".into(),
                Some(36561),
                t("20:18:43"),
                t("20:18:46")
            ),
            (
                "open",
                "MoreSpecific".into(),
                "208.65.153.128/25".into(),
                Some(36561),
                t("20:18:43"),
                t("20:18:46")
            ),
            (
                "resolved",
                "SubprefixHijack".into(),
                "208.65.153.0/24".into(),
                Some(17557),
                t("18:47:45"),
                t("21:01:15")
            ),
        ]
    );
    assert_eq!(events[0].as_path, vec![3333, 3491, 17557]);
    assert_eq!(events[0].expected_origins, vec![36561]);
    assert_eq!(events[0].peers, 3);

    // YouTube's own /24 reached only two peers: under min_peers it never opened. With one peer
    // enough, it does; with ignoreMorespecifics, only the hijack remains.
    let low = run(&input, monitored.clone(), 1);
    assert!(
        low.iter()
            .any(|e| e.prefix == "208.65.153.0/24" && e.origin == Some(36561))
    );
    let mut quiet = monitored;
    quiet[0].ignore_more_specifics = true;
    let only_hijack = run(&input, quiet, 3);
    assert_eq!(only_hijack.len(), 2);
    assert!(only_hijack.iter().all(|e| e.origin == Some(17557)));
}

#[test]
fn a_quiet_replay_stays_quiet_with_real_vrps_and_as_relationships() {
    let vrps = rampart_bgp::Vrps::load(&data("rpki-validator_test.5000vrps.json")).unwrap();
    assert_eq!((vrps.len(), vrps.skipped), (5_000, 0));
    let rel = rampart_bgp::AsRel::load(&data("20161101.as-rel.txt.bz2")).unwrap();
    assert_eq!((rel.len(), rel.skipped), (239_064, 0));
    let stayrtr =
        rampart_bgp::Vrps::load(&data("stayrtr_test.rpki-client.2023-07-27.json")).unwrap();
    assert_eq!(stayrtr.len(), 19);
    assert_eq!(
        stayrtr.validate(&"1.0.0.0/24".parse().unwrap(), Some(13335)),
        rampart_bgp::RpkiState::Valid
    );

    let mut monitor = Monitor::new(rrc21_prefixes(), 3)
        .with_vrps(vrps)
        .with_as_rel(rel);
    let input = ReplayInput {
        updates: vec![data("ris-rrc21.updates.20160811.1600.gz")],
        ..Default::default()
    };
    let mut events = Vec::new();
    replay(&input, &mut monitor, |e| events.push(e.clone())).unwrap();
    assert_eq!(events, Vec::new());
}

#[test]
fn verizon_dqe_route_leak_2019() {
    let (monitored, _) = load_prefixes_yml(&incident("verizon-dqe-2019.yml")).unwrap();
    let mut monitor = Monitor::new(monitored, 3)
        .with_vrps(rampart_bgp::Vrps::load(&incident("verizon-dqe-2019.vrps.json")).unwrap())
        .with_as_rel(rampart_bgp::AsRel::load(&incident("verizon-dqe-2019.as-rel.txt")).unwrap());
    let input = ReplayInput {
        ris_live: vec![incident("verizon-dqe-2019.jsonl")],
        ..Default::default()
    };
    let mut events = Vec::new();
    replay(&input, &mut monitor, |e| events.push(e.clone())).unwrap();
    let lines: Vec<String> = events
        .iter()
        .map(|e| {
            let (leaker, upstream) = (
                e.leaker.map(|a| a.to_string()),
                e.upstream.map(|a| a.to_string()),
            );
            let who = leaker.or(upstream).unwrap_or_default();
            format!(
                "{} {:?} {} {:?} {who} {:?} {}",
                e.event, e.kind, e.prefix, e.origin, e.rpki, e.time
            )
        })
        .collect();
    let mut expected = Vec::new();
    for (what, at) in [("open", "10:34:30"), ("resolved", "12:29:10")] {
        for prefix in ["104.20.0.0/21", "104.20.8.0/21"] {
            // The leak also brought Cloudflare's space in through an upstream (3356) that the
            // baseline (the first five minutes, no RIB given) never showed.
            for (kind, who) in [
                ("MoreSpecific", ""),
                ("RouteLeak", "396531"),
                ("RpkiInvalid", ""),
                ("NewUpstream", "3356"),
            ] {
                expected.push(format!(
                    "{what} {kind} {prefix} Some(13335) {who} Some(\"invalid\") 2019-06-24T{at}Z"
                ));
            }
        }
    }
    assert_eq!(lines, expected);
    assert_eq!(
        events[1].as_path,
        vec![3333, 701, 396531, 33154, 3356, 13335]
    );
}

#[test]
fn aspa_from_rpki_client_json_names_a_leaker_without_caida_data() {
    let aspas =
        rampart_bgp::AsRel::load_aspa(&data("stayrtr_test.rpki-client.2023-07-27.json")).unwrap();
    let as15562 = aspas
        .iter()
        .find(|(c, _)| *c == 15562)
        .expect("ASPA of AS15562");
    assert_eq!(as15562.1, vec![2914, 8283, 51088, 206238]);
    let monitored = vec![Monitored {
        prefix: "203.0.113.0/24".parse().unwrap(),
        origins: vec![64511],
        description: String::new(),
        ignore_more_specifics: false,
        group: "default".into(),
    }];
    let mut monitor = Monitor::new(monitored, 1).with_aspa(&aspas);
    // AS15562 learned the route from its provider 8283 and passed it to its provider 2914.
    let elem = rampart_bgp::Elem {
        time: 1_700_000_000.0,
        peer_ip: "192.0.2.1".parse().unwrap(),
        peer_asn: 3333,
        prefix: "203.0.113.0/24".parse().unwrap(),
        kind: rampart_bgp::ElemKind::Announce {
            path: vec![3333, 2914, 15562, 8283, 64511],
            origin: Some(64511),
        },
    };
    let events = monitor.process(&elem);
    let leak = events
        .iter()
        .find(|e| e.kind == rampart_bgp::EventKind::RouteLeak)
        .expect("a route leak");
    assert_eq!(leak.leaker, Some(15562));
}

#[test]
fn monitored_ases_announcing_unlisted_prefixes_raise_new_prefix() {
    // BGPalerter's options.monitorASns: AS7004 is watched, its 200.12.26.0/24 is not listed.
    let (monitored, asns) = rampart_bgp::parse_prefixes_yml(
        "93.181.192.0/19:\n  asn: 13118\noptions:\n  monitorASns:\n    7004:\n      group: default\n",
        "prefixes.yml",
    )
    .unwrap();
    assert_eq!(asns, vec![7004]);
    let mut monitor = Monitor::new(monitored, 3).with_monitored_asns(&asns);
    let input = ReplayInput {
        updates: vec![data("ris-rrc21.updates.20160811.1600.gz")],
        ..Default::default()
    };
    let mut events = Vec::new();
    replay(&input, &mut monitor, |e| events.push(e.clone())).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, rampart_bgp::EventKind::NewPrefix);
    assert_eq!(
        (events[0].prefix.as_str(), events[0].origin),
        ("200.12.26.0/24", Some(7004))
    );
    assert!(events[0].expected_origins.is_empty());
}
