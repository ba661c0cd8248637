//! Output formats, writers and stderr notes.
//!
//! Machine output (`json`, `ndjson`, `csv`) goes to stdout only and is written item by item
//! as it arrives (a listing streams; nothing is held beyond the writer's 8 KiB buffer).
//! `table` is for humans: it is the default only when stdout is a terminal, and it buffers
//! its rows (comfy-table needs every row to size the columns). Notes, warnings and progress
//! go to stderr.
//!
//! - `json`: one JSON array, one compact item per line (`[\n{…},\n{…}\n]`); empty → `[]`.
//! - `ndjson`: one compact JSON object per line.
//! - `csv`: header row with a stable column order per resource (the wire names), then one
//!   row per item; `null`/absent → empty cell; nested objects/arrays → compact JSON text.
//!   The header is written even when there are no rows.
//!
//! Write errors propagate as `io::Error`; a broken pipe becomes a quiet exit 0 in `main`
//! (see [`crate::exit::is_broken_pipe`]).

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Result;
use clap::ValueEnum;
use serde_json::Value;

/// `--output` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable table (default when stdout is a terminal).
    Table,
    /// A JSON array, or a pretty JSON object for single results (default off a terminal).
    Json,
    /// One compact JSON object per line.
    Ndjson,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The explicit choice, else `table` on a terminal and `json` otherwise.
    pub fn resolve(explicit: Option<Format>) -> Format {
        explicit.unwrap_or_else(|| {
            if io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Json
            }
        })
    }
}

/// How a column gets its value from an item.
#[derive(Clone)]
pub enum Getter {
    /// A top-level key of the item's JSON object.
    Key(String),
    /// A value computed from the item (e.g. a derived status).
    Derived(fn(&Value) -> Value),
}

/// One output column.
#[derive(Clone)]
pub struct Column {
    /// Header text (the wire name for CSV columns).
    pub header: String,
    /// How to read the value.
    pub get: Getter,
    /// Shown in `table` output.
    pub in_table: bool,
    /// Written in `csv` output.
    pub in_csv: bool,
}

impl Column {
    /// A wire field shown in both table and CSV.
    pub fn both(key: &str) -> Column {
        Column {
            header: key.to_string(),
            get: Getter::Key(key.to_string()),
            in_table: true,
            in_csv: true,
        }
    }

    /// A wire field written to CSV only.
    pub fn csv(key: &str) -> Column {
        Column {
            in_table: false,
            ..Column::both(key)
        }
    }

    /// A derived column shown in tables only.
    pub fn derived(header: &str, f: fn(&Value) -> Value) -> Column {
        Column {
            header: header.to_string(),
            get: Getter::Derived(f),
            in_table: true,
            in_csv: false,
        }
    }

    fn value(&self, item: &Value) -> Value {
        match &self.get {
            Getter::Key(k) => item.get(k).cloned().unwrap_or(Value::Null),
            Getter::Derived(f) => f(item),
        }
    }
}

/// Text of a JSON value in a CSV or table cell: `null` → empty, strings unquoted,
/// objects/arrays as compact JSON.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

/// The buffered stdout writer used by every command.
pub fn stdout() -> BufWriter<io::Stdout> {
    BufWriter::with_capacity(8 * 1024, io::stdout())
}

/// Prints a note on stderr (`note: …`). Errors writing stderr are ignored.
pub fn note(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "note: {msg}");
}

/// Prints a warning on stderr (`warning: …`).
pub fn warn(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {msg}");
}

/// Prints a plain line on stderr (human progress / summaries).
pub fn info(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "{msg}");
}

fn new_table() -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    table
}

enum Sink<W: Write> {
    Json { out: W },
    Ndjson { out: W },
    Csv { out: csv::Writer<W> },
    Table { out: W, table: comfy_table::Table },
}

/// Streaming writer for a listing: [`ListWriter::write`] per item, then
/// [`ListWriter::finish`].
pub struct ListWriter<W: Write> {
    sink: Sink<W>,
    /// Fixed columns; `None` until the first item when the listing has no schema
    /// (`api --paginate`): then the columns are the first item's keys.
    columns: Option<Vec<Column>>,
    started: bool,
    count: u64,
}

impl<W: Write> ListWriter<W> {
    /// A writer; `columns` empty means "derive them from the first item".
    pub fn new(format: Format, columns: Vec<Column>, out: W) -> ListWriter<W> {
        let sink = match format {
            Format::Json => Sink::Json { out },
            Format::Ndjson => Sink::Ndjson { out },
            Format::Csv => Sink::Csv {
                out: csv::WriterBuilder::new().from_writer(out),
            },
            Format::Table => Sink::Table {
                out,
                table: new_table(),
            },
        };
        ListWriter {
            sink,
            columns: if columns.is_empty() {
                None
            } else {
                Some(columns)
            },
            started: false,
            count: 0,
        }
    }

