//! The runtime configuration's format: what it accepts, and the errors
//! that name the key for what it does not.

use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<RuntimeConfig> {
    RuntimeConfig::parse(text, Path::new("/etc/app/runtime.toml"))
}

fn error(text: &str) -> String {
    format!("{:#}", parse(text).expect_err("an error"))
}

#[test]
fn stores_and_databases_of_every_type() {
    let config = parse(
        r#"
        state_dir = "/var/lib/app"
        [key_value_store.default]
        type = "redis"
        url = "redis://:pw@cache:6379/1"
        [key_value_store.local]
        type = "spin"
        path = "data/kv.db"
        [key_value_store.scratch]
        type = "spin"
        [sqlite_database.reports]
        type = "spin"
        path = "/srv/reports.db"
        allow_attach_file = true
        "#,
    )
    .unwrap();
    assert_eq!(config.state_dir.as_deref(), Some(Path::new("/var/lib/app")));
    assert_eq!(
        config.key_value["default"],
        KvConfig::Redis("redis://:pw@cache:6379/1".into())
    );
    assert_eq!(
        config.key_value["local"],
        KvConfig::Local(Some("/etc/app/data/kv.db".into())),
        "a store's relative path is taken from the file's directory"
    );
    assert_eq!(config.key_value["scratch"], KvConfig::Local(None));
    assert_eq!(
        config.sqlite["reports"],
        SqliteConfig {
            path: Some("/srv/reports.db".into()),
            allow_attach_file: true
        }
    );
    assert!(!format!("{config:?}").contains("pw"), "{config:?}");
}

#[test]
fn a_relative_database_path_is_taken_from_the_working_directory() {
    let config = parse("[sqlite_database.x]\ntype = \"spin\"\npath = \"x.db\"").unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(config.sqlite["x"].path, Some(cwd.join("x.db")));
}

#[test]
fn unknown_types_and_keys_are_named() {
    let e = error("[key_value_store.cache]\ntype = \"memcached\"");
    assert!(
        e.contains("`key_value_store.cache.type`") && e.contains("\"memcached\""),
        "{e}"
    );
    let e = error("[key_value_store.cache]\ntype = \"spin\"\nfile = \"x\"");
    assert!(
        e.contains("unknown key `key_value_store.cache.file`") && e.contains("`path`"),
        "{e}"
    );
    let e = error("[sqlite_database.db]\ntype = \"libsql\"\nurl = \"x\"\ntoken = \"y\"");
    assert!(
        e.contains("`sqlite_database.db.type`") && e.contains("\"libsql\""),
        "{e}"
    );
    let e = error("[key_value_store.cache]\npath = \"x\"");
    assert!(e.contains("`key_value_store.cache` has no `type`"), "{e}");
    let e = error("[key_value_store.cache]\ntype = \"redis\"");
    assert!(e.contains("needs a `url`"), "{e}");
    let e = error("[key_value_store.Bad_Label]\ntype = \"spin\"");
    assert!(e.contains("`key_value_store.Bad_Label`"), "{e}");
    let e = error("[sqlite_database.db]\ntype = \"spin\"\nallow_attach_file = \"yes\"");
    assert!(
        e.contains("`sqlite_database.db.allow_attach_file` must be true or false"),
        "{e}"
    );
    let e = error("key_value_store = 3");
    assert!(e.contains("`key_value_store` must be a table"), "{e}");
}

#[test]
fn top_level_keys_are_checked() {
    let e = error("[llm_compute]\ntype = \"remote_http\"");
    assert!(
        e.contains("`llm_compute` is a Spin key wasi-httpd does not serve"),
        "{e}"
    );
    let e = error("[[config_provider]]\ntype = \"vault\"");
    assert!(e.contains("`config_provider`"), "{e}");
    let e = error("[key_value_stores.default]\ntype = \"spin\"");
    assert!(e.contains("unknown key `key_value_stores`"), "{e}");
    let e = error("state_dir = \"\"");
    assert!(e.contains("`state_dir` is empty"), "{e}");
}

#[test]
fn redis_urls_are_checked_and_never_shown_with_their_password() {
    let e = error("[key_value_store.c]\ntype = \"redis\"\nurl = \"http://u:hunter2@cache\"");
    assert!(
        e.contains("`key_value_store.c.url`") && e.contains("redis://"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    // A TOML error quotes the line in its full report: only the line
    // number and the reason are kept.
    let e = error("[key_value_store.c]\ntype = \"redis\"\nurl = \"redis://:hunter2@cache\" x");
    assert!(e.contains("line 3") && !e.contains("hunter2"), "{e}");
    assert_eq!(
        redacted("redis://user:hunter2@cache:6379/0"),
        "redis://user:***@cache:6379/0"
    );
    assert_eq!(redacted("rediss://:hunter2@cache"), "rediss://:***@cache");
    assert_eq!(redacted("redis://cache:6379"), "redis://cache:6379");
    assert_eq!(
        redacted("redis://a@b:p@host/x?y@z"),
        "redis://a@b:***@host/x?y@z"
    );
    for ok in [
        "redis://cache:6379/0",
        "rediss://:pw@cache",
        "unix:///run/redis.sock",
    ] {
        check_redis_url(ok).unwrap_or_else(|e| panic!("{ok}: {e:#}"));
    }
}
