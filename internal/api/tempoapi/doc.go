// Package tempoapi serves the Grafana Tempo HTTP API (port 3200) from
// Waymark's query layer, so Grafana's Tempo data source works unchanged:
// trace by ID (OTLP protobuf or Tempo's JSON dialect), search by TraceQL or
// logfmt tags, tag and tag-value autocomplete, TraceQL metrics (range and
// instant, in Tempo's Prometheus-style series), echo and build info.
//
// Tempo's JSON differs from OTLP/JSON: IDs are base64 and enums are names.
// This package writes that dialect itself; the ingest codecs are separate.
package tempoapi
