//! Compression, done once per object: fast levels at fill time so a miss
//! does not wait, best levels afterwards in the background. Callers run
//! these on `spawn_blocking`, never on the reactor.

use std::io::Write;

use bytes::Bytes;

use super::Encoding;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// For the miss: milliseconds even for megabytes.
    Fast,
    /// brotli 11, zstd 19, gzip 9: for every later hit.
    Best,
}

/// A variant is kept only when it saves at least this share (1/10).
const MIN_SAVING_DIVISOR: usize = 10;

pub fn compress(body: &[u8], encoding: Encoding, level: Level) -> std::io::Result<Vec<u8>> {
    let best = level == Level::Best;
    match encoding {
        Encoding::Identity => Ok(body.to_vec()),
        Encoding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: if best { 11 } else { 4 },
                lgwin: 22,
                size_hint: body.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(body.len() / 3);
            brotli::BrotliCompress(&mut &body[..], &mut out, &params)?;
            Ok(out)
        }
        Encoding::Zstd => zstd::bulk::compress(body, if best { 19 } else { 3 }),
        Encoding::Gzip => {
            let level = flate2::Compression::new(if best { 9 } else { 5 });
            let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), level);
            enc.write_all(body)?;
            enc.finish()
        }
    }
}

/// Every compressed variant worth keeping: meaningfully smaller than the
/// identity body. Blocking: call from `spawn_blocking`.
pub fn variants(body: &[u8], level: Level, zstd: bool) -> Vec<(Encoding, Bytes)> {
    Encoding::COMPRESSED
        .iter()
        .filter(|&&enc| zstd || enc != Encoding::Zstd)
        .filter_map(|&enc| match compress(body, enc, level) {
            Ok(out) if out.len() <= body.len() - body.len() / MIN_SAVING_DIVISOR => Some((enc, Bytes::from(out))),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(encoding = enc.token(), error = %e, "compression failed");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn decompress(enc: Encoding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match enc {
            Encoding::Br => {
                brotli::BrotliDecompress(&mut &data[..], &mut out).unwrap();
            }
            Encoding::Zstd => out = zstd::stream::decode_all(data).unwrap(),
            Encoding::Gzip => {
                flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
            }
            Encoding::Identity => out = data.to_vec(),
        }
        out
    }

    #[test]
    fn variants_round_trip_at_both_levels() {
        let text: Vec<u8> = (0..2000)
            .flat_map(|i| format!(".c{i} {{ color: #{i:06x}; }}\n").into_bytes())
            .collect();
        for level in [Level::Fast, Level::Best] {
            let vs = variants(&text, level, true);
            assert_eq!(vs.len(), 3, "{level:?}");
            for (enc, data) in vs {
                assert!(data.len() < text.len() / 2);
                assert_eq!(decompress(enc, &data), text, "{enc:?} {level:?}");
            }
        }
    }

    #[test]
    fn incompressible_bodies_keep_no_variant() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(variants(&noise, Level::Fast, true).is_empty());
    }
}
