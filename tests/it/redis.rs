//! A real Redis: key-value stores on it (`type = "redis"` in the runtime
//! configuration: Spin's layout on the server, shared by two daemons as
//! two hosts behind a balancer would share it, the password never in a
//! log, a server that goes away and comes back), and Spin's outbound
//! Redis interfaces (`fermyon:spin/redis@2.0.0` from spin-sdk 5,
//! `spin:redis@3.0.0` from spin-sdk 7) under `allowed_outbound_hosts`.

use crate::servers::Redis;
use crate::support::{Daemon, Response, TestApp};

/// The platform app with its `default` and `cache` stores on `redis`.
fn app_on(redis: &Redis) -> TestApp {
    let app = crate::platform::manifest(crate::platform::KEY_VALUE).app();
    let url = redis.url();
    app.write(
        "runtime-config.toml",
        &format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n\
             [key_value_store.cache]\ntype = \"redis\"\nurl = \"{url}\"\n"
        ),
    );
    app
}

fn start(app: &TestApp) -> Daemon {
    let config = app.path().join("runtime-config.toml");
    Daemon::start(
        app,
        &[
            "--runtime-config-file",
            config.to_str().unwrap(),
            "--variable",
            "name=n",
            "--variable",
            "token=t",
        ],
    )
}

