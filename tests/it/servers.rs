//! Real backing servers for the data-service tests, started on a free
//! loopback port in a temporary directory and stopped when dropped:
//! Redis (`redis-server`, installed by `.ci/run`). A raw RESP client
//! lets a test look at what the daemon stored, as another Redis user sees it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of the test's own, with a password.
pub struct Redis {
    child: Child,
    pub port: u16,
    pub password: &'static str,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        Self::start_on(free_port())
    }

    /// A server on `port` (to restart one where a daemon expects it).
    pub fn start_on(port: u16) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let password = "redis-test-secret";
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--requirepass", password, "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): install it (apt-get install redis-server; .ci/run does)")
            });
        let redis = Redis {
            child,
            port,
            password,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.try_command(&["PING"]).as_deref() != Some("+PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    /// The URL a runtime configuration names it by.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/0", self.password, self.port)
    }

    /// Runs one command; its reply's first line (`+OK`, `$5`, `:3`...) and,
    /// for a bulk string, its value on the next: `"$3 red"`.
    pub fn command(&self, args: &[&str]) -> String {
        self.try_command(args)
            .unwrap_or_else(|| panic!("redis {args:?} got no reply"))
    }

    fn try_command(&self, args: &[&str]) -> Option<String> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut writer = stream.try_clone().ok()?;
        let mut reader = BufReader::new(stream);
        for command in [&["AUTH", self.password][..], args] {
            let mut out = format!("*{}\r\n", command.len());
            for arg in command {
                out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
            }
            writer.write_all(out.as_bytes()).ok()?;
        }
        let mut line = String::new();
        reader.read_line(&mut line).ok()?; // AUTH's +OK
        line.clear();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end().to_owned();
        match line.strip_prefix('$') {
            Some(len) if len != "-1" => {
                let mut value = String::new();
                reader.read_line(&mut value).ok()?;
                Some(format!("{line} {}", value.trim_end()))
            }
            _ => Some(line),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (for now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
