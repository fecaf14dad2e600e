//! Test harness: builds the guest components once per test run, writes apps
//! into temporary directories, starts the real `wasi-httpd` binary on a real
//! socket and talks to it with a small, exact HTTP/1.1 client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// The client, where the tests have always found it (the bench, which
// includes this file for its guest builds, uses only part of it).
#[allow(unused_imports)]
pub use crate::client::{Connection, Response, get, send, send_unix};

pub const BIN: &str = env!("CARGO_BIN_EXE_wasi-httpd");

/// The compile cache every daemon the tests start shares (each guest is
/// compiled once per `cargo test`, not once per test); tests of the cache
/// itself pass `--cache-dir` or `--no-cache`.
pub fn compile_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-cache")
}

/// Guests also built for wasm32-wasip1, as core modules (the way Spin 3's
/// templates and WAGI programs build), to test componentizing at load.
const WASIP1_GUESTS: &[&str] = &["spinsdk", "cgi", "sdk2"];

/// The directory holding the built guest `.wasm` files. Builds them (and
/// adds the wasm32-wasip2 and wasm32-wasip1 targets if they are missing)
/// the first time; fails loudly when that is impossible. The wasip1 core
/// modules are in `wasip1/` under it.
pub fn components_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/components");
        build_guests(&root, "wasm32-wasip2", &[]);
        build_guests(&root, "wasm32-wasip1", WASIP1_GUESTS);
        let dir = root.join("target/wasm32-wasip2/release");
        let wasip1 = dir.join("wasip1");
        std::fs::create_dir_all(&wasip1).expect("create the wasip1 guest directory");
        for guest in WASIP1_GUESTS {
            let built = root.join(format!("target/wasm32-wasip1/release/{guest}.wasm"));
            std::fs::copy(&built, wasip1.join(format!("{guest}.wasm")))
                .unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
        }
        dir
    })
}

/// Builds the guest workspace (or just `packages`) for `target`.
fn build_guests(root: &Path, target: &str, packages: &[&str]) {
    ensure_wasm_target(target);
    let status = Command::new("cargo")
        .args(["build", "--release", "--target", target, "--target-dir"])
        .arg(root.join("target"))
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .current_dir(root)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cannot run cargo to build the guest components");
    assert!(
        status.success(),
        "building tests/components for {target} failed"
    );
}

fn ensure_wasm_target(target: &str) {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == target)
        })
        .unwrap_or(false);
    if !installed {
        let status = Command::new("rustup")
            .args(["target", "add", target])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cannot run rustup to add a wasm target");
        assert!(status.success(), "`rustup target add {target}` failed");
    }
}

/// Fails the test with what to install when `tool` is not on PATH: the
/// tests install nothing themselves (`.ci/packages` does, as root).
pub fn require_tool(tool: &str, package: &str) {
    assert!(
        on_path(tool),
        "{tool} is missing: run .ci/packages as root (or apt-get install {package})"
    );
}

/// Whether `tool` is a command on PATH.
pub fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Absolute path of a built guest, e.g. `wasm("echo")`, or
/// `wasm("wasip1/cgi")` for a core-module build.
pub fn wasm(name: &str) -> PathBuf {
    let path = components_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "guest {name} was not built: {}",
        path.display()
    );
    path
}

/// An app in a temporary directory. `{name.wasm}` in the manifest text is
/// replaced by the absolute path of that built guest.
pub struct TestApp {
    pub dir: tempfile::TempDir,
}

impl TestApp {
    pub fn new(manifest: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut text = manifest.to_owned();
        while let Some(end) = text.find(".wasm}") {
            let start = text[..end].rfind('{').expect("`{` before `.wasm}`");
            let path = wasm(&text[start + 1..end]).display().to_string();
            text.replace_range(start..end + ".wasm}".len(), &path);
        }
        std::fs::write(dir.path().join("spin.toml"), text).expect("write spin.toml");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.path().join("spin.toml")
    }
}