#[test]
fn two_daemons_share_a_redis_store() {
    let redis = Redis::start();
    let app = app_on(&redis);
    let (one, two) = (start(&app), start(&app));
    assert_eq!(
        one.send("PUT", "/kv/default/set/colour", "blue").text(),
        "stored"
    );
    assert_eq!(two.get("/kv/default/get/colour").text(), "blue");
    // Spin's layout: the key as it is, the value as bytes.
    assert_eq!(redis.command(&["GET", "colour"]), "$4 blue");
    assert_eq!(redis.command(&["SET", "size", "xl"]), "+OK");
    assert_eq!(one.get("/wkv/cache/get/size").text(), "xl");
    assert_eq!(two.get("/kv/default/keys").text(), "colour,size");
    let deleted =
        two.raw("DELETE /kv/default/colour HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(deleted.text(), "deleted");
    assert_eq!(one.get("/kv/default/get/colour").text(), "<none>");
    assert_eq!(redis.command(&["EXISTS", "colour"]), ":0");

    for daemon in [&one, &two] {
        assert!(
            !daemon.stderr().contains(redis.password),
            "the Redis password reached the log"
        );
    }
    assert!(
        one.stderr()
            .contains(&format!("redis://:***@127.0.0.1:{}/0", redis.port)),
        "the store's server is logged with its password hidden: {}",
        one.stderr()
    );
}

#[test]
fn atomics_and_batches_on_redis() {
    let redis = Redis::start();
    let app = app_on(&redis);
    let (one, two) = (start(&app), start(&app));
    // Counters are Redis integers, as Spin keeps them in Redis.
    assert_eq!(one.send("POST", "/wkv/default/incr/hits/5", "").text(), "5");
    assert_eq!(
        two.send("POST", "/wkv/default/incr/hits/-2", "").text(),
        "3"
    );
    assert_eq!(redis.command(&["GET", "hits"]), "$1 3");
    assert_eq!(
        one.send("PUT", "/kv/default/set/colour", "blue").text(),
        "stored"
    );
    one.send("POST", "/wkv/default/incr/colour/1", "")
        .assert_guest_error("not an integer");
    // The guest's swap loses to the interloper it writes itself, then wins.
    assert_eq!(
        two.send("PUT", "/wkv/default/cas/colour", "green").text(),
        "cas failed, then read Some(\"interloper\") and swapped"
    );
    assert_eq!(redis.command(&["GET", "colour"]), "$5 green");
    assert_eq!(
        one.send("PUT", "/wkv/cache/many", "a=1&b=2").text(),
        "a=1&b=2&absent=<none>"
    );
    assert_eq!(
        one.send("DELETE", "/wkv/cache/many/a,colour", "").text(),
        "deleted"
    );
    assert_eq!(two.get("/wkv/cache/keys").text(), "b,hits cursor=None");
}

#[test]
fn a_redis_server_that_goes_away_is_an_error_until_it_is_back() {
    let redis = Redis::start();
    let port = redis.port;
    let app = app_on(&redis);
    let daemon = start(&app);
    assert_eq!(
        daemon.send("PUT", "/kv/default/set/k", "v").text(),
        "stored"
    );
    drop(redis);
    daemon
        .get("/kv/default/get/k")
        .assert_guest_error(&format!("Redis at redis://:***@127.0.0.1:{port}/0"));
    // Other routes are served meanwhile.
    assert_eq!(daemon.get("/var/message").text(), "hello, n!");
    let redis = Redis::start_on(port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = daemon.send("PUT", "/kv/default/set/k", "again");
        if answer.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reconnection: {}",
            answer.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(redis.command(&["GET", "k"]), "$5 again");
    assert!(!daemon.stderr().contains(redis.password));
}

/// The platform guest allowed to reach `redis` (by address and port).
fn outbound_app(redis: &Redis) -> TestApp {
    crate::platform::manifest(&format!(
        "allowed_outbound_hosts = [\"redis://127.0.0.1:{}\"]",
        redis.port
    ))
    .app()
}

/// A request to the platform guest's `/redis/...` for the server at `address`.
fn redis_call(daemon: &Daemon, method: &str, path: &str, address: &str, body: &str) -> Response {
    daemon.raw(&format!(
        "{method} /redis/{path} HTTP/1.1\r\nHost: h\r\nredis-address: {address}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

#[test]
fn spin_sdk_5_outbound_redis_runs_every_operation() {
    let redis = Redis::start();
    let app = outbound_app(&redis);
    let daemon = Daemon::start(&app, &["--variable", "name=n", "--variable", "token=t"]);
    let url = redis.url();
    let call = |method, path, body| redis_call(&daemon, method, path, &url, body).text();
    assert_eq!(call("PUT", "set/colour", "blue"), "stored");
    assert_eq!(redis.command(&["GET", "colour"]), "$4 blue");
    assert_eq!(call("GET", "get/colour", ""), "blue");
    assert_eq!(call("GET", "get/absent", ""), "<none>");
    assert_eq!(call("POST", "incr/n", ""), "1");
    assert_eq!(call("POST", "incr/n", ""), "2");
    assert_eq!(call("POST", "sadd/set", "a,b,c"), "3");
    assert_eq!(call("POST", "srem/set", "b,z"), "1");
    assert_eq!(call("GET", "smembers/set", ""), "a,c");
    assert_eq!(call("DELETE", "del/colour,n,absent", ""), "2");
    assert_eq!(call("POST", "publish/news", "hello"), "published");
    assert_eq!(
        call("POST", "execute", "SET counter 41"),
        "RedisResult::Status(\"OK\")"
    );
    assert_eq!(
        call("POST", "execute", "INCRBY counter 1"),
        "RedisResult::Int64(42)"
    );
    assert_eq!(
        call("POST", "execute", "MGET counter absent"),
        "RedisResult::Binary([52, 50])|RedisResult::Nil",
        "arrays are flattened into their values"
    );
    redis_call(&daemon, "POST", "incr/set", &url, "").assert_guest_error("Other(");
    assert!(!daemon.stderr().contains(redis.password));
}

#[test]
fn outbound_redis_reaches_only_allowed_hosts() {
    let redis = Redis::start();
    let other = Redis::start();
    let app = outbound_app(&redis);
    let daemon = Daemon::start(&app, &["--variable", "name=n", "--variable", "token=t"]);
    // Another port of the same host, another scheme, not a URL: denied
    // before any connection, as Spin denies them.
    for address in [
        other.url(),
        format!("http://127.0.0.1:{}", redis.port),
        "nonsense".into(),
    ] {
        redis_call(&daemon, "PUT", "set/k", &address, "v").assert_guest_error("InvalidAddress");
    }
    daemon.wait_for_log("Redis address not in allowed_outbound_hosts");
    assert_eq!(other.command(&["EXISTS", "k"]), ":0");
    assert!(
        !daemon.stderr().contains(other.password),
        "a denied address is logged without its password"
    );
    // A wrong password is the server's error, reported as `other`.
    let wrong = format!("redis://:wrong@127.0.0.1:{}/0", redis.port);
    redis_call(&daemon, "GET", "get/k", &wrong, "").assert_guest_error("Other(");
}

#[test]
fn a_redis_name_is_reached_at_the_addresses_that_were_checked() {
    // `localhost` is looked up once and checked; the connection goes to
    // those addresses in turn (the server listens on 127.0.0.1 only, so
    // `::1`, if first, is refused and the next one is tried).
    let redis = Redis::start();
    let app = crate::platform::manifest(&format!(
        "allowed_outbound_hosts = [\"redis://localhost:{}\"]",
        redis.port
    ))
    .app();
    let daemon = Daemon::start(&app, &["--variable", "name=n", "--variable", "token=t"]);
    let by_name = redis.url().replace("127.0.0.1", "localhost");
    assert_eq!(
        redis_call(&daemon, "PUT", "set/named", &by_name, "yes").text(),
        "stored"
    );
    assert_eq!(redis.command(&["GET", "named"]), "$3 yes");
}

#[test]
fn spin_sdk_7_outbound_redis_is_served() {
    let redis = Redis::start();
    let app = crate::sdk7::manifest(&format!(
        "allowed_outbound_hosts = [\"redis://127.0.0.1:{}\"]",
        redis.port
    ))
    .app();
    let daemon = Daemon::start(&app, &[]);
    let post = |key: &str, address: &str, value: &str| {
        daemon.raw(&format!(
            "POST /redis/{key} HTTP/1.1\r\nHost: h\r\nredis-address: {address}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{value}",
            value.len()
        ))
    };
    assert_eq!(
        post("greeting", &redis.url(), "hello").text(),
        "value=hello count=1"
    );
    assert_eq!(
        post("greeting", &redis.url(), "again").text(),
        "value=again count=2"
    );
    assert_eq!(redis.command(&["GET", "greeting-count"]), "$1 2");
    let denied = format!("redis://127.0.0.1:{}", crate::servers::free_port());
    post("x", &denied, "v").assert_guest_error("InvalidAddress");
}
