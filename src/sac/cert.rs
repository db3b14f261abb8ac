//! SAC_CERT_V1 certificates, the roots of trust and the revocation list.
//!
//! A certificate binds a subject, a role and an application security level to an RSA public
//! key, for a validity window, under the signature of a root. The binary layout is in
//! `docs/security.md` and in [`Certificate::from_bytes`].

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};

use super::codec::{Reader, put_vec16};
use super::rng::{Drbg, OsRandom};
use crate::error::{Error, Result};
use crate::time::{Clock, WmdmDateTime};

/// `SAC_CERT_V1`: the certificate format flag (`SetCertificate(dwFlags)`).
pub const SAC_CERT_V1: u32 = 2;

/// The first four bytes of every certificate.
pub const CERT_MAGIC: [u8; 4] = *b"WSAC";

/// The smallest RSA modulus accepted anywhere in the channel, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (bounds the cost of hostile keys).
pub const MAX_RSA_BITS: usize = 4096;

const MAX_NAME: usize = 255;
const MAX_KEY_DER: usize = 600;
const MAX_SIGNATURE: usize = MAX_RSA_BITS / 8;
/// The largest encoded certificate.
pub const MAX_CERT_LEN: usize =
    4 + 4 + 1 + 4 + 8 + 8 + 8 + 4 * 2 + 2 * MAX_NAME + MAX_KEY_DER + MAX_SIGNATURE;

/// What a certificate's holder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// An application (the SAC client toward the device manager).
    Application,
    /// The device manager (server toward applications, client toward providers).
    Manager,
    /// A service provider (the SAC server toward the device manager).
    Provider,
}

impl Role {
    const fn code(self) -> u8 {
        match self {
            Role::Application => 1,
            Role::Manager => 2,
            Role::Provider => 3,
        }
    }

    fn from_code(code: u8) -> Result<Role> {
        match code {
            1 => Ok(Role::Application),
            2 => Ok(Role::Manager),
            3 => Ok(Role::Provider),
            _ => Err(Error::InvalidArg),
        }
    }
}

/// The fields a root signs: what [`Certificate::issue`] takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The holder's name (1 to 255 bytes of UTF-8).
    pub subject: String,
    /// The holder's role.
    pub role: Role,
    /// The application security level (GetAppSec).
    pub app_sec: u32,
    /// The serial number, unique per issuer; revocation goes by serial.
    pub serial: u64,
    /// Valid from (seconds since the Unix epoch, UTC, inclusive).
    pub not_before: i64,
    /// Valid until (seconds since the Unix epoch, UTC, inclusive).
    pub not_after: i64,
    /// The holder's public key (2048 to 4096 bits).
    pub public_key: RsaPublicKey,
}

