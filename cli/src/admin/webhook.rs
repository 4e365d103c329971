use serde_json::{Value, json};
use sluice_proto::v1::{
    GetWebhookRequest, RotateWebhookSecretRequest, StringList, UpdateWebhookRequest, Webhook,
};

use super::{Answer, Control, api_key, layout};
use crate::args::{WebhookCommand, WebhookUpdateArgs};

pub async fn run(control: &mut Control, command: WebhookCommand) -> anyhow::Result<Answer> {
    match command {
        WebhookCommand::Get { workflow } => {
            let request = GetWebhookRequest {
                workflow_id: workflow,
            };
            let webhook = control.client.get_webhook(request).await;
            Ok(answer(
                &webhook
                    .map_err(|status| control.failure(status))?
                    .into_inner(),
            ))
        }
        WebhookCommand::Update(update) => {
            let webhook = control.client.update_webhook(update_request(update)).await;
            Ok(answer(
                &webhook
                    .map_err(|status| control.failure(status))?
                    .into_inner(),
            ))
        }
        WebhookCommand::RotateSecret { workflow, grace } => {
            let request = RotateWebhookSecretRequest {
                workflow_id: workflow,
                grace_seconds: u32::try_from(grace.as_secs()).unwrap_or(u32::MAX),
            };
            let webhook = control
                .client
                .rotate_webhook_secret(request)
                .await
                .map_err(|status| control.failure(status))?
                .into_inner();
            let mut answer = answer(&webhook);
            let expires = layout::timestamp(webhook.previous_url_expires_at.as_ref());
            answer.text = match &expires {
                Some(expires) => {
                    format!("{}\nThe previous URL works until {expires}.", answer.text)
                }
                None => format!("{}\nThe previous URL no longer works.", answer.text),
            };
            if let Some(object) = answer.json.as_object_mut() {
                object.insert(
                    "previous_url_expires_at".to_owned(),
                    expires.map_or(Value::Null, Value::String),
                );
            }
            Ok(answer)
        }
        WebhookCommand::ApiKey(command) => api_key::run(control, command).await,
    }
}

/// Only the flags that were given are set, so everything else stays as it is.
fn update_request(update: WebhookUpdateArgs) -> UpdateWebhookRequest {
    UpdateWebhookRequest {
        workflow_id: update.workflow,
        status: update.status.map(|status| status.as_str().to_owned()),
        methods: update
            .methods
            .map(|methods| StringList { values: methods.0 }),
        allowlisted_cidrs: update.allowlist.map(|allowlist| StringList {
            values: allowlist.0,
        }),
        include_headers: update.include_headers,
        dedup: update.dedup,
    }
}

fn answer(webhook: &Webhook) -> Answer {
    let api_key = webhook.api_key.as_ref().map_or(Value::Null, |key| {
        json!({
            "preview": key.preview,
            "created_at": layout::timestamp_json(key.created_at.as_ref()),
            "last_used_at": layout::timestamp_json(key.last_used_at.as_ref()),
            "revoked_at": layout::timestamp_json(key.revoked_at.as_ref()),
            "is_active": key.is_active,
        })
    });
    let json = json!({
        "status": webhook.status,
        "methods": webhook.methods,
        "allowlisted_cidrs": webhook.allowlisted_cidrs,
        "include_headers": webhook.include_headers,
        "dedup": webhook.dedup,
        "url": webhook.url,
        "api_key": api_key,
    });

    let allowlist = if webhook.allowlisted_cidrs.is_empty() {
        "any address".to_owned()
    } else {
        webhook.allowlisted_cidrs.join(", ")
    };
    let mut rows = vec![
        ("status", webhook.status.clone()),
        ("methods", webhook.methods.join(", ")),
        ("allowlist", allowlist),
        ("include headers", webhook.include_headers.to_string()),
        ("dedup", webhook.dedup.to_string()),
        ("url", webhook.url.clone()),
    ];
    match &webhook.api_key {
        None => rows.push(("api key", "none".to_owned())),
        Some(key) => {
            let state = if key.is_active { "active" } else { "revoked" };
            rows.push(("api key", format!("{} ({state})", key.preview)));
            let times = [
                ("api key created", &key.created_at),
                ("api key last used", &key.last_used_at),
                ("api key revoked", &key.revoked_at),
            ];
            for (label, time) in times {
                if let Some(time) = layout::timestamp(time.as_ref()) {
                    rows.push((label, time));
                }
            }
        }
    }
    Answer {
        json,
        text: layout::fields(&rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::CommaList;

    #[test]
    fn an_empty_allowlist_is_sent_as_an_empty_list_and_absent_flags_not_at_all() {
        let request = update_request(WebhookUpdateArgs {
            workflow: "wf_x".into(),
            status: None,
            methods: None,
            allowlist: Some(CommaList::default()),
            include_headers: None,
            dedup: None,
        });
        assert_eq!(
            request.allowlisted_cidrs,
            Some(StringList { values: vec![] })
        );
        assert_eq!(request.methods, None);
        assert_eq!(request.status, None);
        assert_eq!(request.include_headers, None);
        assert_eq!(request.dedup, None);
    }

    #[test]
    fn webhook_json_has_the_documented_shape() {
        let webhook = Webhook {
            workflow_id: "wf_x".into(),
            status: "online".into(),
            methods: vec!["POST".into()],
            allowlisted_cidrs: vec!["10.0.0.0/8".into()],
            include_headers: true,
            url: "http://127.0.0.1:8080/webhooks/wf_x/s".into(),
            api_key: None,
            previous_url_expires_at: None,
            dedup: true,
        };
        assert_eq!(
            answer(&webhook).json,
            json!({
                "status": "online",
                "methods": ["POST"],
                "allowlisted_cidrs": ["10.0.0.0/8"],
                "include_headers": true,
                "dedup": true,
                "url": "http://127.0.0.1:8080/webhooks/wf_x/s",
                "api_key": null,
            })
        );
    }
}
