//! The dev origin as django-storages uses it: objects uploaded through the
//! S3 API (with their metadata) are served through the edge.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use cachefront::config::{DEV_ACCESS_KEY, DEV_SECRET_KEY};

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

/// An SDK client as django-storages' boto3 would be set up: path style,
/// plain HTTP, the given keys.
fn client(origin: &S3Origin, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .endpoint_url(origin.endpoint())
        .force_path_style(true)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[tokio::test]
async fn uploads_through_the_s3_api_are_served_with_their_metadata() {
    let origin = S3Origin::start().await;
    let s3 = client(&origin, DEV_ACCESS_KEY, DEV_SECRET_KEY);
    s3.put_object()
        .bucket("bucket")
        .key("media/reports/q3 résumé.pdf")
        .body(ByteStream::from_static(b"%PDF-1.4 quarterly"))
        .content_type("application/pdf")
        .content_disposition("attachment; filename=\"q3.pdf\"")
        .cache_control("max-age=60")
        .send()
        .await
        .expect("upload with the dev credentials");

    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let r = edge.get("/media/reports/q3%20r%C3%A9sum%C3%A9.pdf").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "%PDF-1.4 quarterly");
    assert_eq!(r.header("content-type"), "application/pdf");
    assert_eq!(r.header("content-disposition"), "attachment; filename=\"q3.pdf\"");
    // The route's cache_control replaces the object's for clients.
    assert_eq!(r.header("cache-control"), "public, max-age=86400");
}

#[tokio::test]
async fn wrong_credentials_are_refused_by_the_dev_origin() {
    let origin = S3Origin::start().await;
    let s3 = client(&origin, "someone", "else");
    let put = s3
        .put_object()
        .bucket("bucket")
        .key("x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    let err = put.expect_err("refused");
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(403), "{err:?}");
}
