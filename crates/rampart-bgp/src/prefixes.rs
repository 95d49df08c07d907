//! The monitored prefixes: native `[[bgp.prefixes]]` entries and BGPalerter's `prefixes.yml`,
//! read unchanged (`description`, `asn` as one number or a list, `ignoreMorespecifics`,
//! `ignore`, `group`, and `options.monitorASns`).

use ipnet::IpNet;
use serde_yaml::Value;

/// One monitored prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitored {
    pub prefix: IpNet,
    /// Origins allowed to announce it (and its more-specifics).
    pub origins: Vec<u32>,
    pub description: String,
    pub ignore_more_specifics: bool,
    pub group: String,
}

/// Why a prefixes file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: not YAML: {1}")]
    Yaml(String, String),
    #[error("{0}: {1}: {2}")]
    Entry(String, String, String),
}

fn asns(v: Option<&Value>) -> Option<Vec<u32>> {
    match v? {
        Value::Number(n) => Some(vec![u32::try_from(n.as_u64()?).ok()?]),
        Value::Sequence(list) => list
            .iter()
            .map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect(),
        Value::String(s) => s.parse().ok().map(|n| vec![n]),
        _ => None,
    }
}

/// Parses BGPalerter's `prefixes.yml`; `origin` names the file in errors. Entries with
/// `ignore: true` are left out. Returns the prefixes and the `options.monitorASns` list.
pub fn parse_prefixes_yml(
    text: &str,
    origin: &str,
) -> Result<(Vec<Monitored>, Vec<u32>), PrefixError> {
    let doc: Value =
        serde_yaml::from_str(text).map_err(|e| PrefixError::Yaml(origin.into(), e.to_string()))?;
    let Value::Mapping(map) = doc else {
        return Err(PrefixError::Yaml(
            origin.into(),
            "the top level is not a mapping".into(),
        ));
    };
    let mut out = Vec::new();
    let mut monitor_asns = Vec::new();
    for (key, value) in &map {
        let key = key
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{key:?}"));
        if key == "options" {
            if let Some(Value::Mapping(asns)) = value.get("monitorASns") {
                monitor_asns.extend(
                    asns.keys()
                        .filter_map(|k| k.as_u64().or_else(|| k.as_str()?.parse().ok()))
                        .filter_map(|n| u32::try_from(n).ok()),
                );
            }
            continue;
        }
        let prefix: IpNet = key
            .parse()
            .map_err(|_| PrefixError::Entry(origin.into(), key.clone(), "not a prefix".into()))?;
        if value
            .get("ignore")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            continue;
        }
        let origins = asns(value.get("asn")).ok_or_else(|| {
            PrefixError::Entry(
                origin.into(),
                key.clone(),
                "asn must be a number or a list of numbers".into(),
            )
        })?;
        out.push(Monitored {
            prefix: prefix.trunc(),
            origins,
            description: value
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            ignore_more_specifics: value
                .get("ignoreMorespecifics")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            group: value
                .get("group")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string(),
        });
    }
    out.sort_by_key(|m| m.prefix);
    Ok((out, monitor_asns))
}

/// Reads and parses a `prefixes.yml` file.
pub fn load_prefixes_yml(
    path: &std::path::Path,
) -> Result<(Vec<Monitored>, Vec<u32>), PrefixError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PrefixError::Read(name.clone(), e))?;
    parse_prefixes_yml(&text, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgpalerter_files_are_read_unchanged() {
        let yml = r#"
165.254.255.0/24:
  description: Rampart test prefix
  asn: 15562
  ignoreMorespecifics: false
  ignore: false
  group: noc
2a00:5884::/32:
  description: two origins
  asn: [204092, 45009]
  ignoreMorespecifics: true
10.0.0.0/8:
  asn: 1
  ignore: true
options:
  monitorASns:
    2914:
      group: default
"#;
        let (p, asns) = parse_prefixes_yml(yml, "prefixes.yml").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].prefix.to_string(), "165.254.255.0/24");
        assert_eq!(
            (p[0].origins.clone(), p[0].group.as_str()),
            (vec![15562], "noc")
        );
        assert_eq!(p[1].origins, vec![204092, 45009]);
        assert!(p[1].ignore_more_specifics);
        assert_eq!(asns, vec![2914]);
        let err = parse_prefixes_yml("nonsense/99:\n  asn: 1\n", "p.yml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.yml") && err.contains("nonsense/99"),
            "{err}"
        );
    }
}
