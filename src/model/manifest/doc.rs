//! A thin, span-aware view over the parsed TOML document.
//!
//! The manifest is parsed with [`toml::de::DeTable`], which keeps the byte span of
//! every key and value. [`Tbl`] wraps one table of that tree together with its key
//! path (e.g. `component.api`), so every error can name the manifest file, the
//! line, and the exact key path.

use std::fmt::Display;
use std::ops::Range;
use std::path::Path;

use anyhow::{Error, Result, anyhow};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A spanned TOML value.
pub(super) type Val<'a> = Spanned<DeValue<'a>>;

/// The manifest being loaded: its path (for messages) and source text (for lines).
pub(super) struct Doc<'a> {
    pub file: &'a Path,
    pub src: &'a str,
}

impl Doc<'_> {
    /// 1-based line of a byte offset.
    pub fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error located at `span` (if any): `<file>: line N: <msg>`.
    pub fn err(&self, span: Option<&Range<usize>>, msg: impl Display) -> Error {
        match span {
            Some(span) => anyhow!("{}: line {}: {msg}", self.file.display(), self.line(span)),
            None => anyhow!("{}: {msg}", self.file.display()),
        }
    }

    /// Converts a TOML syntax error into a located error.
    pub fn syntax_err(&self, e: &toml::de::Error) -> Error {
        let msg = e.message().trim_end();
        match e.span() {
            Some(span) => {
                let start = span.start.min(self.src.len());
                let line_start = self.src[..start].rfind('\n').map_or(0, |i| i + 1);
                let column = self.src[line_start..start].chars().count() + 1;
                anyhow!(
                    "{}: line {}, column {column}: invalid TOML: {msg}; fix the TOML syntax \
                     (see https://toml.io)",
                    self.file.display(),
                    self.line(&span),
                )
            }
            None => anyhow!(
                "{}: invalid TOML: {msg}; fix the TOML syntax (see https://toml.io)",
                self.file.display()
            ),
        }
    }
}

/// Quotes a key for display in a key path when it is not a bare TOML key.
pub(super) fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// Joins a key path and a key.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        quote_key(key)
    } else {
        format!("{path}.{}", quote_key(key))
    }
}

/// A human name for a TOML value's type, with an article.
pub(super) fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// One key of a table, in document order.
pub(super) struct Entry<'a> {
    pub key: &'a str,
    pub key_span: Range<usize>,
    pub val: &'a Val<'a>,
}

/// A table of the document together with its key path.
pub(super) struct Tbl<'a> {
    pub doc: &'a Doc<'a>,
    /// Key path of this table, e.g. `component.api` or `trigger.http[0]`; empty for the root.
    pub path: String,
    pub span: Range<usize>,
    entries: Vec<Entry<'a>>,
}

impl<'a> Tbl<'a> {
    pub fn new(doc: &'a Doc<'a>, path: String, span: Range<usize>, table: &'a DeTable<'a>) -> Self {
        let mut entries: Vec<Entry<'a>> = table
            .iter()
            .map(|(k, val)| Entry {
                key: k.get_ref().as_ref(),
                key_span: k.span(),
                val,
            })
            .collect();
        // The parser's map is sorted by key; report and keep things in document order.
        entries.sort_by_key(|e| (e.key_span.start, e.key_span.end));
        Tbl {
            doc,
            path,
            span,
            entries,
        }
    }

    /// Views `val` (found at key path `path`) as a table, or fails with a type error.
    pub fn of(doc: &'a Doc<'a>, path: String, val: &'a Val<'a>, example: &str) -> Result<Self> {
        match val.get_ref() {
            DeValue::Table(t) => Ok(Tbl::new(doc, path, val.span(), t)),
            other => Err(type_err(doc, &path, val, other, "a table", example)),
        }
    }

    /// How this table is named in messages: `[component.api]`, `trigger.http[0]`, ...
    pub fn name(&self) -> String {
        if self.path.is_empty() {
            "the top level of the manifest".to_owned()
        } else if self.path.contains('[') {
            format!("`{}`", self.path)
        } else {
            format!("[{}]", self.path)
        }
    }

    pub fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<&'a Val<'a>> {
        self.entries.iter().find(|e| e.key == key).map(|e| e.val)
    }

