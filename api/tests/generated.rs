//! The files the bindings' typings are generated into from this crate's description: the
//! settings of every machine and every error code. The test fails when a committed file
//! differs from what the description renders; rewrite them with
//! `SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated`, then review the diff.
//!
//! - `bindings-js/src/surface.d.ts`: `<Machine>Settings` interfaces and `ShardtallyErrorCode`.
//! - `bindings-python/python/shardtally/_settings.py`: `<Machine>Settings` `TypedDict`s.
//! - `bindings-python/python/shardtally/_errors.py`: the exception classes.

#![allow(clippy::unwrap_used)]

use shardtally::settings::{SettingInfo, SettingKind};
use shardtally::{BucketsConfig, GatewayConfig, GlobalConfig, MembershipConfig, OutboxConfig, RouterConfig, ShardConfig};
use shardtally_api::naming::camel;
use shardtally_api::{Family, ERRORS};
use std::fmt::Write;
use std::path::PathBuf;

/// Every machine's settings: (type name prefix, settings, what they configure).
fn machines() -> Vec<(&'static str, &'static [SettingInfo], &'static str)> {
    vec![
        ("Shard", ShardConfig::SETTINGS, "a shard"),
        ("Global", GlobalConfig::SETTINGS, "a global aggregator"),
        ("Router", RouterConfig::SETTINGS, "a router"),
        ("Gateway", GatewayConfig::SETTINGS, "a gateway"),
        ("Membership", MembershipConfig::SETTINGS, "a membership machine"),
        ("Buckets", BucketsConfig::SETTINGS, "time buckets"),
        ("Outbox", OutboxConfig::SETTINGS, "an outbox"),
    ]
}

const HEADER_TS: &str = "/* Generated from shardtally-api (api/tests/generated.rs); do not edit.\n * Regenerate: SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated */\n";
const HEADER_PY: &str = "# Generated from shardtally-api (api/tests/generated.rs); do not edit.\n# Regenerate: SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated\n";

/// A setting's doc as plain text: rustdoc links `[`X`](path)` and `[`X`]` become `X`.
fn plain(doc: &str) -> String {
    let mut out = String::new();
    let mut rest = doc;
    while let Some(start) = rest.find("[`") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find("`]") else { break };
        out.push_str(&after[..end + 1]);
        rest = &after[end + 2..];
        if rest.starts_with('(') {
            rest = rest.find(')').map_or(rest, |close| &rest[close + 1..]);
        }
    }
    out.push_str(rest);
    out
}

fn ts_type(kind: SettingKind) -> String {
    match kind {
        SettingKind::Int { max, .. } if max < (1 << 53) => "number".into(),
        SettingKind::Int { .. } => "number | bigint".into(),
        SettingKind::OptionalInt { .. } => "number | null".into(),
        SettingKind::Bool => "boolean".into(),
        SettingKind::Choice(names) => names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" | "),
    }
}

fn py_type(kind: SettingKind) -> String {
    match kind {
        SettingKind::Int { .. } => "int".into(),
        SettingKind::OptionalInt { .. } => "int | None".into(),
        SettingKind::Bool => "bool".into(),
        SettingKind::Choice(names) => format!("Literal[{}]", names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")),
    }
}

/// Backticked setting names in a doc line, rendered for JS; anything else in backticks
/// (a value such as `"round_robin"` or `too_large`) stays as it is.
fn ts_doc(doc: &str) -> String {
    let is_setting = |part: &str| machines().iter().any(|(_, settings, _)| settings.iter().any(|s| s.name == part));
    doc.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 && is_setting(part) { camel(part) } else { part.into() })
        .collect::<Vec<_>>()
        .join("`")
}

fn surface_d_ts() -> String {
    let mut out = String::from(HEADER_TS);
    out.push_str("\n/** Every stable error code (`err.code`). */\nexport type ShardtallyErrorCode =\n");
    for e in ERRORS {
        writeln!(out, "  | '{}'", e.code).unwrap();
    }
    for (name, settings, what) in machines() {
        writeln!(
            out,
            "\n/** Settings of {what}; each is optional and defaults to the engine's value. */\nexport interface {name}Settings {{"
        )
        .unwrap();
        for s in settings {
            writeln!(out, "  /** {} */\n  {}?: {}", ts_doc(&plain(&s.doc_text())), camel(s.name), ts_type(s.kind)).unwrap();
        }
        out.push_str("}\n");
    }
    out
}

