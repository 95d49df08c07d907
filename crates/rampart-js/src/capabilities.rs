//! What a script can do, from the names it reaches for and how it calls them.
//!
//! Detection works on the resolved AST, not on text: `fetch` counts only when it is the global
//! (a local function named `fetch` does not), and calls are recognized by their callee and
//! literal arguments (`createElement("script")`, `addEventListener("submit", …)`,
//! `setTimeout("code")`). Some capabilities need two facts (an XHR needs `open` and `send`;
//! reading form fields needs a `.value` read and a way to find inputs).

use std::collections::BTreeSet;

use oxc_ast::AstKind;
use oxc_ast::ast::{Argument, AssignmentTarget, Expression, MemberExpression};
use serde::Serialize;

use crate::resolve::Resolver;

/// The capability vocabulary of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Capability {
    #[serde(rename = "network:fetch")]
    NetworkFetch,
    #[serde(rename = "network:xhr")]
    NetworkXhr,
    #[serde(rename = "network:beacon")]
    NetworkBeacon,
    #[serde(rename = "network:websocket")]
    NetworkWebsocket,
    #[serde(rename = "network:image")]
    NetworkImage,
    #[serde(rename = "network:script-inject")]
    NetworkScriptInject,
    #[serde(rename = "network:form-action")]
    NetworkFormAction,
    #[serde(rename = "read:form-fields")]
    ReadFormFields,
    #[serde(rename = "read:cookie")]
    ReadCookie,
    #[serde(rename = "read:storage")]
    ReadStorage,
    #[serde(rename = "dynamic-code")]
    DynamicCode,
    #[serde(rename = "decode:base64")]
    DecodeBase64,
    #[serde(rename = "decode:charcode")]
    DecodeCharcode,
    #[serde(rename = "listen:submit-or-click")]
    ListenSubmitOrClick,
    #[serde(rename = "wasm")]
    Wasm,
    #[serde(rename = "worker")]
    Worker,
    #[serde(rename = "dom:write")]
    DomWrite,
    /// Beyond SPEC §4: navigating the page away (`location.href = …`, `window.open`), a common
    /// exfiltration channel of redirect skimmers.
    #[serde(rename = "network:navigate")]
    NetworkNavigate,
    /// Beyond SPEC §4: `btoa`, used to pack stolen data into a URL.
    #[serde(rename = "encode:base64")]
    EncodeBase64,
}

impl Capability {
    /// The SPEC name, e.g. `network:beacon`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NetworkFetch => "network:fetch",
            Self::NetworkXhr => "network:xhr",
            Self::NetworkBeacon => "network:beacon",
            Self::NetworkWebsocket => "network:websocket",
            Self::NetworkImage => "network:image",
            Self::NetworkScriptInject => "network:script-inject",
            Self::NetworkFormAction => "network:form-action",
            Self::ReadFormFields => "read:form-fields",
            Self::ReadCookie => "read:cookie",
            Self::ReadStorage => "read:storage",
            Self::DynamicCode => "dynamic-code",
            Self::DecodeBase64 => "decode:base64",
            Self::DecodeCharcode => "decode:charcode",
            Self::ListenSubmitOrClick => "listen:submit-or-click",
            Self::Wasm => "wasm",
            Self::Worker => "worker",
            Self::DomWrite => "dom:write",
            Self::NetworkNavigate => "network:navigate",
            Self::EncodeBase64 => "encode:base64",
        }
    }

    /// Network sinks and sensitive reads: what makes a change critical.
    pub fn is_sensitive(self) -> bool {
        !matches!(
            self,
            Self::DomWrite | Self::ListenSubmitOrClick | Self::DecodeCharcode | Self::EncodeBase64
        )
    }
}

/// Facts gathered in one pass, combined at the end.
#[derive(Default)]
pub(crate) struct Facts {
    caps: BTreeSet<Capability>,
    xhr_ctor: bool,
    open_send: (bool, bool),
    value_read: bool,
    input_lookup: bool,
    script_element: bool,
    img_element: bool,
    src_set: bool,
    dom_insert: bool,
}

fn is_stringy(arg: Option<&Argument<'_>>) -> bool {
    match arg
        .and_then(Argument::as_expression)
        .map(Expression::without_parentheses)
    {
        Some(Expression::StringLiteral(_) | Expression::TemplateLiteral(_)) => true,
        Some(Expression::BinaryExpression(b)) => {
            matches!(b.left.without_parentheses(), Expression::StringLiteral(_))
                || matches!(b.right.without_parentheses(), Expression::StringLiteral(_))
        }
        _ => false,
    }
}

