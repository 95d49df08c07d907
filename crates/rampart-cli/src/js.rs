//! `rampart js fingerprint|diff`: human output by default, `--json` for machines.

use std::path::{Path, PathBuf};

use std::io::{self, Write};

use anyhow::Context;
use rampart_js::{Analysis, Diff, Model, Options, RegionChange, analyze};
use serde_json::json;

use crate::commands::Failure;

/// A file as the analyzer reads it.
pub struct Loaded {
    /// The JavaScript: the file itself, or for `.html`/`.htm` its `<script>` bodies joined
    /// (the markup is not JavaScript; well-known data blocks such as JSON-LD are left out).
    pub text: String,
    /// The file's own size and SHA-256 (for a script, those of `text`).
    pub bytes: usize,
    pub sha256: String,
    /// For HTML: how many `<script>` elements held code, and the external scripts it loads.
    pub html: Option<(usize, Vec<String>)>,
}

/// Reads a file for `fingerprint`, `diff`, `classify` and training alike, so all four judge
/// the same code. Bytes become text as a browser decodes them ([`rampart_js::decode_text`]:
/// byte-order marks, unmarked UTF-16, invalid UTF-8 replaced rather than refused).
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (size, sha256) = (bytes.len(), format!("{:x}", Sha256::digest(&bytes)));
    let is_html = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = rampart_js::decode_text(&bytes);
    if is_html && let Some(scripts) = rampart_js::extract_scripts(text.as_bytes()) {
        let code: Vec<_> = scripts.into_iter().filter(|s| !s.is_data_block()).collect();
        let inline = code.iter().filter(|s| s.src.is_none()).count();
        let external = code.iter().filter_map(|s| s.src.clone()).collect();
        let joined: Vec<String> = code.into_iter().map(|s| s.text).collect();
        return Ok(Loaded {
            text: joined.join("\n;\n"),
            bytes: size,
            sha256,
            html: Some((inline, external)),
        });
    }
    Ok(Loaded {
        text: text.into_owned(),
        bytes: size,
        sha256,
        html: None,
    })
}

/// The code of a file (see [`load`]).
pub fn read_script(path: &Path) -> anyhow::Result<String> {
    Ok(load(path)?.text)
}

fn names<T: serde::Serialize>(set: &std::collections::BTreeSet<T>) -> String {
    let list: Vec<String> = set
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    if list.is_empty() {
        "-".into()
    } else {
        list.join(", ")
    }
}

pub fn fingerprint(files: &[std::path::PathBuf], as_json: bool) -> Result<(), Failure> {
    let options = Options::default();
    let mut out = io::stdout().lock();
    for path in files {
        let file = load(path)?;
        let mut a = analyze(&file.text, &options);
        // `bytes` and `sha256` describe the file (what `sha256sum` prints), also for a page
        // whose scripts were analyzed.
        a.bytes = file.bytes;
        a.sha256 = file.sha256;
        if as_json {
            let mut v = serde_json::to_value(&a).context("serializing the analysis")?;
            v["file"] = json!(path.display().to_string());
            v["parse_errors"] = json!(a.parse_error_count);
            v["parse_error_messages"] = json!(a.parse_errors);
            if let Some((inline, external)) = &file.html {
                v["html"] = json!({ "inline_scripts": inline, "script_src": external });
            }
            writeln!(out, "{v}")?;
        } else {
            print_analysis(&mut out, path, &a)?;
            if let Some((inline, external)) = &file.html {
                writeln!(out, "  html          {inline} inline script(s)")?;
                for src in external {
                    writeln!(out, "  loads         {src}")?;
                }
            }
        }
    }
    Ok(())
}

