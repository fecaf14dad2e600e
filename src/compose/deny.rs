//! What a dependency may use of its component's configuration
//! (`inherit_configuration`), as Spin's `spin-capabilities` groups it: each
//! configuration key stands for the host interfaces it governs. A
//! dependency's import of an interface whose key it does not inherit is
//! renamed `denied-<interface>` in the composition, so it can never reach
//! the host's implementation (which serves the component with the
//! component's configuration); the executor links those names to functions
//! that trap with [`trap_message`].

/// The prefix of a denied import's name.
pub const DENIED: &str = "denied-";

/// Configuration keys and the interfaces (without versions) they govern.
pub const CAPABILITIES: &[(&str, &[&str])] = &[
    ("ai_models", &["fermyon:spin/llm"]),
    (
        "allowed_outbound_hosts",
        &[
            "fermyon:spin/http",
            "fermyon:spin/mysql",
            "fermyon:spin/postgres",
            "fermyon:spin/redis",
            "fermyon:spin/mqtt",
            "spin:mqtt/mqtt",
            "spin:mysql/mysql",
            "spin:postgres/postgres",
            "spin:redis/redis",
            "wasi:http/client",
            "wasi:http/outgoing-handler",
            "wasi:sockets/ip-name-lookup",
            "wasi:sockets/tcp-create-socket",
            "wasi:sockets/tcp",
            "wasi:sockets/udp-create-socket",
            "wasi:sockets/udp",
        ],
    ),
    ("environment", &["wasi:cli/environment"]),
    ("files", &["wasi:filesystem/preopens"]),
    (
        "key_value_stores",
        &[
            "fermyon:spin/key-value",
            "spin:key-value/key-value",
            "wasi:keyvalue/store",
        ],
    ),
    (
        "sqlite_databases",
        &["fermyon:spin/sqlite", "spin:sqlite/sqlite"],
    ),
    (
        "variables",
        &[
            "fermyon:spin/config",
            "fermyon:spin/variables",
            "spin:variables/variables",
            "wasi:config/store",
        ],
    ),
];

/// The configuration key that governs an import (`wasi:cli/environment@0.2.6`
/// → `environment`), if any.
pub fn capability_of(import: &str) -> Option<&'static str> {
    let base = import.split_once('@').map_or(import, |(base, _)| base);
    CAPABILITIES
        .iter()
        .find(|(_, interfaces)| interfaces.contains(&base))
        .map(|(key, _)| *key)
}

/// What a dependency inherits: every key, or only the listed ones.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Inherit {
    All,
    Only(Vec<String>),
}

impl Inherit {
    /// The name to import `import` under in the composition: itself when
    /// it is inherited (or governed by no key), else its denied name.
    pub fn import_name(&self, import: &str) -> Option<String> {
        let key = capability_of(import)?;
        match self {
            Inherit::All => None,
            Inherit::Only(keys) if keys.iter().any(|k| k == key) => None,
            Inherit::Only(_) => Some(format!("{DENIED}{import}")),
        }
    }
}

/// For a denied import name (`denied-wasi:cli/environment@0.2.6`), the
/// interface it stands for and the message its functions trap with.
pub fn trap_message(import: &str, function: &str) -> Option<String> {
    let original = import.strip_prefix(DENIED)?;
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
            none.import_name("wasi:cli/environment@0.2.6").as_deref(),
            Some("denied-wasi:cli/environment@0.2.6")
        );
        assert_eq!(none.import_name("wasi:io/streams@0.2.6"), None);
        assert_eq!(none.import_name("wasi:cli/stdout@0.2.6"), None);
        let env = Inherit::Only(vec!["environment".into()]);
        assert_eq!(env.import_name("wasi:cli/environment@0.3.0"), None);
        assert!(
            env.import_name("wasi:http/outgoing-handler@0.2.0")
                .is_some()
        );
        assert_eq!(
            Inherit::All.import_name("fermyon:spin/key-value@2.0.0"),
            None
        );
    }

    #[test]
    fn trap_message_names_the_key() {
        let msg = trap_message("denied-wasi:filesystem/preopens@0.2.6", "get-directories").unwrap();
        assert!(
            msg.contains("`files`") && msg.contains("get-directories"),
            "{msg}"
        );
        assert_eq!(trap_message("wasi:filesystem/preopens@0.2.6", "x"), None);
        assert_eq!(trap_message("denied-foo:bar/baz", "x"), None);
    }
}
