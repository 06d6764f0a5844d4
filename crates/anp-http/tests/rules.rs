//! The rules file: parsing errors, decisions, examples, lints and the CDN exports.

use std::path::Path;

use anp_http::rules::{Expected, LintKind, Rules, VarnishBackend};
use anp_http::{Decide, Decision};
use http::{HeaderMap, HeaderValue, Method, Uri};

fn parse(text: &str) -> Rules {
    Rules::parse(text, "cache.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> String {
    match Rules::parse(text, "cache.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn example_file() -> Rules {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cache.toml");
    Rules::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> (Method, Uri, HeaderMap) {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
            HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    (
        Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
        uri.parse().unwrap_or_else(|e| panic!("{e}")),
        h,
    )
}

fn decide(rules: &Rules, method: &str, uri: &str, headers: &[(&str, &str)]) -> Decision {
    let (m, u, h) = req(method, uri, headers);
    rules.decide(&m, &u, &h)
}

fn key_of(d: &Decision) -> String {
    match d {
        Decision::Cache(c) => c.key.clone(),
        Decision::Bypass(b) => panic!("expected a cache decision, got bypass: {b:?}"),
    }
}

const RULE_HEAD: &str = r#"owner = "web"
expected = "hits"
rollback = "remove it"
"#;

/// A file with one cache rule named `everything` that matches every request, FIRST.
fn cache_everything(extra: &str) -> String {
    format!(
        r#"[bypass]
session_cookies = ["session", "wordpress_logged_in_*"]
headers = ["x-preview"]
[defaults]
deploy_tag = "deploy"
[[rule]]
name = "everything"
{RULE_HEAD}action = "cache"
edge_ttl = "1m"
tags = ["deploy"]
{extra}"#
    )
}

#[test]
fn the_example_file_is_valid_its_examples_hold_and_it_lints_clean() {
    let rules = example_file();
    assert_eq!(rules.rules().len(), 5);
    let failures = rules.check();
    assert!(failures.is_empty(), "{failures:#?}");
    let lints = rules.lint();
    assert!(lints.is_empty(), "{lints:#?}");
    let assets = rules
        .rule("assets")
        .unwrap_or_else(|| panic!("no assets rule"));
    assert_eq!(assets.owner, "web-platform");
    assert_eq!(assets.expected, "hit ratio above 95% on /assets");
}

/// The README's caching section shows the whole example file, so what readers copy is what
/// the tests check.
#[test]
fn the_readme_shows_the_example_file_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_else(|e| panic!("{e}"));
    let example =
        std::fs::read_to_string(root.join("examples/cache.toml")).unwrap_or_else(|e| panic!("{e}"));
    let section = readme
        .split("### HTTP cache rules")
        .nth(1)
        .unwrap_or_else(|| panic!("README.md has no HTTP cache rules section"));
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no toml block in the README's HTTP cache rules section"));
    assert_eq!(
        block, example,
        "README.md's cache.toml differs from examples/cache.toml"
    );
}

#[test]
fn errors_name_the_file_the_line_and_the_rule() {
    let e = parse_err(&cache_everything("colour = \"blue\"\n"));
    assert!(e.starts_with("cache.toml:14:"), "{e}");
    assert!(e.contains("rule \"everything\""), "{e}");
    assert!(e.contains("unknown field `colour`"), "{e}");

    let e = parse_err(&format!(
        "{}\n[[rule]]\nname = \"everything\"\n{RULE_HEAD}action = \"bypass\"\nreason = \"x\"\n",
        cache_everything("")
    ));
    assert!(
        e.contains(
            "cache.toml:16: rule \"everything\": name: the name is used twice (first at line 7)"
        ),
        "{e}"
    );

    let e = parse_err(&format!(
        "[[rule]]\nname = \"a\"\n{RULE_HEAD}action = \"cache\"\n"
    ));
    assert!(
        e.contains("cache.toml:1: rule \"a\": edge_ttl: is missing"),
        "{e}"
    );

    let e = parse_err(&format!(
        "[[rule]]\nname = \"a\"\n{RULE_HEAD}action = \"bypass\"\n"
    ));
    assert!(e.contains("rule \"a\": reason: is missing"), "{e}");

    let e = parse_err("[[rule]]\nname = \"a\"\naction = \"bypass\"\nreason = \"r\"\n");
    assert!(e.contains("rule \"a\": owner: is missing"), "{e}");
    assert!(e.contains("rule \"a\": expected: is missing"), "{e}");
    assert!(e.contains("rule \"a\": rollback: is missing"), "{e}");

    let e = parse_err(&cache_everything("browser_ttl = \"soon\"\n"));
    assert!(
        e.contains("cache.toml:14: rule \"everything\": browser_ttl: \"soon\" is not a duration"),
        "{e}"
    );

    let e = parse_err(&cache_everything("match = { path = \"/a/[bc]\" }\n"));
    assert!(
        e.contains("cache.toml:14: rule \"everything\": match.path: \"/a/[bc]\""),
        "{e}"
    );
    let e = parse_err(&cache_everything("match = { path = \"/a/{b,c\" }\n"));
    assert!(e.contains("match.path"), "{e}");

    let e = parse_err(&cache_everything("statuses = [200, 302]\n"));
    assert!(
        e.contains("cache.toml:14: rule \"everything\": statuses: status 302"),
        "{e}"
    );

    let e = parse_err(&cache_everything(
        "key = { cookies = [\"wordpress_logged_in_1\"] }\n",
    ));
    assert!(
        e.contains("key.cookies: `wordpress_logged_in_1` is a session cookie"),
        "{e}"
    );

    let e = parse_err(&cache_everything("key = { headers = [\"cookie\"] }\n"));
    assert!(e.contains("key.headers"), "{e}");

    let e = parse_err(&format!(
        "{}\n[[rule]]\nname = \"nothing\"\n{RULE_HEAD}action = \"bypass\"\nreason = \"x\"\n",
        cache_everything("")
    ));
    assert!(
        e.contains("rule \"nothing\": match: conflicts with rule \"everything\" (line 7)"),
        "{e}"
    );

    // A bypass rule with cache settings, and a bad example.
    let e = parse_err(&format!(
        "[[rule]]\nname = \"a\"\n{RULE_HEAD}action = \"bypass\"\nreason = \"r\"\nedge_ttl = \"1h\"\nshould_bypass = [\"FETCH\"]\n"
    ));
    assert!(
        e.contains("cache.toml:8: rule \"a\": edge_ttl: has no effect on a bypass rule"),
        "{e}"
    );
    assert!(
        e.contains("cache.toml:9: rule \"a\": should_bypass:"),
        "{e}"
    );

    // Not TOML at all.
    let e = parse_err("[[rule]\nname = 1");
    assert!(e.starts_with("cache.toml:1:"), "{e}");

    // Several problems are all listed.
    let e = parse_err(&format!(
        "[[rule]]\nname = \"Bad Name\"\n{RULE_HEAD}action = \"keep\"\n"
    ));
    assert!(e.contains("\"Bad Name\" is not a rule name"), "{e}");
    assert!(e.contains("\"keep\" is not an action"), "{e}");
}

#[test]
fn a_missing_file_says_so() {
    let e = match Rules::load(Path::new("/nonexistent/cache.toml")) {
        Ok(_) => panic!("loaded a missing file"),
        Err(e) => e,
    };
    assert_eq!(e.io, Some(std::io::ErrorKind::NotFound));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/cache.toml: cannot read it"),
        "{e}"
    );
}

