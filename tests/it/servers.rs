//! Real backing servers for the data-service tests, started on a free
//! loopback port in a temporary directory and stopped when dropped:
//! Redis (`redis-server`) and PostgreSQL (`initdb`, `pg_ctl`), both
//! installed by `.ci/run`. A raw RESP client
//! lets a test look at what the daemon stored, as another Redis user sees it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
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

/// A PostgreSQL server of the test's own: `initdb` into a temporary
/// directory and `pg_ctl start` on a free port, as an unprivileged user
/// (`nobody` when the tests run as root), with a password; stopped when
/// dropped.
pub struct Postgres {
    pub port: u16,
    pub password: &'static str,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

/// The directory of PostgreSQL's programs: on PATH, else Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin() -> PathBuf {
    let on_path = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(initdb) = on_path {
        // Debian links the programs from /usr/lib/postgresql/<v>/bin.
        let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        return initdb.parent().unwrap().to_path_buf();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("no initdb: install PostgreSQL (apt-get install postgresql; .ci/run does)")
    })
}

/// A certificate authority of the test's own and a server certificate it
/// signed for 127.0.0.1: (CA PEM, server certificate PEM, server key PEM).
pub fn test_ca() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "wasi-httpd test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

impl Postgres {
    pub fn start() -> Postgres {
        Self::start_with(None)
    }

    /// A server that also takes TLS, with this certificate and key (PEM).
    pub fn start_tls(cert: &str, key: &str) -> Postgres {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().unwrap();
        let password = "pg-test-secret";
        let root = nix::unistd::Uid::effective().is_root();
        // PostgreSQL refuses to run as root: the server's files belong to
        // `nobody` then.
        let (uid, gid) = (65534, 65534);
        if root {
            nix::unistd::chown(dir.path(), Some(uid.into()), Some(gid.into())).unwrap();
        }
        let command = |program: &str| {
            let mut command = Command::new(bin.join(program));
            if root {
                use std::os::unix::process::CommandExt;
                command.uid(uid).gid(gid);
            }
            command.env("HOME", dir.path()).current_dir(dir.path());
            command
        };
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, password).unwrap();
        if root {
            nix::unistd::chown(&pwfile, Some(uid.into()), Some(gid.into())).unwrap();
        }
        let data = dir.path().join("data");
        let out = command("initdb")
            .args(["-U", "postgres", "--auth=scram-sha-256", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("-D")
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        if let Some((cert, key)) = tls {
            use std::os::unix::fs::PermissionsExt;
            for (name, pem) in [("server.crt", cert), ("server.key", key)] {
                let path = data.join(name);
                std::fs::write(&path, pem).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
                if root {
                    nix::unistd::chown(&path, Some(uid.into()), Some(gid.into())).unwrap();
                }
            }
            options.push_str(" -c ssl=on");
        }
        let out = command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.path().join("log"))
            .args(["-w", "-t", "30", "start"])
            .output()
            .expect("run pg_ctl");
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Postgres {
            port,
            password,
            bin,
            dir,
        }
    }

    /// The URL a guest opens it by.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable",
            self.password, self.port
        )
    }

    /// Runs `sql` with psql as the server's superuser; its output
    /// (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGPASSWORD", self.password)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut command = Command::new(self.bin.join("pg_ctl"));
        if nix::unistd::Uid::effective().is_root() {
            use std::os::unix::process::CommandExt;
            command.uid(65534).gid(65534);
        }
        let _ = command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
