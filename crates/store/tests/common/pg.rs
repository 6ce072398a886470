//! A private PostgreSQL cluster for a test: `initdb` into a temporary folder, `postgres` on
//! a free loopback port with its socket in that folder, password (SCRAM) authentication
//! for the user `ringdesk`, stopped (and its folder removed) when dropped. Run as root, the
//! server runs as the `postgres` user (PostgreSQL refuses root). Needs Debian's
//! `postgresql` package; the test command installs it. Also used by the server's cluster
//! tests (`crates/server/tests/cluster.rs` includes this file).
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password of the `ringdesk` user in every test cluster (not a secret).
pub const PASSWORD: &str = "test-only-password";

/// One running test cluster.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    owner: Option<(u32, u32)>,
    child: Option<Child>,
}

impl PgCluster {
    /// Creates and starts a cluster; panics with what to install when PostgreSQL is missing.
    pub fn start() -> PgCluster {
        PgCluster::start_with(false)
    }

    /// Like [`PgCluster::start`], the server offering TLS with a certificate for
    /// `localhost` and 127.0.0.1 signed by a test CA ([`PgCluster::certificate`]; made
    /// with openssl).
    pub fn start_with_tls() -> PgCluster {
        PgCluster::start_with(true)
    }

    fn start_with(tls: bool) -> PgCluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("ringdesk-pg-")
            .tempdir()
            .expect("temporary folder");
        let owner = postgres_owner();
        if let Some((uid, gid)) = owner {
            chown(dir.path(), uid, gid);
        }
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if let Some((uid, gid)) = owner {
            chown(&pwfile, uid, gid);
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args([
                "-U",
                "ringdesk",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(Stdio::null());
        as_owner(&mut initdb, owner);
        let out = initdb.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if tls {
            let data = dir.path().join("data");
            let ext = dir.path().join("server.ext");
            std::fs::write(
                &ext,
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
            )
            .unwrap();
            let (ca_key, ca) = (dir.path().join("ca.key"), dir.path().join("ca.crt"));
            let csr = dir.path().join("server.csr");
            let steps: [Vec<std::ffi::OsString>; 3] = [
                args(&[
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .chain(args(&["-subj", "/CN=ringdesk test CA", "-keyout"]))
                .chain([ca_key.clone().into(), "-out".into(), ca.clone().into()])
                .collect(),
                args(&[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                ])
                .chain(["-keyout".into(), data.join("server.key").into()])
                .chain(["-out".into(), csr.clone().into()])
                .collect(),
                args(&["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
                    .chain([csr.into(), "-CA".into(), ca.into(), "-CAkey".into()])
                    .chain([ca_key.into(), "-extfile".into(), ext.into(), "-out".into()])
                    .chain([data.join("server.crt").into()])
                    .collect(),
            ];
            for step in steps {
                let out = Command::new("openssl")
                    .args(&step)
                    .output()
                    .expect("run openssl (apt-get install openssl)");
                assert!(
                    out.status.success(),
                    "openssl {step:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            for f in ["server.key", "server.crt"] {
                let path = data.join(f);
                std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .unwrap();
                if let Some((uid, gid)) = owner {
                    chown(&path, uid, gid);
                }
            }
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .unwrap();
            std::io::Write::write_all(&mut conf, b"ssl = on\n").unwrap();
        }
        let mut cluster = PgCluster {
            dir,
            bin,
            port: free_port(),
            owner,
            child: None,
        };
        cluster.run();
        cluster
    }

    /// Starts the server (again) on the same folder and port; returns once it accepts.
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.path().join("postgres.log")).unwrap();
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=32MB"])
            .stdout(Stdio::null())
            .stderr(log);
        as_owner(&mut cmd, self.owner);
        self.child = Some(cmd.spawn().expect("start postgres"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-q", "-p"])
                .arg(self.port.to_string())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("postgres exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections in 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server at once (`immediate`: like a crash, recovered at the next start).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT is PostgreSQL's immediate shutdown; its backends follow.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The CA that signed the server's TLS certificate (PEM), when started with TLS.
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for database `db` (no password: give [`PASSWORD`] separately).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://ringdesk@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `db`.
    pub fn create_db(&self, db: &str) {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-U", "ringdesk", "-d", "postgres", "-v"])
            .arg("ON_ERROR_STOP=1")
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(format!("CREATE DATABASE \"{db}\""))
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "CREATE DATABASE {db}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `sql` in `db` with psql; returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-U", "ringdesk", "-At", "-v"])
            .arg("ON_ERROR_STOP=1")
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", db, "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The newest PostgreSQL server's programs (Debian: /usr/lib/postgresql/<major>/bin).
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/postgres): \
             run ./scripts/test, or apt-get install postgresql"
        ),
    }
}

/// As root, the `postgres` user's uid and gid (PostgreSQL will not run as root).
fn postgres_owner() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| {
                panic!("running as root needs the postgres user (apt-get install postgresql)")
            })
    };
    Some((id("-u"), id("-g")))
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
}

fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
        cmd.env("HOME", "/tmp");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn args(a: &[&str]) -> impl Iterator<Item = std::ffi::OsString> + use<> {
    a.iter()
        .map(std::ffi::OsString::from)
        .collect::<Vec<_>>()
        .into_iter()
}
