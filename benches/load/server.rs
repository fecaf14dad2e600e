//! The servers the benchmark loads, each a process of its own: the
//! `wasi-httpd` binary, `wasmtime serve` and the baseline (this bench
//! binary started again as `--baseline-server ADDR`). Started on a free
//! port chosen here, waited for by polling until the first `200` answer,
//! stopped with SIGTERM (SIGKILL after 10 s, or when dropped).

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::driver::Target;
use crate::support::{Connection, Response};

pub const BIN: &str = env!("CARGO_BIN_EXE_wasi-httpd");
/// How long a server may take to answer its first request (a cold start
/// compiles the component).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of a server's output is kept for error reports.
const LOG_TAIL: usize = 64 << 10;

/// A running server process; killed when dropped.
pub struct Server {
    pub name: &'static str,
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Starts `command` (which serves on `addr`), keeping the tail of its
    /// stdout and stderr.
    pub fn spawn(name: &'static str, mut command: Command, addr: SocketAddr) -> Server {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        keep_tail(child.stdout.take().expect("stdout"), log.clone());
        keep_tail(child.stderr.take().expect("stderr"), log.clone());
        Server {
            name,
            child,
            addr,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET path` until it answers 200 with `body`; panics with the
    /// server's log when it does not within [`START_TIMEOUT`].
    pub fn wait_ready(&mut self, path: &str, body: &str) {
        let deadline = Instant::now() + START_TIMEOUT;
        if let Err(why) = first_response(self.addr, path, body, deadline, &mut self.child) {
            panic!("{}: {why}; its log:\n{}", self.name, self.log_tail(40));
        }
    }

    pub fn target(&self, path: &'static str, body: &'static str) -> Target {
        Target {
            addr: self.addr,
            path,
            body,
        }
    }

    /// Whether the log so far contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&log).contains(text)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&log);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub fn stop(mut self) -> ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("a pid");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait for a server") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait for a server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `wasi-httpd serve APP` on `listen` (without, on the sockets it
/// inherits), its compile cache in `cache`, with the settings it ships with
/// (access log at `info`) but the log on stderr.
pub fn wasi_httpd(app: &Path, listen: Option<SocketAddr>, cache: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.arg("serve").arg(app);
    if let Some(addr) = listen {
        command.arg("--listen").arg(addr.to_string());
    }
    command
        .args(["--log-target", "stderr", "--cache-dir"])
        .arg(cache);
    command
}

/// `wasmtime serve -S cli WASM` on `addr`, its compile cache under `cache`
/// (wasmtime keeps it in `$XDG_CACHE_HOME/wasmtime`). `-S cli` links the
/// `wasi:cli` imports (environment, stdio) that guests built with the Rust
/// toolchain's wasip2 target have, as wasi-httpd does.
pub fn wasmtime_serve(wasmtime: &Path, wasm: &Path, addr: SocketAddr, cache: &Path) -> Command {
    let mut command = Command::new(wasmtime);
    command
        .args(["serve", "-S", "cli"])
        .arg("--addr")
        .arg(addr.to_string())
        .arg(wasm)
        .env("XDG_CACHE_HOME", cache);
    command
}

/// This bench binary again, serving the baseline on `addr`.
pub fn baseline(addr: SocketAddr) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the bench binary's path"));
    command.arg("--baseline-server").arg(addr.to_string());
    command
}

/// `wasmtime` from `$WASMTIME`, else from `PATH` or `~/.cargo/bin`, with
/// the version it reports; `None` when there is none.
pub fn find_wasmtime() -> Option<(PathBuf, String)> {
    let candidates: Vec<PathBuf> = match std::env::var_os("WASMTIME") {
        Some(path) => vec![PathBuf::from(path)],
        None => std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain(std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo/bin")))
            .map(|dir| dir.join("wasmtime"))
            .collect(),
    };
    candidates.into_iter().find_map(|path| {
        let output = Command::new(&path).arg("--version").output().ok()?;
        output.status.success().then(|| {
            let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            (path, version)
        })
    })
}

/// 127.0.0.1 and a port nothing listened on a moment ago.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// The resident set of `pid` in bytes (`VmRSS`), if it still runs.
pub fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Polls `addr` every 100 µs until `GET path` answers 200 with `body`
/// (a refused connection means "not yet"), as a client waiting for a new
/// process would. Fails at `deadline` or when `child` exits.
pub fn first_response(
    addr: SocketAddr,
    path: &str,
    body: &str,
    deadline: Instant,
    child: &mut Child,
) -> Result<(), String> {
    loop {
        match get(addr, path) {
            Ok(response) if response.status == 200 && response.body == body.as_bytes() => {
                return Ok(());
            }
            Ok(response) => {
                return Err(format!(
                    "GET {path} answered {} {:?}",
                    response.status,
                    response.text()
                ));
            }
            Err(_) if Instant::now() < deadline => {}
            Err(e) => return Err(format!("no answer to GET {path} in time: {e}")),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status}) before answering"));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// `GET path` on a new connection, or why it could not connect; the
/// response is read by the tests' client.
pub fn get(addr: SocketAddr, path: &str) -> std::io::Result<Response> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(START_TIMEOUT))?;
    Ok(Connection::from_stream(stream).send(&format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )))
}

/// Drains `stream` on a thread into `tail`, keeping its last [`LOG_TAIL`]
/// bytes.
fn keep_tail(mut stream: impl Read + Send + 'static, tail: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut buf = vec![0; 16 << 10];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            tail.extend_from_slice(&buf[..n]);
            let excess = tail.len().saturating_sub(LOG_TAIL);
            tail.drain(..excess);
        }
    });
}
