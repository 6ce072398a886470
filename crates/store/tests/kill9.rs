//! A real `kill -9`: a child process (this test binary re-executed) records calls while its
//! worker delivers to a file-backed fake server; the parent kills it mid-flight, reopens the
//! store, checks that no call lost its outbox rows, and drains the rest: every note lands
//! exactly once and in order per ticket.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ringdesk_store::{
    CheckError, Deliverer, DeliveryOutcome, InteractionFilter, OutboxEntry, OutboxFilter,
    OutboxWorker, Store,
};

const CHILD_ENV: &str = "RINGDESK_STORE_KILL9_DIR";
const TEST_NAME: &str = "kill9_mid_delivery_keeps_exactly_once";
const CALLS: u32 = 300;
const TICKETS: u32 = 7;

/// A "helpdesk" whose state is an append-only file: one `key marker` line per applied note.
struct FileServer {
    log: PathBuf,
}

impl FileServer {
    fn applied(&self) -> Vec<(String, String)> {
        read_log(&self.log)
    }
}

/// Complete lines only: a line cut by the kill was never applied.
fn read_log(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, m)| (k.to_owned(), m.to_owned()))
        .collect()
}

impl Deliverer for FileServer {
    async fn deliver(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        let line = format!(
            "{} {}\n",
            entry.item.ordering_key,
            entry.item.marker.as_deref().unwrap_or("-")
        );
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
        f.sync_data().unwrap();
        // Network latency: widens the window in which the kill lands mid-flight.
        tokio::time::sleep(Duration::from_millis(3)).await;
        DeliveryOutcome::Response {
            status: 201,
            retry_after: None,
            body: String::new(),
        }
    }

    async fn already_delivered(&self, entry: &OutboxEntry) -> Result<bool, CheckError> {
        let marker = entry.item.marker.as_deref().unwrap_or("-");
        Ok(self.applied().iter().any(|(_, m)| m == marker))
    }
}

/// The child: records calls and delivers until killed.
fn child(dir: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(dir.join("ringdesk.db")).unwrap();
        let server = Arc::new(FileServer {
            log: dir.join("applied.log"),
        });
        let worker = OutboxWorker::new(store.clone(), server).with_config(fast_config());
        tokio::spawn(worker.run(std::future::pending()));
        for n in 0..CALLS {
            let ticket = n % TICKETS;
            store
                .record_call(
                    call(&format!("c{n}"), "+1", t0()),
                    vec![note(ticket, &format!("m{n}"))],
                    t0(),
                )
                .await
                .unwrap();
        }
        std::future::pending::<()>().await;
    });
}

#[test]
fn kill9_mid_delivery_keeps_exactly_once() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("applied.log");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a good part of the notes went out (bounded wait; the child may also be slow).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while read_log(&log).len() < 40 {
        assert!(
            std::time::Instant::now() < deadline,
            "child made no progress"
        );
        assert!(child.try_wait().unwrap().is_none(), "child exited early");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before_restart = read_log(&log).len();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(dir.path().join("ringdesk.db")).unwrap();
        // Atomicity: every recorded call has its note, and no note lacks its call.
        let calls = store
            .list_interactions(InteractionFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        let items = store
            .outbox_list(OutboxFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(calls.len(), items.len());
        for e in &items {
            assert!(calls.iter().any(|c| Some(&c.call_id) == e.call_id.as_ref()));
        }
        let total = items.len() as u64;
        assert!(total > 0);
        let counts = store.outbox_counts().await.unwrap();
        eprintln!(
            "after kill: {} calls recorded, {before_restart} applied, {counts:?}",
            calls.len()
        );

        let server = Arc::new(FileServer { log: log.clone() });
        let worker =
            OutboxWorker::new(store.clone(), Arc::clone(&server)).with_config(fast_config());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run(async {
            let _ = rx.await;
        }));
        wait_for(&store, "drained after restart", |c| c.delivered == total).await;
        let _ = tx.send(());
        handle.await.unwrap().unwrap();

        let applied = server.applied();
        assert!(applied.len() >= before_restart);
        let mut seen = std::collections::HashSet::new();
        for (_, m) in &applied {
            assert!(seen.insert(m.clone()), "{m} applied twice");
        }
        assert_eq!(
            applied.len() as u64,
            total,
            "every recorded note applied once"
        );
        // Order per ticket: markers ascend (call n recorded before call n + TICKETS).
        for t in 0..TICKETS {
            let key = format!("ticket:{t}");
            let ns: Vec<u32> = applied
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, m)| m.trim_start_matches('m').parse().unwrap())
                .collect();
            assert!(ns.windows(2).all(|w| w[0] < w[1]), "{key}: {ns:?}");
        }
    });
}
