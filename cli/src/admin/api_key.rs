use serde_json::json;
use sluice_proto::v1::{
    DeleteApiKeyRequest, GenerateApiKeyRequest, GeneratedApiKey, RevokeApiKeyRequest,
    RotateApiKeyRequest,
};

use super::{Answer, Control, layout};
use crate::args::ApiKeyCommand;

pub async fn run(control: &mut Control, command: ApiKeyCommand) -> anyhow::Result<Answer> {
    match command {
        ApiKeyCommand::Generate { workflow } => {
            let request = GenerateApiKeyRequest {
                workflow_id: workflow,
            };
            let generated = control.client.generate_api_key(request).await;
            let key = generated
                .map_err(|status| control.failure(status))?
                .into_inner();
            Ok(new_key(key))
        }
        ApiKeyCommand::Rotate { workflow, grace } => {
            let request = RotateApiKeyRequest {
                workflow_id: workflow,
                grace_seconds: u32::try_from(grace.as_secs()).unwrap_or(u32::MAX),
            };
            let rotated = control.client.rotate_api_key(request).await;
            let key = rotated
                .map_err(|status| control.failure(status))?
                .into_inner();
            let mut answer = new_key(key);
            answer.text = format!(
                "{}\nThe previous key keeps working for {}.",
                answer.text,
                humantime::format_duration(grace)
            );
            Ok(answer)
        }
        ApiKeyCommand::Revoke { workflow } => {
            let request = RevokeApiKeyRequest {
                workflow_id: workflow.clone(),
            };
            let revoked = control.client.revoke_api_key(request).await;
            revoked.map_err(|status| control.failure(status))?;
            Ok(Answer {
                json: json!({}),
                text: format!(
                    "revoked the API key of {workflow}: its webhook refuses every request \
                     until a key is generated or deleted"
                ),
            })
        }
        ApiKeyCommand::Delete { workflow } => {
            let request = DeleteApiKeyRequest {
                workflow_id: workflow.clone(),
            };
            let deleted = control.client.delete_api_key(request).await;
            deleted.map_err(|status| control.failure(status))?;
            Ok(Answer {
                json: json!({}),
                text: format!("deleted the API key of {workflow}: its webhook needs no key"),
            })
        }
    }
}

/// A key that was just created, which is shown only this once.
fn new_key(key: GeneratedApiKey) -> Answer {
    let created = layout::timestamp(key.created_at.as_ref());
    let text = layout::fields(&[
        ("api key", key.api_key.clone()),
        ("preview", key.preview.clone()),
        ("created", created.clone().unwrap_or_default()),
    ]);
    Answer {
        json: json!({"api_key": key.api_key, "preview": key.preview, "created_at": created}),
        text: format!("{text}\nKeep the key now: it is not shown again."),
    }
}
