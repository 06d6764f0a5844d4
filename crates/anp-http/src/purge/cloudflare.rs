//! The Cloudflare purge API: `POST {api_base}/zones/{zone_id}/purge_cache` with a bearer
//! token and one of `{"tags": […]}`, `{"prefixes": […]}` (`host/path`, no scheme) or
//! `{"files": […]}` (full URLs), at most [`CLOUDFLARE_MAX_PER_REQUEST`] values per request.
//!
//! The token is read from the environment variable the target names, at the moment of the
//! purge, and is never written anywhere: not in errors, reports, logs or `--json`.

use serde::Deserialize;

use super::pace::CloudflarePlan;
use super::retry::Verdict;
use super::{snippet, Paced, PurgeBy, PurgeClient, PurgeError, PurgeReport, PurgeRequest};

/// The API's base URL.
pub const CLOUDFLARE_API_BASE: &str = "https://api.cloudflare.com/client/v4";

/// Values per purge request: Cloudflare documents "up to 100 operations per request" for
/// tags, prefixes and hostnames on every plan, and 100 URLs per single-file purge below
/// Enterprise (500 there, [`super::PlanLimits::files_per_request`]) —
/// <https://developers.cloudflare.com/cache/how-to/purge-cache/>.
pub const CLOUDFLARE_MAX_PER_REQUEST: usize = 100;

/// A Cloudflare zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloudflare {
    name: String,
    zone_id: String,
    api_token_env: String,
    api_base: String,
    plan: CloudflarePlan,
}

