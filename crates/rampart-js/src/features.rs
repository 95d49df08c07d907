//! The feature vector the classifier scores: what a script does (capabilities, data flows), how
//! it hides it (string arrays, decoder chains, escape density, literal entropy, hex names), what
//! it talks about (payment-field, miner and dropper vocabulary in names and strings), and what
//! its syntax looks like (hashed node-type trigrams, hashed property/global names).
//!
//! Three blocks, one vector: [`SIGNALS`] (named, so a score can be explained in words), then
//! [`NGRAM_BUCKETS`] node-type trigram frequencies (square-rooted, so size does not dominate),
//! then [`NAME_BUCKETS`] presence bits of hashed names. Every value is bounded to about [0, 1]
//! before the model standardizes it.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use oxc_ast::AstKind;
use oxc_ast::ast::Expression;
use oxc_semantic::Semantic;
use xxhash_rust::xxh3::xxh3_64;

use crate::capabilities::{Capability, is_global_this_idiom};
use crate::normalize::Stream;
use crate::resolve::Resolver;

/// Buckets of hashed node-type trigrams.
pub const NGRAM_BUCKETS: usize = 1024;
/// Buckets of hashed property and global names.
pub const NAME_BUCKETS: usize = 512;
/// Longest string literal (bytes) scanned for vocabulary; longer ones are counted as blobs.
const MAX_SCANNED_LITERAL: usize = 512;

/// Named signals: `(id, what it means in words)`. The order is the vector's order and part of
/// the model file's contract (see `FEATURES_VERSION`).
pub const SIGNALS: &[(&str, &str)] = &[
    ("size", "size of the script"),
    ("nodes", "number of syntax nodes"),
    ("cap:network:fetch", "calls fetch()"),
    ("cap:network:xhr", "sends XMLHttpRequests"),
    ("cap:network:beacon", "sends data with navigator.sendBeacon"),
    ("cap:network:websocket", "opens WebSockets"),
    ("cap:network:image", "sends requests through image URLs"),
    ("cap:network:script-inject", "injects <script> elements"),
    ("cap:network:form-action", "rewrites form actions"),
    ("cap:read:form-fields", "reads form fields"),
    ("cap:read:cookie", "reads cookies"),
    ("cap:read:storage", "reads browser storage"),
    (
        "cap:dynamic-code",
        "runs code built at run time (eval, Function, string timers)",
    ),
    ("cap:decode:base64", "decodes base64 (atob)"),
    ("cap:decode:charcode", "builds strings from character codes"),
    (
        "cap:listen:submit-or-click",
        "listens for submit or click events",
    ),
    ("cap:wasm", "uses WebAssembly"),
    ("cap:worker", "starts Web Workers"),
    ("cap:dom:write", "writes HTML into the page"),
    ("cap:network:navigate", "navigates the page away"),
    ("cap:encode:base64", "encodes data as base64 (btoa)"),
    ("flow:any", "sensitive data reaches a network call"),
    ("flow:form", "form-field values reach a network call"),
    ("flow:cookie", "cookies reach a network call"),
    ("flow:storage", "storage contents reach a network call"),
    ("domains", "number of domains named in URL literals"),
    ("ip_urls", "URLs with a bare IP address"),
    ("strings_per_node", "density of string literals"),
    ("string_len_mean", "mean string-literal length"),
    ("string_len_max", "longest string literal"),
    ("string_entropy", "entropy of long string literals"),
    (
        "packed_blobs",
        "long high-entropy string blobs (packed payloads)",
    ),
    ("escapes", "density of \\x/\\u escapes in the source"),
    ("hex_names", "obfuscator-style names (_0x…)"),
    ("short_names", "share of one-letter names"),
    ("name_len", "mean name length"),
    (
        "string_array",
        "a string array that the code indexes (obfuscator packing)",
    ),
    (
        "decoders",
        "calls to decoders (atob, fromCharCode, unescape, charCodeAt, decodeURIComponent)",
    ),
    ("evals", "calls to eval, Function or string timers"),
    (
        "kw:payment",
        "mentions payment-card fields (card number, cvv, expiry, billing, checkout)",
    ),
    (
        "kw:miner",
        "mentions crypto-mining (coinhive, cryptonight, hashes, throttle, monero)",
    ),
    (
        "kw:dropper",
        "mentions Windows scripting objects (WScript, ActiveX, ADODB, .exe)",
    ),
    (
        "kw:exploit",
        "mentions exploit-kit plumbing (iframes, plugins, shellcode, VBScript)",
    ),
    (
        "kw:exfil",
        "mentions exfiltration helpers (gate, collect, send data, base64 of a form)",
    ),
    ("doc_write", "document.write calls"),
    ("create_iframe", "creates iframes"),
    ("create_script", "creates script elements"),
    ("hardware", "reads navigator.hardwareConcurrency"),
    ("line_max", "longest line"),
    ("line_mean", "mean line length"),
    ("lines", "number of lines"),
    ("whitespace", "share of whitespace"),
    ("comments", "share of comments"),
    ("hex_numbers", "density of hex number literals"),
    ("parse_errors", "does not parse cleanly"),
    ("string_concat", "string concatenation density"),
    (
        "packer",
        "string-rebuilding calls (split, reverse, join, replace, charAt)",
    ),
    (
        "packer_signature",
        "Dean Edwards packer signature (p,a,c,k,e,d)",
    ),
    ("url_literals", "URL literals"),
    ("globals", "share of references to globals"),
    ("miner_combo", "WebSocket plus a worker or WebAssembly"),
    ("skimmer_combo", "reads form fields and has a network sink"),
];

