//! Connection points for the WMP sync events: IConnectionPointContainer on the
//! IWMPSyncServices object, one IConnectionPoint per event interface it delivers
//! (IWMPEvents2, IWMPEvents3, IWMPEvents4), and the IEnumConnections/IEnumConnectionPoints
//! enumerators. Each Advise subscribes a [`WmpSink`](super::wmp) to the services' event bus,
//! the same machinery [`advise`](super::wmp::advise) uses.

use std::sync::{Arc, Mutex};

use windows::Win32::Media::MediaPlayer::{IWMPEvents2, IWMPEvents3, IWMPEvents4};
use windows::Win32::System::Com::{
    CONNECTDATA, IConnectionPoint, IConnectionPoint_Impl, IConnectionPointContainer,
    IEnumConnectionPoints, IEnumConnectionPoints_Impl, IEnumConnections, IEnumConnections_Impl,
};
use windows_core::{GUID, HRESULT, IUnknown, Interface, Ref, implement};

use super::enums::{cloned, lock, next, skip};
use super::util::{require, run};
use super::wmp::subscribe_sink;
use crate::error::{Error, Hresult, Result};
use crate::provider::Enumerator;
use crate::sync::{EventSubscription, SyncServices};

/// `CONNECT_E_NOCONNECTION`: no such cookie, or no such connection point.
const CONNECT_E_NOCONNECTION: Error = Error::from_hresult(Hresult::from_u32(0x8004_0200));
/// `CONNECT_E_ADVISELIMIT`: every cookie has been handed out.
const CONNECT_E_ADVISELIMIT: Error = Error::from_hresult(Hresult::from_u32(0x8004_0201));
/// `CONNECT_E_CANNOTCONNECT`: the sink does not implement the point's interface.
const CONNECT_E_CANNOTCONNECT: Error = Error::from_hresult(Hresult::from_u32(0x8004_0202));

/// The event interfaces with a connection point, in the order EnumConnectionPoints lists them.
pub(crate) const POINT_IIDS: [GUID; 3] = [IWMPEvents2::IID, IWMPEvents3::IID, IWMPEvents4::IID];

/// One advised sink.
#[derive(Debug)]
struct Connection {
    cookie: u32,
    iid: GUID,
    sink: IUnknown,
    subscription: EventSubscription,
}

#[derive(Debug, Default)]
struct RegistryState {
    last_cookie: u32,
    connections: Vec<Connection>,
}

/// The connections of one IWMPSyncServices object, shared by the container and its points.
/// Dropping it (the container and every point gone) unsubscribes whatever is still advised.
#[derive(Debug)]
pub(crate) struct Registry {
    services: SyncServices,
    state: Mutex<RegistryState>,
}

// SAFETY: the interface pointers held here are only AddRef'd, Released and handed back to
// callers (EnumConnections); events reach them through the bus by the apartment rules of
// `wmp::advise` (posted to the advising STA thread, or directly for a free-threaded sink),
// which docs/com.md states.
unsafe impl Send for Registry {}
// SAFETY: as for Send; all mutable state is behind the mutex.
unsafe impl Sync for Registry {}

impl Registry {
    pub(crate) fn new(services: SyncServices) -> Arc<Registry> {
        Arc::new(Registry {
            services,
            state: Mutex::new(RegistryState::default()),
        })
    }

    fn advise(&self, iid: GUID, sink: &IUnknown) -> Result<u32> {
        // QueryInterface for the point's own interface: a sink without it cannot connect.
        let (events2, events4) = if iid == IWMPEvents4::IID {
            let e4: IWMPEvents4 = sink.cast().map_err(|_| CONNECT_E_CANNOTCONNECT)?;
            (e4.cast().map_err(|_| CONNECT_E_CANNOTCONNECT)?, Some(e4))
        } else if iid == IWMPEvents3::IID {
            let e3: IWMPEvents3 = sink.cast().map_err(|_| CONNECT_E_CANNOTCONNECT)?;
            (e3.cast().map_err(|_| CONNECT_E_CANNOTCONNECT)?, None)
        } else {
            let e2: IWMPEvents2 = sink.cast().map_err(|_| CONNECT_E_CANNOTCONNECT)?;
            (e2, None)
        };
        let mut state = lock(&self.state);
        let cookie = state
            .last_cookie
            .checked_add(1)
            .ok_or(CONNECT_E_ADVISELIMIT)?;
        let subscription = subscribe_sink(&self.services, events2, events4)?;
        state.last_cookie = cookie;
        state.connections.push(Connection {
            cookie,
            iid,
            sink: sink.clone(),
            subscription,
        });
        Ok(cookie)
    }

    fn unadvise(&self, iid: GUID, cookie: u32) -> Result<()> {
        let mut state = lock(&self.state);
        let at = state
            .connections
            .iter()
            .position(|c| c.cookie == cookie && c.iid == iid)
            .ok_or(CONNECT_E_NOCONNECTION)?;
        let gone = state.connections.remove(at);
        drop(state);
        self.services.events().unsubscribe(gone.subscription);
        Ok(())
    }

