//! Randomness behind a small trait, so tests can inject a deterministic source.

use std::fmt;
use std::sync::Mutex;

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use rand_core::{CryptoRng, RngCore};

use crate::error::{Error, Result};

/// A source of cryptographic randomness for the secure channel (challenges, session secrets,
/// RSA padding and blinding).
pub trait RandomSource: Send + Sync + fmt::Debug {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// [`Error::Fail`] when the source cannot produce randomness (for example, the operating
    /// system's generator is unavailable).
    fn fill(&self, buf: &mut [u8]) -> Result<()>;
}

/// The operating system's generator (`getrandom`). The default for every channel.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        rand_core::OsRng
            .try_fill_bytes(buf)
            .map_err(|_| Error::Fail)
    }
}

/// A deterministic generator (the ChaCha20 keystream of a 32-byte seed), for tests and
/// reproducible fuzzing. Never use it in production: anyone who knows the seed knows every
/// challenge and session secret.
pub struct SeededRandom {
    stream: Mutex<ChaCha20>,
}

impl fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeededRandom(..)")
    }
}

impl SeededRandom {
    /// A generator whose output is fully determined by `seed`.
    pub fn new(seed: [u8; 32]) -> SeededRandom {
        SeededRandom {
            stream: Mutex::new(ChaCha20::new(&seed.into(), &[0u8; 12].into())),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        let mut stream = self.stream.lock().map_err(|_| Error::Fail)?;
        buf.fill(0);
        stream.try_apply_keystream(buf).map_err(|_| Error::Fail)
    }
}

/// A ChaCha20 generator seeded from a [`RandomSource`] just before an RSA operation.
///
/// The `rsa` crate wants an infallible `RngCore`; seeding first (fallibly) means an unavailable
/// OS generator becomes an [`Error`], never a panic in the middle of padding or blinding.
pub(crate) struct Drbg {
    stream: ChaCha20,
}

impl Drbg {
    pub(crate) fn seeded(source: &dyn RandomSource) -> Result<Drbg> {
        let mut key = [0u8; 32];
        source.fill(&mut key)?;
        Ok(Drbg {
            stream: ChaCha20::new(&key.into(), &[0u8; 12].into()),
        })
    }
}

impl RngCore for Drbg {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
        // A ChaCha20 stream holds 256 GiB; an RSA operation draws a few kilobytes from a
        // fresh one, so the keystream cannot run out here.
        if self.stream.try_apply_keystream(dest).is_err() {
            dest.fill(0);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Drbg {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_os_differs() {
        let (a, b) = (SeededRandom::new([1; 32]), SeededRandom::new([1; 32]));
        let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        a.fill(&mut y).unwrap();
        assert_ne!(x, y, "the stream moves on");
        let mut z = [0u8; 16];
        OsRandom.fill(&mut z).unwrap();
        assert_ne!(z, [0u8; 16]);
    }
}