/// Bump when the meaning or order of any feature changes; a model file names the version it
/// was trained for and is refused otherwise. 2: flows resolve string-array names. 3:
/// `Function("return this")` is not dynamic code. 4: names and strings built in variables are
/// folded, and `Function` reached through `.constructor` counts as `Function` (`resolve.rs`).
pub const FEATURES_VERSION: u32 = 4;

/// Total length of the vector.
pub const fn dimension() -> usize {
    SIGNALS.len() + NGRAM_BUCKETS + NAME_BUCKETS
}

/// Human name of feature `i` (for model inspection and reasons).
pub fn feature_name(i: usize) -> String {
    if i < SIGNALS.len() {
        SIGNALS[i].0.to_string()
    } else if i < SIGNALS.len() + NGRAM_BUCKETS {
        format!("ngram:{}", i - SIGNALS.len())
    } else {
        format!("name:{}", i - SIGNALS.len() - NGRAM_BUCKETS)
    }
}

/// Index of a named signal (panics on a typo: names are compile-time constants).
fn idx(name: &str) -> usize {
    SIGNALS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no signal {name}"))
}

/// Vocabulary counted in lowercase names and strings, by signal.
const VOCABULARY: &[(&str, &[&str])] = &[
    (
        "kw:payment",
        &[
            "cc_number",
            "ccnumber",
            "cc-number",
            "cardnumber",
            "card_number",
            "cc_cid",
            "cvv",
            "cvc",
            "cc_exp",
            "expiry",
            "expiration",
            "billing",
            "checkout",
            "onestep",
            "payment",
            "firecheckout",
            "credit",
            "cc_owner",
            "cardholder",
        ],
    ),
    (
        "kw:miner",
        &[
            "coinhive",
            "cryptonight",
            "miner",
            "mining",
            "stratum",
            "hashes",
            "hashrate",
            "throttle",
            "monero",
            "xmr",
            "cryptoloot",
            "webminer",
            "nonce",
            "job_id",
        ],
    ),
    (
        "kw:dropper",
        &[
            "wscript",
            "activexobject",
            "adodb",
            "scripting.filesystemobject",
            "msxml2",
            "winhttp",
            ".exe",
            "cmd.exe",
            "powershell",
            "%temp%",
            "shell.application",
            "savetofile",
            "responsebody",
            "expandenvironmentstrings",
            "createobject",
        ],
    ),
    (
        "kw:exploit",
        &[
            "iframe",
            "shockwave",
            "application/x-java",
            "vbscript",
            "shellcode",
            "unescape",
            "plugindetect",
            "java applet",
            "clsid",
            "classid",
            "%u",
            "silverlight",
        ],
    ),
    (
        "kw:exfil",
        &[
            "gate",
            "collect",
            "senddata",
            "sendform",
            "exfil",
            "grabber",
            "logger",
            "track.php",
            "/ajax/",
            "base64_encode",
            "image()",
            "data=",
        ],
    ),
];

/// Per [`VOCABULARY`] signal, how many times its words occur in the haystack — each word counted
/// as `str::matches` counts it (leftmost, non-overlapping), all words in one pass of an
/// Aho-Corasick automaton: one `matches` scan per word was over a quarter of classify time.
fn count_vocabulary(haystack: &str) -> Vec<usize> {
    static WORDS: LazyLock<(AhoCorasick, Vec<usize>)> = LazyLock::new(|| {
        let (words, signals): (Vec<&str>, Vec<usize>) = VOCABULARY
            .iter()
            .enumerate()
            .flat_map(|(i, (_, words))| words.iter().map(move |w| (*w, i)))
            .unzip();
        let automaton = AhoCorasick::new(words).expect("a fixed, valid word list");
        (automaton, signals)
    });
    let (automaton, signals) = &*WORDS;
    let mut counts = vec![0usize; VOCABULARY.len()];
    // End of each word's last counted occurrence, for the non-overlapping rule.
    let mut last_end = vec![0usize; signals.len()];
    for m in automaton.find_overlapping_iter(haystack) {
        let w = m.pattern().as_usize();
        if m.start() >= last_end[w] {
            last_end[w] = m.end();
            counts[signals[w]] += 1;
        }
    }
    counts
}