    fn connections(&self, iid: GUID) -> Vec<(IUnknown, u32)> {
        lock(&self.state)
            .connections
            .iter()
            .filter(|c| c.iid == iid)
            .map(|c| (c.sink.clone(), c.cookie))
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let state = std::mem::take(&mut *lock(&self.state));
        for c in state.connections {
            self.services.events().unsubscribe(c.subscription);
        }
    }
}

/// The point for `iid` of `container`, or `CONNECT_E_NOCONNECTION`.
pub(crate) fn find_point(
    container: IConnectionPointContainer,
    registry: &Arc<Registry>,
    iid: *const GUID,
) -> Result<IConnectionPoint> {
    require(iid)?;
    // SAFETY: non-null; COM's contract for REFIID is a readable GUID for the call.
    let iid = unsafe { iid.read() };
    if !POINT_IIDS.contains(&iid) {
        return Err(CONNECT_E_NOCONNECTION);
    }
    Ok(ComConnectionPoint {
        iid,
        container,
        registry: registry.clone(),
    }
    .into())
}

/// Every point of `container`, as IEnumConnectionPoints.
pub(crate) fn enum_points(
    container: &IConnectionPointContainer,
    registry: &Arc<Registry>,
) -> IEnumConnectionPoints {
    let points = POINT_IIDS
        .iter()
        .map(|iid| {
            IConnectionPoint::from(ComConnectionPoint {
                iid: *iid,
                container: container.clone(),
                registry: registry.clone(),
            })
        })
        .collect();
    ComEnumPoints {
        cursor: Mutex::new(Enumerator::new(points)),
    }
    .into()
}

/// One event interface's connection point. It holds its container (GetConnectionPointContainer),
/// and the container holds no points, so there is no reference cycle.
#[implement(IConnectionPoint)]
#[derive(Debug)]
struct ComConnectionPoint {
    iid: GUID,
    container: IConnectionPointContainer,
    registry: Arc<Registry>,
}

impl IConnectionPoint_Impl for ComConnectionPoint_Impl {
    fn GetConnectionInterface(&self) -> windows_core::Result<GUID> {
        Ok(self.iid)
    }

    fn GetConnectionPointContainer(&self) -> windows_core::Result<IConnectionPointContainer> {
        Ok(self.container.clone())
    }

    fn Advise(&self, punksink: Ref<IUnknown>) -> windows_core::Result<u32> {
        run(|| {
            let sink = punksink.ok().map_err(|_| Error::NullPointer)?;
            self.registry.advise(self.iid, sink)
        })
    }

    fn Unadvise(&self, dwcookie: u32) -> windows_core::Result<()> {
        run(|| self.registry.unadvise(self.iid, dwcookie))
    }

    fn EnumConnections(&self) -> windows_core::Result<IEnumConnections> {
        run(|| {
            Ok(ComEnumConnections {
                cursor: Mutex::new(Enumerator::new(self.registry.connections(self.iid))),
            }
            .into())
        })
    }
}

fn s_false_if(short: bool) -> HRESULT {
    if short { HRESULT(1) } else { HRESULT(0) }
}

fn hresult_of(r: windows_core::Result<bool>) -> HRESULT {
    match r {
        Ok(short) => s_false_if(short),
        Err(e) => e.code(),
    }
}

/// IEnumConnections over a snapshot of one point's connections.
#[implement(IEnumConnections)]
#[derive(Debug)]
struct ComEnumConnections {
    cursor: Mutex<Enumerator<(IUnknown, u32)>>,
}

impl IEnumConnections_Impl for ComEnumConnections_Impl {
    fn Next(&self, count: u32, rgcd: *mut CONNECTDATA, fetched: *mut u32) -> HRESULT {
        // The sink moves out AddRef'd; the caller releases it.
        hresult_of(run(|| {
            next(&self.cursor, count, rgcd, fetched, |(sink, cookie)| {
                CONNECTDATA {
                    pUnk: std::mem::ManuallyDrop::new(Some(sink)),
                    dwCookie: cookie,
                }
            })
        }))
    }

    fn Skip(&self, count: u32) -> windows_core::Result<()> {
        skip(&self.cursor, count)
    }

    fn Reset(&self) -> windows_core::Result<()> {
        lock(&self.cursor).reset();
        Ok(())
    }

    fn Clone(&self) -> windows_core::Result<IEnumConnections> {
        Ok(ComEnumConnections {
            cursor: cloned(&self.cursor),
        }
        .into())
    }
}

/// IEnumConnectionPoints over the container's points.
#[implement(IEnumConnectionPoints)]
#[derive(Debug)]
struct ComEnumPoints {
    cursor: Mutex<Enumerator<IConnectionPoint>>,
}

impl IEnumConnectionPoints_Impl for ComEnumPoints_Impl {
    fn Next(&self, count: u32, ppcp: *mut Option<IConnectionPoint>, fetched: *mut u32) -> HRESULT {
        hresult_of(run(|| next(&self.cursor, count, ppcp, fetched, Some)))
    }

    fn Skip(&self, count: u32) -> windows_core::Result<()> {
        skip(&self.cursor, count)
    }

    fn Reset(&self) -> windows_core::Result<()> {
        lock(&self.cursor).reset();
        Ok(())
    }

    fn Clone(&self) -> windows_core::Result<IEnumConnectionPoints> {
        Ok(ComEnumPoints {
            cursor: cloned(&self.cursor),
        }
        .into())
    }
}