#[test]
fn bypass_conditions_win_over_a_cache_rule_listed_first() {
    let rules = parse(&cache_everything(""));
    assert!(matches!(
        decide(&rules, "GET", "/x", &[]),
        Decision::Cache(_)
    ));
    for (method, headers, by) in [
        ("POST", vec![], "bypass.method"),
        ("GET", vec![("authorization", "Bearer x")], "bypass.headers"),
        ("GET", vec![("x-preview", "1")], "bypass.headers"),
        (
            "GET",
            vec![("cookie", "a=1; session=abc")],
            "bypass.session_cookies",
        ),
        (
            "GET",
            vec![("cookie", "wordpress_logged_in_123=x")],
            "bypass.session_cookies",
        ),
    ] {
        match decide(&rules, method, "/x", &headers) {
            Decision::Bypass(b) => assert_eq!(b.rule.as_deref(), Some(by), "{b:?}"),
            d => panic!("{method} {headers:?}: expected bypass, got {d:?}"),
        }
    }
    for path in [
        "/a/../account",
        "/a//b",
        "/a/%2e%2e/b",
        "/a%2Fb",
        "/a/%2E",
        "/a/./b",
        "/a/..",
        "/a%5cb",
        "/a%5Cb",
        "//",
    ] {
        match decide(&rules, "GET", path, &[]) {
            Decision::Bypass(b) => assert_eq!(b.rule.as_deref(), Some("bypass.path")),
            d => panic!("{path}: expected bypass, got {d:?}"),
        }
    }
    // Percent signs and dots that do not spell a traversal are fine.
    for path in ["/100%25", "/a/.well-known/x", "/a/b..c", "/%41"] {
        assert!(
            matches!(decide(&rules, "GET", path, &[]), Decision::Cache(_)),
            "{path}"
        );
    }
    // A cookie that only looks like a session cookie does not bypass.
    assert!(matches!(
        decide(&rules, "GET", "/x", &[("cookie", "sessionx=1")]),
        Decision::Cache(_)
    ));
}

