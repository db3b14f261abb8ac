//! Fixtures shared by the COM tests: an authenticated provider over the in-memory device.
#![allow(dead_code, unreachable_pub, unsafe_code)]

use std::sync::Arc;

use windows::Win32::Media::DeviceManager::*;
use windows_core::{HRESULT, Interface};
use wmdm::com::{ComChannel, ComServiceProvider, client};
use wmdm::provider::ServiceProvider;
use wmdm::providers::memory::{MemoryDevice, MemoryProvider};
use wmdm::sac::{Role, Session};

use crate::common;

pub const DEVICE_NAME: &str = "Test Player";

pub fn memory() -> MemoryProvider {
    let device = MemoryDevice::builder(DEVICE_NAME)
        .serial("SER-1")
        .build()
        .expect("device");
    MemoryProvider::new().with_device(device)
}

pub fn channel() -> Arc<ComChannel> {
    let clock = common::clock();
    ComChannel::new(Arc::new(common::config(
        Role::Provider,
        3,
        Role::Manager,
        &clock,
    )))
}

pub fn login(sp: &IMDServiceProvider) -> Session {
    let clock = common::clock();
    let config = Arc::new(common::config(Role::Manager, 2, Role::Provider, &clock));
    let auth: IComponentAuthenticate = sp.cast().expect("IComponentAuthenticate");
    client::authenticate(&auth, config).expect("handshake")
}

pub fn provider(core: Arc<dyn ServiceProvider>) -> (IMDServiceProvider, Arc<ComChannel>) {
    let ch = channel();
    (
        ComServiceProvider::new(core, ch.clone()).into_interface(),
        ch,
    )
}

pub fn first_device(sp: &IMDServiceProvider) -> IMDSPDevice {
    let e = unsafe { sp.EnumDevices() }.expect("EnumDevices");
    let mut slot = [None];
    unsafe { e.Next(&mut slot, std::ptr::null_mut()) }.expect("Next");
    slot[0].take().expect("a device")
}

pub fn root(device: &IMDSPDevice) -> IMDSPStorage {
    let e = unsafe { device.EnumStorage() }.expect("EnumStorage");
    let mut slot = [None];
    unsafe { e.Next(&mut slot, std::ptr::null_mut()) }.expect("Next");
    slot[0].take().expect("a storage")
}

pub fn code<T>(r: windows_core::Result<T>) -> HRESULT {
    match r {
        Ok(_) => HRESULT(0),
        Err(e) => e.code(),
    }
}

pub fn wide_str(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}
