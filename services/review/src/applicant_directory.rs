//! The applicant's masked name and ID number for publicity lists and reviewers' screens, asked
//! from identity once, when the resident opens a draft, with the resident's own token (identity
//! answers `GetMe` only to the account itself; review never sees the plain ID number).

use jifen_kit::auth::{Caller, TENANT_HEADER};
use jifen_kit::component::Peers;
use jifen_proto::identity::v1::GetMeRequest;
use jifen_proto::identity::v1::identity_service_client::IdentityServiceClient;
use serde_json::{Value, json};

/// Where review asks identity; without peers (unit tests) applicants stay unnamed.
#[derive(Debug, Clone, Default)]
pub struct ApplicantDirectory {
    peers: Option<Peers>,
}

impl ApplicantDirectory {
    /// Asks identity at `peers`.
    pub fn new(peers: Peers) -> Self {
        Self { peers: Some(peers) }
    }

    /// Returns `{name_masked, id_number_masked}` of the caller, or null when identity cannot be
    /// asked (the draft is still opened: a missing name must not cost the resident their place).
    pub async fn masked_person(&self, caller: &Caller, bearer: Option<&str>) -> Value {
        let (Some(peers), Some(bearer)) = (&self.peers, bearer) else {
            return Value::Null;
        };
        let channel = match peers.channel("identity") {
            Ok(channel) => channel,
            Err(err) => {
                tracing::warn!(%err, "no identity peer: the applicant's masked name stays empty");
                return Value::Null;
            }
        };
        let mut req = tonic::Request::new(GetMeRequest {});
        if let (Ok(auth), Ok(tenant)) = (bearer.parse(), caller.tenant.parse()) {
            req.metadata_mut().insert("authorization", auth);
            req.metadata_mut().insert(TENANT_HEADER, tenant);
        }
        match IdentityServiceClient::new(channel).get_me(req).await {
            Ok(account) => account.into_inner().person.map_or(
                Value::Null,
                |p| json!({ "name_masked": p.name_masked, "id_number_masked": p.id_number_masked }),
            ),
            Err(status) => {
                tracing::warn!(code = ?status.code(), "identity did not answer GetMe: the applicant's masked name stays empty");
                Value::Null
            }
        }
    }
}
