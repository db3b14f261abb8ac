//! IWMDeviceManager/2/3: the device manager, its device cache and notifications.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::authenticated::AuthenticatedProvider;
use super::objects::{Link, WmdmDevice};
use crate::error::{Error, Result};
use crate::flags::{DeviceEnumPreference, WmdmMessage};
use crate::sac::{
    AuthGate, ChannelConfig, ComponentAuthenticate, EphemeralCredentials, Role, SAC_PROTOCOL_V1,
    SecureChannelClient, SecureChannelServer, Session,
};

/// IWMDeviceManager::GetRevision: this model's revision (major 1, minor 0, in WMDM's
/// major-in-the-high-word layout).
pub const MANAGER_REVISION: u32 = 0x0001_0000;

/// IWMDMNotification: receives device arrival and removal messages with the device's
/// canonical name.
pub trait Notification: Send + Sync {
    /// IWMDMNotification::WMDMMessage.
    fn message(&self, message: WmdmMessage, canonical_name: &str);
}

impl<F: Fn(WmdmMessage, &str) + Send + Sync> Notification for F {
    fn message(&self, message: WmdmMessage, canonical_name: &str) {
        self(message, canonical_name)
    }
}

/// A subscription made with [`DeviceManager::subscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

struct Slot {
    provider: AuthenticatedProvider,
    session: Option<Arc<Mutex<Session>>>,
    preference_applied: bool,
}

struct Inner {
    gate: Arc<AuthGate>,
    client: SecureChannelClient,
    providers: Mutex<Vec<Slot>>,
    cache: Mutex<Option<Vec<WmdmDevice>>>,
    preference: Mutex<Option<DeviceEnumPreference>>,
    subscribers: Mutex<Vec<(SubscriptionId, Arc<dyn Notification>)>>,
    next_subscription: AtomicU64,
}

/// IWMDeviceManager, IWMDeviceManager2 and IWMDeviceManager3, plus the manager's
/// IComponentAuthenticate toward applications.
///
/// Cloning gives another handle to the same manager.
#[derive(Clone)]
pub struct DeviceManager {
    inner: Arc<Inner>,
}

impl fmt::Debug for DeviceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceManager")
            .field("authenticated", &self.is_authenticated())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    m.lock().map_err(|_| Error::Fail)
}

/// The key a device is known by in the cache: its canonical name, or the provider's index and
/// the device name when the provider has no canonical names.
fn device_key(device: &WmdmDevice) -> String {
    device.canonical_name().unwrap_or_else(|_| {
        format!(
            "provider{}:{}",
            device.provider_index(),
            device.name().unwrap_or_default()
        )
    })
}

impl DeviceManager {
    /// A manager with its own identity (`config`, whose certificate must carry
    /// [`Role::Manager`]). The same identity serves toward applications (which must present
    /// [`Role::Application`] certificates) and toward providers ([`Role::Provider`]).
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the identity is not a manager's.
    pub fn new(config: ChannelConfig) -> Result<DeviceManager> {
        if config.identity().certificate().role() != Role::Manager {
            return Err(Error::InvalidArg);
        }
        let toward_apps = Arc::new(config.clone().with_peer_role(Role::Application));
        let toward_providers = Arc::new(config.with_peer_role(Role::Provider));
        Ok(DeviceManager {
            inner: Arc::new(Inner {
                gate: Arc::new(AuthGate::new(SecureChannelServer::new(toward_apps))),
                client: SecureChannelClient::new(toward_providers),
                providers: Mutex::new(Vec::new()),
                cache: Mutex::new(None),
                preference: Mutex::new(None),
                subscribers: Mutex::new(Vec::new()),
                next_subscription: AtomicU64::new(1),
            }),
        })
    }

