//! The CloudFront API's invalidation calls (API version 2020-05-31), as the
//! AWS CLI and boto3 send them and parse the answers:
//!
//! - `POST /2020-05-31/distribution/{Id}/invalidation` with an
//!   `InvalidationBatch` → 201, `Location`, an `Invalidation`;
//! - `GET  /2020-05-31/distribution/{Id}/invalidation/{InvalidationId}` → an `Invalidation`;
//! - `GET  /2020-05-31/distribution/{Id}/invalidation` → an `InvalidationList`.
//!
//! Any distribution id is accepted: this node is the distribution.

use http::{HeaderValue, Method, Response, StatusCode, header};
use quick_xml::escape::escape;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Invalidation, Invalidations, PathRuleError};
use crate::body::EdgeBody;
use crate::cache::Store;
use crate::route::Router;

pub const PREFIX: &str = "/2020-05-31/distribution/";
const XMLNS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// Which call a path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Call<'a> {
    Create { distribution: &'a str },
    List { distribution: &'a str },
    Get { distribution: &'a str, id: &'a str },
}

pub fn call<'a>(method: &Method, path: &'a str) -> Option<Call<'a>> {
    let rest = path.strip_prefix(PREFIX)?;
    let (distribution, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("invalidation")?;
    match (method, rest.strip_prefix('/')) {
        (&Method::POST, None) if rest.is_empty() => Some(Call::Create { distribution }),
        (&Method::GET, None) if rest.is_empty() => Some(Call::List { distribution }),
        (&Method::GET, Some(id)) if !id.is_empty() && !id.contains('/') => Some(Call::Get { distribution, id }),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InvalidationBatch {
    paths: Paths,
    caller_reference: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Paths {
    quantity: usize,
    items: Option<Items>,
}

#[derive(Debug, Deserialize)]
struct Items {
    #[serde(rename = "Path", default)]
    path: Vec<String>,
}

pub async fn answer(
    call: Call<'_>,
    body: &[u8],
    invalidations: &Invalidations,
    router: &Router,
    store: &Store,
) -> Response<EdgeBody> {
    match call {
        Call::Create { distribution } => {
            let batch: InvalidationBatch = match std::str::from_utf8(body)
                .map_err(|e| e.to_string())
                .and_then(|b| quick_xml::de::from_str(b).map_err(|e| e.to_string()))
            {
                Ok(b) => b,
                Err(e) => return error(StatusCode::BAD_REQUEST, "MalformedInput", &e),
            };
            let paths = batch.paths.items.map(|i| i.path).unwrap_or_default();
            if paths.len() != batch.paths.quantity {
                let msg = "Your request contains a quantity that does not match the number of items.";
                return error(StatusCode::BAD_REQUEST, "InconsistentQuantities", msg);
            }
            match invalidations
                .create(router, store, paths, Some(batch.caller_reference))
                .await
            {
                Ok(inv) => {
                    let mut resp = xml(StatusCode::CREATED, invalidation_xml(&inv));
                    let location = format!(
                        "https://cloudfront.amazonaws.com{PREFIX}{distribution}/invalidation/{}",
                        inv.id
                    );
                    if let Ok(v) = HeaderValue::from_str(&location) {
                        resp.headers_mut().insert(header::LOCATION, v);
                    }
                    resp
                }
                Err(e @ PathRuleError::TooManyInProgress { .. }) => error(
                    StatusCode::BAD_REQUEST,
                    "TooManyInvalidationsInProgress",
                    &e.to_string(),
                ),
                Err(e) => error(StatusCode::BAD_REQUEST, "InvalidArgument", &e.to_string()),
            }
        }
        Call::Get { id, .. } => match invalidations.get(id) {
            Some(inv) => xml(StatusCode::OK, invalidation_xml(&inv)),
            None => error(
                StatusCode::NOT_FOUND,
                "NoSuchInvalidation",
                "The specified invalidation does not exist.",
            ),
        },
        Call::List { .. } => xml(StatusCode::OK, list_xml(&invalidations.list())),
    }
}

fn timestamp(t: std::time::SystemTime) -> String {
    let t = OffsetDateTime::from(t)
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&Rfc3339).unwrap_or_default()
}

fn invalidation_xml(inv: &Invalidation) -> String {
    let mut items = String::new();
    for p in &inv.paths {
        items.push_str(&format!("<Path>{}</Path>", escape(p.as_str())));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<Invalidation xmlns=\"{XMLNS}\"><Id>{}</Id><Status>{}</Status><CreateTime>{}</CreateTime>\
         <InvalidationBatch><Paths><Quantity>{}</Quantity><Items>{items}</Items></Paths>\
         <CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
        inv.id,
        inv.status.as_str(),
        timestamp(inv.created),
        inv.paths.len(),
        escape(inv.caller_reference.as_str()),
    )
}

fn list_xml(list: &[Invalidation]) -> String {
    let mut items = String::new();
    for inv in list {
        items.push_str(&format!(
            "<InvalidationSummary><Id>{}</Id><CreateTime>{}</CreateTime><Status>{}</Status></InvalidationSummary>",
            inv.id,
            timestamp(inv.created),
            inv.status.as_str()
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<InvalidationList xmlns=\"{XMLNS}\"><Marker></Marker><MaxItems>{}</MaxItems>\
         <IsTruncated>false</IsTruncated><Quantity>{}</Quantity><Items>{items}</Items></InvalidationList>",
        list.len().max(100),
        list.len()
    )
}

/// CloudFront's error document (botocore reads `Code` and `Message`).
pub fn error(status: StatusCode, code: &str, message: &str) -> Response<EdgeBody> {
    xml(
        status,
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{}</Message></Error><RequestId>cachefront</RequestId></ErrorResponse>",
            escape(message)
        ),
    )
}

fn xml(status: StatusCode, body: String) -> Response<EdgeBody> {
    let mut resp = Response::new(EdgeBody::bytes(bytes::Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_calls() {
        let p = "/2020-05-31/distribution/LOCAL/invalidation";
        assert_eq!(call(&Method::POST, p), Some(Call::Create { distribution: "LOCAL" }));
        assert_eq!(call(&Method::GET, p), Some(Call::List { distribution: "LOCAL" }));
        assert_eq!(
            call(&Method::GET, &format!("{p}/I123")),
            Some(Call::Get {
                distribution: "LOCAL",
                id: "I123"
            })
        );
        assert_eq!(call(&Method::DELETE, p), None);
        assert_eq!(call(&Method::GET, "/2020-05-31/distribution/LOCAL"), None);
    }

    #[test]
    fn parses_the_batch_the_cli_sends() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>2</Quantity><Items><Path>/static/*</Path><Path>/a&amp;b</Path></Items></Paths><CallerReference>cli-1</CallerReference></InvalidationBatch>"#;
        let b: InvalidationBatch = quick_xml::de::from_str(body).unwrap();
        assert_eq!(b.paths.quantity, 2);
        assert_eq!(b.paths.items.unwrap().path, vec!["/static/*", "/a&b"]);
        assert_eq!(b.caller_reference, "cli-1");
    }
}
