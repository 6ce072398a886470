//! Retention while `ringdesk serve` runs: every hour (and once at start) call records older
//! than `[records] keep_days` are purged, with their finished outbox items; calls whose
//! items are still to deliver are kept (`ringdesk_store::Store::purge_older_than`).

use ringdesk_store::Store;
use std::time::Duration;

/// How often the purge runs.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Purges once: records that arrived more than `keep_days` days before now. Logs what was
/// removed; errors are logged and left for the next round.
pub async fn purge_once(store: &Store, keep_days: u32) {
    let cutoff = match crate::config::cutoff(jiff::Timestamp::now(), keep_days) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("retention: cannot compute the cutoff: {e:#}");
            return;
        }
    };
    match store.purge_older_than(cutoff).await {
        Ok(p) => {
            if p.interactions > 0 || p.outbox_items > 0 {
                tracing::info!(
                    interactions = p.interactions,
                    outbox_items = p.outbox_items,
                    kept_undelivered = p.kept_undelivered,
                    keep_days,
                    "retention: purged call records older than {keep_days} days"
                );
            } else {
                tracing::debug!(
                    kept_undelivered = p.kept_undelivered,
                    "retention: nothing to purge"
                );
            }
            if p.kept_undelivered > 0 {
                tracing::warn!(
                    calls = p.kept_undelivered,
                    "retention: calls older than {keep_days} days kept: their outbox items are not delivered (see `ringdesk outbox list`)"
                );
            }
        }
        Err(e) => tracing::error!("retention: purging old call records failed: {e}"),
    }
}

/// Purges at start and every `every` until `shutdown` resolves. With `keep_days` `None`
/// (keep forever) it returns at once.
pub fn spawn(
    store: Store,
    keep_days: Option<u32>,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Keep forever: nothing to do (`Config::warnings` says so at start).
        let Some(days) = keep_days else {
            return;
        };
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => purge_once(&store, days).await,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringdesk_store::{Interaction, InteractionFilter};

    #[tokio::test]
    async fn the_scheduled_purge_removes_records_older_than_keep_days_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("r.sqlite")).unwrap();
        let now = jiff::Timestamp::now();
        for (id, days) in [("old", 31), ("recent", 29)] {
            let at = crate::config::cutoff(now, days).unwrap();
            store
                .record_call(
                    Interaction::new(id, "+5511987650101", "+1555", at),
                    vec![],
                    now,
                )
                .await
                .unwrap();
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = spawn(
            store.clone(),
            Some(30),
            Duration::from_secs(3600),
            async move {
                let _ = stopped.await;
            },
        );
        // The first round runs at start.
        for _ in 0..200 {
            if store.get_interaction("old").await.unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let left = store
            .list_interactions(InteractionFilter::default())
            .await
            .unwrap();
        assert_eq!(
            left.iter().map(|i| i.call_id.as_str()).collect::<Vec<_>>(),
            ["recent"]
        );
        let _ = stop.send(());
        task.await.unwrap();
    }
}
