//! jifen boots as a newcomer runs it: every component SERVING by its full name, reflection
//! listing them, the HTTP edge answering, and single-target processes serving only their target.

use jifen::target::{ALL, Target};
use jifen::testkit::{Backend, TestJifen};
use jifen_kit::grpc_client::PeerChannel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const SIX: [&str; 6] = [
    "jifen.identity.v1.IdentityService",
    "jifen.materials.v1.MaterialsService",
    "jifen.scoring.v1.ScoringService",
    "jifen.review.v1.ReviewService",
    "jifen.notices.v1.NoticesService",
    "jifen.ranking.v1.RankingService",
];

async fn status(channel: PeerChannel, service: &str) -> Result<ServingStatus, tonic::Status> {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

async fn reflected_services(channel: PeerChannel) -> Vec<String> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("reflection stream")
        .expect("one response");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection response {other:?}"),
    }
}

async fn assert_all_serving(jifen: &TestJifen) {
    for service in SIX {
        assert_eq!(
            status(jifen.channel(), service).await.expect(service),
            ServingStatus::Serving,
            "{service}"
        );
    }
    let listed = reflected_services(jifen.channel()).await;
    for service in SIX {
        assert!(
            listed.iter().any(|s| s == service),
            "{service} in {listed:?}"
        );
    }
    let health = reqwest::get(format!("{}/healthz", jifen.http_url()))
        .await
        .expect("healthz answers");
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("{}/readyz", jifen.http_url()))
        .await
        .expect("readyz answers");
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn monolithic_embedded_default_serves_every_component() {
    let jifen = TestJifen::start(&ALL, Backend::Embedded).await;
    assert_all_serving(&jifen).await;
    jifen.stop().await;
}

#[tokio::test]
async fn monolithic_on_postgres_and_redis_serves_every_component() {
    let jifen = TestJifen::start(&ALL, Backend::Real).await;
    assert_all_serving(&jifen).await;
    jifen.stop().await;
}

#[tokio::test]
async fn single_target_serves_only_itself() {
    let jifen = TestJifen::start(&[Target::Scoring], Backend::Real).await;
    assert_eq!(
        status(jifen.channel(), "jifen.scoring.v1.ScoringService")
            .await
            .expect("scoring health"),
        ServingStatus::Serving
    );
    let other = status(jifen.channel(), "jifen.review.v1.ReviewService")
        .await
        .expect_err("review is not hosted here");
    assert_eq!(other.code(), tonic::Code::NotFound);
    let listed = reflected_services(jifen.channel()).await;
    assert!(
        listed
            .iter()
            .any(|s| s == "jifen.scoring.v1.ScoringService")
    );
    assert!(
        !listed.iter().any(|s| s == "jifen.review.v1.ReviewService"),
        "{listed:?}"
    );

    // A call to a component that is not hosted answers UNIMPLEMENTED.
    let mut review =
        jifen_proto::review::v1::review_service_client::ReviewServiceClient::new(jifen.channel());
    let err = review
        .get_cycle(jifen_proto::review::v1::GetCycleRequest::default())
        .await
        .expect_err("review not served");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    jifen.stop().await;
}