/// `"submit"`, `"onclick"`, jQuery's `"mouseup touchend"` or `"click.ns"`.
fn is_clicky(events: &str) -> bool {
    events.split([' ', ',']).any(|e| {
        let name = e.trim().trim_start_matches("on");
        let name = name.split('.').next().unwrap_or("");
        CLICKY.contains(&name)
    })
}

const CLICKY: &[&str] = &[
    "submit",
    "click",
    "mousedown",
    "mouseup",
    "touchend",
    "pointerdown",
    "change",
    "blur",
];

impl Facts {
    /// A property name reached by the code (`x.name` or `x[<constant "name">]`).
    fn property(&mut self, name: &str) {
        use Capability::*;
        let cap = match name {
            "sendBeacon" => NetworkBeacon,
            "fetch" => NetworkFetch,
            "WebSocket" => NetworkWebsocket,
            "cookie" => ReadCookie,
            "localStorage" | "sessionStorage" | "indexedDB" => ReadStorage,
            "atob" => DecodeBase64,
            "btoa" => EncodeBase64,
            "fromCharCode" | "fromCodePoint" => DecodeCharcode,
            "WebAssembly" => Wasm,
            "serviceWorker" => Worker,
            "innerHTML" | "outerHTML" | "insertAdjacentHTML" => DomWrite,
            "onsubmit" | "onclick" | "onmousedown" => ListenSubmitOrClick,
            "serialize" | "serializeArray" => ReadFormFields,
            "ajax" | "getJSON" => NetworkXhr,
            "eval" => DynamicCode,
            _ => {
                match name {
                    "XMLHttpRequest" => self.xhr_ctor = true,
                    "open" => self.open_send.0 = true,
                    "send" => self.open_send.1 = true,
                    "value" | "val" => self.value_read = true,
                    "querySelector"
                    | "querySelectorAll"
                    | "getElementById"
                    | "getElementsByName"
                    | "getElementsByTagName"
                    | "getElementsByClassName"
                    | "elements"
                    | "forms" => self.input_lookup = true,
                    "appendChild" | "insertBefore" | "append" | "prepend" | "after" | "before" => {
                        self.dom_insert = true
                    }
                    _ => {}
                }
                return;
            }
        };
        self.caps.insert(cap);
    }
}

/// `Function("return this")()`: the pre-`globalThis` way to reach the global object (lodash,
/// core-js, Babel and webpack runtimes, coverage counters). A constant body that only returns
/// `this` runs nothing built at run time, so it is not dynamic code.
pub(crate) fn is_global_this_idiom<'a>(args: &[Argument<'a>], resolve: &Resolver<'_, 'a>) -> bool {
    args.len() == 1
        && resolve
            .first_string(args)
            .is_some_and(|body| body.trim().trim_end_matches(';').trim_end() == "return this")
}

