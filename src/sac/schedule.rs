//! The key schedule: HKDF-style extraction and expansion with HMAC-SHA256.
//!
//! ```text
//! prk           = HMAC(key = transcript_hash, secret)            (extract; the salt binds the transcript)
//! session_key   = HMAC(prk, "wmdm-sac-v1 session key" || 0x01)
//! finished_key  = HMAC(prk, "wmdm-sac-v1 finished"    || 0x01)
//! enc c->s      = HMAC(session_key, "wmdm-sac-v1 enc c2s" || 0x01)
//! enc s->c      = HMAC(session_key, "wmdm-sac-v1 enc s2c" || 0x01)
//! mac           = HMAC(session_key, "wmdm-sac-v1 mac"     || 0x01)
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenation of `parts`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn expand(prk: &[u8; 32], label: &[u8]) -> [u8; 32] {
    hmac(prk, &[label, &[1]])
}

/// What the handshake derives from the session secret and the transcript.
pub(crate) struct HandshakeKeys {
    pub(crate) session_key: [u8; 32],
    pub(crate) finished_key: [u8; 32],
}

impl Drop for HandshakeKeys {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.session_key.zeroize();
        self.finished_key.zeroize();
    }
}

pub(crate) fn handshake_keys(secret: &[u8], transcript_hash: &[u8; 32]) -> HandshakeKeys {
    let prk = hmac(transcript_hash, &[secret]);
    HandshakeKeys {
        session_key: expand(&prk, b"wmdm-sac-v1 session key"),
        finished_key: expand(&prk, b"wmdm-sac-v1 finished"),
    }
}

/// The keys a session uses for parameters and MACs.
#[derive(Clone)]
pub(crate) struct TrafficKeys {
    pub(crate) client_to_server: [u8; 32],
    pub(crate) server_to_client: [u8; 32],
    pub(crate) mac: [u8; 32],
}

impl TrafficKeys {
    pub(crate) fn zeroize(&mut self) {
        use zeroize::Zeroize;
        self.client_to_server.zeroize();
        self.server_to_client.zeroize();
        self.mac.zeroize();
    }
}

pub(crate) fn traffic_keys(session_key: &[u8; 32]) -> TrafficKeys {
    TrafficKeys {
        client_to_server: expand(session_key, b"wmdm-sac-v1 enc c2s"),
        server_to_client: expand(session_key, b"wmdm-sac-v1 enc s2c"),
        mac: expand(session_key, b"wmdm-sac-v1 mac"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_separate_and_bound_to_the_transcript() {
        let a = handshake_keys(&[7; 32], &[1; 32]);
        let b = handshake_keys(&[7; 32], &[2; 32]);
        assert_ne!(a.session_key, b.session_key);
        assert_ne!(a.session_key, a.finished_key);
        let t = traffic_keys(&a.session_key);
        assert_ne!(t.client_to_server, t.server_to_client);
        assert_ne!(t.mac, t.client_to_server);
    }
}
