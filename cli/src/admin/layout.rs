//! How answers look: RFC 3339 timestamps, aligned `key: value` lines and small tables.

use std::time::SystemTime;

use serde_json::Value;

/// RFC 3339 in UTC with microseconds, the precision PostgreSQL keeps.
pub fn timestamp(time: Option<&prost_types::Timestamp>) -> Option<String> {
    let time = SystemTime::try_from(*time?).ok()?;
    Some(humantime::format_rfc3339_micros(time).to_string())
}

/// A timestamp as JSON: a string, or `null` when absent.
pub fn timestamp_json(time: Option<&prost_types::Timestamp>) -> Value {
    timestamp(time).map_or(Value::Null, Value::String)
}

/// `key: value` lines with the values aligned.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(key, value)| format!("{:<width$}  {value}", format!("{key}:")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table with a header row; every column but the last is padded to its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let header: Vec<String> = headers.iter().map(|header| header.to_string()).collect();
    std::iter::once(&header)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_align_their_values() {
        let text = fields(&[("id", "wf_1".into()), ("published version", "2".into())]);
        assert_eq!(text, "id:                 wf_1\npublished version:  2");
    }

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let text = table(
            &["ID", "TITLE"],
            &[
                vec!["wf_1".into(), "Alerts".into()],
                vec!["wf_22".into(), "B".into()],
            ],
        );
        assert_eq!(text, "ID     TITLE\nwf_1   Alerts\nwf_22  B");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let time = prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 123_456_000,
        };
        assert_eq!(
            timestamp(Some(&time)).as_deref(),
            Some("2026-01-01T00:00:00.123456Z")
        );
        assert_eq!(timestamp_json(None), Value::Null);
    }
}
