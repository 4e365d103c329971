//! Which webhook a request path names.

/// The two path segments of `/webhooks/{workflow_id}/{secret}`, still unverified.
#[derive(Debug, PartialEq, Eq)]
pub struct Route<'a> {
    pub workflow_id: &'a str,
    pub secret: &'a str,
}

/// Brings a configured path prefix to its canonical shape: empty, or a leading `/` and
/// no trailing `/` (`api/` and `/api` both become `/api`; `/` becomes empty).
pub fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// Matches `path` against `[prefix]/webhooks/{workflow_id}/{secret}[/]`.
///
/// The prefix is optional even when configured, so a deployment whose load balancer
/// strips it and one that forwards it both work. Empty segments never match.
pub fn parse<'a>(path: &'a str, prefix: &str) -> Option<Route<'a>> {
    let path = match path.strip_prefix(prefix) {
        Some(rest) if !prefix.is_empty() && rest.starts_with('/') => rest,
        _ => path,
    };
    let rest = path.strip_prefix("/webhooks/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (workflow_id, secret) = rest.split_once('/')?;
    if workflow_id.is_empty() || secret.is_empty() || secret.contains('/') {
        return None;
    }
    Some(Route {
        workflow_id,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route<'a>(workflow_id: &'a str, secret: &'a str) -> Option<Route<'a>> {
        Some(Route {
            workflow_id,
            secret,
        })
    }

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(normalise_prefix(""), "");
        assert_eq!(normalise_prefix("/"), "");
        assert_eq!(normalise_prefix("/api"), "/api");
        assert_eq!(normalise_prefix("api/"), "/api");
        assert_eq!(normalise_prefix("/api/v1/"), "/api/v1");
    }

    #[test]
    fn webhook_paths_match_without_a_prefix() {
        assert_eq!(parse("/webhooks/wf_1/abc", ""), route("wf_1", "abc"));
        assert_eq!(parse("/webhooks/wf_1/abc/", ""), route("wf_1", "abc"));
    }

    #[test]
    fn a_configured_prefix_is_accepted_and_optional() {
        assert_eq!(
            parse("/api/webhooks/wf_1/abc", "/api"),
            route("wf_1", "abc")
        );
        assert_eq!(
            parse("/api/webhooks/wf_1/abc/", "/api"),
            route("wf_1", "abc")
        );
        assert_eq!(parse("/webhooks/wf_1/abc", "/api"), route("wf_1", "abc"));
        assert_eq!(parse("/apix/webhooks/wf_1/abc", "/api"), None);
        assert_eq!(parse("/api/webhooks/wf_1/abc", ""), None);
    }

    #[test]
    fn other_paths_do_not_match() {
        for path in [
            "/",
            "/webhooks",
            "/webhooks/",
            "/webhooks/wf_1",
            "/webhooks/wf_1/",
            "/webhooks//abc",
            "/webhooks/wf_1/abc//",
            "/webhooks/wf_1/abc/extra",
            "/webhook/wf_1/abc",
            "/other/webhooks/wf_1/abc",
        ] {
            assert_eq!(parse(path, ""), None, "{path}");
        }
    }
}