/// A parsed SAC_CERT_V1 certificate. Parsing checks the layout only; trust comes from
/// [`TrustStore::verify`].
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    fields: CertificateRequest,
    issuer: String,
    signed: Vec<u8>,
    signature: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.fields.subject)
            .field("role", &self.fields.role)
            .field("serial", &self.fields.serial)
            .field("app_sec", &self.fields.app_sec)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn check_key(key: &RsaPublicKey) -> Result<()> {
    let bits = key.size() * 8;
    if (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(Error::InvalidArg)
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME {
        Err(Error::InvalidArg)
    } else {
        Ok(())
    }
}

/// Seconds since the Unix epoch (negative before it), as certificates count time.
pub(crate) fn unix_seconds(t: std::time::SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn sha1_digest(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

impl Certificate {
    /// Issues a certificate: `issuer_key` (a root's private key) signs `request` with RSA
    /// PKCS#1 v1.5 over SHA-1. `issuer` is the root's name, as configured in the verifying
    /// [`TrustStore`].
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an empty or over-long subject or issuer, a key outside 2048 to
    /// 4096 bits, or `not_after` before `not_before`; [`Error::Fail`] if signing fails or the
    /// operating system's random generator is unavailable (it blinds the signature).
    pub fn issue(
        request: &CertificateRequest,
        issuer: &str,
        issuer_key: &RsaPrivateKey,
    ) -> Result<Certificate> {
        check_name(&request.subject)?;
        check_name(issuer)?;
        check_key(&request.public_key)?;
        check_key(&issuer_key.to_public_key())?;
        if request.not_after < request.not_before {
            return Err(Error::InvalidArg);
        }
        let der = request
            .public_key
            .to_pkcs1_der()
            .map_err(|_| Error::InvalidArg)?;
        let mut signed = Vec::with_capacity(MAX_CERT_LEN);
        signed.extend_from_slice(&CERT_MAGIC);
        signed.extend_from_slice(&SAC_CERT_V1.to_le_bytes());
        signed.push(request.role.code());
        signed.extend_from_slice(&request.app_sec.to_le_bytes());
        signed.extend_from_slice(&request.serial.to_le_bytes());
        signed.extend_from_slice(&request.not_before.to_le_bytes());
        signed.extend_from_slice(&request.not_after.to_le_bytes());
        put_vec16(&mut signed, request.subject.as_bytes())?;
        put_vec16(&mut signed, issuer.as_bytes())?;
        put_vec16(&mut signed, der.as_bytes())?;
        // The rsa crate blinds a private-key operation only when given a generator
        // (RUSTSEC-2023-0071, docs/security.md), so give it one even for this offline step.
        let mut rng = Drbg::seeded(&OsRandom)?;
        let signature = issuer_key
            .sign_with_rng(&mut rng, Pkcs1v15Sign::new::<Sha1>(), &sha1_digest(&signed))
            .map_err(|_| Error::Fail)?;
        Ok(Certificate {
            fields: request.clone(),
            issuer: issuer.to_owned(),
            signed,
            signature,
        })
    }

    /// Parses the binary form. The layout (all integers little-endian):
    ///
    /// | field | bytes |
    /// |---|---|
    /// | magic `WSAC` | 4 |
    /// | format, `SAC_CERT_V1` (2) | 4 |
    /// | role (1 application, 2 manager, 3 provider) | 1 |
    /// | application security level | 4 |
    /// | serial | 8 |
    /// | not before, not after (Unix seconds) | 8 + 8 |
    /// | subject, issuer (UTF-8, u16 length, 1..=255) | 2 + n each |
    /// | public key (PKCS#1 DER, u16 length, at most 600) | 2 + n |
    /// | signature (u16 length, at most 512) | 2 + n |
    ///
    /// The signature covers every byte before its length field.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for anything malformed: wrong magic or format, unknown role,
    /// truncation, a length field beyond its maximum, invalid UTF-8, an unparsable key or one
    /// outside 2048 to 4096 bits, trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Certificate> {
        Certificate::parse(bytes).map_err(|e| e.context("the certificate is malformed"))
    }

    fn parse(bytes: &[u8]) -> Result<Certificate> {
        if bytes.len() > MAX_CERT_LEN {
            return Err(Error::InvalidArg);
        }
        let mut r = Reader::new(bytes);
        if r.array::<4>()? != CERT_MAGIC || r.u32()? != SAC_CERT_V1 {
            return Err(Error::InvalidArg);
        }
        let role = Role::from_code(r.u8()?)?;
        let app_sec = r.u32()?;
        let serial = r.u64()?;
        let not_before = r.i64()?;
        let not_after = r.i64()?;
        let text = |b: &[u8]| -> Result<String> {
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| Error::InvalidArg)
        };
        let subject = text(r.vec16(1, MAX_NAME)?)?;
        let issuer = text(r.vec16(1, MAX_NAME)?)?;
        let der = r.vec16(1, MAX_KEY_DER)?;
        let signed_len = bytes.len() - r.remaining();
        let signature = r.vec16(1, MAX_SIGNATURE)?.to_vec();
        r.finish()?;
        let public_key = RsaPublicKey::from_pkcs1_der(der).map_err(|_| Error::InvalidArg)?;
        check_key(&public_key)?;
        let signed = bytes.get(..signed_len).ok_or(Error::InvalidArg)?.to_vec();
        Ok(Certificate {
            fields: CertificateRequest {
                subject,
                role,
                app_sec,
                serial,
                not_before,
                not_after,
                public_key,
            },
            issuer,
            signed,
            signature,
        })
    }

    /// The binary form (see [`Certificate::from_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.signed.clone();
        // The signature length was checked (or produced) within u16 range.
        out.extend_from_slice(&(self.signature.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.signature);
        out
    }

    /// The holder's name.
    pub fn subject(&self) -> &str {
        &self.fields.subject
    }

    /// The holder's role.
    pub fn role(&self) -> Role {
        self.fields.role
    }

    /// The application security level.
    pub fn app_sec(&self) -> u32 {
        self.fields.app_sec
    }

    /// The serial number.
    pub fn serial(&self) -> u64 {
        self.fields.serial
    }

    /// The issuing root's name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The validity window, as Unix seconds (both ends inclusive).
    pub fn validity(&self) -> (i64, i64) {
        (self.fields.not_before, self.fields.not_after)
    }

    /// The validity window as `WMDMDATETIME`s.
    pub fn validity_dates(&self) -> (WmdmDateTime, WmdmDateTime) {
        (
            WmdmDateTime::from_unix(self.fields.not_before),
            WmdmDateTime::from_unix(self.fields.not_after),
        )
    }

    /// The holder's public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.fields.public_key
    }
}

