//! Opening a store: connect, check the server and the key layout, load the scripts, migrate a
//! layout-1 store to layout 2 (`crate::migrate`), warn about settings that lose jobs.

use std::sync::Mutex;

use anp_core::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{TlsCertificates, Value};

use crate::conn::{map_error, Call, Conn, Redis, Waiters, CONNECT_TIMEOUT, RESPONSE_TIMEOUT};
use crate::keys;
use crate::record::{int, text};
use crate::scripts::Scripts;
use crate::url::{Mode, RedisUrl};
use crate::SCHEMA_VERSION;

const OP: &str = "store open";

/// What open learned about the server.
pub(crate) struct Opened {
    pub(crate) redis: Redis,
    pub(crate) server_version: String,
}

fn tls_certs(url: &RedisUrl) -> Result<Option<TlsCertificates>> {
    if !url.tls {
        return Ok(None);
    }
    // rustls needs a process-wide crypto provider when more than one is compiled in; ring is
    // the one this crate selects. Installing fails harmlessly if one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(path) = &url.ca else {
        return Ok(None);
    };
    let pem = std::fs::read(path).map_err(|e| {
        Error::invalid(
            "store url",
            format!(
                "ca file {} cannot be read ({e}): expected a PEM file of CA certificates",
                path.display()
            ),
        )
    })?;
    Ok(Some(TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    }))
}

fn config_error(url: &RedisUrl, e: redis::RedisError) -> Error {
    Error::invalid(
        "store url",
        format!(
            "{:?} cannot be used ({e}): expected redis://[user:pass@]host:port[/db], rediss://… or redis+cluster://host:port,…",
            url.redacted()
        ),
    )
}

/// A client for one node of `url` (its credentials, TLS and `ca=`), as every standalone
/// connection is made.
fn node_client(
    url: &RedisUrl,
    host: &str,
    certs: Option<&TlsCertificates>,
) -> Result<redis::Client> {
    let node = url.node_url(host);
    match certs {
        Some(c) => redis::Client::build_with_tls(node.as_str(), c.clone()),
        None => redis::Client::open(node.as_str()),
    }
    .map_err(|e| config_error(url, e))
}

