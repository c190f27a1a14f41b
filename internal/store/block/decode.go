package block

import (
	"fmt"

	"waymark/internal/model"
)

// spanDecoder turns rows back into spans. Spans whose resources (or scopes)
// are equal share one *Resource (or *Scope) among the recently decoded ones.
type spanDecoder struct {
	extra     []string // keys of dedicated_0..9
	resources []*model.Resource
	scopes    []*model.Scope
}

// maxShared bounds the resources and scopes a decoder remembers for sharing.
const maxShared = 64

// decode rebuilds a span from r. It reports rows that cannot come from Write.
func (d *spanDecoder) decode(r *spanRow, s *model.Span) error {
	*s = model.Span{
		TraceID:                r.TraceID,
		SpanID:                 r.SpanID,
		ParentSpanID:           r.ParentSpanID,
		TraceState:             r.TraceState,
		Flags:                  r.Flags,
		Name:                   r.Name,
		Kind:                   model.SpanKind(r.Kind),
		StartTimeUnixNano:      r.StartTimeUnixNano,
		EndTimeUnixNano:        r.StartTimeUnixNano + r.DurationNano,
		StatusCode:             model.StatusCode(r.StatusCode),
		StatusMessage:          r.StatusMessage,
		DroppedAttributesCount: r.DroppedAttributesCount,
		DroppedEventsCount:     r.DroppedEventsCount,
		DroppedLinksCount:      r.DroppedLinksCount,
	}
	if r.Kind < 0 || r.Kind > int32(model.KindConsumer) {
		return fmt.Errorf("span kind %d out of range", r.Kind)
	}
	if r.StatusCode < 0 || r.StatusCode > int32(model.StatusError) {
		return fmt.Errorf("status code %d out of range", r.StatusCode)
	}
	var err error
	if s.Attributes, err = d.spanAttributes(r); err != nil {
		return err
	}
	if len(r.Events) > 0 {
		s.Events = make([]model.Event, len(r.Events))
		for i := range r.Events {
			e := &r.Events[i]
			attrs, err := decodeAttrs(e.Attributes, nil)
			if err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
			s.Events[i] = model.Event{TimeUnixNano: e.TimeUnixNano, Name: e.Name, Attributes: attrs, DroppedAttributesCount: e.DroppedAttributesCount}
		}
	}
	if len(r.Links) > 0 {
		s.Links = make([]model.Link, len(r.Links))
		for i := range r.Links {
			l := &r.Links[i]
			attrs, err := decodeAttrs(l.Attributes, nil)
			if err != nil {
				return fmt.Errorf("link %d: %w", i, err)
			}
			s.Links[i] = model.Link{TraceID: l.TraceID, SpanID: l.SpanID, TraceState: l.TraceState, Flags: l.Flags, Attributes: attrs, DroppedAttributesCount: l.DroppedAttributesCount}
		}
	}
	if r.ServiceName != nil {
		if s.Resource, err = d.resource(r); err != nil {
			return err
		}
	} else if len(r.ResourceAttributes) > 0 || r.ResourceDroppedAttributesCount != 0 {
		return fmt.Errorf("resource attributes without a resource")
	}
	if r.ScopeName != nil {
		if s.Scope, err = d.scope(r); err != nil {
			return err
		}
	} else if len(r.ScopeAttributes) > 0 || r.ScopeVersion != "" || r.ScopeDroppedAttributesCount != 0 {
		return fmt.Errorf("scope fields without a scope")
	}
	return nil
}

// spanAttributes rebuilds a span's attributes, taking dedicated values from
// their columns.
func (d *spanDecoder) spanAttributes(r *spanRow) (model.Attributes, error) {
	return decodeAttrs(r.Attributes, func(key string) (model.Value, error) {
		if col := intColumn(r, key); col != nil {
			if *col == nil {
				return model.Value{}, fmt.Errorf("dedicated attribute %q has no value", key)
			}
			return model.IntValue(**col), nil
		}
		ded := dedicatedKeys{extra: d.extra}
		if col := ded.stringColumn(r, key); col != nil && *col != nil {
			return model.StringValue(**col), nil
		}
		return model.Value{}, fmt.Errorf("dedicated attribute %q has no value", key)
	})
}

