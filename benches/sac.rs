//! Secure-channel costs: the full handshake against the RSA operations it performs alone, and
//! 100 MiB through the manager (secure and clear channels) against a direct write loop on the
//! provider.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Cursor;
use std::sync::Arc;

use common::flat::FlatProvider;
use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rsa::{Oaep, Pkcs1v15Sign};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use wmdm::flags::OpenMode;
use wmdm::manager::{InsertOptions, InsertSource, TRANSFER_CHUNK};
use wmdm::provider::{CreateRequest, NoProgress};
use wmdm::sac::Role;
use wmdm::sac::client;
use wmdm::sac::server::ExpectPass0;

fn handshake(c: &mut Criterion) {
    let clock = clock();
    let client_cfg = Arc::new(config(Role::Manager, 7, Role::Provider, &clock));
    let server_cfg = Arc::new(config(Role::Provider, 50, Role::Manager, &clock));
    let mut group = c.benchmark_group("handshake");
    group.bench_function("full handshake", |b| {
        b.iter(|| {
            let (c0, msg0) = client::begin(client_cfg.clone()).unwrap();
            let (s1, reply0) = ExpectPass0::new(server_cfg.clone())
                .handle_pass0(&msg0)
                .unwrap();
            let (c1, msg1) = c0.handle_reply(&reply0).unwrap();
            let (_, reply1) = s1.handle_pass1(&msg1).unwrap();
            c1.handle_reply(&reply1).unwrap()
        })
    });

    // The same RSA work, alone: two blinded PKCS#1 v1.5 signatures, one OAEP encryption and
    // one blinded decryption, two certificate verifications (SHA-1) and two transcript
    // verifications (SHA-256).
    let manager = manager_key();
    let provider = provider_key();
    let root = root_key().to_public_key();
    let cert_m = issue(&request(Role::Manager, 7));
    let cert_p = issue(&request(Role::Provider, 50));
    let tbs_m = cert_m.to_bytes();
    let tbs_p = cert_p.to_bytes();
    let sig_m = root_key()
        .sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(&tbs_m))
        .unwrap();
    let sig_p = root_key()
        .sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(&tbs_p))
        .unwrap();
    let digest = [7u8; 32];
    group.bench_function("rsa operations alone", |b| {
        let mut rng = rand_core::OsRng;
        b.iter(|| {
            let s_sig = provider
                .sign_with_rng(&mut rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
                .unwrap();
            let ct = provider
                .to_public_key()
                .encrypt(&mut rng, Oaep::new::<Sha256>(), &digest)
                .unwrap();
            let c_sig = manager
                .sign_with_rng(&mut rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
                .unwrap();
            let secret = provider
                .decrypt_blinded(&mut rng, Oaep::new::<Sha256>(), &ct)
                .unwrap();
            let _ = root.verify(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(&tbs_m), &sig_m);
            let _ = root.verify(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(&tbs_p), &sig_p);
            provider
                .to_public_key()
                .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &s_sig)
                .unwrap();
            manager
                .to_public_key()
                .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &c_sig)
                .unwrap();
            secret
        })
    });
    group.finish();
}

const TOTAL: usize = 100 * 1024 * 1024;

fn transfer(c: &mut Criterion) {
    let data = vec![0x5Au8; TOTAL];
    let mut group = c.benchmark_group("transfer 100 MiB");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(TOTAL as u64));

    group.bench_function("direct write loop on the provider", |b| {
        let provider = FlatProvider::new(&["a"], false);
        let root = provider.device("a").root.clone();
        b.iter(|| {
            use wmdm::provider::Storage;
            let file = root.create(&CreateRequest::file("x").overwrite()).unwrap();
            let mut io = file.open(OpenMode::WRITE).unwrap();
            for chunk in data.chunks(TRANSFER_CHUNK) {
                io.write(chunk).unwrap();
            }
            io.close().unwrap();
        })
    });

    for (label, clear) in [
        ("manager, secure channel", false),
        ("manager, clear channel", true),
    ] {
        group.bench_function(label, |b| {
            let (mgr, _) = manager(&["a"], clear);
            let root = mgr.devices().unwrap()[0].storages().unwrap().remove(0);
            let options = InsertOptions {
                overwrite: true,
                ..InsertOptions::default()
            };
            b.iter(|| {
                let mut reader = Cursor::new(&data[..]);
                root.insert(
                    InsertSource::Reader {
                        reader: &mut reader,
                        name: "x".into(),
                        size: TOTAL as u64,
                    },
                    &options,
                    &mut NoProgress,
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, handshake, transfer);
criterion_main!(benches);
