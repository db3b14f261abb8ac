//! The baseline of the MTP sync bar: uploads every file of a folder to mtp-rs's virtual
//! device backed by another folder, with the plain mtp-rs API in a loop (folders created as
//! needed, one upload per file), and prints the time. `scripts/mtp-bench.sh` runs it against
//! the sync example on the same files.
//!
//! `cargo run --release --features mtp-virtual --example mtp_upload -- LIBRARY DEVICE_DIR`

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mtp_rs::virtual_device::{VirtualDeviceConfig, VirtualStorageConfig};
use mtp_rs::{NewObjectInfo, ObjectHandle};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let p = e.path();
        if e.file_type()?.is_dir() {
            files(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(library), Some(device)) = (args.next(), args.next()) else {
        return Err("usage: mtp_upload LIBRARY DEVICE_DIR".into());
    };
    let library = PathBuf::from(library);
    std::fs::create_dir_all(&device)?;
    let started = Instant::now();
    let config = VirtualDeviceConfig {
        serial: "mtp-upload-baseline".into(),
        storages: vec![VirtualStorageConfig {
            description: "Internal storage".into(),
            capacity: 64 << 30,
            backing_dir: PathBuf::from(&device),
            read_only: false,
        }],
        event_poll_interval: Duration::ZERO,
        watch_backing_dirs: false,
        ..Default::default()
    };
    let mut all = Vec::new();
    files(&library, &mut all)?;
    let (count, bytes) = futures::executor::block_on(async {
        let dev = mtp_rs::MtpDevice::builder().open_virtual(config).await?;
        let storages = dev.storages().await?;
        let storage = storages.first().ok_or("no storage")?;
        let mut folders: HashMap<PathBuf, ObjectHandle> = HashMap::new();
        let mut bytes = 0u64;
        for path in &all {
            let rel = path.strip_prefix(&library)?;
            let mut parent: Option<ObjectHandle> = None;
            let mut at = PathBuf::new();
            if let Some(dir) = rel.parent() {
                for c in dir.components() {
                    at.push(c);
                    parent = Some(match folders.get(&at) {
                        Some(h) => *h,
                        None => {
                            let name = c.as_os_str().to_string_lossy();
                            let h = storage.create_folder(parent, &name).await?;
                            folders.insert(at.clone(), h);
                            h
                        }
                    });
                }
            }
            let data = std::fs::read(path)?;
            bytes += data.len() as u64;
            let name = rel
                .file_name()
                .ok_or("no name")?
                .to_string_lossy()
                .into_owned();
            let info = NewObjectInfo::file(name, data.len() as u64);
            let chunk = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(data))]);
            storage
                .upload(parent, info, chunk)
                .await
                .map_err(|e| e.source)?;
        }
        Ok::<_, Box<dyn std::error::Error>>((all.len(), bytes))
    })?;
    let took = started.elapsed();
    println!(
        "uploaded {count} files, {bytes} bytes in {:.3} s",
        took.as_secs_f64()
    );
    Ok(())
}