#[test]
fn the_first_matching_rule_decides_and_none_matching_bypasses() {
    let rules = example_file();
    match decide(
        &rules,
        "GET",
        "/api/v1/products/1",
        &[("host", "www.example.com")],
    ) {
        Decision::Cache(c) => {
            assert_eq!(c.rule, "api-public");
            assert_eq!(c.tags, ["api", "deploy", "path:/api/v1/products/1"]);
            assert_eq!(c.statuses, [200, 404]);
            assert_eq!(c.edge_ttl.as_secs(), 60);
            assert_eq!(c.stale_if_error.as_secs(), 600);
        }
        d => panic!("{d:?}"),
    }
    match decide(&rules, "GET", "/api/v1/me", &[("host", "www.example.com")]) {
        Decision::Bypass(b) => {
            assert_eq!(b.rule.as_deref(), Some("api-private"));
            assert_eq!(b.reason, "the rest of the API answers per user");
        }
        d => panic!("{d:?}"),
    }
    match decide(&rules, "GET", "/", &[("host", "other.example.org")]) {
        Decision::Bypass(b) => {
            assert_eq!(b.rule, None);
            assert_eq!(b.reason, "no rule matched");
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn keys_hold_no_cookie_value_unless_named_and_head_shares_get() {
    let rules = example_file();
    let host = ("host", "www.example.com");
    let plain = key_of(&decide(&rules, "GET", "/blog/a", &[host]));
    assert_eq!(plain, "GET|www.example.com|/blog/a|?");
    let with_cookie = key_of(&decide(
        &rules,
        "GET",
        "/blog/a",
        &[host, ("cookie", "theme=dark; ab=b")],
    ));
    assert_eq!(plain, with_cookie);
    assert!(!with_cookie.contains("dark"));
    let head = key_of(&decide(
        &rules,
        "HEAD",
        "/blog/a",
        &[("host", "WWW.example.com:443")],
    ));
    assert_eq!(plain, head);

    // api-public names `currency`, `accept-language`, `page` and `sort`.
    let a = key_of(&decide(
        &rules,
        "GET",
        "/api/v1/products?sort=price&utm=x&page=2",
        &[
            host,
            ("cookie", "currency=EUR; theme=dark"),
            ("accept-language", "fr"),
        ],
    ));
    assert_eq!(
        a,
        "GET|www.example.com|/api/v1/products|?page=2&sort=price|accept-language=fr|cookie:currency=EUR"
    );
    let b = key_of(&decide(
        &rules,
        "GET",
        "/api/v1/products?page=2&sort=price",
        &[host, ("cookie", "currency=USD"), ("accept-language", "fr")],
    ));
    assert_ne!(a, b);
    // A header value cannot imitate another key part.
    let c = key_of(&decide(
        &rules,
        "GET",
        "/api/v1/products?page=2&sort=price",
        &[host, ("accept-language", "fr|cookie:currency=EUR")],
    ));
    assert_ne!(a, c);

    // The key's escape character and separator are escaped wherever they appear.
    let rules = parse(&cache_everything(""));
    assert_eq!(
        key_of(&decide(&rules, "GET", "/p%41?q=a%7Cb&k=x|y", &[])),
        "GET||/p%2541|?k=x%7Cy&q=a%257Cb"
    );

    // query = "all" sorts the parameters.
    let rules = parse(&cache_everything(""));
    assert_eq!(
        key_of(&decide(&rules, "GET", "/s?b=2&a=1", &[])),
        key_of(&decide(&rules, "GET", "/s?a=1&b=2", &[]))
    );
}

#[test]
fn check_names_the_rule_and_the_example_that_fail() {
    let rules = parse(&format!(
        r#"{}
[[rule]]
name = "later"
{RULE_HEAD}match = {{ path = "/later/**" }}
action = "cache"
edge_ttl = "1m"
tags = ["deploy"]
should_cache = ["GET /later/x"]
should_bypass = ["GET /later/y", "GET /later/z cookie:session=1"]
"#,
        cache_everything("")
    ));
    let failures = rules.check();
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert_eq!(failures[0].rule, "later");
    assert_eq!(failures[0].example, "GET /later/x");
    assert_eq!(failures[0].expected, Expected::Cache);
    assert_eq!(failures[0].location, "cache.toml:24");
    let text = failures[0].to_string();
    assert!(text.contains("cache.toml:24: rule \"later\": should_cache example \"GET /later/x\" should be cached by this rule, but rule \"everything\" caches it"), "{text}");
    assert_eq!(failures[1].example, "GET /later/y");
    assert_eq!(failures[1].expected, Expected::Bypass);
}

#[test]
fn explain_says_which_rule_matched_and_why_the_earlier_ones_did_not() {
    let rules = example_file();
    let (m, u, h) = req(
        "GET",
        "/blog/x",
        &[("host", "www.example.com"), ("cookie", "session=1")],
    );
    let ex = rules.explain(&m, &u, &h);
    assert_eq!(ex.steps.len(), 5);
    assert!(!ex.steps[0].matched);
    assert_eq!(
        ex.steps[0].why,
        ["path `/blog/x` does not match `/assets/**`"]
    );
    assert_eq!(ex.steps[1].why[0], "path `/blog/x` does not start with `/account`, `/admin`, `/cart`, `/checkout`, `/dashboard`, `/login`, `/logout`, `/profile`, `/settings`, `/user`, `/wp-admin`");
    assert!(ex.steps[4].matched);
    assert_eq!(ex.matched, Some(4));
    let b = ex
        .builtin_bypass
        .as_ref()
        .unwrap_or_else(|| panic!("no built-in bypass"));
    assert_eq!(b.rule.as_deref(), Some("bypass.session_cookies"));
    assert!(matches!(ex.decision, Decision::Bypass(_)));
}

#[test]
fn lints_find_logged_in_paths_missing_deploy_tags_and_shadowed_rules() {
    // No session cookies; a catch-all HTML rule without the deploy tag; a shadowed rule.
    let rules = parse(&format!(
        r#"[[rule]]
name = "html"
{RULE_HEAD}action = "cache"
edge_ttl = "1m"

[[rule]]
name = "blog"
{RULE_HEAD}match = {{ path = "/blog/**" }}
action = "cache"
edge_ttl = "1m"

[[rule]]
name = "assets"
{RULE_HEAD}match = {{ path = "/assets/**", extension = "js" }}
action = "cache"
edge_ttl = "1d"
"#
    ));
    let lints = rules.lint();
    let kinds: Vec<(LintKind, Option<&str>)> =
        lints.iter().map(|l| (l.kind, l.rule.as_deref())).collect();
    assert!(
        kinds.contains(&(LintKind::NoSessionBypass, None)),
        "{lints:#?}"
    );
    assert!(
        kinds.contains(&(LintKind::LoggedInPath, Some("html"))),
        "{lints:#?}"
    );
    assert!(
        kinds.contains(&(LintKind::HtmlWithoutDeployTag, Some("html"))),
        "{lints:#?}"
    );
    assert!(
        kinds.contains(&(LintKind::Shadowed, Some("blog"))),
        "{lints:#?}"
    );
    assert!(
        kinds.contains(&(LintKind::Shadowed, Some("assets"))),
        "{lints:#?}"
    );
    let logged_in = lints
        .iter()
        .find(|l| l.kind == LintKind::LoggedInPath)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        logged_in.starts_with("cache.toml:2: rule \"html\": caches /account"),
        "{logged_in}"
    );

    // Subsumption: a prefix covers a narrower glob; the narrower one first is fine.
    let rules = parse(&format!(
        r#"[bypass]
session_cookies = ["session"]
[[rule]]
name = "static"
{RULE_HEAD}match = {{ prefix = "/static/", extension = ["js", "css"] }}
action = "cache"
edge_ttl = "1d"
[[rule]]
name = "static-js"
{RULE_HEAD}match = {{ path = "/static/js/*.js" }}
action = "cache"
edge_ttl = "1d"
[[rule]]
name = "static-js-narrow"
{RULE_HEAD}match = {{ path = "/static/js/*.js", extension = "js" }}
action = "cache"
edge_ttl = "1d"
[[rule]]
name = "img"
{RULE_HEAD}match = {{ path = "/img/*.png", extension = "png" }}
action = "cache"
edge_ttl = "1d"
should_cache = ["GET /img/a.png"]
"#
    ));
    let shadowed: Vec<String> = rules
        .lint()
        .into_iter()
        .filter(|l| l.kind == LintKind::Shadowed)
        .filter_map(|l| l.rule)
        .collect();
    // `static-js` has no extension condition, so `static` (js/css only) does not cover it;
    // `static-js-narrow` is covered by both.
    assert_eq!(shadowed, ["static-js-narrow"]);
}

#[test]
fn cloudflare_export_orders_cache_rules_before_every_bypass() {
    let rules = example_file();
    let v: serde_json::Value = serde_json::from_str(&rules.export_cloudflare())
        .unwrap_or_else(|e| panic!("not JSON: {e}"));
    assert_eq!(v["phase"], "http_request_cache_settings");
    assert_eq!(v["kind"], "zone");
    let list = v["rules"].as_array().unwrap_or_else(|| panic!("no rules"));
    let refs: Vec<&str> = list
        .iter()
        .map(|r| r["ref"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        refs,
        [
            "anp_no_rule_matched",
            "anp_public-html",
            "anp_api-public",
            "anp_assets",
            "anp_account",
            "anp_api-private",
            "anp_builtin_bypass",
        ]
    );
    for r in list {
        assert_eq!(r["action"], "set_cache_settings");
        assert!(r["expression"].is_string());
    }
    let last_cache = list
        .iter()
        .rposition(|r| r["action_parameters"]["cache"] == true);
    let first_bypass = list
        .iter()
        .skip(1)
        .position(|r| r["action_parameters"]["cache"] == false)
        .map(|i| i + 1);
    assert!(last_cache < first_bypass, "{refs:?}");

    let assets = &list[3];
    assert_eq!(
        assets["expression"],
        "starts_with(http.request.uri.path, \"/assets/\") and http.request.uri.path.extension in {\"css\" \"js\" \"png\" \"svg\" \"woff2\"}"
    );
    assert_eq!(
        assets["action_parameters"]["edge_ttl"]["default"],
        30 * 86400
    );
    assert_eq!(
        assets["action_parameters"]["edge_ttl"]["status_code_ttl"][0]["status_code_range"]["from"],
        100
    );
    assert_eq!(
        assets["action_parameters"]["browser_ttl"]["default"],
        7 * 86400
    );
    assert_eq!(
        assets["action_parameters"]["cache_key"]["custom_key"]["query_string"]["exclude"]["all"],
        true
    );
    assert_eq!(assets["description"], "assets — web-platform");
    let api = &list[2];
    assert_eq!(
        api["action_parameters"]["cache_key"]["custom_key"]["cookie"]["include"][0],
        "currency"
    );
    assert_eq!(
        api["action_parameters"]["cache_key"]["custom_key"]["query_string"]["include"]["list"][1],
        "sort"
    );
    // A bypass rule after a cache rule in the file is narrowed by it.
    let private = list[5]["expression"].as_str().unwrap_or("");
    assert!(private.contains("and not ("), "{private}");
    assert!(private.contains("/api/v1/products"), "{private}");
    let builtin = list[6]["expression"].as_str().unwrap_or("");
    assert!(
        builtin.contains("not http.request.method in {\"GET\" \"HEAD\"}"),
        "{builtin}"
    );
    assert!(
        builtin.contains("http.cookie contains \"wordpress_logged_in_\""),
        "{builtin}"
    );
    assert!(
        builtin.contains("http.cookie contains \"PHPSESSID=\""),
        "{builtin}"
    );
    assert!(
        builtin.contains("\"authorization\" \"x-preview\""),
        "{builtin}"
    );

    // A glob the language cannot say with starts_with uses `matches`, and says so.
    let rules = parse(&cache_everything("match = { path = \"/**/*.js\" }\n"));
    let text = rules.export_cloudflare();
    assert!(
        text.contains(r#"matches \"^/(?:.*/)?[^/]*\\\\.js$\""#),
        "{text}"
    );
    assert!(text.contains("Business or Enterprise"), "{text}");
}

#[test]
fn varnish_export_keeps_file_order_and_tags() {
    let rules = example_file();
    let vcl = rules.export_varnish(&VarnishBackend {
        host: "10.0.0.5".to_owned(),
        port: 8081,
    });
    assert!(vcl.contains("vcl 4.1;"));
    assert!(vcl.contains("import xkey;"));
    assert!(vcl.contains(".host = \"10.0.0.5\";\n    .port = \"8081\";"));
    let at = |needle: &str| {
        vcl.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in\n{vcl}"))
    };
    assert!(at("req.http.cookie ~ {\"(^|;\\s*)(session|laravel_session|PHPSESSID|wordpress_logged_in_[^=;]*)(=|;|$)\"}") < at("set req.http.x-anp-rule = \"assets\""));
    assert!(
        at("set req.http.x-anp-rule = \"assets\"") < at("set req.http.x-anp-rule = \"account\"")
    );
    assert!(
        at("set req.http.x-anp-rule = \"account\"")
            < at("set req.http.x-anp-rule = \"public-html\"")
    );
    assert!(vcl.contains("set beresp.http.xkey = \"api\" + \" \" + \"deploy\" + \" \" + \"path:\" + bereq.http.x-anp-path + \"\";"), "{vcl}");
    assert!(vcl.contains("set beresp.ttl = 2592000s;"));
    assert!(vcl.contains("hash_data(\"cookie:currency=\""));
}
