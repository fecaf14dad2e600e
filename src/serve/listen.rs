//! Listening sockets: inherited from systemd (`LISTEN_FDS`, names from
//! `LISTEN_FDNAMES`) and checked with nix, or bound from `--listen` with an
//! optional free-port search.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::sys::socket::{
    AddressFamily, SockType, SockaddrLike, SockaddrStorage, getsockname, getsockopt, sockopt,
};

/// How many ports `--find-free-port` tries, the first included (as Spin).
const FREE_PORT_TRIES: u16 = 10;

/// A listening socket ready to hand to tokio.
pub struct Listener {
    /// The fd name from `LISTEN_FDNAMES`, or `listen` for a bound socket.
    pub name: String,
    pub socket: Socket,
}

pub enum Socket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// How the socket is shown in logs and STATUS=: `http 127.0.0.1:3000`.
    pub fn describe(&self) -> String {
        match &self.socket {
            Socket::Tcp(l) => match l.local_addr() {
                Ok(addr) => format!("{} {addr}", self.name),
                Err(_) => format!("{} (tcp)", self.name),
            },
            Socket::Unix(l) => match l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
            {
                Some(path) => format!("{} unix:{path}", self.name),
                None => format!("{} unix", self.name),
            },
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.socket {
            Socket::Tcp(l) => l.local_addr().ok(),
            Socket::Unix(_) => None,
        }
    }
}

/// Takes the sockets systemd passed, if any. Call before any thread starts:
/// it reads and clears `LISTEN_FDS` / `LISTEN_PID`.
pub fn from_systemd() -> Result<Option<Vec<Listener>>> {
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .map(|v| v.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    // SAFETY: single-threaded at this point (documented precondition).
    unsafe { std::env::remove_var("LISTEN_FDNAMES") };
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(None);
    }
    let mut listeners = Vec::with_capacity(fds.len());
    for index in 0..fds.len() {
        let name = names
            .get(index)
            .cloned()
            .unwrap_or_else(|| "http".to_owned());
        let raw = fds
            .take_raw_fd(index)
            .with_context(|| format!("cannot take inherited socket {index} ({name})"))?
            .with_context(|| format!("inherited socket {index} ({name}) is missing"))?;
        // SAFETY: systemd passed this fd to us and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        listeners.push(inherited(fd, name)?);
    }
    Ok(Some(listeners))
}

fn inherited(fd: OwnedFd, name: String) -> Result<Listener> {
    let number = fd.as_raw_fd();
    let wrong = |what: &str| {
        anyhow::anyhow!(
            "inherited fd {number} (name {name:?}) is {what}; pass listening stream sockets (ListenStream= in the .socket unit)"
        )
    };
    match getsockopt(&fd.as_fd(), sockopt::SockType) {
        Ok(SockType::Stream) => {}
        Ok(_) => return Err(wrong("not a stream socket")),
        Err(_) => return Err(wrong("not a socket")),
    }
    if !getsockopt(&fd.as_fd(), sockopt::AcceptConn).unwrap_or(false) {
        return Err(wrong("not listening"));
    }
    let family = getsockname::<SockaddrStorage>(number)
        .ok()
        .and_then(|addr| addr.family());
    let socket = match family {
        Some(AddressFamily::Inet | AddressFamily::Inet6) => Socket::Tcp(TcpListener::from(fd)),
        Some(AddressFamily::Unix) => Socket::Unix(UnixListener::from(fd)),
        _ => return Err(wrong("of an unsupported address family")),
    };
    set_nonblocking(&socket)
        .with_context(|| format!("cannot make inherited fd {number} non-blocking"))?;
    Ok(Listener { name, socket })
}

/// Binds every address; with `find_free_port`, a busy port moves on to the
/// next ones.
pub fn bind(addrs: &[SocketAddr], find_free_port: bool) -> Result<Vec<Listener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let listener = bind_one(*addr, find_free_port)?;
        let socket = Socket::Tcp(listener);
        set_nonblocking(&socket)?;
        listeners.push(Listener {
            name: "http".to_owned(),
            socket,
        });
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr, find_free_port: bool) -> Result<TcpListener> {
    let tries = if find_free_port && addr.port() != 0 {
        FREE_PORT_TRIES
    } else {
        1
    };
    let mut candidate = addr;
    for _ in 0..tries {
        match TcpListener::bind(candidate) {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && tries > 1 => {
                let Some(next) = candidate.port().checked_add(1) else {
                    break;
                };
                candidate.set_port(next);
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                bail!(
                    "cannot listen on {addr}: the address is in use; stop what uses it, pick another with --listen, or add --find-free-port"
                )
            }
            Err(e) => return Err(e).with_context(|| format!("cannot listen on {addr}")),
        }
    }
    bail!(
        "cannot listen on {addr}: ports {} to {} are all in use; pick another with --listen",
        addr.port(),
        addr.port().saturating_add(tries - 1)
    )
}

/// An `--admin-listen` address: TCP, or a Unix socket path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl AdminAddr {
    /// `HOST:PORT`, `unix:PATH`, or a path (it has a `/`).
    pub fn parse(text: &str) -> Result<AdminAddr, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(AdminAddr::Unix(PathBuf::from(path)));
        }
        if text.contains('/') {
            return Ok(AdminAddr::Unix(PathBuf::from(text)));
        }
        text.parse().map(AdminAddr::Tcp).map_err(|_| {
            format!(
                "{text:?}: an admin address is HOST:PORT (e.g. 127.0.0.1:9188) or a Unix socket path"
            )
        })
    }
}

/// The name of the sockets that serve metrics and health checks.
pub const ADMIN: &str = "admin";

/// Binds the admin addresses, named [`ADMIN`]. A Unix socket file left by
/// an earlier run (nothing answers on it) is replaced; one in use, or any
/// other file there, is an error.
pub fn bind_admin(addrs: &[AdminAddr]) -> Result<Vec<Listener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let socket = match addr {
            AdminAddr::Tcp(addr) => Socket::Tcp(
                bind_one(*addr, false).with_context(|| format!("--admin-listen {addr}"))?,
            ),
            AdminAddr::Unix(path) => Socket::Unix(
                bind_unix(path).with_context(|| format!("--admin-listen {}", path.display()))?,
            ),
        };
        set_nonblocking(&socket)?;
        listeners.push(Listener {
            name: ADMIN.to_owned(),
            socket,
        });
    }
    Ok(listeners)
}

fn bind_unix(path: &Path) -> Result<UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "cannot listen on {}: a file that is not a socket is there; remove it or pick another path",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "cannot listen on {}: another process serves on it; stop it or pick another path",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))
}

fn set_nonblocking(socket: &Socket) -> io::Result<()> {
    match socket {
        Socket::Tcp(l) => l.set_nonblocking(true),
        Socket::Unix(l) => l.set_nonblocking(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_free_port_skips_a_busy_port() {
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = busy.local_addr().unwrap();
        let got = bind_one(addr, true).unwrap();
        assert_ne!(got.local_addr().unwrap().port(), addr.port());
        let err = bind_one(addr, false).unwrap_err();
        assert!(format!("{err:#}").contains("--find-free-port"), "{err:#}");
    }
}
