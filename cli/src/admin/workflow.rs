use std::{io::Read, path::Path};

use anyhow::Context;
use serde_json::{Value, json};
use sluice_proto::v1::{
    CreateWorkflowRequest, GetWorkflowRequest, ListWorkflowsRequest, PublishWorkflowRequest,
    Workflow,
};

use super::{Answer, Control, layout};
use crate::args::WorkflowCommand;

pub async fn run(control: &mut Control, command: WorkflowCommand) -> anyhow::Result<Answer> {
    match command {
        WorkflowCommand::Create { title } => {
            let request = CreateWorkflowRequest { title };
            let workflow = control.client.create_workflow(request).await;
            Ok(one(&workflow
                .map_err(|status| control.failure(status))?
                .into_inner()))
        }
        WorkflowCommand::Get { workflow } => {
            let request = GetWorkflowRequest {
                workflow_id: workflow,
            };
            let workflow = control.client.get_workflow(request).await;
            Ok(one(&workflow
                .map_err(|status| control.failure(status))?
                .into_inner()))
        }
        WorkflowCommand::List => {
            let listed = control.client.list_workflows(ListWorkflowsRequest {}).await;
            let workflows = listed.map_err(|status| control.failure(status))?;
            Ok(many(&workflows.into_inner().workflows))
        }
        WorkflowCommand::Publish {
            workflow,
            definition,
        } => {
            let definition_json = match definition {
                Some(source) => read_definition(&source)?,
                None => "{}".to_owned(),
            };
            let request = PublishWorkflowRequest {
                workflow_id: workflow,
                definition_json,
            };
            let published = control.client.publish_workflow(request).await;
            let published = published
                .map_err(|status| control.failure(status))?
                .into_inner();
            Ok(Answer {
                json: json!({"id": published.workflow_id, "version": published.version}),
                text: format!(
                    "published {} version {}",
                    published.workflow_id, published.version
                ),
            })
        }
    }
}

/// The definition in `source` (`-` is stdin), checked to be JSON before it is sent so
/// that a typo is reported with the file it is in.
fn read_definition(source: &Path) -> anyhow::Result<String> {
    let text = if source == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read the definition from stdin")?;
        text
    } else {
        std::fs::read_to_string(source)
            .with_context(|| format!("read the definition in {}", source.display()))?
    };
    serde_json::from_str::<Value>(&text)
        .with_context(|| format!("the definition in {} is not JSON", source.display()))?;
    Ok(text)
}

fn to_json(workflow: &Workflow) -> Value {
    json!({
        "id": workflow.id,
        "title": workflow.title,
        "published_version": workflow.published_version,
        "created_at": layout::timestamp_json(workflow.created_at.as_ref()),
    })
}

fn one(workflow: &Workflow) -> Answer {
    let published = workflow
        .published_version
        .map_or_else(|| "none".to_owned(), |version| version.to_string());
    let created = layout::timestamp(workflow.created_at.as_ref()).unwrap_or_default();
    Answer {
        json: to_json(workflow),
        text: layout::fields(&[
            ("id", workflow.id.clone()),
            ("title", workflow.title.clone()),
            ("published version", published),
            ("created", created),
        ]),
    }
}

fn many(workflows: &[Workflow]) -> Answer {
    let rows: Vec<Vec<String>> = workflows
        .iter()
        .map(|workflow| {
            vec![
                workflow.id.clone(),
                workflow
                    .published_version
                    .map_or_else(|| "-".to_owned(), |version| version.to_string()),
                layout::timestamp(workflow.created_at.as_ref()).unwrap_or_default(),
                workflow.title.clone(),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no workflows".to_owned()
    } else {
        layout::table(&["ID", "PUBLISHED", "CREATED", "TITLE"], &rows)
    };
    Answer {
        json: Value::Array(workflows.iter().map(to_json).collect()),
        text,
    }
}
