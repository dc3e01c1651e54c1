//! Calls any component rpc by its full name with JSON in and JSON out, through the proto
//! descriptors compiled into `jifen-proto` (the proto3 JSON mapping, snake_case field names).
//! This keeps the REST routes a table instead of a hand-written mapper per message.

use std::sync::LazyLock;

use bytes::{Buf, BufMut};
use http::uri::PathAndQuery;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use serde_json::Value;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::problem::Problem;

static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(jifen_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
});

/// Returns the descriptor of `service/method`, e.g. `jifen.review.v1.ReviewService/CreateDraft`.
pub fn method(full_name: &str) -> Option<MethodDescriptor> {
    let (service, method) = full_name.split_once('/')?;
    let pool = POOL.as_ref().ok()?;
    pool.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

/// Returns the component (peer name) serving `full_name`: `jifen.<component>.v1.…`.
pub fn component(full_name: &str) -> Option<&str> {
    full_name.strip_prefix("jifen.")?.split('.').next()
}

/// Builds the request message of `method` from JSON; unknown fields are refused by name.
pub fn request_message(method: &MethodDescriptor, body: &Value) -> Result<DynamicMessage, Problem> {
    let options = prost_reflect::DeserializeOptions::new().deny_unknown_fields(true);
    DynamicMessage::deserialize_with_options(method.input(), body, &options)
        .map_err(|e| Problem::invalid(format!("请求字段有误：{}", chinese_serde_error(&e))))
}

fn chinese_serde_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if let Some(field) = text
        .strip_prefix("unrecognized field name '")
        .and_then(|rest| rest.split('\'').next())
    {
        return format!("不认识的字段 {field}");
    }
    if text.contains("invalid type")
        || text.contains("invalid value")
        || text.contains("unrecognized enum value")
    {
        return "字段类型不正确（数字、文字或枚举值有误）".to_owned();
    }
    "请检查提交的内容".to_owned()
}

/// Serialises a response message as JSON (snake_case names, enums by name, defaults included).
pub fn response_json(message: &DynamicMessage) -> Value {
    let options = prost_reflect::SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(Value::Null)
}

/// Calls `method` on `channel` with `request` (metadata already set); returns the JSON answer.
pub async fn call(
    channel: jifen_kit::grpc_client::PeerChannel,
    method: &MethodDescriptor,
    request: tonic::Request<DynamicMessage>,
) -> Result<Value, Problem> {
    let path = PathAndQuery::try_from(format!(
        "/{}/{}",
        method.parent_service().full_name(),
        method.name()
    ))
    .map_err(|_| Problem::from(Status::internal("bad rpc path")))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Problem::from(Status::unavailable(e.to_string())))?;
    let codec = DynamicCodec {
        output: method.output(),
    };
    let response = grpc.unary(request, path, codec).await?;
    Ok(response_json(response.get_ref()))
}

/// A tonic codec for [`DynamicMessage`]s of a known output type.
#[derive(Debug, Clone)]
struct DynamicCodec {
    output: MessageDescriptor,
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.output.clone())
    }
}

#[derive(Debug)]
struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encode: {e}")))
    }
}

#[derive(Debug)]
struct DynamicDecoder(MessageDescriptor);

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let mut bytes = Vec::with_capacity(src.remaining());
        bytes.put(src);
        DynamicMessage::decode(self.0.clone(), bytes.as_slice())
            .map(Some)
            .map_err(|e| Status::internal(format!("decode: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_method_is_found_and_json_round_trips() {
        let m = method("jifen.review.v1.ReviewService/CreateDraft").expect("method");
        assert_eq!(
            component("jifen.review.v1.ReviewService/CreateDraft"),
            Some("review")
        );
        let msg = request_message(
            &m,
            &serde_json::json!({"cycle_id": "c1", "street_code": "s"}),
        )
        .expect("message");
        let back = response_json(&msg);
        assert_eq!(back["cycle_id"], "c1");
        let err = request_message(&m, &serde_json::json!({"nope": 1})).expect_err("unknown");
        assert!(err.detail.contains("nope"), "{}", err.detail);
    }
}