    /// The application side of "Authenticating the Application": runs the handshake with
    /// `app` (the application's certificate and key) as the client.
    ///
    /// # Errors
    /// Any handshake error: [`Error::NotCertified`], [`Error::Revoked`],
    /// [`Error::CallOutOfSequence`] when already authenticated.
    pub fn authenticate(&self, app: Arc<ChannelConfig>) -> Result<Session> {
        let _span = tracing::debug_span!("authenticate application").entered();
        let mut handle = self.clone();
        SecureChannelClient::new(app).authenticate(&mut handle, SAC_PROTOCOL_V1)
    }

    /// [`authenticate`](Self::authenticate), with the manager's handshakes with its providers
    /// ([`authenticate_providers`](Self::authenticate_providers)) run beside it on a second
    /// thread: each handshake is three RSA private-key operations, the longest part of a
    /// start when the library is small. A provider's failure is not this call's: it is
    /// reported where the devices are looked at ([`devices`](Self::devices) tries it again),
    /// as without this call.
    ///
    /// # Errors
    /// As [`authenticate`](Self::authenticate).
    pub fn authenticate_beside_providers(&self, app: Arc<ChannelConfig>) -> Result<Session> {
        std::thread::scope(|s| {
            s.spawn(|| self.authenticate_providers());
            self.authenticate(app)
        })
    }

    /// A manager serving `providers` that this process's application has already
    /// authenticated to, with [`EphemeralCredentials`] for all three parties: the in-process
    /// path, with no keys or certificates to manage.
    ///
    /// The channel protects nothing here: application, manager and providers share one
    /// address space. The handshake still runs because WMDM's layers require it, with
    /// credentials that exist only in this process. A provider loaded from elsewhere, or the
    /// COM path, authenticates with explicit certificates instead ([`DeviceManager::new`],
    /// [`AuthenticatedProvider::new`], `docs/security.md`).
    ///
    /// # Errors
    /// [`Error::Fail`] when the operating system's random generator is unavailable; a
    /// handshake error (none is expected between credentials of one root).
    pub fn in_process(
        providers: Vec<Arc<dyn crate::provider::ServiceProvider>>,
        clock: Arc<dyn crate::time::Clock>,
    ) -> Result<DeviceManager> {
        let creds = EphemeralCredentials::new(clock)?;
        let manager = DeviceManager::new(creds.config(Role::Manager)?)?;
        for provider in providers {
            let server = SecureChannelServer::new(Arc::new(creds.config(Role::Provider)?));
            manager.add_provider(AuthenticatedProvider::new(provider, server))?;
        }
        let app = Arc::new(creds.config(Role::Application)?);
        manager.authenticate_beside_providers(app)?;
        Ok(manager)
    }

