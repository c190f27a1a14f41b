// Reads a Waymark block's data.parquet with DuckDB, an independent Parquet
// reader, and prints what it decoded as one JSON document on stdout:
//
//   {"rowCount": n, "schema": [{"name", "type"}...],
//    "compression": [codec...], "rows": [...]}
//
// Each row holds the IDs as lowercase hex, the 64-bit integers as decimal
// strings, and the nested list columns (span, resource and scope
// attributes, events, links) as DuckDB decoded them. The Go e2e tests run
// it as `node read-parquet.mjs <file>` on a block the server wrote.
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) {
  console.error('usage: node read-parquet.mjs <data.parquet>');
  process.exit(2);
}

// Everything the query needs is built into DuckDB: extensions are never
// fetched or loaded.
const instance = await DuckDBInstance.create(':memory:', {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
});
const conn = await instance.connect();

// query runs sql with the file path bound to $1 and returns its rows as
// JSON-friendly objects.
async function query(sql) {
  const reader = await conn.runAndReadAll(sql, [file]);
  return reader.getRowObjectsJson();
}

// attrs renders a list of attribute structs with the 64-bit int as a string.
const attrs = (col) =>
  `list_transform(${col}, a -> {key: a.key, type: a.type, str: a.str, int: a.int::VARCHAR, double: a.double, bytes: lower(hex(a.bytes))})`;

const schema = await query('SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet($1))');
const codecs = await query('SELECT DISTINCT compression FROM parquet_metadata($1) ORDER BY compression');
const [{ n }] = await query('SELECT count(*)::VARCHAR AS n FROM read_parquet($1)');
const rows = await query(`
SELECT
  lower(hex(trace_id)) AS trace_id,
  lower(hex(span_id)) AS span_id,
  lower(hex(parent_span_id)) AS parent_span_id,
  name,
  kind,
  status_code,
  status_message,
  start_time_unix_nano::VARCHAR AS start_time_unix_nano,
  duration_nano::VARCHAR AS duration_nano,
  service_name,
  http_request_method,
  http_method,
  http_route,
  http_response_status_code::VARCHAR AS http_response_status_code,
  http_status_code::VARCHAR AS http_status_code,
  ${attrs('attributes')} AS attributes,
  list_transform(events, e -> {time_unix_nano: e.time_unix_nano::VARCHAR, name: e.name, attributes: ${attrs('e.attributes')}}) AS events,
  list_transform(links, l -> {trace_id: lower(hex(l.trace_id)), span_id: lower(hex(l.span_id))}) AS links,
  ${attrs('resource_attributes')} AS resource_attributes,
  scope_name,
  scope_version
FROM read_parquet($1)
ORDER BY trace_id, start_time_unix_nano, span_id`);

process.stdout.write(JSON.stringify({
  rowCount: Number(n),
  schema,
  compression: codecs.map((c) => c.compression),
  rows,
}) + '\n');