fn print_analysis(out: &mut impl Write, path: &Path, a: &Analysis) -> io::Result<()> {
    writeln!(out, "{}", path.display())?;
    writeln!(out, "  bytes         {}", a.bytes)?;
    writeln!(out, "  sha256        {}", a.sha256)?;
    writeln!(out, "  structure     {}", a.structural_hash)?;
    writeln!(out, "  nodes         {}", a.nodes)?;
    writeln!(out, "  capabilities  {}", names(&a.capabilities))?;
    writeln!(out, "  domains       {}", names(&a.domains))?;
    writeln!(out, "  flows         {}", names(&a.flows))?;
    if a.parse_error_count > 0 {
        writeln!(
            out,
            "  parse errors  {} (first: {})",
            a.parse_error_count,
            a.parse_errors.first().map_or("", String::as_str)
        )?;
    }
    Ok(())
}

pub fn classify(files: &[PathBuf], as_json: bool, model: Option<&Path>) -> Result<(), Failure> {
    let loaded;
    let model = match model {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!("cannot read model {}: {e}", path.display()))
            })?;
            loaded = Model::from_json(&text)
                .map_err(|e| Failure::Usage(format!("model {}: {e}", path.display())))?;
            &loaded
        }
        None => Model::embedded(),
    };
    let options = Options::default();
    let mut out = io::stdout().lock();
    for path in files {
        let source = read_script(path)?;
        let c = rampart_js::classify(&source, &options, model);
        if as_json {
            let mut v = serde_json::to_value(&c).context("serializing the verdict")?;
            v["file"] = json!(path.display().to_string());
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{}", path.display())?;
            writeln!(
                out,
                "  score       {} ({})",
                c.score,
                if c.malicious { "MALICIOUS" } else { "clean" }
            )?;
            writeln!(
                out,
                "  categories  magecart {} · cryptomining {} · malware {}",
                c.categories.magecart, c.categories.cryptomining, c.categories.malware
            )?;
            for r in &c.reasons {
                writeln!(out, "  - {r}")?;
            }
        }
    }
    Ok(())
}

pub fn diff(old_path: &Path, new_path: &Path, as_json: bool) -> Result<(), Failure> {
    let options = Options::default();
    let (old_src, new_src) = (read_script(old_path)?, read_script(new_path)?);
    let (old, new) = (analyze(&old_src, &options), analyze(&new_src, &options));
    let d = rampart_js::diff(&old, &old_src, &new, &new_src);
    let mut out = io::stdout().lock();
    if as_json {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&d).context("serializing the diff")?
        )?;
    } else {
        print_diff(&mut out, &d, &old_src, &new_src)?;
    }
    Ok(())
}

/// Lines shown per changed region before "…".
const SHOWN_LINES: usize = 12;

fn print_region(
    out: &mut impl Write,
    sign: char,
    r: &RegionChange,
    source: &str,
) -> io::Result<()> {
    let code = source
        .get(r.region.start as usize..r.region.end as usize)
        .unwrap_or("");
    let name = r
        .region
        .name
        .as_deref()
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{sign} {}{name} at line {} ({} bytes)",
        r.region.kind,
        r.line,
        code.len()
    )?;
    let lines: Vec<&str> = code.lines().collect();
    for line in lines.iter().take(SHOWN_LINES) {
        let shown: String = line.chars().take(160).collect();
        writeln!(out, "  {sign} {shown}")?;
    }
    if lines.len() > SHOWN_LINES {
        writeln!(out, "  {sign} … {} more lines", lines.len() - SHOWN_LINES)?;
    }
    Ok(())
}

fn print_diff(out: &mut impl Write, d: &Diff, old_src: &str, new_src: &str) -> io::Result<()> {
    let verdict = serde_json::to_value(d.verdict)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    writeln!(out, "verdict     {verdict}")?;
    writeln!(out, "similarity  {:.3}", d.similarity)?;
    writeln!(out, "+ capabilities  {}", names(&d.added_capabilities))?;
    writeln!(out, "- capabilities  {}", names(&d.removed_capabilities))?;
    writeln!(out, "+ domains       {}", names(&d.added_domains))?;
    writeln!(out, "- domains       {}", names(&d.removed_domains))?;
    writeln!(out, "+ flows         {}", names(&d.added_flows))?;
    for r in &d.added_regions {
        print_region(out, '+', r, new_src)?;
    }
    for r in &d.removed_regions {
        print_region(out, '-', r, old_src)?;
    }
    Ok(())
}
