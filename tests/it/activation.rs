//! Harness for socket activation: runs the real binary under
//! `systemd-socket-activate` with named sockets and a test-owned
//! NOTIFY_SOCKET, and reads the sd_notify messages it sends.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{BIN, TestApp, require_tool};

/// A datagram socket at a filesystem path, as systemd's NOTIFY_SOCKET is.
pub struct NotifySocket {
    socket: UnixDatagram,
    pub path: PathBuf,
    /// Every message received so far, in order.
    pub seen: Vec<String>,
}

impl NotifySocket {
    pub fn new(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Self {
            socket,
            path,
            seen: Vec::new(),
        }
    }

    /// Receives until a message satisfies `pred`, returning it; panics after
    /// `within`, listing what came.
    pub fn wait_for(&mut self, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        let mut buf = vec![0u8; 8192];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(message.clone());
                if pred(&message) {
                    return message;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no matching sd_notify message; got:\n{:#?}",
                self.seen
            );
        }
    }

    /// Collects every message for `period`.
    pub fn collect_for(&mut self, period: Duration) -> Vec<(Instant, String)> {
        let deadline = Instant::now() + period;
        let mut buf = vec![0u8; 8192];
        let mut got = Vec::new();
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(message.clone());
                got.push((Instant::now(), message));
            }
        }
        got
    }
}

/// True when a notify message carries `KEY=...` for this key (a message
/// holds several newline-separated assignments).
pub fn has(message: &str, assignment: &str) -> bool {
    message
        .lines()
        .any(|l| l == assignment || (assignment.ends_with('=') && l.starts_with(assignment)))
}

/// One socket handed to the daemon: a TCP port on 127.0.0.1 or a Unix path.
pub enum Sock {
    Tcp(&'static str),
    Unix(&'static str),
    /// A UDP socket (`systemd-socket-activate -d`, which makes every
    /// socket of the activator a datagram one: do not mix it with others).
    Udp(&'static str),
}

/// The daemon under `systemd-socket-activate`.
pub struct Activated {
    child: Child,
    pub tcp: Vec<SocketAddr>,
    pub unix: Vec<PathBuf>,
    pub udp: Vec<SocketAddr>,
    pub notify: NotifySocket,
    pub stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Activated {
    /// Starts the activator with `socks` (named as given), `env` for the
    /// daemon and `args` after `serve APP`, then opens a first connection
    /// so that it starts the daemon.
    pub fn spawn(app: &TestApp, socks: &[Sock], env: &[(&str, &str)], args: &[&str]) -> Self {
        require_tool("systemd-socket-activate", "systemd");
        let dir = tempfile::tempdir().unwrap();
        let notify = NotifySocket::new(dir.path());
        let mut cmd = Command::new("systemd-socket-activate");
        let mut names = Vec::new();
        let mut tcp = Vec::new();
        let mut unix = Vec::new();
        let mut udp = Vec::new();
        for sock in socks {
            match sock {
                Sock::Tcp(name) => {
                    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
                    cmd.arg("-l").arg(addr.to_string());
                    tcp.push(addr);
                    names.push(*name);
                }
                Sock::Unix(name) => {
                    let path = dir.path().join(format!("{name}-{}.sock", unix.len()));
                    cmd.arg("-l").arg(&path);
                    unix.push(path);
                    names.push(*name);
                }
                Sock::Udp(name) => {
                    let port = std::net::UdpSocket::bind("127.0.0.1:0")
                        .unwrap()
                        .local_addr()
                        .unwrap()
                        .port();
                    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
                    cmd.arg("-l").arg(addr.to_string());
                    udp.push(addr);
                    names.push(*name);
                }
            }
        }
        assert!(
            udp.is_empty() || (tcp.is_empty() && unix.is_empty()),
            "systemd-socket-activate makes all of its sockets datagram ones or none"
        );
        if !udp.is_empty() {
            cmd.arg("-d");
        }
        cmd.arg(format!("--fdname={}", names.join(":")));
        cmd.arg("-E")
            .arg(format!("NOTIFY_SOCKET={}", notify.path.display()));
        for (k, v) in crate::support::daemon_env() {
            cmd.arg("-E").arg(format!("{k}={v}"));
        }
        for (k, v) in env {
            cmd.arg("-E").arg(format!("{k}={v}"));
        }
        cmd.arg(BIN).arg("serve").arg(app.path()).args(args);
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("systemd-socket-activate (package systemd) is needed");
        let stderr = crate::support::collect(child.stderr.take().unwrap());
        let mut activated = Self {
            child,
            tcp,
            unix,
            udp,
            notify,
            stderr,
            _dir: dir,
        };
        activated.wait_listening();
        activated
    }

    /// Waits until the activator listens, then connects once to start the
    /// daemon (the connection stays in the backlog until it is served).
    /// A datagram activator is started by a datagram, which is lost if it
    /// arrives before the activator binds: those are sent until the daemon
    /// has started (it has logged or exited).
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Some(addr) = self.udp.first() {
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            loop {
                let _ = sender.send_to(b"start", addr);
                let started =
                    !self.stderr().is_empty() || self.child.try_wait().expect("wait").is_some();
                if started {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "systemd-socket-activate did not start the daemon on a datagram"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        loop {
            let ready = match (self.tcp.first(), self.unix.first()) {
                (Some(addr), _) => std::net::TcpStream::connect(addr).is_ok(),
                (None, Some(path)) => std::os::unix::net::UnixStream::connect(path).is_ok(),
                (None, None) => true,
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "systemd-socket-activate did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts and waits for READY=1.
    pub fn ready(app: &TestApp, socks: &[Sock], env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut activated = Self::spawn(app, socks, env, args);
        activated
            .notify
            .wait_for(Duration::from_secs(120), |m| has(m, "READY=1"));
        activated
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), signal).expect("send a signal");
    }

    /// Waits until the daemon has exited and its whole log has been read
    /// (the reading thread drops its handle on the log at end of file).
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait")
                && Arc::strong_count(&self.stderr) == 1
            {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not exit; log:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (see [`wait_for_text`]).
    pub fn wait_for_log(&self, needle: &str) -> String {
        crate::support::wait_for_text(&self.stderr, needle)
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
