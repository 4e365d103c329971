use serde_json::json;
use sluice_proto::v1::{DeleteApiKeyRequest, GenerateApiKeyRequest, RevokeApiKeyRequest};

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
            let created = layout::timestamp(key.created_at.as_ref());
            let text = layout::fields(&[
                ("api key", key.api_key.clone()),
                ("preview", key.preview.clone()),
                ("created", created.clone().unwrap_or_default()),
            ]);
            Ok(Answer {
                json: json!({"api_key": key.api_key, "preview": key.preview, "created_at": created}),
                text: format!("{text}\nKeep the key now: it is not shown again."),
            })
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
