//! The example's certificates, issued once and kept in its state folder while they are valid.
//!
//! Issuing a certificate is an RSA signature with the root's key; the example needs three
//! (application, manager, provider), and signing them on every run was a third of a no-op
//! resync's CPU time. A certificate is meant to be issued once and used until it expires, so
//! the example keeps each one in `<state>/certs/` and issues it again only when the kept one
//! is missing, damaged, not for this key or role, not from this root, or close to expiry. The
//! SAC handshakes themselves run on every start: they are the protocol.
//!
//! A kept certificate is a state file like any other, so it is read as hostile input: it is
//! parsed with [`Certificate::from_bytes`] and checked with the same [`TrustStore`] the
//! manager verifies peers with (the root's signature, the validity window, the role), and
//! compared with what would be issued (subject, serial, security level, issuer, public key).
//! Anything else is discarded and a fresh certificate issued.

use std::path::{Path, PathBuf};

use wmdm::sac::{Certificate, CertificateRequest, TrustStore};

use rsa::RsaPrivateKey;

/// A kept certificate with less validity than this left is issued again: a run must not
/// start with a certificate that expires while it syncs.
pub const MIN_LEFT_SECS: i64 = 3_600;

/// How long an issued certificate is valid.
pub const VALID_SECS: i64 = 7 * 86_400;

/// Where certificates are kept, and whether this run may write there (a dry run writes
/// nothing).
#[derive(Clone, Debug, Default)]
pub struct CertCache {
    /// The folder of kept certificates; `None` issues every certificate afresh.
    pub dir: Option<PathBuf>,
    /// Whether a newly issued certificate is saved.
    pub save: bool,
}

impl CertCache {
    /// Certificates kept in `dir`, saved when `save`.
    pub fn at(dir: impl Into<PathBuf>, save: bool) -> CertCache {
        CertCache {
            dir: Some(dir.into()),
            save,
        }
    }

    fn file(&self, request: &CertificateRequest) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{:?}-{}.cert", request.role, request.serial).to_lowercase()))
    }

    /// The certificate for `request` (its `not_before` and `not_after` are ignored: a new one
    /// is valid from a minute ago for [`VALID_SECS`]), kept or issued by `root_key` as `root`.
    ///
    /// # Errors
    /// The errors of [`Certificate::issue`]. A kept certificate that cannot be read or saved
    /// is not an error: it is issued again.
    pub fn certificate(
        &self,
        request: &CertificateRequest,
        root: &str,
        root_key: &RsaPrivateKey,
        trust: &TrustStore,
        now: i64,
    ) -> wmdm::Result<Certificate> {
        let file = self.file(request);
        if let Some(kept) = file
            .as_deref()
            .and_then(|f| read_kept(f, request, root, trust, now))
        {
            return Ok(kept);
        }
        let fresh = CertificateRequest {
            not_before: now - 60,
            not_after: now + VALID_SECS,
            ..request.clone()
        };
        let cert = Certificate::issue(&fresh, root, root_key)?;
        if let (Some(f), true) = (file, self.save) {
            // A failed save only costs the next run a signature.
            let _ = save(&f, &cert.to_bytes());
        }
        Ok(cert)
    }
}

/// The certificate kept at `file`, if it is one `trust` accepts now for `request`'s role, with
/// `request`'s holder and at least [`MIN_LEFT_SECS`] of validity left.
fn read_kept(
    file: &Path,
    request: &CertificateRequest,
    root: &str,
    trust: &TrustStore,
    now: i64,
) -> Option<Certificate> {
    let bytes = std::fs::read(file).ok()?;
    let cert = Certificate::from_bytes(&bytes).ok()?;
    trust.verify(&cert, request.role).ok()?;
    let (_, until) = cert.validity();
    let same = cert.subject() == request.subject
        && cert.serial() == request.serial
        && cert.app_sec() == request.app_sec
        && cert.issuer() == root
        && cert.public_key() == &request.public_key;
    (same && until.saturating_sub(now) >= MIN_LEFT_SECS).then_some(cert)
}

/// Writes `bytes` to `file` whole: a temporary file beside it renamed into place (tempfile
/// removes it if anything fails), so that a reader never sees half a certificate (it would
/// only discard it, but then issue one more).
fn save(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(file).map(drop).map_err(|e| e.error)
}
