//! The key-value stores' semantics on SQLite (a file and memory), and
//! how labels resolve against the runtime configuration. Redis is tested
//! against a real server in `tests/it/redis.rs`.

use std::path::Path;

use super::*;
use crate::guest::data::runtime_config::RuntimeConfig;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn config(text: &str, dir: &Path) -> RuntimeConfig {
    RuntimeConfig::parse(text, &dir.join("runtime.toml")).unwrap()
}

/// Store `label` of a component that declares `labels`, in `dir`.
fn open(
    backends: &mut Backends,
    config: &RuntimeConfig,
    dir: &Path,
    labels: &[&str],
    label: &str,
) -> KvStore {
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    let mut resolver = backends.resolve(config, dir);
    let access = resolver.access("c", &labels).unwrap();
    resolver.commit();
    access.open(label).expect("declared")
}

#[test]
fn counters_swaps_and_batches_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut backends = Backends::default();
    let s = open(
        &mut backends,
        &RuntimeConfig::default(),
        dir.path(),
        &["default"],
        "default",
    );
    runtime().block_on(async {
        assert_eq!(s.increment("n", 5).await, Ok(5));
        assert_eq!(s.increment("n", -7).await, Ok(-2));
        assert_eq!(
            s.get("n").await.unwrap(),
            Some((-2i64).to_le_bytes().to_vec())
        );
        s.set("text", b"abc".to_vec()).await.unwrap();
        assert!(s.increment("text", 1).await.unwrap_err().contains("8-byte"));
        s.set("max", i64::MAX.to_le_bytes().to_vec()).await.unwrap();
        assert!(
            s.increment("max", 1)
                .await
                .unwrap_err()
                .contains("overflows")
        );
        assert_eq!(
            s.get("max").await.unwrap(),
            Some(i64::MAX.to_le_bytes().to_vec())
        );

        assert_eq!(
            s.compare_and_swap("k", None, b"first".to_vec()).await,
            Ok(true)
        );
        assert_eq!(
            s.compare_and_swap("k", None, b"again".to_vec()).await,
            Ok(false)
        );
        assert_eq!(
            s.compare_and_swap("k", Some(b"first".to_vec()), b"second".to_vec())
                .await,
            Ok(true)
        );
        assert_eq!(s.get("k").await.unwrap(), Some(b"second".to_vec()));

        s.set_many(vec![
            ("x".into(), b"1".to_vec()),
            ("y".into(), b"2".to_vec()),
        ])
        .await
        .unwrap();
        assert_eq!(
            s.get_many(vec!["y".into(), "z".into()]).await.unwrap(),
            vec![("y".into(), Some(b"2".to_vec())), ("z".into(), None)]
        );
        s.delete_many(vec!["x".into(), "k".into()]).await.unwrap();
        assert_eq!(s.keys().await.unwrap(), ["max", "n", "text", "y"]);
    });
    assert!(dir.path().join("key-value.sqlite").exists());
}

#[test]
fn labels_resolve_against_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        "[key_value_store.a]\ntype = \"spin\"\npath = \"shared.db\"\n\
         [key_value_store.b]\ntype = \"spin\"\npath = \"shared.db\"\n\
         [key_value_store.mem]\ntype = \"spin\"",
        dir.path(),
    );
    let mut backends = Backends::default();
    let a = open(&mut backends, &config, dir.path(), &["a", "b", "mem"], "a");
    let b = open(&mut backends, &config, dir.path(), &["a", "b", "mem"], "b");
    let mem = open(
        &mut backends,
        &config,
        dir.path(),
        &["a", "b", "mem"],
        "mem",
    );
    runtime().block_on(async {
        a.set("k", b"in a".to_vec()).await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), None, "one file, two namespaces");
        mem.set("k", b"kept".to_vec()).await.unwrap();
    });
    assert!(dir.path().join("shared.db").exists());
    // A second load keeps the in-memory store it still names.
    let again = open(&mut backends, &config, dir.path(), &["mem"], "mem");
    assert_eq!(
        runtime().block_on(again.get("k")).unwrap(),
        Some(b"kept".to_vec())
    );

    let mut resolver = backends.resolve(&config, dir.path());
    let access = resolver.access("c", &["a".to_owned()]).unwrap();
    assert!(access.open("b").is_none(), "undeclared labels do not open");
    let e = resolver
        .access("web", &["a".to_owned(), "cache".to_owned()])
        .err()
        .expect("an undefined label is an error");
    let e = format!("{e:#}");
    assert!(
        e.contains("`component.web.key_value_stores[1]`")
            && e.contains("[key_value_store.cache]")
            && e.contains("--runtime-config-file"),
        "{e}"
    );
}

#[test]
fn seeding_sets_the_default_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut backends = Backends::default();
    let mut resolver = backends.resolve(&RuntimeConfig::default(), dir.path());
    resolver
        .seed(&[
            ("greeting".into(), "hello".into()),
            ("".into(), "empty key".into()),
        ])
        .unwrap();
    resolver.commit();
    let s = open(
        &mut backends,
        &RuntimeConfig::default(),
        dir.path(),
        &["default"],
        "default",
    );
    let rt = runtime();
    assert_eq!(
        rt.block_on(s.get("greeting")).unwrap(),
        Some(b"hello".to_vec())
    );
    assert_eq!(rt.block_on(s.get("")).unwrap(), Some(b"empty key".to_vec()));
}
