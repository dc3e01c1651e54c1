//! Sends an event envelope to a receiving component's `DeliverEvent` rpc, acting as the sending
//! component with its service token. Every outbox dispatcher that talks to other components
//! calls this; receivers dedupe on the event id, so a retry is harmless.

use jifen_proto::common::v1::Event;

use crate::component::Peers;
use crate::service_token::ServiceTokens;

/// Delivers `envelope` to `receiver` (`notices`, `ranking` or `materials`). Any error, including
/// UNIMPLEMENTED, is returned so the dispatcher retries later: an event is never dropped.
pub async fn deliver_to(
    peers: &Peers,
    tokens: &ServiceTokens,
    receiver: &str,
    envelope: &Event,
) -> Result<(), String> {
    let channel = peers.channel(receiver).map_err(|e| e.to_string())?;
    let event = Some(envelope.clone());
    let tenant = envelope.tenant.as_str();
    let result = match receiver {
        "notices" => {
            use jifen_proto::notices::v1 as n;
            n::notices_service_client::NoticesServiceClient::new(channel)
                .deliver_event(tokens.request(n::DeliverEventRequest { event }, tenant))
                .await
                .map(|_| ())
        }
        "ranking" => {
            use jifen_proto::ranking::v1 as r;
            r::ranking_service_client::RankingServiceClient::new(channel)
                .deliver_event(tokens.request(r::DeliverEventRequest { event }, tenant))
                .await
                .map(|_| ())
        }
        "materials" => {
            use jifen_proto::materials::v1 as m;
            m::materials_service_client::MaterialsServiceClient::new(channel)
                .deliver_event(tokens.request(m::DeliverEventRequest { event }, tenant))
                .await
                .map(|_| ())
        }
        other => return Err(format!("unknown event receiver {other}")),
    };
    result.map_err(|status| format!("{receiver}: {}: {}", status.code(), status.message()))
}
