//! ACL users and TLS against private servers; passwords never show in errors, URLs or Debug.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use anp_conformance::util::{enqueue, fetch, new_job};
use anp_core::{ErrorKind, Store};
use anp_redis::RedisStore;
use common::RedisServer;
use jiff::Timestamp;

/// A server whose default user is off and whose only user may touch `anp:*` keys.
fn acl_server() -> RedisServer {
    RedisServer::start_with(&[
        "--user", "anp", "on", ">s3cret", "~anp:*", "&*", "+@all", "--user", "default", "off",
    ])
}

async fn round_trip(store: &dyn Store) {
    let now = Timestamp::now();
    let ids = enqueue(store, vec![new_job("a", "default", 1)], now).await;
    let got = fetch(store, "default", 10, now).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, ids[0]);
    watch_round_trip(store).await;
}

/// The cache's pub/sub feed has a connection of its own: it must use the URL's credentials
/// and TLS settings too (a change published on the store reaches a watch on it).
async fn watch_round_trip(store: &dyn Store) {
    use anp_core::cache::{Invalidation, Namespace, WatchEvent};
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let cache = store.cache();
    let _watch = cache
        .cache_watch(Box::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }))
        .await
        .unwrap();
    let change = Invalidation::Generation {
        ns: Namespace::parse("pages").unwrap(),
        generation: 2,
    };
    cache
        .cache_publish("me".into(), change.clone())
        .await
        .unwrap();
    let got =
        tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(10)))
            .await
            .unwrap();
    assert_eq!(
        got,
        Ok(WatchEvent::Change {
            origin: "me".into(),
            change
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_user_with_password_works_and_the_password_never_shows() {
    let s = acl_server();
    let url = format!("redis://anp:s3cret@127.0.0.1:{}", s.port);
    let store = RedisStore::open(&url).await.unwrap();
    round_trip(&store).await;
    assert_eq!(
        store.redacted_url(),
        format!("redis://anp:***@127.0.0.1:{}", s.port)
    );
    assert!(!format!("{store:?}").contains("s3cret"));
    // Every key the store wrote is allowed by ~anp:*, or the round trip would have failed
    // with NOPERM; nothing but anp:* exists.
    let keys = s.cli(
        &["--user", "anp", "--pass", "s3cret", "--no-auth-warning"],
        &["--scan"],
    );
    assert!(keys.lines().all(|k| k.starts_with("anp:")), "{keys}");

    let wrong = RedisStore::open(&format!("redis://anp:nope-secret@127.0.0.1:{}", s.port))
        .await
        .unwrap_err();
    let msg = wrong.to_string();
    assert!(!msg.contains("nope-secret"), "{msg}");
    assert!(msg.contains("anp:***@"), "{msg}");
    assert_eq!(wrong.kind(), ErrorKind::InvalidInput, "{msg}");
    assert!(!wrong.retry_safe());

    let anonymous = RedisStore::open(&s.url()).await.unwrap_err();
    assert_eq!(anonymous.kind(), ErrorKind::InvalidInput, "{anonymous}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_admin_commands_still_works() {
    // INFO and CONFIG are refused: the version comes from HELLO and the config checks are
    // skipped.
    let s = RedisServer::start_with(&[
        "--user", "app", "on", ">pw", "~anp:*", "&*", "+@all", "-@admin", "-info", "--user",
        "default", "off",
    ]);
    let store = RedisStore::open(&format!("redis://app:pw@127.0.0.1:{}", s.port))
        .await
        .unwrap();
    round_trip(&store).await;
    assert!(store.server_warnings().await.is_empty());
}

/// Writes a CA and a server certificate for 127.0.0.1 / localhost with the openssl CLI.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("openssl is needed for the TLS test (apt-get install -y openssl): {e}")
            });
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=anp test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let p = |f: &str| certs.path().join(f).display().to_string();
    let port = common::free_port();
    let port_s = port.to_string();
    let (cert, key, ca) = (p("server.pem"), p("server.key"), p("ca.pem"));
    let s = RedisServer::start_in(
        certs.path(),
        &[
            "--port",
            "0",
            "--tls-port",
            &port_s,
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            "no",
        ],
        Some(port),
    );
    let url = format!("rediss://127.0.0.1:{port}?ca={ca}");
    let store = RedisStore::open(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    round_trip(&store).await;
    assert_eq!(store.store_ping().await.unwrap().backend, "redis");

    // Without the CA the certificate is unknown: refused, naming the fix.
    let e = RedisStore::open(&format!("rediss://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("?ca="), "{e}");
    // Plain TCP to a TLS port fails without hanging.
    let e = RedisStore::open(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    drop(s);
}

/// A user without channel permissions (`&*`) cannot subscribe: the watch says so at once
/// instead of retrying forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_without_channel_permission_is_refused() {
    let s = RedisServer::start_with(&[
        "--user",
        "nochan",
        "on",
        ">pw",
        "~anp:*",
        "resetchannels",
        "+@all",
        "--user",
        "default",
        "off",
    ]);
    let store = RedisStore::open(&format!("redis://nochan:pw@127.0.0.1:{}", s.port))
        .await
        .unwrap();
    let e = store
        .cache()
        .cache_watch(Box::new(|_| {}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    assert!(e.to_string().contains("&*"), "{e}");
    assert!(!e.to_string().contains("pw@"), "{e}");
}