/// Shannon entropy (bits per byte) of a string.
fn entropy(s: &str) -> f32 {
    let mut counts = [0u32; 256];
    for &b in s.as_bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// `log2(1 + x) / scale`, clipped to [0, 1]: counts and sizes on a bounded scale.
fn logc(x: f32, scale: f32) -> f32 {
    ((1.0 + x).log2() / scale).clamp(0.0, 1.0)
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 {
        0.0
    } else {
        (a as f32 / b as f32).clamp(0.0, 1.0)
    }
}

fn is_hex_name(name: &str) -> bool {
    name.strip_prefix("_0x")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn looks_like_ip_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .or_else(|| s.strip_prefix("//"));
    rest.is_some_and(|r| {
        let host = r.split(['/', ':', '?']).next().unwrap_or("");
        host.split('.').count() == 4
            && host
                .split('.')
                .all(|p| !p.is_empty() && p.parse::<u8>().is_ok())
    })
}

/// Literal, name and call counts, gathered node by node (see `walk.rs`).
pub(crate) struct Counter {
    haystack: String,
    strings: usize,
    string_bytes: usize,
    string_max: usize,
    entropy_sum: f32,
    entropy_n: usize,
    blobs: usize,
    ip_urls: usize,
    urls: usize,
    decoders: usize,
    evals: usize,
    doc_write: usize,
    iframes: usize,
    scripts: usize,
    hardware: bool,
    concat: usize,
    packer: usize,
    global_refs: usize,
    refs: usize,
    name_bits: Vec<bool>,
}

impl Default for Counter {
    fn default() -> Self {
        Self {
            haystack: String::new(),
            strings: 0,
            string_bytes: 0,
            string_max: 0,
            entropy_sum: 0.0,
            entropy_n: 0,
            blobs: 0,
            ip_urls: 0,
            urls: 0,
            decoders: 0,
            evals: 0,
            doc_write: 0,
            iframes: 0,
            scripts: 0,
            hardware: false,
            concat: 0,
            packer: 0,
            global_refs: 0,
            refs: 0,
            name_bits: vec![false; NAME_BUCKETS],
        }
    }
}

impl Counter {
    fn note_name(&mut self, name: &str) {
        self.name_bits[(xxh3_64(name.as_bytes()) % NAME_BUCKETS as u64) as usize] = true;
        self.haystack.push(' ');
        self.haystack
            .extend(name.chars().map(|c| c.to_ascii_lowercase()));
    }

    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node<'a>(&mut self, kind: &AstKind<'a>, resolve: &Resolver<'_, 'a>) {
        match kind {
            AstKind::StringLiteral(s) => {
                let text = s.value.as_str();
                self.strings += 1;
                self.string_bytes += text.len();
                self.string_max = self.string_max.max(text.len());
                if text.len() >= 16 {
                    let e = entropy(text);
                    self.entropy_sum += e;
                    self.entropy_n += 1;
                    if text.len() >= 64 && e > 4.5 {
                        self.blobs += 1;
                    }
                }
                if text.contains("://") || text.starts_with("//") {
                    self.urls += 1;
                    self.ip_urls += usize::from(looks_like_ip_url(text));
                }
                if text.len() <= MAX_SCANNED_LITERAL {
                    self.haystack.push(' ');
                    self.haystack
                        .extend(text.chars().map(|c| c.to_ascii_lowercase()));
                }
            }
            AstKind::IdentifierName(p) => {
                let name = p.name.as_str();
                self.note_name(name);
                match name {
                    "hardwareConcurrency" => self.hardware = true,
                    "split" | "reverse" | "join" | "replace" | "charAt" | "substr" => {
                        self.packer += 1
                    }
                    _ => {}
                }
            }
            AstKind::IdentifierReference(r) => {
                self.refs += 1;
                if resolve.is_global(r) {
                    self.global_refs += 1;
                    self.note_name(r.name.as_str());
                }
            }
            AstKind::ComputedMemberExpression(m) => {
                if let Some(name) = resolve.const_string(&m.expression)
                    && !matches!(m.expression, Expression::StringLiteral(_))
                {
                    self.note_name(name);
                }
            }
            AstKind::BinaryExpression(b)
                if b.operator.is_arithmetic()
                    && (matches!(b.left, Expression::StringLiteral(_))
                        || matches!(b.right, Expression::StringLiteral(_))) =>
            {
                self.concat += 1;
            }
            AstKind::CallExpression(call) => match resolve.callee_name(&call.callee) {
                Some(
                    "atob" | "fromCharCode" | "unescape" | "charCodeAt" | "decodeURIComponent"
                    | "decodeURI" | "escape",
                ) => self.decoders += 1,
                Some("Function") if is_global_this_idiom(&call.arguments, resolve) => {}
                Some("eval" | "Function" | "execScript") => self.evals += 1,
                Some("setTimeout" | "setInterval")
                    if call
                        .arguments
                        .first()
                        .and_then(|a| a.as_expression())
                        .is_some_and(|e| {
                            matches!(
                                e,
                                Expression::StringLiteral(_) | Expression::BinaryExpression(_)
                            )
                        }) =>
                {
                    self.evals += 1
                }
                Some("write" | "writeln") => self.doc_write += 1,
                Some("createElement") => {
                    match resolve
                        .first_string(&call.arguments)
                        .map(str::to_ascii_lowercase)
                        .as_deref()
                    {
                        Some("iframe") => self.iframes += 1,
                        Some("script") => self.scripts += 1,
                        _ => {}
                    }
                }
                _ => {}
            },
            AstKind::NewExpression(new)
                if resolve.callee_name(&new.callee) == Some("Function")
                    && !is_global_this_idiom(&new.arguments, resolve) =>
            {
                self.evals += 1;
            }
            _ => {}
        }
    }
}

