//! Identifier rules (mirroring Spin's `spin-serde` `Id` type and `spin-expressions`
//! `Key`) and the `{{ variable }}` template syntax.

/// Spin's `Id<DELIM, LOWER>` rule: one or more words separated by `delim`; each word
/// starts with an ASCII letter (later words may also start with a digit), continues
/// with ASCII alphanumerics (or `:`), and is all-lowercase or all-UPPERCASE.
fn check_id(id: &str, delim: char, lower: bool) -> Result<(), String> {
    if id.is_empty() {
        return Err("it is empty".into());
    }
    let wrong = if delim == '-' { '_' } else { '-' };
    if id.contains(wrong) {
        return Err(format!(
            "words must be separated with '{delim}', not '{wrong}'"
        ));
    }
    for (i, word) in id.split(delim).enumerate() {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("'{delim}'-separated words must not be empty"));
        };
        if !(first.is_ascii_alphabetic() || (i > 0 && first.is_ascii_digit())) {
            return Err(format!(
                "'{delim}'-separated words must start with an ASCII letter (or, after the \
                 first word, a digit); got {first:?}"
            ));
        }
        let upper = first.is_ascii_uppercase();
        for ch in chars {
            if ch.is_ascii_digit() || ch == ':' {
                continue;
            }
            if !ch.is_ascii_alphanumeric() {
                return Err(format!(
                    "'{delim}'-separated words may only contain ASCII letters and digits; got {ch:?}"
                ));
            }
            if ch.is_ascii_uppercase() != upper {
                return Err(format!(
                    "'{delim}'-separated words must be all lowercase or all UPPERCASE; got {word:?}"
                ));
            }
        }
        if lower && upper {
            return Err("it must be all lowercase".into());
        }
    }
    Ok(())
}

/// A component id: kebab-case (Spin's `KebabId`).
pub(super) fn check_kebab(id: &str) -> Result<(), String> {
    check_id(id, '-', false)
}

/// A key-value store or SQLite database label: kebab-case or snake_case.
pub(crate) fn check_label(label: &str) -> Result<(), String> {
    match check_kebab(label) {
        Ok(()) => Ok(()),
        Err(_) if check_id(label, '_', false).is_ok() => Ok(()),
        Err(e) => Err(format!("labels must be kebab-case or snake_case: {e}")),
    }
}

/// An application or component variable name: Spin's `LowerSnakeId` plus the
/// runtime's `Key` rule, i.e. `^[a-z][a-z0-9]*(_[a-z0-9]+)*$`.
pub(crate) fn check_variable_name(name: &str) -> Result<(), String> {
    check_id(name, '_', true)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "invalid character {c:?}; only lowercase letters, digits and underscores are allowed"
        ));
    }
    Ok(())
}

pub(super) const KEBAB_HINT: &str = "use lowercase ASCII words separated by single '-' \
    characters, starting with a letter, e.g. `my-component`";
pub(crate) const VARIABLE_HINT: &str = "variable names are lower_snake_case: a lowercase \
    letter first, then lowercase letters, digits and single underscores, not ending in an \
    underscore, e.g. `api_token`";

/// The `{{ name }}` expressions of a Spin template string, trimmed, in order.
/// Fails on an unmatched `{{`, as Spin's `Template::new` does.
pub(super) fn template_refs(template: &str) -> Result<Vec<&str>, String> {
    let mut refs = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("unmatched '{{' in template".into());
        };
        refs.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_ids_follow_spin() {
        for ok in [
            "a",
            "api",
            "my-component",
            "a1-2b",
            "HTTP-server",
            "v2",
            "a:b",
        ] {
            check_kebab(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "my_component",
            "-a",
            "a-",
            "a--b",
            "1a",
            "mIxed",
            "a.b",
            "é",
        ] {
            assert!(check_kebab(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn variable_names_follow_spin() {
        for ok in ["a", "api_key", "a1_b2", "x_1"] {
            check_variable_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y", "API_KEY", "a:b",
        ] {
            assert!(
                check_variable_name(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn labels_accept_kebab_or_snake() {
        for ok in ["default", "snake_case", "kebab-case"] {
            check_label(ok).unwrap();
        }
        assert!(check_label("b@dlabel").is_err());
        assert!(check_label("camelCase").is_err());
    }

    #[test]
    fn templates_parse_like_spin() {
        assert_eq!(template_refs("plain").unwrap(), Vec::<&str>::new());
        assert_eq!(
            template_refs("a-{{ x }}-{{y}}{{ z }}").unwrap(),
            vec!["x", "y", "z"]
        );
        assert!(template_refs("{{ ok }} {{ unmatched").is_err());
    }
}
