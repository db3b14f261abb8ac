//! IMDSPDevice::GetName through the COM vtable (authentication gate, panic guard, UTF-16 copy
//! into the caller's buffer) against `Device::name` called directly on the core.
//! Windows only (run under Wine with the cargo runner); elsewhere it does nothing.

#[cfg(all(windows, feature = "com"))]
#[allow(unsafe_code)]
mod bench {
    use std::hint::black_box;
    use std::sync::Arc;

    use criterion::Criterion;
    use windows::Win32::Media::DeviceManager::{IComponentAuthenticate, IMDSPDevice};
    use windows_core::Interface;
    use wmdm::com::{ComChannel, ComServiceProvider, client};
    use wmdm::provider::ServiceProvider;
    use wmdm::providers::memory::{MemoryDevice, MemoryProvider};
    use wmdm::sac::{
        Certificate, CertificateRequest, ChannelConfig, Identity, Role, TrustStore,
        private_key_from_pem,
    };
    use wmdm::time::SystemClock;

    fn key(name: &str) -> rsa::RsaPrivateKey {
        let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        private_key_from_pem(&std::fs::read_to_string(path).expect("key")).expect("pem")
    }

    fn config(role: Role, peer: Role, file: &str) -> Arc<ChannelConfig> {
        let root = key("root.pem");
        let k = key(file);
        let request = CertificateRequest {
            subject: file.into(),
            role,
            app_sec: 1000,
            serial: role as u64 + 1,
            not_before: 0,
            not_after: i64::MAX,
            public_key: k.to_public_key(),
        };
        let cert = Certificate::issue(&request, "root", &root).expect("issue");
        let trust = TrustStore::new(Arc::new(SystemClock))
            .with_root("root", root.to_public_key())
            .expect("trust");
        Arc::new(ChannelConfig::new(
            Identity::new(cert, k).expect("id"),
            trust,
            peer,
        ))
    }

    pub(crate) fn main() {
        let core =
            Arc::new(MemoryProvider::new().with_device(MemoryDevice::new("Benchmark Player")));
        let direct = core.devices().expect("devices").remove(0);
        let channel = ComChannel::new(config(Role::Provider, Role::Manager, "provider.pem"));
        let sp = ComServiceProvider::new(core, channel).into_interface();
        let auth: IComponentAuthenticate = sp.cast().expect("auth");
        let _session =
            client::authenticate(&auth, config(Role::Manager, Role::Provider, "manager.pem"))
                .expect("handshake");
        let e = unsafe { sp.EnumDevices() }.expect("enum");
        let mut slot: [Option<IMDSPDevice>; 1] = [None];
        unsafe { e.Next(&mut slot, std::ptr::null_mut()) }.expect("next");
        let device = slot[0].take().expect("device");

        let mut c = Criterion::default().configure_from_args();
        let mut g = c.benchmark_group("GetName");
        g.bench_function("direct core call", |b| {
            b.iter(|| black_box(direct.name().expect("name")))
        });
        let mut buf = [0u16; 64];
        g.bench_function("COM vtable", |b| {
            b.iter(|| {
                unsafe { device.GetName(black_box(&mut buf)) }.expect("GetName");
                black_box(buf[0])
            })
        });
        g.finish();
        c.final_summary();
    }
}

fn main() {
    #[cfg(all(windows, feature = "com"))]
    bench::main();
}
