//! LZF decompression (`lzf_d.c`), for RDB strings Redis stored compressed.

use super::Corrupt;

/// Decompresses `input` into exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Corrupt> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let n = ctrl + 1;
            let run = input.get(i..i + n).ok_or(Corrupt)?;
            if out.len() + n > out_len {
                return Err(Corrupt);
            }
            out.extend_from_slice(run);
            i += n;
        } else {
            // A back reference: length in the top 3 bits (7 = one more length byte).
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i).ok_or(Corrupt)? as usize;
                i += 1;
            }
            len += 2;
            let low = *input.get(i).ok_or(Corrupt)? as usize;
            i += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > out.len() || out.len() + len > out_len {
                return Err(Corrupt);
            }
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err(Corrupt);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_back_references() {
        // "abcabcabcabc": literal "abc", then a 9-byte copy from 3 back.
        let data = [2, b'a', b'b', b'c', (7 << 5) as u8, 0, 2];
        assert_eq!(decompress(&data, 12).unwrap(), b"abcabcabcabc");
        assert!(decompress(&data, 11).is_err());
        assert!(decompress(&[5, b'a'], 6).is_err());
        assert!(decompress(&[0x20, 9], 3).is_err());
    }
}
