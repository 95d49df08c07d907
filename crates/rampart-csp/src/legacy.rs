//! The legacy `report-uri` format: `{"csp-report": {...}}` with kebab-case keys.
//!
//! Sent as `application/csp-report` by every browser (and as `application/json` by some older
//! ones). Field values are read leniently: browsers disagree on whether `status-code` or
//! `line-number` are numbers or strings, and a wrong type in a field we do not need must not
//! cost us the report.

use serde::{Deserialize, Deserializer};

use crate::normalize::{Limits, Outcome, RawViolation, SiteContext};

#[derive(Deserialize)]
pub(crate) struct LegacyEnvelope {
    #[serde(rename = "csp-report")]
    pub csp_report: Option<LegacyReport>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LegacyReport {
    #[serde(rename = "document-uri", deserialize_with = "lenient")]
    document_uri: Option<String>,
    #[serde(rename = "blocked-uri", deserialize_with = "lenient")]
    blocked_uri: Option<String>,
    #[serde(rename = "effective-directive", deserialize_with = "lenient")]
    effective_directive: Option<String>,
    #[serde(rename = "violated-directive", deserialize_with = "lenient")]
    violated_directive: Option<String>,
    #[serde(deserialize_with = "lenient")]
    disposition: Option<String>,
    #[serde(rename = "script-sample", deserialize_with = "lenient")]
    script_sample: Option<String>,
    #[serde(rename = "source-file", deserialize_with = "lenient")]
    source_file: Option<String>,
}

pub(crate) fn normalize(report: LegacyReport, site: &SiteContext<'_>, limits: &Limits) -> Outcome {
    RawViolation {
        document_url: report.document_uri,
        blocked: report.blocked_uri,
        effective_directive: report.effective_directive,
        violated_directive: report.violated_directive,
        disposition: report.disposition,
        sample: report.script_sample,
        source_file: report.source_file,
    }
    .normalize(site, limits)
}

/// Reads a JSON string (or number, rendered as text); anything else becomes `None`.
pub(crate) fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}
