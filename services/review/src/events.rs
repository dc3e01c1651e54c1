//! Events review publishes through the outbox, and their delivery to notices and ranking.
//!
//! The outbox row's JSON payload carries the encoded `jifen.common.v1.Event` (base64 in `event`),
//! so the envelope sent is byte-for-byte the one written in the transaction, event id included.

use std::sync::Arc;

use base64::Engine as _;
use jifen_kit::component::Peers;
use jifen_kit::outbox;
use jifen_kit::service_token::ServiceTokens;
use jifen_proto::common::v1 as common;
use jifen_proto::common::v1::event::Payload;
use prost::Message;
use sea_orm::ConnectionTrait;

/// Topic of [`common::ApplicationStatusChanged`].
pub const STATUS_CHANGED: &str = "review.application_status_changed";
/// Topic of [`common::ScoreConfirmed`].
pub const SCORE_CONFIRMED: &str = "review.score_confirmed";
/// Topic of [`common::ObjectionDecided`].
pub const OBJECTION_DECIDED: &str = "review.objection_decided";

/// Returns the topic of a payload.
pub fn topic_of(payload: &Payload) -> &'static str {
    match payload {
        Payload::ApplicationStatusChanged(_) => STATUS_CHANGED,
        Payload::ScoreConfirmed(_) => SCORE_CONFIRMED,
        Payload::ObjectionDecided(_) => OBJECTION_DECIDED,
        Payload::PublicityListPublished(_) => "ranking.publicity_list_published",
        Payload::ApplicationOutcomeDecided(_) => "ranking.application_outcome_decided",
        Payload::NotificationRequested(_) => "identity.notification_requested",
    }
}

/// Returns the outbox event of `payload` about `aggregate_id` at `aggregate_version`: a fresh
/// event id, and the encoded envelope (carrying that id) in the JSON payload.
pub fn outbox_event(
    tenant: &str,
    aggregate_id: &str,
    aggregate_version: i64,
    payload: Payload,
) -> outbox::Event {
    let topic = topic_of(&payload);
    let mut kit_event = outbox::Event::new(topic, tenant, serde_json::Value::Null);
    let envelope = common::Event {
        event_id: kit_event.id.to_string(),
        topic: topic.to_owned(),
        tenant: tenant.to_owned(),
        occurred_at: Some(prost_types::Timestamp::from(std::time::SystemTime::from(
            kit_event.occurred_at,
        ))),
        aggregate_id: aggregate_id.to_owned(),
        aggregate_version,
        traceparent: String::new(),
        payload: Some(payload),
    };
    kit_event.payload = serde_json::json!({
        "aggregate_id": aggregate_id,
        "aggregate_version": aggregate_version,
        "event": base64::engine::general_purpose::STANDARD.encode(envelope.encode_to_vec()),
    });
    kit_event
}

/// Writes `payload` about `aggregate_id` at `aggregate_version` into the outbox, in `conn` (the
/// caller's transaction).
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    aggregate_id: &str,
    aggregate_version: i64,
    payload: Payload,
) -> Result<uuid::Uuid, sea_orm::DbErr> {
    let event = outbox_event(tenant, aggregate_id, aggregate_version, payload);
    outbox::enqueue(conn, &event).await?;
    Ok(event.id)
}

/// Decodes the envelope of an outbox event.
pub fn decode(event: &outbox::Event) -> Result<common::Event, String> {
    let text = event
        .payload
        .get("event")
        .and_then(|v| v.as_str())
        .ok_or("outbox payload has no event")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    common::Event::decode(bytes.as_slice()).map_err(|e| e.to_string())
}

/// The receivers of an event: notices for everything a person should hear about, ranking for
/// status changes (board removal on withdrawal or re-opened verification) and confirmed scores,
/// materials for status changes (evidence of rejected or withdrawn applications is purged).
pub fn receivers(topic: &str) -> &'static [&'static str] {
    match topic {
        STATUS_CHANGED => &["notices", "ranking", "materials"],
        SCORE_CONFIRMED => &["ranking"],
        OBJECTION_DECIDED => &["notices"],
        _ => &[],
    }
}

/// Delivers one outbox event to every receiver of its topic; any failure retries the whole
/// event later (receivers dedupe on the event id).
pub async fn deliver(
    peers: Peers,
    tokens: Arc<ServiceTokens>,
    event: outbox::Event,
) -> Result<(), String> {
    let envelope = decode(&event)?;
    for receiver in receivers(&envelope.topic) {
        jifen_kit::event_delivery::deliver_to(&peers, &tokens, receiver, &envelope).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes_reach_notices_ranking_and_materials() {
        assert_eq!(
            receivers(STATUS_CHANGED),
            ["notices", "ranking", "materials"]
        );
        assert_eq!(receivers(SCORE_CONFIRMED), ["ranking"]);
        assert_eq!(receivers(OBJECTION_DECIDED), ["notices"]);
    }

    #[test]
    fn the_envelope_round_trips_through_the_payload() {
        let envelope = common::Event {
            event_id: "e1".into(),
            topic: STATUS_CHANGED.into(),
            tenant: "wuzhong".into(),
            payload: Some(Payload::ApplicationStatusChanged(
                common::ApplicationStatusChanged {
                    application_id: "a1".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        let event = outbox::Event::new(
            STATUS_CHANGED,
            "wuzhong",
            serde_json::json!({"event": base64::engine::general_purpose::STANDARD.encode(envelope.encode_to_vec())}),
        );
        assert_eq!(decode(&event).expect("decodes"), envelope);
    }
}
