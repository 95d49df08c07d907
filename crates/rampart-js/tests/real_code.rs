//! Real released libraries from npm (fetched by `scripts/js-testdata`, which `scripts/test`
//! runs first) and variants made with real tools: terser (mangle only), js-beautify, and an
//! acorn-based literal rewriter.

use rampart_js::{Analysis, Options, Verdict, analyze, diff};

mod common;
use common::{SKIMMER, corpus, data_dir};

fn load(rel: &str) -> (String, Analysis) {
    let path = corpus().join(rel);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = analyze(&src, &Options::default());
    (src, a)
}

fn compare(old: &str, new: &str) -> rampart_js::Diff {
    let (os, oa) = load(old);
    let (ns, na) = load(new);
    diff(&oa, &os, &na, &ns)
}

const LIBS: [&str; 4] = [
    "jquery_3.7.1/dist_jquery.js",
    "lodash_4.17.21/lodash.js",
    "bootstrap_5.3.3/dist_js_bootstrap.js",
    "vue_2.7.16/dist_vue.js",
];

#[test]
fn variants_of_one_version_are_trivial() {
    for lib in LIBS {
        let name = lib.replace('/', "_");
        for variant in ["mangled", "beautified", "literals"] {
            let d = compare(
                &format!("files/{lib}"),
                &format!("variants/{name}.{variant}.js"),
            );
            assert_eq!(
                d.verdict,
                Verdict::Trivial,
                "{lib} {variant}: {:?}",
                d.added_regions.first()
            );
            assert_eq!(d.similarity, 1.0);
        }
    }
}

#[test]
fn releases_of_a_library_are_changed_but_similar() {
    let d = compare(
        "files/jquery_3.6.0/dist_jquery.js",
        "files/jquery_3.7.1/dist_jquery.js",
    );
    assert_eq!(d.verdict, Verdict::Changed);
    assert!(d.similarity > 0.8, "jquery 3.6.0 → 3.7.1: {}", d.similarity);
    let d = compare(
        "files/lodash_4.17.15/lodash.js",
        "files/lodash_4.17.21/lodash.js",
    );
    assert_eq!(d.verdict, Verdict::Changed);
    assert!(
        d.similarity > 0.95,
        "lodash 4.17.15 → 4.17.21: {}",
        d.similarity
    );
    assert!(
        d.added_capabilities.is_empty() && d.added_domains.len() <= 1,
        "{d:?}"
    );
}

#[test]
fn unrelated_libraries_are_dissimilar() {
    for (a, b) in [
        (
            "files/jquery_3.7.1/dist_jquery.js",
            "files/lodash_4.17.21/lodash.js",
        ),
        (
            "files/vue_2.7.16/dist_vue.js",
            "files/bootstrap_5.3.3/dist_js_bootstrap.js",
        ),
    ] {
        let d = compare(a, b);
        assert!(d.similarity < 0.15, "{a} vs {b}: {}", d.similarity);
    }
}

#[test]
fn an_appended_skimmer_is_changed_located_and_explained() {
    let (src, old) = load("files/jquery_3.7.1/dist_jquery.js");
    let infected = format!("{src}\n{SKIMMER}");
    let new = analyze(&infected, &Options::default());
    let d = diff(&old, &src, &new, &infected);
    assert_eq!(d.verdict, Verdict::Changed);
    assert!(d.similarity > 0.98, "{}", d.similarity);
    let caps: Vec<&str> = d.added_capabilities.iter().map(|c| c.name()).collect();
    assert!(
        caps.contains(&"read:form-fields")
            || old
                .capabilities
                .iter()
                .any(|c| c.name() == "read:form-fields")
    );
    assert!(
        caps.contains(&"network:xhr") || old.capabilities.iter().any(|c| c.name() == "network:xhr")
    );
    assert_eq!(d.added_domains.iter().collect::<Vec<_>>(), ["example.com"]);
    assert!(d.is_dangerous());
    assert_eq!(d.added_regions.len(), 1, "{:?}", d.added_regions);
    let region = &d.added_regions[0].region;
    assert!(infected[region.start as usize..region.end as usize].starts_with("window.onload"));
    assert!(d.removed_regions.is_empty());
}

#[test]
fn real_magecart_samples_appended_to_jquery_are_found_at_the_end() {
    let Some(data) = data_dir() else { return };
    let (src, old) = load("files/jquery_3.7.1/dist_jquery.js");
    let mut samples = 0;
    let mut explained = 0;
    for entry in std::fs::read_dir(data.join("js/malicious/magecart")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("js") {
            continue;
        }
        // Parsed as data only: never executed.
        let bytes = std::fs::read(&path).unwrap();
        let block = String::from_utf8_lossy(&bytes);
        let infected = format!("{src}\n;\n{block}");
        let new = analyze(&infected, &Options::default());
        if new.parse_error_count > 0 {
            continue; // a fragment that does not parse on its own cannot be located structurally
        }
        samples += 1;
        let d = diff(&old, &src, &new, &infected);
        assert_eq!(d.verdict, Verdict::Changed, "{}", path.display());
        assert!(d.similarity > 0.5, "{}: {}", path.display(), d.similarity);
        let last = d
            .added_regions
            .last()
            .unwrap_or_else(|| panic!("{}: no added region", path.display()));
        assert!(
            last.region.start as usize > src.len(),
            "{}: added code located inside jQuery",
            path.display()
        );
        if !d.added_capabilities.is_empty() || !d.added_domains.is_empty() {
            explained += 1;
        }
    }
    assert!(samples >= 20, "only {samples} parseable samples");
    assert!(
        explained * 10 >= samples * 8,
        "only {explained} of {samples} appended samples added a capability or domain"
    );
    eprintln!("{explained} of {samples} appended Magecart samples added capabilities or domains");
}

#[test]
fn the_whole_corpus_parses_without_panics() {
    let mut files = 0;
    let mut clean = 0;
    for pkg in std::fs::read_dir(corpus().join("files")).unwrap() {
        for file in std::fs::read_dir(pkg.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let src = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let a = analyze(&src, &Options::default());
            files += 1;
            if a.parse_error_count == 0 {
                clean += 1;
                assert!(a.nodes > 10, "{}", path.display());
            }
        }
    }
    assert!(files >= 100, "corpus has {files} files");
    assert!(
        clean * 100 >= files * 95,
        "{clean} of {files} parse cleanly"
    );
}