    /// Span of a key if present, else of the table itself.
    pub fn key_span(&self, key: &str) -> Range<usize> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map_or_else(|| self.span.clone(), |e| e.key_span.clone())
    }

    /// An error about `key` of this table, located at the key (or the table).
    pub fn err(&self, key: &str, msg: impl Display) -> Error {
        self.doc.err(Some(&self.key_span(key)), msg)
    }

    /// An error about this table as a whole, located at its header.
    pub fn err_here(&self, msg: impl Display) -> Error {
        let span = (!self.path.is_empty()).then_some(&self.span);
        self.doc.err(span, msg)
    }

    /// Rejects keys not in `allowed`, like serde's `deny_unknown_fields`.
    pub fn check_keys(&self, allowed: &[&str]) -> Result<()> {
        for e in &self.entries {
            if !allowed.contains(&e.key) {
                let hint = match suggest(e.key, allowed) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                return Err(self.doc.err(
                    Some(&e.key_span),
                    format!(
                        "unknown key `{}` in {}; expected one of {}; {hint}remove or rename the key",
                        e.key,
                        self.name(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn missing(&self, key: &str, example: &str) -> Error {
        self.err_here(format!(
            "missing required key `{}` in {}; add it, for example: {example}",
            self.child(key),
            self.name()
        ))
    }

    fn type_err(&self, key: &str, val: &Val<'a>, expected: &str, example: &str) -> Error {
        type_err(
            self.doc,
            &self.child(key),
            val,
            val.get_ref(),
            expected,
            example,
        )
    }

    pub fn opt_str(&self, key: &str, example: &str) -> Result<Option<(&'a str, Range<usize>)>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Ok(Some((s.as_ref(), v.span()))),
                _ => Err(self.type_err(key, v, "a string", example)),
            },
        }
    }

    pub fn req_str(&self, key: &str, example: &str) -> Result<(&'a str, Range<usize>)> {
        self.opt_str(key, example)?
            .ok_or_else(|| self.missing(key, example))
    }

    pub fn opt_bool(&self, key: &str, example: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                DeValue::Boolean(b) => Ok(Some(*b)),
                _ => Err(self.type_err(key, v, "a boolean (true or false)", example)),
            },
        }
    }

    pub fn opt_table(&self, key: &str, example: &str) -> Result<Option<Tbl<'a>>> {
        self.get(key)
            .map(|v| Tbl::of(self.doc, self.child(key), v, example))
            .transpose()
    }

    /// An optional array; returns its elements (empty when absent).
    pub fn opt_array(&self, key: &str, example: &str) -> Result<&'a [Val<'a>]> {
        match self.get(key) {
            None => Ok(&[]),
            Some(v) => match v.get_ref() {
                DeValue::Array(a) => Ok(a.as_ref()),
                _ => Err(self.type_err(key, v, "an array", example)),
            },
        }
    }

    /// An optional array of strings, with each element's span.
    pub fn opt_str_array(&self, key: &str, example: &str) -> Result<Vec<(&'a str, Range<usize>)>> {
        let path = self.child(key);
        self.opt_array(key, example)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v.get_ref() {
                DeValue::String(s) => Ok((s.as_ref(), v.span())),
                other => Err(type_err(
                    self.doc,
                    &format!("{path}[{i}]"),
                    v,
                    other,
                    "a string",
                    example,
                )),
            })
            .collect()
    }

    /// An optional table whose values are all strings (e.g. `environment`), in document order.
    pub fn opt_str_map(&self, key: &str, example: &str) -> Result<Vec<StrEntry<'a>>> {
        let Some(t) = self.opt_table(key, example)? else {
            return Ok(Vec::new());
        };
        t.entries
            .iter()
            .map(|e| match e.val.get_ref() {
                DeValue::String(s) => Ok(StrEntry {
                    key: e.key,
                    key_span: e.key_span.clone(),
                    value: s.as_ref(),
                    value_span: e.val.span(),
                }),
                other => Err(type_err(
                    self.doc,
                    &t.child(e.key),
                    e.val,
                    other,
                    "a string",
                    example,
                )),
            })
            .collect()
    }
}

/// A `key = "value"` entry of a string-valued table.
pub(super) struct StrEntry<'a> {
    pub key: &'a str,
    pub key_span: Range<usize>,
    pub value: &'a str,
    pub value_span: Range<usize>,
}

pub(super) fn type_err(
    doc: &Doc<'_>,
    path: &str,
    val: &Val<'_>,
    found: &DeValue<'_>,
    expected: &str,
    example: &str,
) -> Error {
    doc.err(
        Some(&val.span()),
        format!(
            "`{path}` must be {expected}, not {}; for example: {example}",
            type_name(found)
        ),
    )
}

/// The closest allowed key, if it is plausibly a typo.
fn suggest<'k>(key: &str, allowed: &[&'k str]) -> Option<&'k str> {
    allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4) && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur.push(subst.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
