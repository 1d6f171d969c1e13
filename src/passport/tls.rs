//! TLS for the Passport service, on an OpenSSL built into msnd (the `vendored` feature):
//! MSN Messenger 5.0 uses the TLS stack of Windows XP/2000, which offers only SSL 3.0 and
//! TLS 1.0 with RSA key exchange and 3DES or RC4, and sends no SNI. rustls has no TLS 1.0,
//! and distribution OpenSSL builds leave out those suites. The protocol range and cipher
//! list come from `[passport]`; one certificate is served to every client, SNI or not.
//!
//! The certificate is a configured PEM pair, or a self-signed one created on first use
//! beside the database, which operators import into Windows' trusted root store.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::provider::Provider;
use openssl::rsa::Rsa;
use openssl::ssl::{SslContext, SslMethod, SslOptions, SslVersion};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use tracing::{info, warn};

use crate::config::{Config, TlsVersion};

/// File names of the generated pair, in the database's directory.
pub const CERT_FILE: &str = "msnd-cert.pem";
pub const KEY_FILE: &str = "msnd-key.pem";

/// Names every generated certificate covers: the Passport hosts clients are pointed at,
/// and loopback.
const FIXED_NAMES: [&str; 5] =
    ["nexus.passport.com", "login.passport.com", "loginnet.passport.com", "localhost", "127.0.0.1"];

/// Validity of a generated certificate, about ten years.
const VALIDITY_DAYS: u32 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a PEM {what}: {source}", path.display())]
    Pem { path: PathBuf, what: &'static str, source: ErrorStack },
    #[error("{}: no PEM certificate in it", .0.display())]
    NoCertificate(PathBuf),
    #[error("{} exists but {} does not: delete it to have a new pair generated", .0.display(), .1.display())]
    HalfPair(PathBuf, PathBuf),
    #[error("passport.ciphers {ciphers:?} is not usable: {source}")]
    Ciphers { ciphers: String, source: ErrorStack },
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] ErrorStack),
}

/// A certificate chain (server certificate first) and its private key.
pub struct Identity {
    pub chain: Vec<X509>,
    key: PKey<Private>,
}

impl Identity {
    /// The server's own certificate.
    pub fn certificate(&self) -> &X509 {
        &self.chain[0]
    }
}

/// Where the certificate and key are, and whether msnd generates them.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub generated: bool,
}

impl CertFiles {
    /// `passport.cert`/`key` if configured, else the generated pair in the data directory
    /// (when none is set, beside the database).
    pub fn of(config: &Config) -> CertFiles {
        let p = &config.passport;
        if !p.cert.as_os_str().is_empty() {
            return CertFiles { cert: p.cert.clone(), key: p.key.clone(), generated: false };
        }
        CertFiles { cert: config.data_file(CERT_FILE), key: config.data_file(KEY_FILE), generated: true }
    }
}

/// Loads the certificate and key, first creating a self-signed pair if msnd generates
/// them and neither file exists yet.
pub fn load_or_create(config: &Config) -> Result<Identity, TlsError> {
    let files = CertFiles::of(config);
    if files.generated {
        match (files.cert.exists(), files.key.exists()) {
            (false, false) => {
                create(&files, &subject_names(config))?;
                info!(cert = %files.cert.display(), "created a self-signed certificate for Passport; \
                      `msnd cert --der msnd.cer` exports it for Windows");
            }
            (true, false) => return Err(TlsError::HalfPair(files.cert, files.key)),
            (false, true) => return Err(TlsError::HalfPair(files.key, files.cert)),
            (true, true) => {}
        }
    }
    load(&files)
}

fn load(files: &CertFiles) -> Result<Identity, TlsError> {
    let read =
        |path: &Path| std::fs::read(path).map_err(|source| TlsError::Io { path: path.to_owned(), source });
    let pem = |path: &Path, what, source| TlsError::Pem { path: path.to_owned(), what, source };
    let chain = X509::stack_from_pem(&read(&files.cert)?).map_err(|e| pem(&files.cert, "certificate", e))?;
    let key =
        PKey::private_key_from_pem(&read(&files.key)?).map_err(|e| pem(&files.key, "private key", e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(files.cert.clone()));
    }
    Ok(Identity { chain, key })
}