impl Facts {
    /// Gathers what one node tells (see `walk.rs`).
    // Inlined into the walk: it runs for every node, and a call (its register saves and
    // restores) cost more than most nodes' work here (callgrind, BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn node<'a>(&mut self, kind: &AstKind<'a>, resolve: &Resolver<'_, 'a>) {
        use Capability::*;
        let f = self;
        match kind {
            AstKind::IdentifierReference(r) => {
                if !resolve.is_global(r) {
                    return;
                }
                match r.name.as_str() {
                    "fetch" => f.caps.insert(NetworkFetch),
                    "XMLHttpRequest" | "ActiveXObject" => {
                        f.xhr_ctor = true;
                        false
                    }
                    "WebSocket" => f.caps.insert(NetworkWebsocket),
                    "eval" | "execScript" => f.caps.insert(DynamicCode),
                    "atob" => f.caps.insert(DecodeBase64),
                    "btoa" => f.caps.insert(EncodeBase64),
                    "WebAssembly" => f.caps.insert(Wasm),
                    "Worker" | "SharedWorker" | "importScripts" => f.caps.insert(Worker),
                    "localStorage" | "sessionStorage" | "indexedDB" => f.caps.insert(ReadStorage),
                    "FormData" => f.caps.insert(ReadFormFields),
                    _ => false,
                };
            }
            AstKind::IdentifierName(p) => f.property(p.name.as_str()),
            AstKind::ComputedMemberExpression(m) => {
                if let Some(name) = resolve.const_string(&m.expression) {
                    f.property(name);
                }
            }
            AstKind::CallExpression(call) => {
                let name = resolve.callee_name(&call.callee);
                let arg = resolve.first_string(&call.arguments);
                match name {
                    Some("createElement") => match arg.map(str::to_ascii_lowercase).as_deref() {
                        Some("script") => f.script_element = true,
                        Some("img") => f.img_element = true,
                        _ => {}
                    },
                    Some(
                        "addEventListener" | "on" | "bind" | "attachEvent" | "live" | "delegate",
                    ) if arg.is_some_and(is_clicky) => {
                        f.caps.insert(ListenSubmitOrClick);
                    }
                    Some("submit" | "click") if call.arguments.is_empty() => {}
                    Some("submit" | "click") => {
                        f.caps.insert(ListenSubmitOrClick);
                    }
                    Some("setTimeout" | "setInterval") if is_stringy(call.arguments.first()) => {
                        f.caps.insert(DynamicCode);
                    }
                    Some("Function") if !is_global_this_idiom(&call.arguments, resolve) => {
                        f.caps.insert(DynamicCode);
                    }
                    Some("open")
                        if call.callee.without_parentheses().is_specific_id("open")
                            || call.callee.as_member_expression().is_some_and(|m| {
                                m.object().without_parentheses().is_specific_id("window")
                            }) =>
                    {
                        f.caps.insert(NetworkNavigate);
                    }
                    Some("assign" | "replace")
                        if call.callee.as_member_expression().is_some_and(|m| {
                            m.object().without_parentheses().is_specific_id("location")
                        }) =>
                    {
                        f.caps.insert(NetworkNavigate);
                    }
                    Some("attr" | "prop") if arg == Some("href") && call.arguments.len() == 2 => {
                        f.caps.insert(NetworkNavigate);
                    }
                    Some("write" | "writeln") => {
                        // `document.write`, `window.document.write`, `window["document"]["write"]`.
                        let on_document = call.callee.as_member_expression().is_some_and(|m| {
                            m.object().without_parentheses().is_specific_id("document")
                                || resolve.property(m.object()) == Some("document")
                        });
                        if on_document {
                            f.caps.insert(DomWrite);
                        }
                    }
                    Some("setAttribute") => match arg {
                        Some("action") => {
                            f.caps.insert(NetworkFormAction);
                        }
                        Some("src") => f.src_set = true,
                        _ => {}
                    },
                    _ => {}
                }
            }
            AstKind::NewExpression(new) => match resolve.callee_name(&new.callee) {
                Some("Function") if !is_global_this_idiom(&new.arguments, resolve) => {
                    f.caps.insert(DynamicCode);
                }
                Some("Function") => {}
                Some("Image") => {
                    f.img_element = true;
                    f.caps.insert(NetworkImage);
                }
                Some("Worker" | "SharedWorker") => {
                    f.caps.insert(Worker);
                }
                Some("WebSocket") => {
                    f.caps.insert(NetworkWebsocket);
                }
                Some("XMLHttpRequest" | "ActiveXObject") => {
                    f.caps.insert(NetworkXhr);
                }
                _ => {}
            },
            AstKind::AssignmentExpression(a) => {
                if let Some(m) = a.left.as_member_expression() {
                    let prop = match m {
                        MemberExpression::ComputedMemberExpression(c) => {
                            resolve.const_string(&c.expression)
                        }
                        other => other.static_property_name(),
                    };
                    let on_location = m.object().without_parentheses().is_specific_id("location")
                        || resolve.property(m.object()) == Some("location");
                    match prop {
                        Some("action") => {
                            f.caps.insert(NetworkFormAction);
                        }
                        Some("src") => f.src_set = true,
                        Some("href") if on_location => {
                            f.caps.insert(NetworkNavigate);
                        }
                        _ => {}
                    }
                }
                if let AssignmentTarget::AssignmentTargetIdentifier(id) = &a.left
                    && id.name == "location"
                    && resolve.is_global(id)
                {
                    f.caps.insert(NetworkNavigate);
                }
            }
            _ => {}
        }
    }
    /// Combines the facts of the whole script.
    pub(crate) fn finish(mut self) -> BTreeSet<Capability> {
        use Capability::*;
        if self.xhr_ctor && self.open_send.0 && self.open_send.1 {
            self.caps.insert(NetworkXhr);
        }
        if self.value_read && self.input_lookup {
            self.caps.insert(ReadFormFields);
        }
        if self.script_element && (self.dom_insert || self.src_set) {
            self.caps.insert(NetworkScriptInject);
        }
        if self.img_element && self.src_set {
            self.caps.insert(NetworkImage);
        }
        self.caps
    }
}
