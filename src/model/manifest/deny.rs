//! The names that enforce what a dependency may use of its component's
//! configuration (`inherit_configuration`, see [`Inherit`]). A
//! dependency's import of an interface whose key it does not inherit is
//! renamed `denied-<part>-<interface>` in the composition, so it can never reach
//! the host's implementation (which serves the component with the
//! component's configuration); the executor links those names to functions
//! that trap with [`trap_message`]. The composer (`crate::load::compose`) and the
//! executor both read these names, so they live with the manifest.

use super::{Inherit, capability_of};

/// The prefix of a denied import's name.
pub const DENIED: &str = "denied-";

/// The name the part `part` (a lowercase kebab label such as `dep-a`)
/// imports `import` under in the composition: `None` when it is
/// inherited (or governed by no key), else its denied name,
/// `denied-<part>-<import>`. Each part gets its own, because each
/// imports only the functions it uses, and one name has one type.
pub fn import_name(inherit: &Inherit, import: &str, part: &str) -> Option<String> {
    let key = capability_of(import)?;
    match inherit {
        Inherit::All => None,
        Inherit::Only(keys) if keys.iter().any(|k| k == key) => None,
        Inherit::Only(_) => Some(format!("{DENIED}{part}-{import}")),
    }
}

/// The interface a denied import name stands for
/// (`denied-dep-a-wasi:cli/environment@0.2.6` → `wasi:cli/environment@0.2.6`;
/// the governed namespaces have no `-`).
fn original(import: &str) -> Option<&str> {
    let rest = import.strip_prefix(DENIED)?;
    let colon = rest.find(':')?;
    let start = rest[..colon].rfind('-')? + 1;
    Some(&rest[start..])
}

/// For a denied import name, the message its functions trap with.
pub fn trap_message(import: &str, function: &str) -> Option<String> {
    let original = original(import)?;
    let key = capability_of(original)?;
    Some(format!(
        "a dependency of this component called `{function}` of `{original}`, but does not \
         inherit `{key}` from the component; add \"{key}\" to the dependency's \
         `inherit_configuration` (or set `dependencies_inherit_configuration = true`) to \
         allow it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_governed_imports_are_denied() {
        let none = Inherit::Only(vec![]);
        assert_eq!(
            import_name(&none, "wasi:cli/environment@0.2.6", "dep-a").as_deref(),
            Some("denied-dep-a-wasi:cli/environment@0.2.6")
        );
        assert_eq!(import_name(&none, "wasi:io/streams@0.2.6", "dep-a"), None);
        assert_eq!(import_name(&none, "wasi:cli/stdout@0.2.6", "dep-a"), None);
        let env = Inherit::Only(vec!["environment".into()]);
        assert_eq!(
            import_name(&env, "wasi:cli/environment@0.3.0", "mw-b"),
            None
        );
        assert!(import_name(&env, "wasi:http/outgoing-handler@0.2.0", "mw-b").is_some());
        let all = Inherit::All;
        assert_eq!(
            import_name(&all, "fermyon:spin/key-value@2.0.0", "dep-a"),
            None
        );
    }

    #[test]
    fn trap_message_names_the_key() {
        let denied = "denied-mw-c-wasi:filesystem/preopens@0.2.6";
        let msg = trap_message(denied, "get-directories").unwrap();
        assert!(
            msg.contains("`files`") && msg.contains("get-directories"),
            "{msg}"
        );
        assert_eq!(trap_message("wasi:filesystem/preopens@0.2.6", "x"), None);
        assert_eq!(trap_message("denied-dep-a-foo:bar/baz", "x"), None);
        assert_eq!(trap_message("denied-wasi:cli/environment@0.2.6", "x"), None);
    }
}
