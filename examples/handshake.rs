//! Issue certificates from a root key, then run the SAC handshake pass by pass, sans-IO, and
//! use the session: a MAC and an encrypted parameter, as IMDSPObject::Write carries them.
//!
//! Run with `cargo run --example handshake`. It uses the fixed test keys in tests/data/keys;
//! make your own with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem`.

use std::sync::Arc;

use wmdm::sac::client;
use wmdm::sac::server::ExpectPass0;
use wmdm::sac::{
    Certificate, CertificateRequest, ChannelConfig, Identity, Role, TrustStore,
    private_key_from_pem,
};
use wmdm::time::SystemClock;

fn key(name: &str) -> wmdm::Result<rsa::RsaPrivateKey> {
    let path = format!("{}/tests/data/keys/{name}.pem", env!("CARGO_MANIFEST_DIR"));
    private_key_from_pem(&std::fs::read_to_string(path)?)
}

fn main() -> wmdm::Result<()> {
    let root = key("root")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| wmdm::Error::Fail)?
        .as_secs() as i64;
    // What a provider author does once, offline: have the root sign the provider's key.
    let identity = |subject: &str, role, serial, key: rsa::RsaPrivateKey| {
        let cert = Certificate::issue(
            &CertificateRequest {
                subject: subject.into(),
                role,
                app_sec: 1000,
                serial,
                not_before: now - 60,
                not_after: now + 365 * 86_400,
                public_key: key.to_public_key(),
            },
            "example root",
            &root,
        )?;
        println!(
            "issued {} ({} bytes)",
            cert.subject(),
            cert.to_bytes().len()
        );
        Identity::new(cert, key)
    };
    let trust =
        TrustStore::new(Arc::new(SystemClock)).with_root("example root", root.to_public_key())?;
    let manager = Arc::new(ChannelConfig::new(
        identity("manager", Role::Manager, 1, key("manager")?)?,
        trust.clone(),
        Role::Provider,
    ));
    let provider = Arc::new(ChannelConfig::new(
        identity("provider", Role::Provider, 2, key("provider")?)?,
        trust,
        Role::Manager,
    ));

    // Pass 0 and pass 1, each one message in and one message out on the server side.
    let (client_state, pass0) = client::begin(manager)?;
    println!(
        "pass 0  manager -> provider: {:4} bytes (its certificate, a fresh challenge)",
        pass0.len()
    );
    let (server_state, reply0) = ExpectPass0::new(provider).handle_pass0(&pass0)?;
    println!(
        "reply 0 provider -> manager: {:4} bytes (its certificate, its challenge, a signature over both)",
        reply0.len()
    );
    let (client_state, pass1) = client_state.handle_reply(&reply0)?;
    println!(
        "pass 1  manager -> provider: {:4} bytes (a session secret under the provider's key, signed)",
        pass1.len()
    );
    let (mut server, reply1) = server_state.handle_pass1(&pass1)?;
    println!(
        "reply 1 provider -> manager: {:4} bytes (a confirmation of the derived keys)",
        reply1.len()
    );
    let mut client = client_state.handle_reply(&reply1)?;
    println!(
        "authenticated: {} <-> {}",
        server.peer_certificate().subject(),
        client.peer_certificate().subject(),
    );

    // IMDSPObject::Write: MAC over the plaintext then its size, encrypt, send; the provider
    // decrypts and checks.
    let mut data = b"a chunk of a song".to_vec();
    let size = (data.len() as u32).to_le_bytes();
    let mac = client.mac(&[&data, &size]);
    client.encrypt_param(&mut data)?;
    server.decrypt_param(&mut data)?;
    server.verify_mac(&[&data, &size], &mac)?;
    println!("provider received {:?}", String::from_utf8_lossy(&data));
    Ok(())
}
