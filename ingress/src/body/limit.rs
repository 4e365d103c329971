//! A byte buffer that refuses to grow past a limit.

use std::io::{self, Write};

/// Collects decoded bytes and fails, without allocating, once they would exceed the
/// limit. Its capacity never exceeds the limit either, so a small compressed body that
/// expands enormously costs at most `limit` bytes of memory.
#[derive(Debug)]
pub struct LimitedSink {
    bytes: Vec<u8>,
    limit: usize,
    exceeded: bool,
}

impl LimitedSink {
    /// An empty sink that reserves `expected` bytes up front (capped at the limit).
    pub fn new(limit: usize, expected: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(expected.min(limit)),
            limit,
            exceeded: false,
        }
    }

    /// True once a write was refused for going over the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl Write for LimitedSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let needed = self.bytes.len().saturating_add(data.len());
        if needed > self.limit {
            self.exceeded = true;
            return Err(io::Error::other("decoded body exceeds the size limit"));
        }

        // Grow geometrically, as `Vec` would, but never beyond the limit.
        if needed > self.bytes.capacity() {
            let target = needed
                .max(self.bytes.capacity().saturating_mul(2))
                .min(self.limit);
            self.bytes.reserve_exact(target - self.bytes.len());
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_up_to_the_limit_succeed() {
        let mut sink = LimitedSink::new(8, 0);
        sink.write_all(b"1234").unwrap();
        sink.write_all(b"5678").unwrap();
        assert!(!sink.exceeded());
        assert_eq!(sink.capacity(), 8);
        assert_eq!(sink.into_bytes(), b"12345678");
    }

    #[test]
    fn a_write_past_the_limit_is_refused_whole() {
        let mut sink = LimitedSink::new(8, 0);
        sink.write_all(b"12345").unwrap();
        assert!(sink.write_all(b"6789").is_err());
        assert!(sink.exceeded());
        assert_eq!(sink.len(), 5);
        assert!(sink.capacity() <= 8);
    }

    #[test]
    fn the_reservation_is_capped_at_the_limit() {
        let sink = LimitedSink::new(16, 1 << 30);
        assert_eq!(sink.capacity(), 16);
    }
}
