//! `<script>` elements of an HTML document, with lol_html (streaming, no DOM).

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::{HtmlRewriter, Settings, element, text};
use serde::Serialize;

/// One `<script>` element.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InlineScript {
    /// The `src` attribute, for external scripts.
    pub src: Option<String>,
    /// The `type` attribute, if any.
    pub script_type: Option<String>,
    /// The inline code (empty for external scripts).
    pub text: String,
}

impl InlineScript {
    /// Whether the element holds JavaScript (not JSON, templates or other data blocks). Errs
    /// on the side of code: every JavaScript MIME type of the HTML standard (`text/jscript` and
    /// `text/livescript` among them) and anything naming JavaScript or ECMAScript.
    pub fn is_javascript(&self) -> bool {
        match self
            .script_type
            .as_deref()
            .map(|t| t.trim().to_ascii_lowercase())
        {
            None => true,
            Some(t) => {
                t.is_empty()
                    || t == "module"
                    || t.contains("javascript")
                    || t.contains("ecmascript")
                    || t == "text/jscript"
                    || t == "text/livescript"
            }
        }
    }
}

/// `type` values of `<script>` elements that hold data, not code: browsers never run them, and
/// joined to the page's code they would only be parse errors (a shop page's JSON-LD). Anything
/// else is kept, unknown types included: a scanner reads too much rather than too little.
const DATA_BLOCK_TYPES: &[&str] = &[
    "application/json",
    "application/ld+json",
    "importmap",
    "speculationrules",
    "text/html",
    "text/template",
    "text/x-template",
    "text/x-handlebars-template",
    "text/x-jquery-tmpl",
    "text/ng-template",
    "text/css",
];

impl InlineScript {
    /// Whether the element is a well-known data block (JSON, JSON-LD, import maps,
    /// templates): never code.
    pub fn is_data_block(&self) -> bool {
        self.script_type.as_deref().is_some_and(|t| {
            let essence = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            DATA_BLOCK_TYPES.contains(&essence.as_str())
        })
    }
}

/// Every `<script>` element in `html`, in document order. Malformed HTML is parsed the way
/// browsers tokenize it; `None` only if the rewriter refuses the input outright.
pub fn extract_scripts(html: &[u8]) -> Option<Vec<InlineScript>> {
    let scripts: Rc<RefCell<Vec<InlineScript>>> = Rc::default();
    let (on_element, on_text) = (scripts.clone(), scripts.clone());
    let mut rewriter = HtmlRewriter::new(
        Settings {
            element_content_handlers: vec![
                element!("script", move |el| {
                    on_element.borrow_mut().push(InlineScript {
                        src: el.get_attribute("src"),
                        script_type: el.get_attribute("type"),
                        text: String::new(),
                    });
                    Ok(())
                }),
                text!("script", move |chunk| {
                    if let Some(last) = on_text.borrow_mut().last_mut() {
                        last.text.push_str(chunk.as_str());
                    }
                    Ok(())
                }),
            ],
            ..Settings::new()
        },
        |_: &[u8]| {},
    );
    rewriter.write(html).ok()?;
    rewriter.end().ok()?;
    Some(scripts.take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_extracted_in_order_with_their_attributes() {
        let html = br#"<html><head><script src="https://cdn.example/a.js"></script>
            <script>var a = "</div>"; fetch("/x")</script>
            <script type="application/ld+json">{"@type":"Product"}</script></head></html>"#;
        let s = extract_scripts(html).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].src.as_deref(), Some("https://cdn.example/a.js"));
        assert_eq!(s[1].text, "var a = \"</div>\"; fetch(\"/x\")");
        assert!(s[1].is_javascript());
        assert!(!s[2].is_javascript());
        for (t, js) in [
            ("text/jscript", true),
            ("TEXT/LiveScript", true),
            ("application/x-javascript", true),
            ("module", true),
            ("text/template", false),
            ("importmap", false),
        ] {
            let s = InlineScript {
                src: None,
                script_type: Some(t.into()),
                text: String::new(),
            };
            assert_eq!(s.is_javascript(), js, "{t}");
        }
        assert!(s[2].is_data_block() && !s[1].is_data_block() && !s[0].is_data_block());
    }

    #[test]
    fn only_well_known_data_types_are_data_blocks() {
        let typed = |t: &str| InlineScript {
            script_type: Some(t.into()),
            ..InlineScript::default()
        };
        assert!(typed(" Application/JSON; charset=utf-8").is_data_block());
        assert!(typed("importmap").is_data_block());
        // Not run by browsers either, but not known to be data: a scanner still reads it.
        assert!(!typed("text/x-unknown").is_data_block());
        assert!(!typed("module").is_data_block());
    }
}