    fn start(&mut self, first: Option<&Value>) -> Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let columns = self.columns.get_or_insert_with(|| match first {
            Some(Value::Object(map)) => map.keys().map(|k| Column::both(k)).collect(),
            _ => vec![Column {
                header: "value".into(),
                get: Getter::Derived(|v| v.clone()),
                in_table: true,
                in_csv: true,
            }],
        });
        match &mut self.sink {
            Sink::Csv { out } => {
                out.write_record(columns.iter().filter(|c| c.in_csv).map(|c| &c.header))?;
            }
            Sink::Table { table, .. } => {
                table.set_header(
                    columns
                        .iter()
                        .filter(|c| c.in_table)
                        .map(|c| c.header.clone()),
                );
            }
            Sink::Json { out } => out.write_all(b"[")?,
            Sink::Ndjson { .. } => {}
        }
        Ok(())
    }

    /// Writes one item.
    pub fn write(&mut self, item: &Value) -> Result<()> {
        self.start(Some(item))?;
        let first = self.count == 0;
        self.count += 1;
        let columns = self.columns.as_deref().unwrap_or(&[]);
        match &mut self.sink {
            Sink::Json { out } => {
                out.write_all(if first { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, item)?;
            }
            Sink::Ndjson { out } => {
                serde_json::to_writer(&mut *out, item)?;
                out.write_all(b"\n")?;
            }
            Sink::Csv { out } => {
                out.write_record(
                    columns
                        .iter()
                        .filter(|c| c.in_csv)
                        .map(|c| cell_text(&c.value(item))),
                )?;
            }
            Sink::Table { table, .. } => {
                table.add_row(
                    columns
                        .iter()
                        .filter(|c| c.in_table)
                        .map(|c| cell_text(&c.value(item))),
                );
            }
        }
        Ok(())
    }

    /// Ends the listing (closing bracket, table rendering) and flushes.
    pub fn finish(mut self) -> Result<()> {
        self.start(None)?;
        match self.sink {
            Sink::Json { mut out } => {
                out.write_all(if self.count == 0 { b"]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
            Sink::Ndjson { mut out } => out.flush()?,
            Sink::Csv { mut out } => out.flush()?,
            Sink::Table { mut out, table } => {
                if self.count == 0 {
                    info("No results.");
                } else {
                    writeln!(out, "{table}")?;
                }
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// Prints one object (a created or fetched resource) in the chosen format: `json` pretty,
/// `ndjson` one line, `csv` header + one row (with `columns` when given, else the object's
/// keys), `table` a two-column field/value table.
pub fn print_object<W: Write>(
    format: Format,
    columns: Vec<Column>,
    value: &Value,
    mut out: W,
) -> Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, value)?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        Format::Ndjson => {
            serde_json::to_writer(&mut out, value)?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        Format::Csv => {
            let mut w = ListWriter::new(Format::Csv, columns, out);
            w.write(value)?;
            w.finish()?;
        }
        Format::Table => {
            let mut table = new_table();
            table.set_header(["field", "value"]);
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        table.add_row([k.clone(), cell_text(v)]);
                    }
                }
                other => {
                    table.add_row(["value".to_string(), cell_text(other)]);
                }
            }
            writeln!(out, "{table}")?;
            out.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(format: Format, columns: Vec<Column>, items: &[Value]) -> String {
        let mut buf = Vec::new();
        let mut w = ListWriter::new(format, columns, &mut buf);
        for item in items {
            w.write(item).expect("write");
        }
        w.finish().expect("finish");
        String::from_utf8(buf).expect("utf8")
    }

    #[test]
    fn json_array_streams_and_parses() {
        let items = [json!({"a":1}), json!({"a":2,"b":"x"})];
        let out = run(Format::Json, vec![], &items);
        assert_eq!(out, "[\n{\"a\":1},\n{\"a\":2,\"b\":\"x\"}\n]\n");
        let parsed: Vec<Value> = serde_json::from_str(&out).expect("valid json");
        assert_eq!(parsed, items);
        assert_eq!(run(Format::Json, vec![], &[]), "[]\n");
    }

    #[test]
    fn ndjson_one_per_line() {
        let out = run(Format::Ndjson, vec![], &[json!({"a":1}), json!({"a":2})]);
        assert_eq!(out, "{\"a\":1}\n{\"a\":2}\n");
    }

    #[test]
    fn csv_stable_columns_nested_as_json() {
        let cols = vec![
            Column::both("id"),
            Column::csv("metadata"),
            Column::both("revokedAt"),
            Column::derived("status", |_| json!("x")),
        ];
        let out = run(
            Format::Csv,
            cols.clone(),
            &[
                json!({"revokedAt":null,"id":"1","metadata":{"k":"v, w"}}),
                json!({"id":"2"}),
            ],
        );
        assert_eq!(
            out,
            "id,metadata,revokedAt\n1,\"{\"\"k\"\":\"\"v, w\"\"}\",\n2,,\n"
        );
        assert_eq!(run(Format::Csv, cols, &[]), "id,metadata,revokedAt\n");
    }

    #[test]
    fn csv_dynamic_columns_from_first_item() {
        let out = run(
            Format::Csv,
            vec![],
            &[json!({"x":1,"y":[1,2]}), json!({"y":true,"z":3})],
        );
        assert_eq!(out, "x,y\n1,\"[1,2]\"\n,true\n");
    }

    #[test]
    fn table_has_headers_and_rows() {
        let out = run(
            Format::Table,
            vec![Column::both("id"), Column::csv("hidden")],
            &[json!({"id":"abc","hidden":"zzz"})],
        );
        assert!(out.contains("id") && out.contains("abc"), "{out}");
        assert!(!out.contains("zzz"), "{out}");
    }

    #[test]
    fn object_formats() {
        let v = json!({"id":"1","name":"A"});
        let mut buf = Vec::new();
        print_object(Format::Ndjson, vec![], &v, &mut buf).expect("print");
        assert_eq!(
            String::from_utf8(buf).expect("utf8"),
            "{\"id\":\"1\",\"name\":\"A\"}\n"
        );
        let mut buf = Vec::new();
        print_object(Format::Csv, vec![], &v, &mut buf).expect("print");
        assert_eq!(String::from_utf8(buf).expect("utf8"), "id,name\n1,A\n");
    }
}