impl Cloudflare {
    /// A target named `name` for zone `zone_id` (32 hex digits), its API token in environment
    /// variable `api_token_env`, the API at `api_base` ([`CLOUDFLARE_API_BASE`] when `None`;
    /// tests point it at a local server).
    pub fn new(
        name: &str,
        zone_id: &str,
        api_token_env: &str,
        api_base: Option<&str>,
    ) -> Result<Cloudflare, PurgeError> {
        if zone_id.len() != 32 || !zone_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PurgeError::invalid(format!(
                "cloudflare {name:?}: zone_id {zone_id:?} is invalid: expected the zone's 32 hex \
                 digit id (dashboard → Overview → API → Zone ID)"
            )));
        }
        let env_ok = !api_token_env.is_empty()
            && !api_token_env.as_bytes()[0].is_ascii_digit()
            && api_token_env
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !env_ok {
            return Err(PurgeError::invalid(format!(
                "cloudflare {name:?}: api_token_env {api_token_env:?} is not an environment \
                 variable name: expected [A-Za-z_][A-Za-z0-9_]*, e.g. CLOUDFLARE_API_TOKEN (the \
                 token itself never goes in anp.toml)"
            )));
        }
        let base = api_base.unwrap_or(CLOUDFLARE_API_BASE);
        let ok = reqwest::Url::parse(base)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(PurgeError::invalid(format!(
                "cloudflare {name:?}: api_base {base:?} is not an http(s) URL: expected e.g. \
                 {CLOUDFLARE_API_BASE}"
            )));
        }
        Ok(Cloudflare {
            name: name.to_owned(),
            zone_id: zone_id.to_ascii_lowercase(),
            api_token_env: api_token_env.to_owned(),
            api_base: base.trim_end_matches('/').to_owned(),
            plan: CloudflarePlan::default(),
        })
    }

    /// The same zone on an account of plan `plan`, whose purge rate limits the purges keep to
    /// (the default, [`CloudflarePlan::Free`], is the slowest).
    pub fn with_plan(mut self, plan: CloudflarePlan) -> Cloudflare {
        self.plan = plan;
        self
    }

    /// The account's plan.
    pub fn plan(&self) -> CloudflarePlan {
        self.plan
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone id.
    pub fn zone_id(&self) -> &str {
        &self.zone_id
    }

    /// The environment variable holding the API token.
    pub fn api_token_env(&self) -> &str {
        &self.api_token_env
    }

    /// The API's base URL.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The bearer header, marked sensitive (hyper and reqwest then keep it out of their debug
    /// output); the token is read now, so a rotated token is picked up by the next purge.
    fn authorization(&self) -> Result<reqwest::header::HeaderValue, PurgeError> {
        let token = std::env::var(&self.api_token_env).unwrap_or_default();
        let token = token.trim();
        if token.is_empty() {
            return Err(PurgeError::at(
                &self.name,
                format!(
                    "environment variable {} is not set or empty: expected the Cloudflare API \
                     token (permission Zone → Cache Purge) in it, in the environment of the \
                     process that purges (`anp work`, or `anp cache purge --now`)",
                    self.api_token_env
                ),
                false,
            ));
        }
        let mut v =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                PurgeError::at(
                    &self.name,
                    format!(
                        "environment variable {} holds characters a header cannot carry: \
                         expected a Cloudflare API token (printable ASCII)",
                        self.api_token_env
                    ),
                    false,
                )
            })?;
        v.set_sensitive(true);
        Ok(v)
    }

    pub(super) async fn purge(
        &self,
        client: &PurgeClient,
        req: &PurgeRequest,
        report: &mut PurgeReport,
    ) -> Result<(), PurgeError> {
        let auth = self.authorization()?;
        let (field, values): (&str, Vec<String>) = match req.by() {
            PurgeBy::Tag => ("tags", req.values().to_vec()),
            PurgeBy::Url => ("files", req.values().to_vec()),
            // Cloudflare's prefixes have no scheme: `www.example.com/blog/`.
            PurgeBy::Prefix => (
                "prefixes",
                req.values()
                    .iter()
                    .map(|v| {
                        super::parse_url(PurgeBy::Prefix, v).map(|u| {
                            let host = u.host_str().unwrap_or_default();
                            match u.port() {
                                Some(p) => format!("{host}:{p}{}", u.path()),
                                None => format!("{host}{}", u.path()),
                            }
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        let url = format!("{}/zones/{}/purge_cache", self.api_base, self.zone_id);
        let per_request = match req.by() {
            PurgeBy::Url => self.plan.limits().files_per_request,
            PurgeBy::Tag | PurgeBy::Prefix => CLOUDFLARE_MAX_PER_REQUEST,
        };
        let batches: Vec<&[String]> = values.chunks(per_request).collect();
        let n = batches.len();
        // One token is one account's: its buckets are shared by every zone it purges here.
        let account = format!("{} {}", self.api_base, self.api_token_env);
        for (i, batch) in batches.into_iter().enumerate() {
            let body = serde_json::json!({ field: batch });
            let what = format!(
                "POST {url} ({} {field}, request {} of {n})",
                batch.len(),
                i + 1
            );
            let paced = Paced {
                account: &account,
                plan: self.plan,
                urls: if req.by() == PurgeBy::Url {
                    batch.len()
                } else {
                    0
                },
            };
            client
                .send(
                    report,
                    &what,
                    Some(paced),
                    |http| {
                        http.post(&url)
                            .header(reqwest::header::AUTHORIZATION, auth.clone())
                            .json(&body)
                    },
                    |s, after, body| classify(&what, s, after, body),
                )
                .await?;
        }
        Ok(())
    }
}

/// The API's envelope: `{"success":…,"errors":[…],"messages":[…],"result":{"id":…}}`.
#[derive(Deserialize)]
struct Envelope {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    #[serde(default)]
    result: Option<PurgeResult>,
}

#[derive(Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct PurgeResult {
    #[serde(default)]
    id: Option<String>,
}

/// The API's error messages, `[code] message; …`, or the raw body when it is not the envelope.
fn api_errors(body: &str) -> String {
    match serde_json::from_str::<Envelope>(body) {
        Ok(env) if !env.errors.is_empty() => env
            .errors
            .iter()
            .map(|e| match e.code {
                Some(c) => format!("[{c}] {}", e.message),
                None => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => snippet(body, 300),
    }
}

fn classify(
    what: &str,
    status: reqwest::StatusCode,
    after: Option<std::time::Duration>,
    body: &str,
) -> Verdict {
    if status.is_success() {
        return match serde_json::from_str::<Envelope>(body) {
            Ok(env) if env.success => Verdict::Done(match env.result.and_then(|r| r.id) {
                Some(id) => format!("purge id {id}"),
                None => "purged".to_owned(),
            }),
            Ok(_) => Verdict::Fail(format!(
                "{what}: Cloudflare answered success=false: {}: expected success",
                api_errors(body)
            )),
            Err(e) => Verdict::Fail(format!(
                "{what} returned {status} with a body that is not the API's JSON envelope ({e}): \
                 {}: expected {{\"success\":true,…}} (is api_base the Cloudflare API?)",
                snippet(body, 200)
            )),
        };
    }
    let code = status.as_u16();
    if code == 429 || status.is_server_error() {
        return Verdict::Retry {
            after,
            why: format!("{what} returned {status}: {}", api_errors(body)),
        };
    }
    let expected = match code {
        400 => "expected a request the API accepts (check the values purged)",
        401 | 403 => "expected a valid API token with the Cache Purge permission on this zone",
        404 => "expected an existing zone id and the API's base URL",
        _ => "expected 200 from the purge API",
    };
    Verdict::Fail(format!(
        "{what} returned {status}: Cloudflare says: {}: {expected}",
        api_errors(body)
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let ok = Cloudflare::new(
            "cf",
            "023e105f4ecef8ad9ca31a8372d0c353",
            "CLOUDFLARE_API_TOKEN",
            None,
        )
        .unwrap();
        assert_eq!(ok.api_base(), CLOUDFLARE_API_BASE);
        assert!(Cloudflare::new("cf", "nope", "T", None).is_err());
        let e =
            Cloudflare::new("cf", "023e105f4ecef8ad9ca31a8372d0c353", "1-bad", None).unwrap_err();
        assert!(
            e.to_string().contains("not an environment variable name"),
            "{e}"
        );
    }

    #[test]
    fn api_errors_are_quoted() {
        let body = r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#;
        let v = classify("POST x", reqwest::StatusCode::FORBIDDEN, None, body);
        match v {
            Verdict::Fail(m) => assert!(
                m.contains("[10000] Authentication error") && m.contains("Cache Purge permission"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        let ok = r#"{"success":true,"errors":[],"messages":[],"result":{"id":"abc"}}"#;
        assert!(matches!(
            classify("POST x", reqwest::StatusCode::OK, None, ok),
            Verdict::Done(s) if s == "purge id abc"
        ));
        assert!(matches!(
            classify("POST x", reqwest::StatusCode::TOO_MANY_REQUESTS, None, "{}"),
            Verdict::Retry { .. }
        ));
    }
}
