//! Registrable domains of URL-like string literals, including constant concatenations
//! (`"ht" + "tps://evil" + ".example/x"`), which skimmers use to hide their endpoints.

use std::collections::BTreeSet;

use oxc_ast::AstKind;
use oxc_ast::ast::{BinaryOperator, Expression};
use oxc_semantic::Semantic;

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

pub(crate) fn collect(semantic: &Semantic<'_>) -> BTreeSet<String> {
    let mut domains = BTreeSet::new();
    let nodes = semantic.nodes();
    for (id, node) in nodes.iter_enumerated() {
        match node.kind() {
            AstKind::StringLiteral(s) => scan(s.value.as_str(), &mut domains),
            AstKind::TemplateElement(t) => scan(t.value.raw.as_str(), &mut domains),
            AstKind::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
                // Fold only maximal chains: skip a `+` whose parent is itself a `+`.
                if matches!(nodes.parent_kind(id), AstKind::BinaryExpression(p) if p.operator == BinaryOperator::Addition)
                {
                    continue;
                }
                let mut text = String::new();
                if fold(&b.left, 0, &mut text) && fold(&b.right, 0, &mut text) {
                    scan(&text, &mut domains);
                } else {
                    // Partial chains: `"https://" + host_var` tells nothing; `"https://a.example/" + path` does.
                    let mut left = String::new();
                    if fold(&b.left, 0, &mut left) {
                        scan(&left, &mut domains);
                    }
                }
            }
            _ => {}
        }
    }
    domains
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
