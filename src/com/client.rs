//! The application's (or WMDM's) side of a provider's secure channel, over a COM
//! IComponentAuthenticate: what CSecureChannelClient::Authenticate does in the SDK.

use std::sync::Arc;

use windows::Win32::Media::DeviceManager::IComponentAuthenticate;

use super::util::co_free;
use crate::error::{Error, Hresult, Result};
use crate::sac::{ChannelConfig, SAC_PROTOCOL_V1, Session, client};

fn from_win(e: &windows_core::Error) -> Error {
    Error::from_hresult(Hresult(e.code().0))
}

/// Copies and frees a callee-allocated buffer.
fn take<T: Copy>(p: *mut T, n: u32) -> Result<Vec<T>> {
    let out = if n == 0 {
        Vec::new()
    } else if p.is_null() {
        return Err(Error::Fail);
    } else {
        // SAFETY: the callee returned `n` values at `p`.
        unsafe { std::slice::from_raw_parts(p, n as usize) }.to_vec()
    };
    co_free(p);
    Ok(out)
}

fn sac_auth(auth: &IComponentAuthenticate, pass: u32, msg: &[u8]) -> Result<Vec<u8>> {
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `msg` is a live slice; the out-pointers point at locals; the reply is
    // CoTaskMemAlloc'ed and freed by `take`.
    unsafe { auth.SACAuth(SAC_PROTOCOL_V1, pass, msg, &mut out, &mut len) }
        .map_err(|e| from_win(&e))?;
    take(out, len)
}

/// SACGetProtocols through the vtable.
///
/// # Errors
/// The provider's error.
pub fn protocols(auth: &IComponentAuthenticate) -> Result<Vec<u32>> {
    let mut p: *mut u32 = std::ptr::null_mut();
    let mut n = 0u32;
    // SAFETY: out-pointers to locals; the array is freed by `take`.
    unsafe { auth.SACGetProtocols(&mut p, &mut n) }.map_err(|e| from_win(&e))?;
    take(p, n)
}

/// Runs both passes of the handshake against a provider and returns the client's session
/// (for MACs and parameter encryption of later calls).
///
/// # Errors
/// [`Error::NotSupported`] when the provider does not speak `SAC_PROTOCOL_V1`; otherwise the
/// errors of either side's passes.
pub fn authenticate(auth: &IComponentAuthenticate, config: Arc<ChannelConfig>) -> Result<Session> {
    if !protocols(auth)?.contains(&SAC_PROTOCOL_V1) {
        return Err(Error::NotSupported);
    }
    let (state, msg0) = client::begin(config)?;
    let reply0 = sac_auth(auth, 0, &msg0)?;
    let (state, msg1) = state.handle_reply(&reply0)?;
    let reply1 = sac_auth(auth, 1, &msg1)?;
    state.handle_reply(&reply1)
}
