//! Prints every field of the analysis of every file under the given directories, with and
//! without the classifier's features: run it before and after a change to the analysis and
//! compare the outputs (`diff`) to show a refactor changes nothing.
//!
//!   cargo run --release -p rampart-js --example dump_analyses -- target/js-testdata/files ../shared/data/js > before.txt
use rampart_js::{Options, analyze};
use std::io::Write;
fn walkdir(d: &str, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(d) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walkdir(p.to_str().unwrap(), out)
        } else {
            out.push(p.to_string_lossy().into_owned())
        }
    }
}
fn main() {
    let mut files = vec![];
    for d in std::env::args().skip(1) {
        walkdir(&d, &mut files);
    }
    files.sort();
    let mut o = std::io::BufWriter::new(std::io::stdout());
    for f in files {
        let Ok(b) = std::fs::read(&f) else { continue };
        let src = String::from_utf8_lossy(&b);
        for features in [false, true] {
            let a = analyze(
                &src,
                &Options {
                    features,
                    ..Options::default()
                },
            );
            let sh: u64 = a
                .shingles
                .hashes
                .iter()
                .fold(0u64, |h, x| h.wrapping_mul(31).wrapping_add(*x));
            let fv: Vec<u32> = a.features.iter().map(|x| x.to_bits()).collect();
            writeln!(o, "{f} {features} {} {} {} {:?} {:?} {:?} {:?} {} shingles={} {}/{} regions={:?} features={:?} payloads={:?} evidence={:?} acts={}",
                a.sha256, a.structural_hash, a.nodes, a.capabilities, a.domains, a.flows, a.parse_errors, a.parse_error_count,
                sh, a.shingles.hashes.len(), a.shingles.sample_bits, a.regions, fv, a.payloads, a.evidence, a.acts).unwrap();
        }
    }
}
