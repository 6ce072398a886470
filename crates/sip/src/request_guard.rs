//! The flood guard at the request task: every new server transaction is counted against its
//! source's bucket for its kind (out-of-dialog) or only checked against the ban list
//! (in-dialog, e.g. BYE). A refused request is dropped without any response.

use std::time::Instant;

use rsipstack::sip::Method;
use rsipstack::transaction::transaction::Transaction;

use crate::flood::{RequestKind, Verdict};
use crate::shared::Shared;

/// Whether `tx` (in a dialog when `in_dialog`) may be served.
pub(crate) fn admit(shared: &Shared, tx: &Transaction, in_dialog: bool) -> bool {
    let (source, _) = crate::register::source_of(tx);
    let ip = source.ip();
    let now = Instant::now();
    let mut guard = crate::transport_guard::lock(&shared.flood);
    let verdict = if in_dialog {
        guard.check_source(ip, now)
    } else {
        let kind = match tx.original.method {
            Method::Options => RequestKind::Options,
            Method::Register => RequestKind::Register,
            Method::Invite => RequestKind::Invite,
            _ => RequestKind::Other,
        };
        guard.admit(ip, kind, now)
    };
    if verdict == Verdict::Drop {
        shared.config.counters.set_flood(guard.counts());
    }
    verdict == Verdict::Accept
}