// decodeAttrs rebuilds attributes; dedicated resolves valueDedicated entries
// (nil means none are allowed).
func decodeAttrs(rows []attrRow, dedicated func(key string) (model.Value, error)) (model.Attributes, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	attrs := make(model.Attributes, len(rows))
	for i := range rows {
		a := &rows[i]
		attrs[i].Key = a.Key
		v := &attrs[i].Value
		switch t := model.ValueType(a.Type); {
		case a.Type == valueDedicated:
			if dedicated == nil {
				return nil, fmt.Errorf("attribute %q refers to a dedicated column here", a.Key)
			}
			dv, err := dedicated(a.Key)
			if err != nil {
				return nil, err
			}
			*v = dv
		case a.Type < 0 || a.Type > int32(model.ValueMap):
			return nil, fmt.Errorf("attribute %q has unknown type %d", a.Key, a.Type)
		case t == model.ValueString || t == model.ValueArray || t == model.ValueMap:
			if a.Str == nil {
				return nil, fmt.Errorf("%s attribute %q has no value", t, a.Key)
			}
			*v = model.Value{Type: t, Str: *a.Str}
		case t == model.ValueInt || t == model.ValueBool:
			if a.Int == nil {
				return nil, fmt.Errorf("%s attribute %q has no value", t, a.Key)
			}
			*v = model.Value{Type: t, Int: *a.Int}
		case t == model.ValueDouble:
			if a.Double == nil {
				return nil, fmt.Errorf("double attribute %q has no value", a.Key)
			}
			*v = model.Value{Type: t, Double: *a.Double}
		case t == model.ValueBytes:
			if a.Bytes == nil {
				return nil, fmt.Errorf("bytes attribute %q has no value", a.Key)
			}
			*v = model.Value{Type: t, Str: string(a.Bytes)}
		default:
			*v = model.Value{}
		}
	}
	return attrs, nil
}

// resource returns the shared resource of r.
func (d *spanDecoder) resource(r *spanRow) (*model.Resource, error) {
	name := *r.ServiceName
	for _, res := range d.resources {
		if res.ServiceName == name && res.DroppedAttributesCount == r.ResourceDroppedAttributesCount && attrsEqualRows(res.Attributes, r.ResourceAttributes, name) {
			return res, nil
		}
	}
	attrs, err := decodeAttrs(r.ResourceAttributes, func(key string) (model.Value, error) {
		if key != keyServiceName {
			return model.Value{}, fmt.Errorf("resource attribute %q cannot be dedicated", key)
		}
		return model.StringValue(name), nil
	})
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	res := &model.Resource{ServiceName: name, Attributes: attrs, DroppedAttributesCount: r.ResourceDroppedAttributesCount}
	d.resources = remember(d.resources, res)
	return res, nil
}

// scope returns the shared scope of r.
func (d *spanDecoder) scope(r *spanRow) (*model.Scope, error) {
	for _, sc := range d.scopes {
		if sc.Name == *r.ScopeName && sc.Version == r.ScopeVersion && sc.DroppedAttributesCount == r.ScopeDroppedAttributesCount && attrsEqualRows(sc.Attributes, r.ScopeAttributes, "") {
			return sc, nil
		}
	}
	attrs, err := decodeAttrs(r.ScopeAttributes, nil)
	if err != nil {
		return nil, fmt.Errorf("scope: %w", err)
	}
	sc := &model.Scope{Name: *r.ScopeName, Version: r.ScopeVersion, Attributes: attrs, DroppedAttributesCount: r.ScopeDroppedAttributesCount}
	d.scopes = remember(d.scopes, sc)
	return sc, nil
}

// remember adds v to the front of list, keeping at most maxShared entries.
func remember[T any](list []*T, v *T) []*T {
	if len(list) < maxShared {
		list = append(list, nil)
	}
	copy(list[1:], list)
	list[0] = v
	return list
}

// attrsEqualRows reports whether attrs equals rows decoded with a dedicated
// service.name of value svc.
func attrsEqualRows(attrs model.Attributes, rows []attrRow, svc string) bool {
	if len(attrs) != len(rows) {
		return false
	}
	for i := range rows {
		a, r := &attrs[i], &rows[i]
		if a.Key != r.Key {
			return false
		}
		switch {
		case r.Type == valueDedicated:
			if a.Value.Type != model.ValueString || a.Value.Str != svc {
				return false
			}
		case int32(a.Value.Type) != r.Type:
			return false
		}
		switch a.Value.Type {
		case model.ValueString, model.ValueArray, model.ValueMap:
			if r.Type != valueDedicated && (r.Str == nil || *r.Str != a.Value.Str) {
				return false
			}
		case model.ValueInt, model.ValueBool:
			if r.Int == nil || *r.Int != a.Value.Int {
				return false
			}
		case model.ValueDouble:
			if r.Double == nil || *r.Double != a.Value.Double {
				return false
			}
		case model.ValueBytes:
			if r.Bytes == nil || string(r.Bytes) != a.Value.Str {
				return false
			}
		}
	}
	return true
}
