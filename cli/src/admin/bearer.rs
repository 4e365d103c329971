//! The admin token the commands present, and where it comes from.

use std::path::Path;

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
};

use crate::args::read_token;

/// The file in a `sluice dev` data dir that holds its admin token.
pub const DEV_ADMIN_TOKEN: &str = "admin-token";

/// Adds `authorization: Bearer <token>` to every call, when there is a token.
#[derive(Clone, Default)]
pub struct Bearer {
    authorization: Option<MetadataValue<Ascii>>,
}

impl Bearer {
    pub fn new(token: Option<&str>) -> anyhow::Result<Self> {
        let authorization = token
            .map(|token| {
                let mut value: MetadataValue<Ascii> = format!("Bearer {token}")
                    .parse()
                    .map_err(|_| anyhow::anyhow!("the admin token is not a valid header value"))?;
                value.set_sensitive(true);
                anyhow::Ok(value)
            })
            .transpose()?;
        Ok(Self { authorization })
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(authorization) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        Ok(request)
    }
}

/// The admin token: from `--token-file`, else `SLUICE_TOKEN`, else the one a
/// `sluice dev` keeps in `data_dir`. The data dir is consulted even when `--control`
/// names the address, so that commands aimed at a local `sluice dev` need no flag.
pub fn admin_token(token_file: Option<&Path>, data_dir: &Path) -> anyhow::Result<Option<String>> {
    if let Some(path) = token_file {
        return read_token(path).map(Some);
    }
    if let Some(token) = std::env::var("SLUICE_TOKEN")
        .ok()
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
    {
        return Ok(Some(token));
    }
    let dev = data_dir.join(DEV_ADMIN_TOKEN);
    if dev.exists() {
        return read_token(&dev).map(Some);
    }
    Ok(None)
}
