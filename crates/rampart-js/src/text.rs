//! Bytes to text, as a browser would decode a script or page that names no charset.
//!
//! A byte-order mark decides (UTF-8, UTF-16LE, UTF-16BE), as it does in browsers. Without one,
//! text whose every other byte is NUL is UTF-16 (an exploit-kit page in the corpus is UTF-16BE
//! with no mark: read as UTF-8 it is NUL-riddled noise that parses as nothing); everything else
//! is UTF-8 with invalid bytes replaced, since real scripts are occasionally Latin-1 and their
//! structure does not depend on those bytes.

use std::borrow::Cow;

/// Bytes sampled to recognize unmarked UTF-16.
const SNIFF: usize = 512;

/// `bytes` as text (see the module docs).
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8_lossy(rest),
        [0xFF, 0xFE, rest @ ..] => Cow::Owned(utf16(rest, u16::from_le_bytes)),
        [0xFE, 0xFF, rest @ ..] => Cow::Owned(utf16(rest, u16::from_be_bytes)),
        _ => match unmarked_utf16(bytes) {
            Some(true) => Cow::Owned(utf16(bytes, u16::from_be_bytes)),
            Some(false) => Cow::Owned(utf16(bytes, u16::from_le_bytes)),
            None => String::from_utf8_lossy(bytes),
        },
    }
}

/// `Some(big_endian)` when the sample is ASCII spelled in 16-bit units: NUL in nearly every
/// even (big-endian) or odd (little-endian) byte and in almost no byte of the other parity.
fn unmarked_utf16(bytes: &[u8]) -> Option<bool> {
    let sample = &bytes[..bytes.len().min(SNIFF) & !1];
    if sample.len() < 16 {
        return None;
    }
    let half = sample.len() / 2;
    let nuls = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (nuls(0), nuls(1));
    let mostly = |n: usize| n * 10 >= half * 9;
    let hardly = |n: usize| n * 20 <= half;
    if mostly(even) && hardly(odd) {
        Some(true)
    } else if mostly(odd) && hardly(even) {
        Some(false)
    } else {
        None
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    fn le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    const CODE: &str = "<script>document.write('héllo 漢字');</script>";

    #[test]
    fn marks_decide() {
        let mut b = vec![0xFE, 0xFF];
        b.extend(be(CODE));
        assert_eq!(decode_text(&b), CODE);
        let mut l = vec![0xFF, 0xFE];
        l.extend(le(CODE));
        assert_eq!(decode_text(&l), CODE);
        let mut u = vec![0xEF, 0xBB, 0xBF];
        u.extend(CODE.as_bytes());
        assert_eq!(decode_text(&u), CODE);
    }

    #[test]
    fn unmarked_utf16_is_recognized_and_utf8_is_left_alone() {
        assert_eq!(decode_text(&be(CODE)), CODE);
        assert_eq!(decode_text(&le(CODE)), CODE);
        assert!(matches!(decode_text(CODE.as_bytes()), Cow::Borrowed(_)));
        // A few NULs in a UTF-8 file (a binary blob in a string) do not make it UTF-16.
        let mut mixed = CODE.as_bytes().to_vec();
        mixed.extend([0, 0, 0, 0]);
        assert_eq!(decode_text(&mixed), String::from_utf8_lossy(&mixed));
        // Latin-1 bytes are replaced, not refused.
        assert_eq!(decode_text(b"var a = '\xe9';"), "var a = '\u{FFFD}';");
        // An odd trailing byte and a lone surrogate do not panic.
        let mut odd = be(CODE);
        odd.extend([0xD8, 0x00, 0x41]);
        assert!(decode_text(&odd).starts_with(CODE));
    }
}