    /// Authenticates the manager to every registered provider it has no session with yet, now
    /// rather than at the first enumeration ([`DeviceManager::devices`]), which then finds the
    /// sessions made. It reaches no device, so it needs no authenticated application: a caller
    /// can run it on one thread while the application authenticates on another, and the two
    /// handshakes (each three RSA private-key operations) overlap.
    ///
    /// # Errors
    /// The first provider's handshake error, with the provider's index; the other providers
    /// are still tried. [`Error::Fail`] if a lock is poisoned.
    pub fn authenticate_providers(&self) -> Result<()> {
        let _span = tracing::debug_span!("authenticate providers").entered();
        let mut providers = lock(&self.inner.providers)?;
        let mut refused = None;
        for (index, slot) in providers.iter_mut().enumerate() {
            if let Err(e) = self.provider_session(slot) {
                refused.get_or_insert_with(|| {
                    e.context(format!("provider {index} failed to authenticate"))
                });
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// True once an application has authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.inner.gate.check().is_ok()
    }

    /// Forgets the application's session: every entry point and every handle fails with
    /// [`Error::NotCertified`] until the application authenticates again.
    pub fn reset_authentication(&self) {
        self.inner.gate.reset();
    }

    /// Registers a provider. The manager authenticates to it before its first use (at the
    /// next enumeration). Registration is configuration, like WMDM's registry entries, so it
    /// does not need an authenticated application. The index returned is the provider's
    /// position.
    ///
    /// # Errors
    /// [`Error::Fail`] if a lock is poisoned.
    pub fn add_provider(&self, provider: AuthenticatedProvider) -> Result<usize> {
        let mut providers = lock(&self.inner.providers)?;
        providers.push(Slot {
            provider,
            session: None,
            preference_applied: false,
        });
        Ok(providers.len() - 1)
    }

    /// IWMDeviceManager::GetRevision.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the application has authenticated.
    pub fn revision(&self) -> Result<u32> {
        self.inner.gate.check()?;
        Ok(MANAGER_REVISION)
    }

    /// IWMDeviceManager::GetDeviceCount: the number of devices in the cache (building it on
    /// first use).
    ///
    /// # Errors
    /// As [`DeviceManager::devices`].
    pub fn device_count(&self) -> Result<u32> {
        Ok(self.devices()?.len() as u32)
    }

    /// IWMDeviceManager::EnumDevices / IWMDeviceManager2::EnumDevices2: the device cache. On
    /// first use the manager authenticates to every provider and enumerates them; a provider
    /// whose authentication fails contributes no devices (logged with `tracing`).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the application has authenticated; a provider's
    /// enumeration error.
    pub fn devices(&self) -> Result<Vec<WmdmDevice>> {
        self.inner.gate.check()?;
        let mut cache = lock(&self.inner.cache)?;
        if let Some(devices) = cache.as_ref() {
            return Ok(devices.clone());
        }
        let devices = self.enumerate()?;
        *cache = Some(devices.clone());
        Ok(devices)
    }

    /// IWMDeviceManager2::GetDeviceFromCanonicalName.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the application has authenticated;
    /// [`Error::FileNotFound`] when no cached device has that name.
    pub fn device_from_canonical_name(&self, canonical_name: &str) -> Result<WmdmDevice> {
        self.devices()?
            .into_iter()
            .find(|d| {
                d.canonical_name()
                    .map(|n| n == canonical_name)
                    .unwrap_or(false)
            })
            .ok_or(Error::FileNotFound)
    }

    /// IWMDeviceManager2::Reinitialize: rebuilds the device cache.
    ///
    /// # Errors
    /// As [`DeviceManager::devices`].
    pub fn reinitialize(&self) -> Result<()> {
        self.inner.gate.check()?;
        *lock(&self.inner.cache)? = None;
        self.devices().map(|_| ())
    }

    /// IWMDeviceManager3::SetDeviceEnumPreference: passed to every provider at enumeration
    /// (providers without IMDServiceProvider3 ignore it).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the application has authenticated;
    /// [`Error::InvalidArg`] for unknown bits; [`Error::CallOutOfSequence`] once devices have
    /// been enumerated.
    pub fn set_device_enum_preference(&self, preference: DeviceEnumPreference) -> Result<()> {
        self.inner.gate.check()?;
        if DeviceEnumPreference::from_bits(preference.bits()).is_none() {
            return Err(Error::InvalidArg);
        }
        if lock(&self.inner.cache)?.is_some() {
            return Err(Error::CallOutOfSequence);
        }
        *lock(&self.inner.preference)? = Some(preference);
        Ok(())
    }

    /// Registers an IWMDMNotification sink.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the application has authenticated.
    pub fn subscribe(&self, sink: Arc<dyn Notification>) -> Result<SubscriptionId> {
        self.inner.gate.check()?;
        let id = SubscriptionId(self.inner.next_subscription.fetch_add(1, Ordering::SeqCst));
        lock(&self.inner.subscribers)?.push((id, sink));
        Ok(id)
    }

    /// Removes a sink; unknown ids are ignored.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the application has authenticated.
    pub fn unsubscribe(&self, id: SubscriptionId) -> Result<()> {
        self.inner.gate.check()?;
        lock(&self.inner.subscribers)?.retain(|(s, _)| *s != id);
        Ok(())
    }

    /// Asks every provider for its current devices, updates the cache, and sends
    /// `WMDM_MSG_DEVICE_ARRIVAL` / `WMDM_MSG_DEVICE_REMOVAL` to every subscriber for each
    /// difference. This is how arrivals are noticed: a host calls it when the platform reports
    /// a device change (or on a timer). Returns the messages sent. Before the cache exists it
    /// is built silently, as WMDM does at start-up.
    ///
    /// # Errors
    /// As [`DeviceManager::devices`].
    pub fn poll_changes(&self) -> Result<Vec<(WmdmMessage, String)>> {
        self.inner.gate.check()?;
        let mut cache = lock(&self.inner.cache)?;
        let fresh = self.enumerate()?;
        let mut messages = Vec::new();
        if let Some(old) = cache.as_ref() {
            let old_keys: BTreeSet<String> = old.iter().map(device_key).collect();
            let new_keys: BTreeSet<String> = fresh.iter().map(device_key).collect();
            for gone in old_keys.difference(&new_keys) {
                messages.push((WmdmMessage::DEVICE_REMOVAL, gone.clone()));
            }
            for came in new_keys.difference(&old_keys) {
                messages.push((WmdmMessage::DEVICE_ARRIVAL, came.clone()));
            }
        }
        *cache = Some(fresh);
        drop(cache);
        let subscribers: Vec<Arc<dyn Notification>> = lock(&self.inner.subscribers)?
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        for (message, name) in &messages {
            for s in &subscribers {
                s.message(*message, name);
            }
        }
        Ok(messages)
    }

    fn enumerate(&self) -> Result<Vec<WmdmDevice>> {
        let _span = tracing::debug_span!("enumerate devices").entered();
        let preference = *lock(&self.inner.preference)?;
        let mut providers = lock(&self.inner.providers)?;
        let mut out = Vec::new();
        let mut refused = None;
        for (index, slot) in providers.iter_mut().enumerate() {
            let session = match self.provider_session(slot) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(provider = index, error = %e, "provider failed to authenticate; skipped");
                    refused.get_or_insert_with(|| {
                        e.context(format!("provider {index} failed to authenticate"))
                    });
                    continue;
                }
            };
            if let (Some(p), false) = (preference, slot.preference_applied) {
                match slot.provider.set_device_enum_preference(p) {
                    Ok(()) => slot.preference_applied = true,
                    Err(err) if err == Error::NotSupported => slot.preference_applied = true,
                    Err(e) => return Err(e),
                }
            }
            for device in slot.provider.devices()? {
                out.push(WmdmDevice::new(
                    Link::new(self.inner.gate.clone(), session.clone()),
                    device,
                    index,
                ));
            }
        }
        match refused {
            // No device at all because a provider could not authenticate: that is the
            // answer, not an empty list. With devices from other providers the refusal is
            // logged above and the devices are listed.
            Some(e) if out.is_empty() => Err(e.context("listing devices")),
            _ => Ok(out),
        }
    }

    /// The manager's session with a provider, performing the handshake first if needed.
    fn provider_session(&self, slot: &mut Slot) -> Result<Arc<Mutex<Session>>> {
        if let Some(s) = &slot.session
            && slot.provider.is_authenticated()
        {
            return Ok(s.clone());
        }
        let mut peer = slot.provider.clone();
        let session = self.inner.client.authenticate(&mut peer, SAC_PROTOCOL_V1)?;
        // Handles made earlier share this slot's session, so a new handshake reaches them too.
        match &slot.session {
            Some(shared) => {
                *lock(shared)? = session;
                Ok(shared.clone())
            }
            None => {
                let shared = Arc::new(Mutex::new(session));
                slot.session = Some(shared.clone());
                Ok(shared)
            }
        }
    }
}

impl ComponentAuthenticate for DeviceManager {
    fn sac_get_protocols(&self) -> Vec<u32> {
        vec![SAC_PROTOCOL_V1]
    }

    fn sac_auth(&mut self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>> {
        self.inner.gate.sac_auth(protocol, pass, data)
    }
}
