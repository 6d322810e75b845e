// Package schemas owns the Avro side of the connector: one schema per report, the
// conversion of API rows into events, and the two wire formats.
//
// The types to know:
//
//   - [Set] and [Schema]: the generated schemas, embedded from avro/ ([Embedded]), one
//     per catalog report, each with its kept versions; [Set.Check] proves every change
//     BACKWARD compatible, and [Set.WriteTable] and [Set.WriteCheck] report the set to
//     people.
//   - [Converter]: turns a [source.Row] of any report into a native event, driven by the
//     report's catalog entry; a value that does not fit gives a [*ConversionError].
//     [Converter.Fill] puts it in a reusable [Native] instead of a fresh map, and
//     [Encoder.EncodeNative] encodes that field by field with goavro's codecs, the
//     connector's path; [Encoder.Encode] takes any event in goavro's native map form.
//   - [Encoder] and [Decoder]: the wire formats, Confluent (with a schema registry,
//     franz-go's pkg/sr) or Avro single-object encoding (without).
//
// # Schemas
//
// Schemas are generated from the catalog by go generate ./schemas (see
// internal/genschemas) and checked in; a test fails when they are stale. Every record
// is named after its report ([RecordName]: diagram_13 → com.wolkvox.reports.Diagram13)
// and holds, in order: the event fields wv_operation, wv_report, wv_event_time,
// wv_window_start, wv_window_end, wv_read_at and wv_row_id; the report's known fields;
// and wv_extra, a map<string, null|string> of every key the catalog does not know.
//
// # Field names
//
// Raw keys keep their bytes in the row and in the schema's "wolkvox.key" attribute; the
// Avro name is derived by [AvroName]: trim surrounding space, lower-case and fold
// Spanish accents, replace each run of other characters than [a-z0-9_] by "_", prefix
// "f_" when the result starts with a digit. So "agent_anwers " is agent_anwers, "ASA" is
// asa, "yes/no" is yes_no and "0_5_seg" is f_0_5_seg. Collisions (with each other or
// with the wv_ names) are resolved by [Fields]: keys that are already valid names keep
// them, the others, in byte order, get the first free of name, name_2, name_3, ….
//
// # Types
//
// The catalog's FieldType decides the Avro type; every report field is a union with
// null, defaulting to null:
//
//	count, seconds   long   "12", "1,234", "12.00"; any other fraction is refused
//	millis           long   milliseconds
//	duration         long   seconds, from "H:MM:SS" with unpadded hours ("125:00:00"),
//	                        optionally negative; "MM:SS" is refused as ambiguous
//	number           double "3.5", "1,234.5", "-2e3"; "34,64" is refused as ambiguous
//	percent          double "34.64 %" → 34.64 (not 0.3464), "9,336.00 %" → 9336
//	timestamp        long timestamp-millis: local time in Meta.Location → UTC
//	date             int date: days since 1970-01-01
//	string           string, exactly as sent
//
// For typed fields "", "-" and "--" (the API's "not applicable") become null; string
// fields keep them as text. A JSON null and a missing known key become null. Extra keys
// keep their raw text, a JSON null as null. Nothing else is ever turned into null: a
// value that does not parse is a [*ConversionError] for the dead-letter topic.
//
// # Wire formats
//
// With a registry, events are Confluent framed (0, 4-byte schema ID, body) under the
// subject "<topic>-value", registered on first use unless [RequirePreRegistered]. Without,
// they are single-object encoded (C3 01, 8-byte CRC-64-AVRO fingerprint, body). Either
// way [Encoder.SchemaHeader] names the schema in a record header.
package schemas
