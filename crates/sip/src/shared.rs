//! The state the SIP server's tasks and the call handles share: configuration, the
//! dialog layer, live calls, the event channel, the registrar. A leaf below the server
//! and its tasks, so that none of them imports another that imports it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use tokio::sync::mpsc;

use crate::call::{CallId, CallInner};
use crate::config::SipConfig;
use crate::event::SipEvent;
use crate::registrar::Registrar;

/// State shared by the server's tasks and the call handles.
pub(crate) struct Shared {
    pub(crate) config: SipConfig,
    /// The address bound (with the real port).
    pub(crate) local_addr: SocketAddr,
    /// The TLS listener's address as written in Contact (external if set), when TLS is on.
    pub(crate) tls_addr: Option<SocketAddr>,
    pub(crate) dialog_layer: Arc<DialogLayer>,
    pub(crate) state_sender: DialogStateSender,
    /// Live calls by the library's dialog id (as text).
    pub(crate) calls: Mutex<HashMap<String, Arc<CallInner>>>,
    pub(crate) next_id: AtomicU64,
    pub(crate) events: mpsc::Sender<SipEvent>,
    pub(crate) registrar: Mutex<Registrar>,
    /// Wakes the registrar task after a REGISTER or a credential change.
    pub(crate) registrar_changed: tokio::sync::Notify,
    /// Per-source rate limits and bans (shared with the transport's whitelist hook).
    pub(crate) flood: crate::transport_guard::SharedGuard,
    /// Digest challenges of trunks with credentials.
    pub(crate) trunk_auth: Mutex<crate::trunk_auth::TrunkAuth>,
}

impl Shared {
    pub(crate) fn calls(&self) -> MutexGuard<'_, HashMap<String, Arc<CallInner>>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn trunk_auth(&self) -> MutexGuard<'_, crate::trunk_auth::TrunkAuth> {
        self.trunk_auth
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn registrar(&self) -> MutexGuard<'_, Registrar> {
        self.registrar
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn next_call_id(&self) -> CallId {
        CallId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
}
