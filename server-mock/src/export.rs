//! CSV rendering of export rows under the rules of API.md §3.8 (pure, no I/O).
//!
//! - header = the keys in first-seen order;
//! - rows separated by LF (no trailing terminator after the last row);
//! - `null` → empty field; strings verbatim; numbers and booleans as their JSON text;
//!   objects and arrays as compact JSON;
//! - formula guard: a field starting with `= + - @ \t \r` gets a `'` prefix, applied
//!   *before* quoting;
//! - a field is quoted only when it contains `"`, `,`, LF or CR, with `"` doubled
//!   (the `csv` crate with [`csv::QuoteStyle::Necessary`] and an LF terminator does exactly
//!   that; its one extra rule — a record made of a single empty field is written as `""` —
//!   never applies to a header row, and rows with one column never occur in the export);
//! - no rows → an empty body (no header).
//!
//! [`CsvRows`] renders incrementally so a large table can be streamed record by record:
//! the header comes from the first row's keys, which is the full key set because every
//! export row of a table carries every column (absent values are `null`). [`to_csv`] is the
//! whole-table form and takes the union of keys in first-seen order.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// Renders one field value as CSV text (before the formula guard and quoting).
pub fn field_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

/// Applies the formula guard: prefixes `'` when the text starts with `= + - @ \t \r`.
pub fn formula_guard(s: String) -> String {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}"),
        _ => s,
    }
}

/// An `io::Write` sink whose bytes can be taken out after each record.
#[derive(Debug, Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One reusable `csv` writer (Necessary quoting, LF terminator) whose output is taken
/// record by record.
struct Encoder {
    sink: Sink,
    w: csv::Writer<Sink>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoder")
    }
}

impl Encoder {
    fn new() -> Self {
        let sink = Sink::default();
        let w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::Any(b'\n'))
            .has_headers(false)
            .from_writer(sink.clone());
        Encoder { sink, w }
    }

    /// The record's bytes, without the terminator.
    fn record<I, S>(&mut self, fields: I) -> Vec<u8>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        // Writing to memory cannot fail; a failure would only drop the record.
        let _ = self.w.write_record(fields);
        let _ = self.w.flush();
        let mut out = std::mem::take(&mut *self.sink.0.lock().unwrap_or_else(|e| e.into_inner()));
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        out
    }
}

/// Incremental CSV renderer: feed rows one by one, get bytes to send.
#[derive(Debug)]
pub struct CsvRows {
    header: Option<Vec<String>>,
    enc: Encoder,
}

impl Default for CsvRows {
    fn default() -> Self {
        CsvRows {
            header: None,
            enc: Encoder::new(),
        }
    }
}

impl CsvRows {
    /// A renderer that has not seen a row yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renders `row`; the first call also emits the header. Every record after the first
    /// is preceded by an LF, so the output never ends with a terminator.
    pub fn row(&mut self, row: &Map<String, Value>) -> Vec<u8> {
        let mut out = Vec::new();
        if self.header.is_none() {
            let keys: Vec<String> = row.keys().cloned().collect();
            out.extend(
                self.enc
                    .record(keys.iter().map(|k| formula_guard(k.clone()))),
            );
            self.header = Some(keys);
        }
        let Some(keys) = &self.header else {
            return out;
        };
        let fields: Vec<String> = keys
            .iter()
            .map(|k| formula_guard(row.get(k).map(field_text).unwrap_or_default()))
            .collect();
        out.push(b'\n');
        out.extend(self.enc.record(fields));
        out
    }
}

/// Renders a whole table: header = union of keys in first-seen order; empty for no rows.
pub fn to_csv(rows: &[Map<String, Value>]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut keys: Vec<&String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let mut enc = Encoder::new();
    let mut out = enc.record(keys.iter().map(|k| formula_guard((*k).clone())));
    for r in rows {
        out.push(b'\n');
        out.extend(
            enc.record(
                keys.iter()
                    .map(|k| formula_guard(r.get(*k).map(field_text).unwrap_or_default())),
            ),
        );
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn empty_table_is_empty_body() {
        assert_eq!(to_csv(&[]), "");
    }

    #[test]
    fn header_first_seen_order_and_lf() {
        let rows = vec![
            obj(json!({"id":"1","name":"A"})),
            obj(json!({"id":"2","extra":true,"name":"B"})),
        ];
        assert_eq!(to_csv(&rows), "id,name,extra\n1,A,\n2,B,true");
    }

    #[test]
    fn nulls_objects_numbers() {
        let rows = vec![obj(
            json!({"a":null,"m":{"k":"v","n":1},"w":0.3333,"arr":[1,2],"s":"0.3333"}),
        )];
        assert_eq!(
            to_csv(&rows),
            "a,m,w,arr,s\n,\"{\"\"k\"\":\"\"v\"\",\"\"n\"\":1}\",0.3333,\"[1,2]\",0.3333"
        );
    }

    #[test]
    fn quoting_only_when_needed() {
        let rows = vec![obj(json!({
            "plain":"hello world",
            "comma":"a,b",
            "quote":"say \"hi\"",
            "lf":"a\nb",
            "cr":"a\rb",
            "semi":"a;b",
            "hash":"#x",
        }))];
        assert_eq!(
            to_csv(&rows),
            "plain,comma,quote,lf,cr,semi,hash\nhello world,\"a,b\",\"say \"\"hi\"\"\",\"a\nb\",\"a\rb\",a;b,#x"
        );
    }

    #[test]
    fn formula_guard_before_quoting() {
        let rows = vec![obj(json!({
            "eq":"=SUM(A1)",
            "plus":"+1",
            "minus":"-2",
            "at":"@x",
            "tab":"\tx",
            "cr":"\rx",
            "eqcomma":"=1,2",
            "mid":"a=b",
        }))];
        assert_eq!(
            to_csv(&rows),
            "eq,plus,minus,at,tab,cr,eqcomma,mid\n'=SUM(A1),'+1,'-2,'@x,'\tx,\"'\rx\",\"'=1,2\",a=b"
        );
    }

    #[test]
    fn incremental_matches_whole() {
        let rows = vec![
            obj(json!({"id":"1","v":"a,b","n":null})),
            obj(json!({"id":"2","v":"-x","n":3})),
        ];
        let mut r = CsvRows::new();
        let mut out = Vec::new();
        for row in &rows {
            out.extend(r.row(row));
        }
        assert_eq!(String::from_utf8(out).unwrap(), to_csv(&rows));
    }
}
