package enrich

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

// Enricher is a model.Consumer that adds resource attributes and applies
// attribute rules, then passes the batch on. It is safe for concurrent use.
type Enricher struct {
	next          model.Consumer
	add           model.Attributes // resource attributes added when absent
	spanRules     []rule
	resourceRules []rule
	changed       *prometheus.CounterVec
}

type rule struct {
	action, key, newKey string
	salt                string // for hash
}

var _ model.Consumer = (*Enricher)(nil)

// New builds an Enricher from a valid cfg, expanding ${VAR} references in
// its values from the environment. reg may be nil; log must not be nil.
func New(cfg Config, next model.Consumer, reg prometheus.Registerer, log *slog.Logger) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("enrich config: %w", err)
	}
	e := &Enricher{next: next, changed: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waymark_enrich_attributes_changed_total",
		Help: "Attributes added, renamed, deleted or hashed, by action.",
	}, []string{"action"})}
	if reg != nil {
		if err := reg.Register(e.changed); err != nil {
			return nil, fmt.Errorf("register enrich metrics: %w", err)
		}
	}
	attrs := map[string]string{}
	for k, v := range cfg.Attributes {
		attrs[k] = v
	}
	for k, v := range map[string]string{KeyRegion: cfg.Region, KeyDatacenter: cfg.Datacenter, KeyNode: cfg.Node, KeyCluster: cfg.Cluster} {
		if v != "" {
			attrs[k] = v
		}
	}
	for k, v := range attrs {
		if v = os.ExpandEnv(v); v != "" {
			e.add = append(e.add, model.Attribute{Key: k, Value: model.StringValue(v)})
		}
	}
	sort.Slice(e.add, func(i, j int) bool { return e.add[i].Key < e.add[j].Key })
	for _, r := range cfg.Rules {
		rr := rule{action: r.Action, key: r.Key, newKey: r.NewKey, salt: cfg.HashSalt}
		if r.Scope != ScopeResource {
			e.spanRules = append(e.spanRules, rr)
		}
		if r.Scope != ScopeSpan {
			e.resourceRules = append(e.resourceRules, rr)
		}
	}
	log.Debug("enricher configured", "resource_attributes", len(e.add), "rules", len(cfg.Rules))
	return e, nil
}

// Consume enriches b and passes it to the next stage. b.OTLP is cleared
// when anything changed.
func (e *Enricher) Consume(ctx context.Context, b model.Batch) error {
	var counts [numActions]int
	changed := false
	if len(e.add) > 0 || len(e.resourceRules) > 0 {
		var (
			lastOld, lastNew *model.Resource
			copies           map[*model.Resource]*model.Resource
		)
		for i := range b.Spans {
			sp := &b.Spans[i]
			if sp.Resource != lastOld || i == 0 {
				lastOld = sp.Resource
				if nr, ok := copies[sp.Resource]; ok {
					lastNew = nr
				} else {
					lastNew = e.resource(sp.Resource, &counts)
					if copies == nil {
						copies = map[*model.Resource]*model.Resource{}
					}
					copies[sp.Resource] = lastNew
				}
			}
			if lastNew != sp.Resource {
				sp.Resource = lastNew
				changed = true
			}
		}
	}
	if len(e.spanRules) > 0 {
		for i := range b.Spans {
			sp := &b.Spans[i]
			for _, r := range e.spanRules {
				if attrs, ok := apply(sp.Attributes, r, &counts); ok {
					sp.Attributes = attrs
					changed = true
				}
			}
		}
	}
	for a, n := range counts {
		if n > 0 {
			e.changed.WithLabelValues(actionNames[a]).Add(float64(n))
		}
	}
	if changed {
		b.OTLP = nil
	}
	return e.next.Consume(ctx, b)
}

// resource returns res enriched, as a copy, or res itself if nothing
// changes.
func (e *Enricher) resource(res *model.Resource, counts *[numActions]int) *model.Resource {
	var attrs model.Attributes
	var dropped uint32
	if res != nil {
		attrs, dropped = res.Attributes, res.DroppedAttributesCount
	}
	owned := false
	own := func() {
		if !owned {
			attrs = append(model.Attributes(nil), attrs...)
			owned = true
		}
	}
	for _, a := range e.add {
		if _, ok := attrs.Get(a.Key); !ok {
			own()
			attrs = append(attrs, a)
			counts[actionAdd]++
		}
	}
	for _, r := range e.resourceRules {
		if _, ok := attrs.Get(r.key); ok {
			own()
			attrs, _ = apply(attrs, r, counts)
		}
	}
	if !owned {
		return res
	}
	out := &model.Resource{Attributes: attrs, DroppedAttributesCount: dropped}
	if v, ok := attrs.Get("service.name"); ok {
		out.ServiceName = v.AsString()
	}
	return out
}

type action int

const (
	actionAdd action = iota
	actionRename
	actionDelete
	actionHash
	numActions
)

var actionNames = [numActions]string{"add", "rename", "delete", "hash"}

// apply runs rule r on attrs in place; ok reports a change.
func apply(attrs model.Attributes, r rule, counts *[numActions]int) (model.Attributes, bool) {
	i := index(attrs, r.key)
	if i < 0 {
		return attrs, false
	}
	switch r.action {
	case ActionDelete:
		counts[actionDelete]++
		return append(attrs[:i], attrs[i+1:]...), true
	case ActionHash:
		sum := sha256.Sum256([]byte(r.salt + attrs[i].Value.AsString()))
		attrs[i].Value = model.StringValue(hex.EncodeToString(sum[:]))
		counts[actionHash]++
		return attrs, true
	default: // rename
		attrs[i].Key = r.newKey
		if j := indexFrom(attrs, r.newKey, i); j >= 0 {
			attrs = append(attrs[:j], attrs[j+1:]...)
		}
		counts[actionRename]++
		return attrs, true
	}
}

func index(attrs model.Attributes, key string) int { return indexFrom(attrs, key, -1) }

// indexFrom finds key in attrs, skipping position skip.
func indexFrom(attrs model.Attributes, key string, skip int) int {
	for i := range attrs {
		if i != skip && attrs[i].Key == key {
			return i
		}
	}
	return -1
}