/// The environment every daemon a test starts gets (under the test's
/// own): the access log at `info`, the test run's shared compile cache.
pub fn daemon_env() -> [(&'static str, String); 2] {
    [
        ("RUST_LOG", "info".to_owned()),
        (
            "WASI_HTTPD_CACHE_DIR",
            compile_cache().display().to_string(),
        ),
    ]
}

/// A running daemon; killed when dropped.
pub struct Daemon {
    child: Child,
    pub addr: SocketAddr,
    /// Everything printed on stdout, the route table included.
    pub stdout: Arc<Mutex<String>>,
    /// Everything logged on stderr.
    pub stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// `wasi-httpd serve APP --listen 127.0.0.1:0 EXTRA...`, waiting until it
    /// prints the address it serves on.
    pub fn start(app: &TestApp, extra: &[&str]) -> Daemon {
        Self::start_with_env(app, extra, &[])
    }

    /// As [`Daemon::start`], with extra environment variables.
    pub fn start_with_env(app: &TestApp, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut args: Vec<String> = vec!["serve".into(), app.path().display().to_string()];
        if !extra.contains(&"--listen") {
            args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(&args, env)
    }

    pub fn spawn(args: &[String], env: &[(&str, &str)]) -> Daemon {
        Self::spawn_limited(args, env, None)
    }

    /// As [`Daemon::spawn`], with at most `nofile` file descriptors
    /// (`RLIMIT_NOFILE`) when given.
    pub fn spawn_limited(args: &[String], env: &[(&str, &str)], nofile: Option<u64>) -> Daemon {
        let mut command = Command::new(BIN);
        if let Some(limit) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(
                        nix::sys::resource::Resource::RLIMIT_NOFILE,
                        limit,
                        limit,
                    )
                    .map_err(std::io::Error::from)
                });
            }
        }
        let mut child = command
            .args(args)
            .envs(daemon_env())
            .envs(env.iter().copied())
            .env_remove("WASI_HTTPD_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wasi-httpd");
        let stderr = collect(child.stderr.take().unwrap());
        let stdout_text = Arc::new(Mutex::new(String::new()));
        // stdout is read on its own thread, so a daemon that prints nothing
        // fails the test after the deadline instead of hanging it.
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let sink = stdout_text.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                let _ = tx.send(std::mem::take(&mut line));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let addr = loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(wait) else {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "wasi-httpd did not start; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            };
            let line = line.trim();
            let url = line
                .strip_prefix("Serving http://")
                .or_else(|| line.strip_prefix("Serving https://"))
                .or_else(|| line.strip_prefix("\"base_url\": \"http://"))
                .or_else(|| line.strip_prefix("\"base_url\": \"https://"));
            if let Some(url) = url {
                break url
                    .trim_end_matches(['"', ','])
                    .parse()
                    .expect("the served address");
            }
        };
        Daemon {
            child,
            addr,
            stdout: stdout_text,
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (logs are asynchronous to the
    /// response); panics with the log after 10 s.
    pub fn wait_for_log(&self, needle: &str) -> String {
        wait_for_text(&self.stderr, needle)
    }

    pub fn get(&self, path: &str) -> Response {
        send(
            self.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
        )
    }

    /// Sends `method path` with `body` (and its Content-Length).
    pub fn send(&self, method: &str, path: &str, body: &str) -> Response {
        send(
            self.addr,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    pub fn raw(&self, request: &str) -> Response {
        send(self.addr, request)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("send a signal");
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("kill -TERM");
        self.child.wait().expect("wait for wasi-httpd")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything `stream` gives, read on a thread of its own as it comes.
pub fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    });
    text
}

/// Runs the binary to completion (for `check` and failing starts).
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("WASI_HTTPD_CACHE_DIR", compile_cache())
        .env_remove("WASI_HTTPD_LISTEN")
        .stdin(Stdio::null())
        .output()
        .expect("run wasi-httpd")
}

/// `NAME=value` lines (what the cgi and oldsdk guests print) as a map.
pub fn vars(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A one-thread HTTP server on 127.0.0.1 answering `upstream <path>`; the
/// port it listens on.
pub fn upstream() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or("?").to_owned();
            let body = format!("upstream {path}");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Waits until the text collected from a child's output (asynchronously,
/// by a reader thread) contains `needle`; panics with it after 10 s.
pub fn wait_for_text(text: &Mutex<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = text.lock().unwrap().clone();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "log never contained {needle:?}; log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
