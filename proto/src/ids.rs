//! Identifier spellings.
//!
//! A workflow id is one 128-bit value with three accepted spellings: the short form
//! `wf_` + 22 base62 characters (what Sluice prints), a UUID (hyphenated or 32 hex
//! digits), and the legacy `wf-` + 32 hex digits. Execution ids are
//! `<short workflow id>/exec_<22 base62>`.

use std::fmt;

use uuid::Uuid;

/// Digits in value order: `0-9`, then `a-z`, then `A-Z`.
const BASE62: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Characters needed for any 128-bit value (62^22 > 2^128).
const SHORT_LEN: usize = 22;

/// 62^10, the largest power of 62 below 2^64.
const TEN_DIGITS: u128 = 839_299_365_868_340_224;

/// The base62 spelling of `value`, left-padded with `0` to 22 characters.
///
/// Every execution id is spelled with it. A 128-bit division costs a library call, so
/// the value is first split into its lowest ten digits, the ten above them and the two
/// highest (two 128-bit divisions), and each part is spelled with 64-bit arithmetic:
/// about a quarter of the time of dividing the whole value by 62 once per digit.
pub fn base62_encode(value: u128) -> String {
    let mut digits = [b'0'; SHORT_LEN];
    let upper = value / TEN_DIGITS;
    spell(&mut digits[12..], (value % TEN_DIGITS) as u64);
    spell(&mut digits[2..12], (upper % TEN_DIGITS) as u64);
    spell(&mut digits[..2], (upper / TEN_DIGITS) as u64);
    digits.iter().map(|&d| d as char).collect()
}

/// Writes the lowest `slots.len()` base62 digits of `value` into `slots`.
fn spell(slots: &mut [u8], mut value: u64) {
    for slot in slots.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
}

/// The value of a base62 string of exactly 22 characters, or `None` if it has another
/// length, a character outside the alphabet, or a value above 128 bits.
pub fn base62_decode(text: &str) -> Option<u128> {
    if text.len() != SHORT_LEN {
        return None;
    }
    text.bytes().try_fold(0u128, |acc, byte| {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'z' => byte - b'a' + 10,
            b'A'..=b'Z' => byte - b'A' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u128::from(digit))
    })
}

/// The id of a workflow, whichever way it was spelled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct WorkflowId(Uuid);

impl WorkflowId {
    pub fn new(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// Parses any accepted spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(short) = text.strip_prefix("wf_") {
            return base62_decode(short).map(|value| Self(Uuid::from_u128(value)));
        }
        if let Some(legacy) = text.strip_prefix("wf-") {
            return parse_simple_hex(legacy).map(Self);
        }
        let uuid = match text.len() {
            32 => parse_simple_hex(text)?,
            36 => Uuid::try_parse(text).ok()?,
            _ => return None,
        };
        Some(Self(uuid))
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }

    /// `wf_` + 22 base62 characters.
    pub fn short(self) -> String {
        format!("wf_{}", base62_encode(self.0.as_u128()))
    }
}

impl fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

/// 32 hex digits with no hyphens (either case).
fn parse_simple_hex(text: &str) -> Option<Uuid> {
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(text, 16).ok().map(Uuid::from_u128)
}

/// The id of one execution: its workflow and its own 128-bit value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ExecutionId {
    pub workflow: WorkflowId,
    pub execution: Uuid,
}

impl ExecutionId {
    /// A fresh id, time-ordered so that newer executions sort later in indexes.
    pub fn generate(workflow: WorkflowId) -> Self {
        Self {
            workflow,
            execution: Uuid::now_v7(),
        }
    }

