package block

import (
	"errors"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// leaf is a leaf column of the block schema.
type leaf struct {
	index          int
	maxDef, maxRep int
}

// attrLeaves are the leaf columns of one attribute list.
type attrLeaves struct {
	key, typ, str, int, double, bytes leaf
}

// columnSet locates the leaf columns of the block schema.
type columnSet struct {
	traceID, spanID, parentSpanID, start, duration, name, kind, status, statusMessage, service leaf
	traceState, flags, droppedAttrs, droppedEvents, droppedLinks                               leaf
	resDropped, scopeName, scopeVersion, scopeDropped                                          leaf
	// dedicated maps the fixed HTTP keys to their columns; extra holds
	// dedicated_0..9 in slot order.
	dedicated map[string]leaf
	fixedDed  [len(fixedDedicatedKeys)]leaf // in fixedDedicatedKeys order
	extra     [MaxDedicatedAttributes]leaf
	// all lists every leaf by column index.
	all        []leaf
	numLeaves  int
	spanAttrs  attrLeaves
	resAttrs   attrLeaves
	scopeAttrs attrLeaves
	events     eventLeaves
	links      linkLeaves
}

// eventLeaves are the leaf columns of the events list.
type eventLeaves struct {
	time, name, dropped leaf
	attrs               attrLeaves
}

// linkLeaves are the leaf columns of the links list.
type linkLeaves struct {
	traceID, spanID, traceState, flags, dropped leaf
	attrs                                       attrLeaves
}

// lookupColumns finds the columns of schema by name.
func lookupColumns(schema *parquet.Schema) (columnSet, error) {
	var (
		cs  columnSet
		err error
	)
	get := func(path ...string) leaf {
		l, ok := schema.Lookup(path...)
		if !ok {
			err = errors.Join(err, fmt.Errorf("missing column %v", path))
		}
		return leaf{index: l.ColumnIndex, maxDef: l.MaxDefinitionLevel, maxRep: l.MaxRepetitionLevel}
	}
	attrs := func(path ...string) attrLeaves {
		at := func(name string) leaf { return get(append(slices.Clone(path), "list", "element", name)...) }
		return attrLeaves{key: at("key"), typ: at("type"), str: at("str"), int: at("int"), double: at("double"), bytes: at("bytes")}
	}
	cs.traceID = get("trace_id")
	cs.spanID = get("span_id")
	cs.parentSpanID = get("parent_span_id")
	cs.traceState = get("trace_state")
	cs.flags = get("flags")
	cs.droppedAttrs = get("dropped_attributes_count")
	cs.droppedEvents = get("dropped_events_count")
	cs.droppedLinks = get("dropped_links_count")
	cs.resDropped = get("resource_dropped_attributes_count")
	cs.scopeName = get("scope_name")
	cs.scopeVersion = get("scope_version")
	cs.scopeDropped = get("scope_dropped_attributes_count")
	ev := func(name string) leaf { return get("events", "list", "element", name) }
	cs.events = eventLeaves{time: ev("time_unix_nano"), name: ev("name"), dropped: ev("dropped_attributes_count"),
		attrs: attrs("events", "list", "element", "attributes")}
	ln := func(name string) leaf { return get("links", "list", "element", name) }
	cs.links = linkLeaves{traceID: ln("trace_id"), spanID: ln("span_id"), traceState: ln("trace_state"), flags: ln("flags"),
		dropped: ln("dropped_attributes_count"), attrs: attrs("links", "list", "element", "attributes")}
	cs.scopeAttrs = attrs("scope_attributes")
	cs.start = get("start_time_unix_nano")
	cs.duration = get("duration_nano")
	cs.name = get("name")
	cs.kind = get("kind")
	cs.status = get("status_code")
	cs.statusMessage = get("status_message")
	cs.service = get("service_name")
	cs.dedicated = map[string]leaf{
		keyHTTPRequestMethod:      get("http_request_method"),
		keyHTTPMethod:             get("http_method"),
		keyHTTPRoute:              get("http_route"),
		keyHTTPResponseStatusCode: get("http_response_status_code"),
		keyHTTPStatusCode:         get("http_status_code"),
	}
	for i, k := range fixedDedicatedKeys {
		cs.fixedDed[i] = cs.dedicated[k]
	}
	for _, path := range schema.Columns() {
		cs.all = append(cs.all, get(path...))
	}
	cs.numLeaves = len(cs.all)
	for i, l := range cs.all {
		if l.index != i {
			err = errors.Join(err, fmt.Errorf("column %v is leaf %d, not %d", schema.Columns()[i], l.index, i))
		}
	}
	for i := range cs.extra {
		cs.extra[i] = get(fmt.Sprintf("dedicated_%d", i))
	}
	cs.spanAttrs = attrs("attributes")
	cs.resAttrs = attrs("resource_attributes")
	return cs, err
}
