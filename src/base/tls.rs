//! TLS for HTTPS sockets: a rustls server configuration from PEM files (an
//! RSA, ECDSA or Ed25519 key and its certificate chain), ALPN `h2` and
//! `http/1.1`, TLS 1.2 and 1.3. The files are re-read on SIGHUP; a bad new
//! pair keeps the previous one serving. And the client configuration of
//! guests' outgoing TLS ([`client_config`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig, version};

/// The certificate and key files, as given on the command line.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The current acceptor; swapped whole when the files are reloaded.
pub struct Tls {
    files: TlsFiles,
    acceptor: ArcSwap<TlsAcceptor>,
}

impl Tls {
    pub fn load(files: TlsFiles) -> Result<Self> {
        let acceptor = acceptor(&files)?;
        Ok(Self {
            files,
            acceptor: ArcSwap::from_pointee(acceptor),
        })
    }

    /// Re-reads the files; on an error the previous pair stays in use.
    pub fn reload(&self) -> Result<()> {
        let acceptor = acceptor(&self.files)?;
        self.acceptor.store(Arc::new(acceptor));
        Ok(())
    }

    pub fn acceptor(&self) -> Arc<TlsAcceptor> {
        self.acceptor.load_full()
    }
}

fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    let chain = certificates(&files.cert)?;
    let key = private_key(&files.key)?;
    let provider = Arc::new(ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .context("cannot set up TLS 1.2 and 1.3")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "--tls-cert {} and --tls-key {} do not form a usable pair (does the key belong to \
                 the certificate? is the key RSA, ECDSA or Ed25519?)",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("--tls-cert: cannot read {}", path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--tls-cert: {} is not valid PEM", path.display()))?;
    if chain.is_empty() {
        bail!(
            "--tls-cert: {} holds no certificate; give a PEM file with \
             \"-----BEGIN CERTIFICATE-----\" blocks (the server's certificate first, then its chain)",
            path.display()
        );
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("--tls-key: cannot read {}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "--tls-key: {} holds no usable private key ({e}); give a PEM file with a PKCS#8, \
             PKCS#1 (RSA) or SEC1 (EC) private key",
            path.display()
        )
    })
}

/// A client TLS configuration for a guest's outgoing connections (HTTP,
/// PostgreSQL and the like): the system's root store (`/etc/ssl/certs`, or
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`; read once), `extra` roots besides
/// them (a guest's own CA for its database, say), and the given ALPN
/// protocols.
pub fn client_config(alpn: Vec<Vec<u8>>, extra: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(error = %error, "cannot read a system root certificate");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::info!(
            added,
            ignored,
            "system root certificates loaded for outbound TLS"
        );
        Arc::new(roots)
    });
    let roots = if extra.is_empty() {
        roots.clone()
    } else {
        let mut with_extra = (**roots).clone();
        with_extra.add_parsable_certificates(extra.iter().cloned());
        Arc::new(with_extra)
    };
    let provider = Arc::new(ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    Arc::new(config)
}