/// Connects and prepares a store for `url`.
pub(crate) async fn open(url: &RedisUrl) -> Result<Opened> {
    let certs = tls_certs(url)?;
    let target = url.redacted().to_owned();
    // The cache's pub/sub connections: one client per node named in the URL.
    let feed = url
        .hosts
        .iter()
        .map(|h| node_client(url, h, certs.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    let (conn, waiters) = match url.mode {
        Mode::Standalone => {
            let client = node_client(url, &url.hosts[0], certs.as_ref())?;
            let cfg = ConnectionManagerConfig::new()
                .set_response_timeout(Some(RESPONSE_TIMEOUT))
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(std::time::Duration::from_millis(500));
            let manager = ConnectionManager::new_with_config(client.clone(), cfg)
                .await
                .map_err(|e| map_error(OP, &target, e))?;
            (
                Conn::Single(manager),
                Waiters::Single {
                    client: Box::new(client),
                    idle: Mutex::new(Vec::new()),
                },
            )
        }
        Mode::Cluster => {
            let nodes: Vec<String> = url.hosts.iter().map(|h| url.node_url(h)).collect();
            let builder = |blocking: bool| {
                let mut b = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .retries(3)
                    .max_retry_wait(500);
                if !blocking {
                    b = b.response_timeout(RESPONSE_TIMEOUT);
                }
                if let Some(c) = &certs {
                    b = b.certs(c.clone());
                }
                b.build().map_err(|e| config_error(url, e))
            };
            let client = builder(false)?;
            let conn = client
                .get_async_connection()
                .await
                .map_err(|e| map_error(OP, &target, e))?;
            (
                Conn::Cluster(conn),
                Waiters::Cluster {
                    client: Box::new(builder(true)?),
                    idle: Mutex::new(Vec::new()),
                },
            )
        }
    };

    // The server version decides the script flavour (shebang on 7+).
    let server_version = server_version(&conn, &target).await?;
    let (major, minor) = version_numbers(&server_version);
    if server_version != "unknown" && (major, minor) < (6, 2) {
        return Err(Error::incompatible(
            OP,
            format!("store {target} runs Redis {server_version}: expected Redis 6.2+ or Valkey"),
        ));
    }

    // The key layout version: claimed on first use, refused when newer than ours; an older
    // one (1) is migrated below.
    query(
        &conn,
        &target,
        redis::cmd("SET")
            .arg(keys::SCHEMA)
            .arg(SCHEMA_VERSION)
            .arg("NX")
            .to_owned(),
    )
    .await?;
    let schema = query(
        &conn,
        &target,
        redis::cmd("GET").arg(keys::SCHEMA).to_owned(),
    )
    .await?;
    let layout = match int(&schema) {
        Some(n) if n >= 1 && n <= i64::from(SCHEMA_VERSION) => n,
        Some(n) => {
            return Err(Error::incompatible(
                OP,
                format!(
                    "store {target} holds key layout version {n}: expected {SCHEMA_VERSION} or older; upgrade alphanode"
                ),
            ))
        }
        None => {
            return Err(Error::incompatible(
                OP,
                format!(
                    "store {target} has a key {} that is not alphanode's ({schema:?}): expected a version number",
                    keys::SCHEMA
                ),
            ))
        }
    };

    let probe = Redis::new(conn, Scripts::new(major >= 7), target, waiters, feed);
    probe.load_scripts(OP).await?;
    // A layout-1 store (or one whose migration was interrupted) is migrated to layout 2 here,
    // or this waits for the process migrating it (docs/redis-keys.md, "Migration 1 → 2").
    crate::migrate::run(&probe, layout).await?;
    for w in server_warnings(&probe).await {
        if w.contains("maxmemory-policy") {
            tracing::warn!(store = %probe.target(), "{w}");
        } else {
            tracing::debug!(store = %probe.target(), "{w}");
        }
    }
    Ok(Opened {
        redis: probe,
        server_version,
    })
}

/// `INFO server`, or `HELLO` when the ACL user may not run INFO (it is in @dangerous).
async fn server_version(conn: &Conn, target: &str) -> Result<String> {
    match query(conn, target, redis::cmd("INFO").arg("server").to_owned()).await {
        Ok(info) => Ok(parse_version(&info)),
        Err(e) if e.kind() == anp_core::ErrorKind::ReadOnly => {
            tracing::debug!(error = %e, "INFO refused; asking HELLO for the version");
            let hello = query(conn, target, redis::cmd("HELLO").to_owned()).await?;
            let fields = match &hello {
                Value::Array(a) => a
                    .chunks(2)
                    .filter_map(|kv| Some((text(kv.first()?)?, kv.get(1)?)))
                    .collect::<Vec<_>>(),
                Value::Map(m) => m.iter().filter_map(|(k, v)| Some((text(k)?, v))).collect(),
                _ => Vec::new(),
            };
            let version = fields
                .iter()
                .find(|(k, _)| *k == "version")
                .and_then(|(_, v)| text(v))
                .unwrap_or("unknown")
                .to_owned();
            Ok(version)
        }
        Err(e) => Err(e),
    }
}

async fn query(conn: &Conn, target: &str, cmd: redis::Cmd) -> Result<Value> {
    let mut c = conn.clone();
    cmd.query_async::<Value>(&mut c)
        .await
        .map_err(|e| map_error(OP, target, e))
}

fn parse_version(info: &Value) -> String {
    let body = match info {
        Value::Map(m) => m
            .iter()
            .filter_map(|(_, v)| text(v))
            .collect::<Vec<_>>()
            .join("\n"),
        v => text(v).unwrap_or("").to_owned(),
    };
    let field = |name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    match (field("valkey_version:"), field("redis_version:")) {
        (Some(v), _) => format!("valkey {v}"),
        (None, Some(v)) => v,
        (None, None) => "unknown".to_owned(),
    }
}

fn version_numbers(v: &str) -> (u32, u32) {
    let v = v.trim_start_matches("valkey ");
    let mut it = v.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    // Valkey reports its own version (7.2+, 8.x): always new enough.
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Settings of the server that lose jobs, one sentence each. Settings the ACL user may not
/// read are skipped (logged at debug).
/// Redis `TIME`: `[seconds, microseconds]` as text.
pub(crate) async fn server_time(r: &Redis) -> Result<jiff::Timestamp> {
    let v = r
        .run_one("server_time", Call::global(redis::cmd("TIME").to_owned()))
        .await?;
    let parts: Vec<i64> = match &v {
        Value::Array(a) => a.iter().filter_map(int).collect(),
        _ => Vec::new(),
    };
    match parts.as_slice() {
        [secs, micros] => jiff::Timestamp::from_microsecond(secs * 1_000_000 + micros)
            .map_err(|e| Error::internal("server_time", format!("TIME answered {v:?}: {e}"))),
        _ => Err(Error::internal(
            "server_time",
            format!("TIME answered {v:?}, expected [seconds, microseconds]"),
        )),
    }
}

pub(crate) async fn server_warnings(r: &Redis) -> Vec<String> {
    let mut out = Vec::new();
    let get =
        |name: &'static str| Call::global(redis::cmd("CONFIG").arg("GET").arg(name).to_owned());
    let replies = match r
        .run(
            "server_warnings",
            vec![get("maxmemory-policy"), get("appendonly"), get("save")],
        )
        .await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the server configuration; skipping its checks");
            return out;
        }
    };
    fn value(v: &Value) -> Option<String> {
        match v {
            Value::ServerError(e) => {
                tracing::debug!(error = ?e, "CONFIG GET refused; skipping that check");
                None
            }
            // [name, value]; a cluster answers per node: take the first.
            Value::Array(a) => a.get(1).and_then(text).map(str::to_owned),
            Value::Map(m) => m.first().and_then(|(k, v)| match v {
                Value::Array(_) | Value::Map(_) => value(v),
                v => text(v)
                    .map(str::to_owned)
                    .or_else(|| text(k).map(str::to_owned)),
            }),
            _ => None,
        }
    }
    let policy = replies.first().and_then(value);
    let aof = replies.get(1).and_then(value);
    let save = replies.get(2).and_then(value);
    if let Some(p) = policy {
        if p != "noeviction" {
            out.push(format!(
                "store {} has maxmemory-policy {p}: evictions delete jobs silently; expected noeviction (CONFIG SET maxmemory-policy noeviction)",
                r.target()
            ));
        }
    }
    if let (Some(aof), Some(save)) = (aof, save) {
        if aof == "no" && save.trim().is_empty() {
            out.push(format!(
                "store {} has persistence off (appendonly no, save \"\"): a restart loses every job; expected appendonly yes",
                r.target()
            ));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_and_valkey_versions() {
        let info = Value::BulkString(
            b"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n".to_vec(),
        );
        assert_eq!(parse_version(&info), "7.0.15");
        assert_eq!(version_numbers("7.0.15"), (7, 0));
        let info = Value::BulkString(b"redis_version:7.2.4\r\nvalkey_version:8.0.1\r\n".to_vec());
        assert_eq!(parse_version(&info), "valkey 8.0.1");
        assert!(version_numbers("valkey 8.0.1") >= (6, 2));
        assert!(version_numbers("6.0.9") < (6, 2));
    }
}