    /// Parses `wf_…/exec_…` (the workflow part in any accepted spelling).
    pub fn parse(text: &str) -> Option<Self> {
        let (workflow, execution) = text.split_once("/exec_")?;
        Some(Self {
            workflow: WorkflowId::parse(workflow)?,
            execution: Uuid::from_u128(base62_decode(execution)?),
        })
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/exec_{}",
            self.workflow.short(),
            base62_encode(self.execution.as_u128())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "8d3885a9-6470-4ee0-9d4d-d507cc97393d";
    const SHORT: &str = "wf_4itKqkgCZrLhgYiq5L211X";

    #[test]
    fn uuid_has_the_documented_short_form() {
        let id = WorkflowId::parse(UUID).unwrap();
        assert_eq!(id.short(), SHORT);
    }

    #[test]
    fn every_spelling_names_the_same_workflow() {
        let expected = WorkflowId::parse(UUID).unwrap();
        for spelling in [
            SHORT,
            UUID,
            "8D3885A9-6470-4EE0-9D4D-D507CC97393D",
            "8d3885a964704ee09d4dd507cc97393d",
            "wf-8d3885a964704ee09d4dd507cc97393d",
        ] {
            assert_eq!(WorkflowId::parse(spelling), Some(expected), "{spelling}");
        }
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for spelling in [
            "",
            "wf_",
            "wf_4itKqkgCZrLhgYiq5L211",    // 21 characters
            "wf_4itKqkgCZrLhgYiq5L211XX",  // 23 characters
            "wf_4itKqkgCZrLhgYiq5L211-",   // outside the alphabet
            "wf_zzzzzzzzzzzzzzzzzzzzzz",   // above 128 bits
            "wf-8d3885a964704ee09d4dd507", // too short
            "8d3885a9-6470-4ee0-9d4d-d507cc97393g",
            "wf-+d3885a964704ee09d4dd507cc97393d",
            "../../etc/passwd",
        ] {
            assert_eq!(WorkflowId::parse(spelling), None, "{spelling}");
        }
    }

    /// The spelling by definition: one division of the whole value per digit.
    fn base62_digit_by_digit(mut value: u128) -> String {
        let mut digits = [b'0'; SHORT_LEN];
        for slot in digits.iter_mut().rev() {
            *slot = BASE62[(value % 62) as usize];
            value /= 62;
        }
        digits.iter().map(|&d| d as char).collect()
    }

    #[test]
    fn base62_spells_every_value_as_digit_by_digit_division_does() {
        let mut edges = vec![0, 1, 61, 62, u128::MAX, u128::MAX - 1];
        // Both sides of each place where the value is split.
        for power in [TEN_DIGITS, TEN_DIGITS * TEN_DIGITS] {
            edges.extend([power - 1, power, power + 1]);
        }
        // And a spread of values of every size, from a fixed pseudo-random sequence.
        let mut value: u128 = 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef;
        let spread = (0..10_000).map(|index| {
            value = value
                .wrapping_mul(0x2545_f491_4f6c_dd1d_2545_f491_4f6c_dd1d)
                .wrapping_add(1_442_695_040_888_963_407);
            value >> (index % 128)
        });
        for value in edges.into_iter().chain(spread) {
            assert_eq!(
                base62_encode(value),
                base62_digit_by_digit(value),
                "{value}"
            );
        }
    }

    #[test]
    fn base62_round_trips_the_extremes() {
        for value in [0, 1, 61, 62, u128::MAX] {
            let text = base62_encode(value);
            assert_eq!(text.len(), 22);
            assert_eq!(base62_decode(&text), Some(value));
        }
        assert_eq!(base62_encode(0), "0000000000000000000000");
        assert_eq!(base62_encode(u128::MAX), "7N42dgm5tFLK9N8MT7fHC7");
    }

    #[test]
    fn execution_id_round_trips() {
        let workflow = WorkflowId::parse(UUID).unwrap();
        let id = ExecutionId::generate(workflow);
        let text = id.to_string();
        assert!(text.starts_with(&format!("{SHORT}/exec_")));
        assert_eq!(text.len(), SHORT.len() + "/exec_".len() + 22);
        assert_eq!(ExecutionId::parse(&text), Some(id));
        assert_eq!(ExecutionId::parse(SHORT), None);
    }
}
