//! Delivers ranking's outbox events (a publicity list published, one outcome per application) to
//! notices over `DeliverEvent`, at least once, as the ranking component; notices dedupes on the
//! event id.

use std::sync::Arc;

use jifen_kit::component::Peers;
use jifen_kit::outbox;
use jifen_kit::service_token::ServiceTokens;
use jifen_proto::common::v1 as common;
use jifen_proto::common::v1::event::Payload;
use serde_json::Value;

use crate::lists::{TOPIC_OUTCOME, TOPIC_PUBLISHED};

fn text(payload: &Value, key: &str) -> String {
    payload
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn int(payload: &Value, key: &str) -> i64 {
    payload.get(key).and_then(Value::as_i64).unwrap_or_default()
}

/// Builds the envelope notices understands from an outbox row.
pub(crate) fn envelope(event: &outbox::Event) -> Result<common::Event, String> {
    let p = &event.payload;
    let payload = match event.topic.as_str() {
        TOPIC_PUBLISHED => Payload::PublicityListPublished(common::PublicityListPublished {
            list_id: text(p, "list_id"),
            run_id: text(p, "run_id"),
            cycle_id: text(p, "cycle_id"),
            benefit: text(p, "benefit"),
            title_zh: text(p, "title_zh"),
            content_hash: text(p, "content_hash"),
            entry_count: u64::try_from(int(p, "entry_count")).unwrap_or_default(),
            publicity: Some(common::DateRange {
                start_date: text(&p["publicity"], "start_date"),
                end_date: text(&p["publicity"], "end_date"),
            }),
            cutoff: int(p, "cutoff"),
        }),
        TOPIC_OUTCOME => Payload::ApplicationOutcomeDecided(common::ApplicationOutcomeDecided {
            application_id: text(p, "application_id"),
            cycle_id: text(p, "cycle_id"),
            run_id: text(p, "run_id"),
            list_id: text(p, "list_id"),
            outcome: common::ListOutcome::from_str_name(&text(p, "outcome"))
                .map_or(0, |o| o as i32),
            rank: u64::try_from(int(p, "rank")).unwrap_or_default(),
            total: int(p, "total"),
            allocated_school: text(p, "allocated_school"),
            is_final: p.get("is_final").and_then(Value::as_bool).unwrap_or(false),
        }),
        other => return Err(format!("ranking cannot deliver topic {other}")),
    };
    let aggregate_id = text(p, "list_id");
    Ok(common::Event {
        event_id: event.id.to_string(),
        topic: event.topic.clone(),
        tenant: event.tenant.clone(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: event.occurred_at.timestamp(),
            nanos: i32::try_from(event.occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        aggregate_id,
        aggregate_version: 0,
        traceparent: String::new(),
        payload: Some(payload),
    })
}

/// Sends one outbox event to notices.
pub(crate) async fn deliver(
    peers: Peers,
    tokens: Arc<ServiceTokens>,
    event: outbox::Event,
) -> Result<(), String> {
    jifen_kit::event_delivery::deliver_to(&peers, &tokens, "notices", &envelope(&event)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publicity_events_become_typed_envelopes() {
        let event = outbox::Event::new(
            TOPIC_PUBLISHED,
            "wuzhong",
            serde_json::json!({"list_id": "l1", "entry_count": 3, "cutoff": 540,
                "publicity": {"start_date": "2026-07-10", "end_date": "2026-07-17"}}),
        );
        let envelope = envelope(&event).expect("known topic");
        assert_eq!(envelope.event_id, event.id.to_string());
        match envelope.payload {
            Some(Payload::PublicityListPublished(p)) => {
                assert_eq!(p.entry_count, 3);
                assert_eq!(p.cutoff, 540);
                assert_eq!(p.publicity.expect("dates").end_date, "2026-07-17");
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[test]
    fn unknown_topics_are_errors_not_drops() {
        let event = outbox::Event::new("ranking.other", "wuzhong", serde_json::json!({}));
        assert!(envelope(&event).is_err());
    }
}