/// What the rest of the same analysis found, which the vector also reads.
pub(crate) struct Findings<'f> {
    pub caps: &'f BTreeSet<Capability>,
    pub flows: &'f BTreeSet<String>,
    pub domains: &'f BTreeSet<String>,
    pub parse_errors: usize,
}

/// Computes the vector from the walk's counts and the other findings.
pub(crate) fn extract<'a>(
    semantic: &Semantic<'a>,
    resolve: &Resolver<'_, 'a>,
    stream: &Stream,
    found: Findings<'_>,
    counter: Counter,
) -> Vec<f32> {
    let Findings {
        caps,
        flows,
        domains,
        parse_errors,
    } = found;
    let source = semantic.source_text();
    let mut v = vec![0f32; dimension()];
    let mut set = |name: &str, value: f32| v[idx(name)] = value;

    set("size", logc(source.len() as f32, 24.0));
    set("nodes", logc(stream.len() as f32, 22.0));
    for cap in caps {
        let name = format!("cap:{}", cap.name());
        if let Some(i) = SIGNALS.iter().position(|(n, _)| *n == name) {
            v[i] = 1.0;
        }
    }
    let mut set = |name: &str, value: f32| v[idx(name)] = value;
    set("flow:any", f32::from(u8::from(!flows.is_empty())));
    set(
        "flow:form",
        f32::from(u8::from(
            flows.iter().any(|f| f.starts_with("read:form-fields")),
        )),
    );
    set(
        "flow:cookie",
        f32::from(u8::from(flows.iter().any(|f| f.starts_with("read:cookie")))),
    );
    set(
        "flow:storage",
        f32::from(u8::from(
            flows.iter().any(|f| f.starts_with("read:storage")),
        )),
    );
    set("domains", logc(domains.len() as f32, 5.0));

    let nodes = stream.len().max(1);
    let mut set = |name: &str, value: f32| v[idx(name)] = value;
    set("ip_urls", logc(counter.ip_urls as f32, 3.0));
    set("url_literals", logc(counter.urls as f32, 8.0));
    set("strings_per_node", ratio(counter.strings * 4, nodes));
    set(
        "string_len_mean",
        logc(
            counter.string_bytes as f32 / counter.strings.max(1) as f32,
            12.0,
        ),
    );
    set("string_len_max", logc(counter.string_max as f32, 20.0));
    set(
        "string_entropy",
        if counter.entropy_n == 0 {
            0.0
        } else {
            counter.entropy_sum / counter.entropy_n as f32 / 8.0
        },
    );
    set("packed_blobs", logc(counter.blobs as f32, 6.0));
    set("decoders", logc(counter.decoders as f32, 10.0));
    set("evals", logc(counter.evals as f32, 6.0));
    set("doc_write", logc(counter.doc_write as f32, 6.0));
    set("create_iframe", logc(counter.iframes as f32, 4.0));
    set("create_script", logc(counter.scripts as f32, 4.0));
    set("hardware", f32::from(u8::from(counter.hardware)));
    set("string_concat", ratio(counter.concat * 8, nodes));
    set("packer", logc(counter.packer as f32, 10.0));
    set("globals", ratio(counter.global_refs, counter.refs));
    for ((signal, _), count) in VOCABULARY.iter().zip(count_vocabulary(&counter.haystack)) {
        set(signal, logc(count as f32, 8.0));
    }

    // Binding names: obfuscator hex names, minifier one-letter names.
    let scoping = semantic.scoping();
    let (mut hex, mut short, mut len_sum, mut names) = (0usize, 0usize, 0usize, 0usize);
    for name in scoping.symbol_names() {
        names += 1;
        len_sum += name.len();
        hex += usize::from(is_hex_name(name));
        short += usize::from(name.len() == 1);
    }
    set("hex_names", ratio(hex, names));
    set("short_names", ratio(short, names));
    set(
        "name_len",
        (len_sum as f32 / names.max(1) as f32 / 16.0).min(1.0),
    );
    set(
        "string_array",
        f32::from(u8::from(resolve.has_string_array(10))),
    );

    // Text-level signals.
    let bytes = source.len().max(1);
    let escapes = source.matches("\\x").count() + source.matches("\\u").count();
    set("escapes", ratio(escapes * 50, bytes));
    let (mut lines, mut line_max) = (0usize, 0usize);
    for line in source.split('\n') {
        lines += 1;
        line_max = line_max.max(line.len());
    }
    set("line_max", logc(line_max as f32, 22.0));
    set("line_mean", logc(bytes as f32 / lines as f32, 16.0));
    set("lines", logc(lines as f32, 18.0));
    let ws = source.bytes().filter(u8::is_ascii_whitespace).count();
    set("whitespace", ratio(ws, bytes));
    let comment_bytes: usize = semantic
        .comments()
        .iter()
        .map(|c| c.span.size() as usize)
        .sum();
    set("comments", ratio(comment_bytes, bytes));
    set(
        "hex_numbers",
        ratio(source.matches("0x").count() * 50, bytes),
    );
    set("parse_errors", f32::from(u8::from(parse_errors > 0)));
    set(
        "packer_signature",
        f32::from(u8::from(source.contains("p,a,c,k,e,"))),
    );
    let has = |c: Capability| caps.contains(&c);
    set(
        "miner_combo",
        f32::from(u8::from(
            has(Capability::NetworkWebsocket) && (has(Capability::Worker) || has(Capability::Wasm)),
        )),
    );
    let sink = [
        Capability::NetworkXhr,
        Capability::NetworkFetch,
        Capability::NetworkBeacon,
        Capability::NetworkImage,
        Capability::NetworkWebsocket,
    ]
    .into_iter()
    .any(has);
    set(
        "skimmer_combo",
        f32::from(u8::from(has(Capability::ReadFormFields) && sink)),
    );

    // Node-type trigrams, frequency then square root.
    let base = SIGNALS.len();
    let types: Vec<u8> = stream
        .nodes
        .iter()
        .filter(|n| !n.skip)
        .map(|n| n.ty)
        .collect();
    if types.len() >= 3 {
        let total = (types.len() - 2) as f32;
        let mut counts = vec![0u32; NGRAM_BUCKETS];
        for w in types.windows(3) {
            let key = u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]);
            counts[(xxh3_64(&key.to_le_bytes()) % NGRAM_BUCKETS as u64) as usize] += 1;
        }
        for (i, c) in counts.into_iter().enumerate() {
            v[base + i] = (c as f32 / total).sqrt();
        }
    }
    let base = base + NGRAM_BUCKETS;
    for (i, bit) in counter.name_bits.into_iter().enumerate() {
        v[base + i] = f32::from(u8::from(bit));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_are_unique_and_indexable() {
        let names: BTreeSet<_> = SIGNALS.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), SIGNALS.len());
        for c in [
            Capability::NetworkXhr,
            Capability::EncodeBase64,
            Capability::NetworkNavigate,
        ] {
            assert!(
                SIGNALS
                    .iter()
                    .any(|(n, _)| *n == format!("cap:{}", c.name())),
                "{c:?}"
            );
        }
    }

    #[test]
    fn entropy_and_names() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-6);
        assert!(is_hex_name("_0x3f2a"));
        assert!(!is_hex_name("_0x"));
        assert!(!is_hex_name("_0xzz"));
        assert!(looks_like_ip_url("http://45.9.148.3/gate.php"));
        assert!(!looks_like_ip_url("https://cdn.example/x"));
    }
}
