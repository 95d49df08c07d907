//! Registrable domains of URL-like string literals, including constant concatenations
//! (`"ht" + "tps://evil" + ".example/x"`), which skimmers use to hide their endpoints; and, kept
//! apart as *hidden*, URLs written as HTML character references (`&#104;&#116;&#116;&#112;…`,
//! decoded by the page through a detached element) or reversed (`'sj.x/moc.live//:sptth'`).

use std::collections::BTreeSet;

use oxc_ast::AstKind;
use oxc_ast::ast::{BinaryOperator, Expression};

/// Longest constant concatenation folded, in operands.
const MAX_FOLD_DEPTH: usize = 64;

fn fold(expr: &Expression<'_>, depth: usize, out: &mut String) -> bool {
    if depth > MAX_FOLD_DEPTH {
        return false;
    }
    match expr.without_parentheses() {
        Expression::StringLiteral(s) => {
            out.push_str(s.value.as_str());
            true
        }
        Expression::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
            fold(&b.left, depth + 1, out) && fold(&b.right, depth + 1, out)
        }
        _ => false,
    }
}

/// Domains named in the code, gathered node by node (see `walk.rs`).
#[derive(Default)]
pub(crate) struct Collector {
    domains: BTreeSet<String>,
    hidden: BTreeSet<String>,
}

impl Collector {
    fn note(&mut self, text: &str) {
        // Every form `scan` and `scan_hidden` look for has a `/` or an `&#`; most literals
        // (names, messages, selectors) have neither, and the substring searches cost more
        // than this one pass over a short string.
        if !text.bytes().any(|b| b == b'/' || b == b'&') {
            return;
        }
        scan(text, &mut self.domains);
        scan_hidden(text, &mut self.hidden);
    }

    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node(&mut self, kind: &AstKind<'_>, parent: Option<&AstKind<'_>>) {
        match kind {
            AstKind::StringLiteral(s) => self.note(s.value.as_str()),
            AstKind::TemplateElement(t) => self.note(t.value.raw.as_str()),
            AstKind::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
                // Fold only maximal chains: skip a `+` whose parent is itself a `+`.
                if matches!(parent, Some(AstKind::BinaryExpression(p)) if p.operator == BinaryOperator::Addition)
                {
                    return;
                }
                let mut text = String::new();
                if fold(&b.left, 0, &mut text) && fold(&b.right, 0, &mut text) {
                    self.note(&text);
                } else {
                    // Partial chains: `"https://" + host_var` tells nothing; `"https://a.example/" + path` does.
                    let mut left = String::new();
                    if fold(&b.left, 0, &mut left) {
                        self.note(&left);
                    }
                }
            }
            _ => {}
        }
    }

    /// `(visible, hidden)`. The classifier's `domains` signal counts the visible ones (what it
    /// was trained on); the hidden ones are evidence for the rules and part of what the analysis
    /// reports.
    pub(crate) fn finish(mut self) -> (BTreeSet<String>, BTreeSet<String>) {
        self.hidden.retain(|d| !self.domains.contains(d));
        (self.domains, self.hidden)
    }
}

/// URLs in `text` once HTML numeric character references are decoded, or once it is reversed.
fn scan_hidden(text: &str, out: &mut BTreeSet<String>) {
    if text.len() > 64 * 1024 {
        return;
    }
    if text.contains("&#") {
        scan(&decode_char_refs(text), out);
    }
    if text.contains("//:sptth") || text.contains("//:ptth") || text.contains("//:ssw") {
        scan(&text.chars().rev().collect::<String>(), out);
    }
}

/// `&#104;` and `&#x68;` (the semicolon optional, as browsers accept); the rest unchanged.
fn decode_char_refs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("&#") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let (radix, digits_at) = match after.as_bytes().first() {
            Some(b'x' | b'X') => (16, 1),
            _ => (10, 0),
        };
        let digits = &after[digits_at..];
        let len = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        match u32::from_str_radix(&digits[..len.min(8)], radix)
            .ok()
            .and_then(char::from_u32)
        {
            Some(c) if len > 0 && len <= 8 => {
                out.push(c);
                let tail = &digits[len..];
                rest = tail.strip_prefix(';').unwrap_or(tail);
            }
            _ => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Finds `scheme://host` and protocol-relative `//host` URLs in a string.
pub(crate) fn scan(text: &str, out: &mut BTreeSet<String>) {
    if text.len() > 64 * 1024 {
        return;
    }
    // A scheme-less "host.tld/path" string, as skimmers keep the scheme in another literal.
    // The slash is required: "event.target" or "user.name" end in real TLDs too.
    if let Some(slash) = text.find('/')
        && slash > 0
        && !text[..slash].contains(':')
        && let Some(d) = domain_of(&text[..slash])
    {
        out.insert(d);
    }
    let mut rest = text;
    while let Some(pos) = rest.find("//") {
        let before = &rest[..pos];
        let scheme_ok = before.is_empty()
            || before.ends_with("http:")
            || before.ends_with("https:")
            || before.ends_with("ws:")
            || before.ends_with("wss:")
            || before.ends_with(['"', '\'', '(', ' ', '=']);
        let after = &rest[pos + 2..];
        if scheme_ok {
            let host_end = after
                .find(['/', '?', '#', ':', '"', '\'', ' ', ')', '\\', '`'])
                .unwrap_or(after.len());
            if let Some(d) = domain_of(&after[..host_end]) {
                out.insert(d);
            }
        }
        rest = after;
    }
}

fn domain_of(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.rsplit('@').next().unwrap_or(&host).to_string();
    if host.len() < 3 || host.len() > 253 || !host.contains('.') {
        return None;
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(host);
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    let suffix = psl::suffix(host.as_bytes())?;
    if !suffix.is_known() {
        return None;
    }
    psl::domain_str(&host).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_text_give_registrable_domains() {
        let mut d = BTreeSet::new();
        scan(
            "see https://cdn.shop.co.uk/a.js and //g-analytics-cdn.com/c?x=1",
            &mut d,
        );
        scan("wss://pool.minexmr.com:4444", &mut d);
        scan("http://192.0.2.4/gate.php", &mut d);
        scan(
            "not a url: a//b, http://localhost/, https://x.invalidtld/",
            &mut d,
        );
        scan("magescripts.info/checkPayments.php", &mut d);
        scan("event.target", &mut d);
        scan("js/jquery.min.js", &mut d);
        let mut hidden = BTreeSet::new();
        scan_hidden(
            "&#104;&#116;&#116;&#112;&#115;&#58;&#47;&#47;cloudfusion.me/&#x6a;s",
            &mut hidden,
        );
        scan_hidden("sj.x/moc.kcilc-tobor//:sptth", &mut hidden);
        scan_hidden("&#; &#xZZ; &#99999999999; plain text", &mut hidden);
        let got: Vec<&str> = hidden.iter().map(String::as_str).collect();
        assert_eq!(got, ["cloudfusion.me", "robot-click.com"]);
        let got: Vec<&str> = d.iter().map(String::as_str).collect();
        assert_eq!(
            got,
            [
                "192.0.2.4",
                "g-analytics-cdn.com",
                "magescripts.info",
                "minexmr.com",
                "shop.co.uk"
            ]
        );
    }
}