/// Suites taken out of any configured cipher list: anonymous ones (`AECDH-*`, `ADH-*`), which
/// let a man in the middle read the passwords, and those without encryption. `HIGH` at
/// `@SECLEVEL=0` includes the anonymous ones; Windows XP needs neither.
const NEVER: &str = "!aNULL:!eNULL";

/// The TLS server context: `[passport]`'s versions and ciphers, this identity, and the
/// server's cipher preference (so modern clients get modern suites).
pub fn context(config: &crate::config::Passport, identity: &Identity) -> Result<SslContext, TlsError> {
    let mut ctx = SslContext::builder(SslMethod::tls_server())?;
    ctx.set_options(SslOptions::CIPHER_SERVER_PREFERENCE | SslOptions::NO_COMPRESSION);
    ctx.set_min_proto_version(Some(ssl_version(config.tls_min_version)))?;
    ctx.set_max_proto_version(Some(ssl_version(config.tls_max_version)))?;
    ctx.set_cipher_list(&format!("{}:{NEVER}", config.ciphers))
        .map_err(|source| TlsError::Ciphers { ciphers: config.ciphers.clone(), source })?;
    ctx.set_certificate(identity.certificate())?;
    for extra in &identity.chain[1..] {
        ctx.add_extra_chain_cert(extra.clone())?;
    }
    ctx.set_private_key(&identity.key)?;
    ctx.check_private_key()?;
    Ok(ctx.build())
}

/// Loads OpenSSL's legacy provider, home of RC4 since OpenSSL 3, so that RC4 suites in
/// `passport.ciphers` work. The default provider stays. Keep the result alive while TLS is
/// served; `None` (RC4 unavailable) is logged.
pub fn legacy_provider() -> Option<Provider> {
    Provider::try_load(None, "legacy", true)
        .inspect_err(|e| warn!(error = %e, "OpenSSL legacy provider unavailable: no RC4 cipher suites"))
        .ok()
}