fn settings_py() -> String {
    let mut out = String::from(HEADER_PY);
    out.push_str("\"\"\"The settings of every machine, as keyword arguments (``Shard(**settings)``).\"\"\"\n\n");
    out.push_str("from __future__ import annotations\n\nfrom typing import Literal, TypedDict\n\n__all__ = [");
    let names: Vec<String> = machines().iter().map(|(n, _, _)| format!("\"{n}Settings\"")).collect();
    out.push_str(&names.join(", "));
    out.push_str("]\n");
    for (name, settings, what) in machines() {
        writeln!(out, "\n\nclass {name}Settings(TypedDict, total=False):\n    \"\"\"Settings of {what}; each is optional and defaults to the engine's value.\"\"\"\n").unwrap();
        for s in settings {
            writeln!(out, "    {}: {}\n    \"\"\"{}\"\"\"", s.name, py_type(s.kind), plain(&s.doc_text()).replace('`', "``")).unwrap();
        }
    }
    out
}

fn errors_py() -> String {
    let mut out = String::from(HEADER_PY);
    out.push_str(
        r#""""The exceptions of shardtally.

Every exception derives from :class:`ShardtallyError` and has a stable ``code`` equal to the
engine's (``"EMPTY_KEY"``, ``"OVERFLOW"``, ...) and the offending values as attributes. Four
families: :class:`ConfigError` (also a :class:`ValueError`: a setting was rejected),
:class:`InputError` (an input was rejected; the machine is unchanged),
:class:`ArgumentError` (an argument had the wrong type or value) and :class:`DecodeError`
(also a :class:`ValueError`: bytes are not a valid snapshot or message). A rejected call
changed nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from shardtally._error_base import (
    ArgumentError,
    ConfigError,
    DecodeError,
    InputError,
    ShardtallyError,
)

"#,
    );
    let mut all = vec!["ShardtallyError", "ConfigError", "InputError", "ArgumentError", "DecodeError"];
    all.extend(ERRORS.iter().map(|e| e.python));
    out.push_str("__all__ = [\n");
    for n in &all {
        writeln!(out, "    \"{n}\",").unwrap();
    }
    out.push_str("]\n");
    for e in ERRORS {
        let base = match e.family {
            Family::Config => "ConfigError",
            Family::Input => "InputError",
            Family::Argument => "ArgumentError",
            Family::Decode => "DecodeError",
        };
        let bases: Vec<&str> = std::iter::once(base).chain(e.python_also.iter().copied()).collect();
        writeln!(
            out,
            "\n\nclass {}({}):\n    \"\"\"{}\"\"\"\n\n    code: ClassVar[str] = \"{}\"",
            e.python,
            bases.join(", "),
            e.doc.replace('`', "``"),
            e.code
        )
        .unwrap();
        for f in e.fields {
            writeln!(out, "    {f}: Any").unwrap();
        }
    }
    out.push_str("\n\n#: Every exception class by its code.\nBY_CODE: dict[str, type[ShardtallyError]] = {\n");
    for e in ERRORS {
        writeln!(out, "    \"{}\": {},", e.code, e.python).unwrap();
    }
    out.push_str("}\n");
    out
}

fn check(path: &str, rendered: String) {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    if std::env::var_os("SHARDTALLY_BLESS").is_some() {
        std::fs::write(&full, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        committed == rendered,
        "{path} differs from what shardtally-api renders: run SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated and review the diff"
    );
}

#[test]
fn js_surface_typings_are_current() {
    check("bindings-js/src/surface.d.ts", surface_d_ts());
}

#[test]
fn python_settings_are_current() {
    check("bindings-python/python/shardtally/_settings.py", settings_py());
}

#[test]
fn python_exceptions_are_current() {
    check("bindings-python/python/shardtally/_errors.py", errors_py());
}

#[test]
fn rendering_rules() {
    assert_eq!(ts_type(SettingKind::Int { min: 0, max: u32::MAX as i128 }), "number");
    assert_eq!(ts_type(SettingKind::Int { min: 0, max: u64::MAX as i128 }), "number | bigint");
    assert_eq!(ts_type(SettingKind::Choice(&["full", "changes"])), "'full' | 'changes'");
    assert_eq!(py_type(SettingKind::Choice(&["a"])), "Literal[\"a\"]");
    assert_eq!(
        plain("Most keys interned with [`Shard::intern`](crate::Shard::intern). Default [`X`]."),
        "Most keys interned with `Shard::intern`. Default `X`."
    );
    assert_eq!(ts_doc("Flush after `flush_after_requests`; see `x y`."), "Flush after `flushAfterRequests`; see `x y`.");
    assert_eq!(ts_doc("Strategy `\"round_robin\"`."), "Strategy `\"round_robin\"`.", "values are not names");
    assert_eq!(ts_doc("Counted as `too_large`, see `max_message_bytes`."), "Counted as `too_large`, see `maxMessageBytes`.");
}