/// A set of revoked certificate serials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationList {
    serials: BTreeSet<u64>,
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> RevocationList {
        RevocationList::default()
    }

    /// Revokes `serial`.
    pub fn revoke(&mut self, serial: u64) {
        self.serials.insert(serial);
    }

    /// True when `serial` is revoked.
    pub fn is_revoked(&self, serial: u64) -> bool {
        self.serials.contains(&serial)
    }
}

/// One root of trust: a name (matched against a certificate's issuer) and its public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    /// The root's name.
    pub name: String,
    /// The root's public key.
    pub key: RsaPublicKey,
}

/// What a side of the channel trusts: its roots, the revocation list, and the clock that
/// validity windows are checked against.
#[derive(Clone, Debug)]
pub struct TrustStore {
    roots: Vec<TrustAnchor>,
    revoked: RevocationList,
    clock: Arc<dyn Clock>,
}

impl TrustStore {
    /// A store with no roots (which trusts nothing yet).
    pub fn new(clock: Arc<dyn Clock>) -> TrustStore {
        TrustStore {
            roots: Vec::new(),
            revoked: RevocationList::new(),
            clock,
        }
    }

    /// Adds a root of trust.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an empty or over-long name or a key outside 2048 to 4096 bits.
    pub fn add_root(&mut self, name: impl Into<String>, key: RsaPublicKey) -> Result<()> {
        let name = name.into();
        check_name(&name)?;
        check_key(&key)?;
        self.roots.push(TrustAnchor { name, key });
        Ok(())
    }

    /// Builder form of [`TrustStore::add_root`].
    ///
    /// # Errors
    /// As [`TrustStore::add_root`].
    pub fn with_root(mut self, name: impl Into<String>, key: RsaPublicKey) -> Result<TrustStore> {
        self.add_root(name, key)?;
        Ok(self)
    }

    /// Revokes a serial.
    pub fn revoke(&mut self, serial: u64) {
        self.revoked.revoke(serial);
    }

    /// Replaces the revocation list.
    pub fn set_revocation_list(&mut self, list: RevocationList) {
        self.revoked = list;
    }

    /// The revocation list.
    pub fn revocation_list(&self) -> &RevocationList {
        &self.revoked
    }

    /// Checks a certificate: a configured root issued it (the signature verifies), its serial
    /// is not revoked, the clock is inside its validity window, and its role is `role`.
    ///
    /// # Errors
    /// [`Error::NotCertified`] for an unknown issuer, a bad signature, an expired or
    /// not-yet-valid certificate, or the wrong role; [`Error::Revoked`] for a revoked serial
    /// (checked after the signature, so a forged certificate is never reported as revoked).
    pub fn verify(&self, cert: &Certificate, role: Role) -> Result<()> {
        let digest = sha1_digest(&cert.signed);
        let issued = self.roots.iter().any(|root| {
            root.name == cert.issuer
                && root
                    .key
                    .verify(Pkcs1v15Sign::new::<Sha1>(), &digest, &cert.signature)
                    .is_ok()
        });
        let named = |why: &str| {
            format!(
                "certificate '{}' (serial {}, issued by '{}'): {why}",
                cert.subject(),
                cert.serial(),
                cert.issuer
            )
        };
        if !issued {
            return Err(Error::NotCertified.context(named(
                "no configured root issued it (unknown issuer or bad signature)",
            )));
        }
        if self.revoked.is_revoked(cert.serial()) {
            return Err(Error::Revoked.context(named("its serial is revoked")));
        }
        let now = unix_seconds(self.clock.now());
        let (from, until) = cert.validity();
        if now < from || now > until {
            let why = if now > until {
                format!("it expired at {until} (Unix time; now {now})")
            } else {
                format!("it is valid only from {from} (Unix time; now {now})")
            };
            return Err(Error::NotCertified.context(named(&why)));
        }
        if cert.role() != role {
            return Err(Error::NotCertified.context(named(&format!(
                "it is a {:?} certificate where a {role:?} one is needed",
                cert.role()
            ))));
        }
        Ok(())
    }
}