fn ssl_version(version: TlsVersion) -> SslVersion {
    match version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// What a generated certificate is for: the configured public hosts, the fixed Passport
/// and loopback names, then `passport.cert_names`; without ports or duplicates.
fn subject_names(config: &Config) -> Vec<String> {
    let configured = [&config.passport.public_host, &config.public_host];
    let candidates = configured
        .into_iter()
        .map(|h| host_of(h))
        .chain(FIXED_NAMES)
        .chain(config.passport.cert_names.iter().map(String::as_str));
    let mut names: Vec<String> = Vec::new();
    for name in candidates.filter(|n| !n.is_empty()) {
        if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    names
}

/// The host of `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
fn host_of(address: &str) -> &str {
    if let Some(bracketed) = address.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    match address.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => address,
    }
}

/// Generates a pair and writes it, the key readable by its owner only.
fn create(files: &CertFiles, names: &[String]) -> Result<(), TlsError> {
    let (cert, key) = self_signed(names)?;
    write_new(&files.key, &key.private_key_to_pem_pkcs8()?, 0o600)?;
    write_new(&files.cert, &cert.to_pem()?, 0o644)
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .and_then(|mut file| file.write_all(contents))
        .map_err(|source| TlsError::Io { path: path.to_owned(), source })
}

/// A self-signed RSA 2048 certificate for `names` (the first is also the common name),
/// usable as its own root: CA, server authentication, about ten years.
///
/// Signed with SHA-1 because Windows 2000 and XP before SP3 cannot check SHA-256
/// signatures. This weakens nothing here: a self-signed certificate is trusted because it
/// was imported, not because of its signature, which no client checks on a trust anchor.
pub fn self_signed(names: &[String]) -> Result<(X509, PKey<Private>), ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut subject = X509NameBuilder::new()?;
    subject.append_entry_by_nid(Nid::ORGANIZATIONNAME, "msnd (self-signed)")?;
    subject.append_entry_by_nid(Nid::COMMONNAME, names.first().map_or("msnd", String::as_str))?;
    let subject = subject.build();
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;

    let mut cert = X509Builder::new()?;
    cert.set_version(2)?;
    cert.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
    cert.set_subject_name(&subject)?;
    cert.set_issuer_name(&subject)?;
    cert.set_pubkey(&key)?;
    // A day back, for clients whose clock is behind.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    cert.set_not_before(Asn1Time::from_unix(now.saturating_sub(86_400) as i64)?.as_ref())?;
    cert.set_not_after(Asn1Time::days_from_now(VALIDITY_DAYS)?.as_ref())?;
    // A CA (so Windows takes it as a trusted root) that may not certify other CAs.
    cert.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    cert.append_extension(KeyUsage::new().digital_signature().key_encipherment().key_cert_sign().build()?)?;
    cert.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    for name in names {
        match name.parse::<IpAddr>() {
            Ok(_) => san.ip(name),
            Err(_) => san.dns(name),
        };
    }
    let san = san.build(&cert.x509v3_context(None, None))?;
    cert.append_extension(san)?;
    let key_id = SubjectKeyIdentifier::new().build(&cert.x509v3_context(None, None))?;
    cert.append_extension(key_id)?;
    cert.sign(&key, MessageDigest::sha1())?;
    Ok((cert.build(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        Config::from_toml(toml, "test").unwrap()
    }

    #[test]
    fn names_cover_configured_hosts_without_ports_or_duplicates() {
        let c = config(
            "public_host = \"192.0.2.10\"\n[passport]\npublic_host = \"msn.example.net:1867\"\n\
             cert_names = [\"chat.lan\", \"LOCALHOST\", \"::1\"]\n",
        );
        assert_eq!(
            subject_names(&c),
            [
                "msn.example.net",
                "192.0.2.10",
                "nexus.passport.com",
                "login.passport.com",
                "loginnet.passport.com",
                "localhost",
                "127.0.0.1",
                "chat.lan",
                "::1"
            ]
        );
        assert_eq!(host_of("[::1]:443"), "::1");
        assert_eq!(host_of("::1"), "::1");
    }

    #[test]
    fn generated_pair_is_written_beside_the_database_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(&format!("database_url = \"sqlite://{}\"\n", dir.path().join("x.db").display()));
        let files = CertFiles::of(&c);
        assert_eq!(files.cert, dir.path().join(CERT_FILE));
        let first = load_or_create(&c).unwrap();
        let again = load_or_create(&c).unwrap();
        assert_eq!(first.certificate().to_der().unwrap(), again.certificate().to_der().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        context(&c.passport, &first).unwrap();
        std::fs::remove_file(&files.key).unwrap();
        let err = load_or_create(&c).err().unwrap();
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }

    #[test]
    fn self_signed_certificate_is_a_sha1_root_with_the_names() {
        let names = vec!["nexus.passport.com".to_owned(), "127.0.0.1".to_owned()];
        let (cert, key) = self_signed(&names).unwrap();
        assert!(cert.verify(&key).unwrap(), "self-signed");
        assert_eq!(cert.signature_algorithm().object().nid(), Nid::SHA1WITHRSAENCRYPTION);
        let sans = cert.subject_alt_names().unwrap();
        assert_eq!(sans.iter().filter_map(|n| n.dnsname()).collect::<Vec<_>>(), ["nexus.passport.com"]);
        assert_eq!(sans.iter().filter_map(|n| n.ipaddress()).collect::<Vec<_>>(), [&[127, 0, 0, 1][..]]);
    }

    #[test]
    fn a_bad_cipher_list_is_named() {
        let c = config("[passport]\nciphers = \"NO-SUCH-CIPHER\"\n");
        let (cert, key) = self_signed(&["localhost".to_owned()]).unwrap();
        let err = context(&c.passport, &Identity { chain: vec![cert], key }).err().unwrap();
        assert!(err.to_string().contains("passport.ciphers"), "{err}");
    }
}
