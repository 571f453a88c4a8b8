//! Bytes: the cache stays within `capacity`; objects over
//! `max_object_size` are streamed intact and not cached.

use crate::support::{S3Origin, TestEdge};

fn routes(capacity: &str, max_object_size: &str) -> String {
    format!(
        r#"
[cache]
capacity = "{capacity}"
max_object_size = "{max_object_size}"

[[routes]]
path = "/media/"
origin = "s3"
key_prefix = "media/"
"#
    )
}

#[tokio::test]
async fn weighted_size_stays_within_capacity() {
    let origin = S3Origin::start().await;
    let capacity: u64 = 256 * 1024;
    let object = vec![b'x'; 16 * 1024];
    // 10x capacity requested in all.
    let count = (10 * capacity as usize) / object.len();
    for i in 0..count {
        origin.put(&format!("media/f{i}.bin"), &object);
    }
    let edge = TestEdge::start(&origin.config(&routes("256KiB", "1MiB"))).await;
    for i in 0..count {
        let r = edge.get(&format!("/media/f{i}.bin")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), object.len());
    }
    let usage = edge.running().cache_usage();
    assert!(
        usage.bytes <= capacity,
        "weighted size {} over capacity {capacity}",
        usage.bytes
    );
    assert!(usage.entries > 0 && usage.entries < count as u64, "{usage:?}");
    // The most recent object is still there.
    let last = edge.get(&format!("/media/f{}.bin", count - 1)).await;
    assert_eq!(last.x_cache(), "Hit from edge-test");
}

#[tokio::test]
async fn object_over_max_object_size_is_streamed_intact_and_not_cached() {
    let origin = S3Origin::start().await;
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    origin.put("media/big.bin", &big);
    let edge = TestEdge::start(&origin.config(&routes("64MiB", "1MiB"))).await;

    let first = edge.get("/media/big.bin").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.x_cache(), "Miss from edge-test");
    assert_eq!(first.header("content-length"), big.len().to_string());
    assert!(first.body == big[..], "streamed body is byte-identical");
    let after_first = origin.requests();

    let second = edge.get("/media/big.bin").await;
    assert_eq!(second.x_cache(), "Miss from edge-test");
    assert!(second.body == big[..]);
    assert_eq!(origin.requests(), after_first + 1, "not cached: asked again");
    assert!(edge.running().cache_usage().bytes < 1024 * 1024);

    let head = edge.head("/media/big.bin").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), big.len().to_string());
    assert!(head.body.is_empty());
}
