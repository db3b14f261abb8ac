//! The main job of the crate, in its interim form.
//!
//! Until the sync engine lands, this example does an honest smaller job on the simulated
//! device: it plugs a memory device into a provider, enumerates devices and storages, creates a
//! folder, writes a file in chunks, reads it back through the WMDM object calls, checks the
//! bytes, and prints what it did and how much space it used.
//!
//! Run it with `cargo run --release --example sync`.

use std::process::ExitCode;

use wmdm::flags::{OpenMode, SeekOrigin};
use wmdm::metadata::{FormatCode, Metadata, tags};
use wmdm::provider::{CreateRequest, ServiceProvider, StorageRef};
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync: {e} ({})", e.hresult());
            ExitCode::FAILURE
        }
    }
}

fn run() -> wmdm::Result<()> {
    let player = MemoryDevice::builder("Demo Player")
        .manufacturer("wmdm examples")
        .serial("DEMO-0001")
        .storage(
            StorageConfig::new("Internal", 8 * 1024 * 1024)
                .file("Notes/readme.txt", "the user's own file"),
        )
        .build()?;
    let provider = MemoryProvider::new().with_device(player.clone());

    println!("provider exposes {} device(s)", provider.device_count()?);
    let device = provider
        .devices()?
        .into_iter()
        .next()
        .ok_or(wmdm::Error::NoPda)?;
    println!(
        "device: {} by {} (type {:?}, status {:?})",
        device.name()?,
        device.manufacturer()?,
        device.device_type()?,
        device.status()?
    );
    let root = device
        .storages()?
        .into_iter()
        .next()
        .ok_or(wmdm::Error::FileNotFound)?;
    let globals = root.globals()?;
    let free_before = globals.total_free()?;
    println!(
        "storage {:?}: {} bytes total, {} free",
        root.name()?,
        globals.total_size()?,
        free_before
    );
    list(&root, 1)?;

    // Create Music/ and a file in it, with metadata, the way a transfer would.
    let music = root.create(&CreateRequest::folder("Music"))?;
    let mut meta = Metadata::new();
    meta.add(tags::TITLE, "Interim Demo Track");
    meta.add(tags::AUTHOR, "wmdm");
    meta.add(tags::FORMAT_CODE, FormatCode::MP3);
    let payload: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let song = music.create(
        &CreateRequest::file("demo.mp3")
            .metadata(meta)
            .size_hint(payload.len() as u64),
    )?;
    let mut io = song.open(OpenMode::WRITE)?;
    for chunk in payload.chunks(64 * 1024) {
        io.write(chunk)?;
    }
    io.close()?;
    println!(
        "wrote {} bytes to Music/demo.mp3 in 64 KiB chunks",
        payload.len()
    );

    // Read it back through Open/Seek/Read/Close and compare.
    let mut io = song.open(OpenMode::READ)?;
    io.seek(SeekOrigin::BOF, 0)?;
    let mut back = Vec::with_capacity(payload.len());
    let mut buf = vec![0u8; 48 * 1024];
    loop {
        let n = io.read(&mut buf)?;
        if n == 0 {
            break;
        }
        back.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    io.close()?;
    if back != payload {
        return Err(wmdm::Error::ProcessFailed);
    }
    println!("read back {} bytes: identical", back.len());

    let title = song.metadata()?.get_str(tags::TITLE).map(str::to_owned);
    println!(
        "metadata title on the device: {}",
        title.unwrap_or_default()
    );
    let free_after = globals.total_free()?;
    println!(
        "free space: {} -> {} bytes ({} used by the transfer)",
        free_before,
        free_after,
        free_before - free_after
    );
    list(&root, 1)?;
    println!(
        "device calls made: {} (bytes written {}, read {})",
        player.stats().total_calls(),
        player.stats().bytes_written,
        player.stats().bytes_read
    );
    Ok(())
}

/// Prints a storage tree, one object per line.
fn list(storage: &StorageRef, depth: usize) -> wmdm::Result<()> {
    for child in storage.children()? {
        let attrs = child.attributes()?.attributes;
        let kind = if attrs.is_folder() { "dir " } else { "file" };
        println!(
            "{:indent$}{kind} {} ({} bytes)",
            "",
            child.name()?,
            child.size()?,
            indent = depth * 2
        );
        if attrs.is_folder() {
            list(&child, depth + 1)?;
        }
    }
    Ok(())
}
