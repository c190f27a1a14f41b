package sample

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

// PriorityAttribute is the span attribute that forces a decision: 0 drops
// the span, a value above 0 keeps it. Ints, doubles and numeric strings are
// understood.
const PriorityAttribute = "sampling.priority"

// Reason says why a span was kept or dropped.
type Reason uint8

// Reasons, also the values of the decisions metric's reason label.
const (
	// ReasonSampled: the span's randomness passed this stage's threshold.
	ReasonSampled Reason = iota
	// ReasonNotSampled: the span's randomness failed the threshold.
	ReasonNotSampled
	// ReasonPassedThrough: the span arrived sampled at a probability no
	// higher than this stage's and passes as it is.
	ReasonPassedThrough
	// ReasonPriorityKeep: sampling.priority > 0 forced a keep.
	ReasonPriorityKeep
	// ReasonPriorityDrop: sampling.priority = 0 forced a drop.
	ReasonPriorityDrop
	// ReasonFailOpen: the input was malformed and the span was kept as it is.
	ReasonFailOpen
	numReasons
)

var reasonNames = [numReasons]string{"sampled", "not_sampled", "passed_through", "priority_keep", "priority_drop", "fail_open"}

// String returns the reason's metric label value.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// fault is a problem found in a span's input, counted but never fatal.
type fault uint8

const (
	faultNone fault = iota
	faultBadTraceState
	faultInconsistentThreshold
	faultZeroTraceID
	faultBadPriority
	numFaults
)

var faultNames = [numFaults]string{"", "bad_tracestate", "inconsistent_threshold", "zero_trace_id", "bad_priority"}

// Decision is the sampler's verdict on one span.
type Decision struct {
	// Keep says whether the span goes on.
	Keep bool
	// TraceState is the tracestate a kept span must carry.
	TraceState string
	// Reason says why.
	Reason Reason

	fault fault
}

// policy is one configured percentage, precomputed for every mode.
type policy struct {
	pct       float64
	prob      float64
	threshold Threshold // equalizing target; MaxThreshold when pct is 0
	// traceState is "ot=th:<threshold>", the tracestate of a span that
	// arrived with none and was kept at threshold.
	traceState string
	hash       hashSeedPolicy
}

type attributePolicy struct {
	key, value string
	pol        *policy
}

// Sampler is a model.Consumer that drops the spans of unsampled traces and
// passes the rest, with their tracestate updated, to the next stage. It is
// safe for concurrent use.
type Sampler struct {
	mode      Mode
	seed      uint32
	precision int
	next      model.Consumer
	log       *slog.Logger
	metrics   *metrics

	def        *policy
	services   map[string]*policy
	attributes []attributePolicy

	upstream    bool
	upstreamTH  Threshold
	upstreamStr string
}

var _ model.Consumer = (*Sampler)(nil)

// New builds a Sampler from a valid cfg that passes kept spans to next.
// reg may be nil (no metrics); log must not be nil.
func New(cfg Config, next model.Consumer, reg prometheus.Registerer, log *slog.Logger) (*Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sampler config: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Sampler{
		mode:      cfg.mode(),
		seed:      cfg.HashSeed,
		precision: cfg.precision(),
		next:      next,
		log:       log,
		metrics:   m,
	}
	s.def = s.newPolicy(cfg.SamplingPercentage)
	if len(cfg.Services) > 0 {
		s.services = make(map[string]*policy, len(cfg.Services))
		for name, pct := range cfg.Services {
			s.services[name] = s.newPolicy(pct)
		}
	}
	for _, r := range cfg.Attributes {
		s.attributes = append(s.attributes, attributePolicy{key: r.Key, value: r.Value, pol: s.newPolicy(r.SamplingPercentage)})
	}
	if cfg.UpstreamSDKRatio > 0 {
		th, _ := ProbabilityToThreshold(cfg.UpstreamSDKRatio, s.precision) // ratio validated to (0, 1]
		s.upstream, s.upstreamTH, s.upstreamStr = true, th, th.String()
	}
	log.Debug("sampler configured", "mode", string(s.mode), "sampling_percentage", cfg.SamplingPercentage,
		"services", len(s.services), "attribute_rules", len(s.attributes), "upstream_sdk_ratio", cfg.UpstreamSDKRatio)
	return s, nil
}

func (s *Sampler) newPolicy(pct float64) *policy {
	p := &policy{pct: pct, prob: min(pct/100, 1), threshold: MaxThreshold, hash: newHashSeedPolicy(pct)}
	if th, err := ProbabilityToThreshold(p.prob, s.precision); err == nil {
		p.threshold = th
		p.traceState = "ot=th:" + th.String()
	}
	return p
}

// Consume decides every span of b, drops the unsampled ones and passes the
// rest to the next stage. A batch left empty is not passed on. When any
// span is dropped or its tracestate changes, b.OTLP is cleared.
func (s *Sampler) Consume(ctx context.Context, b model.Batch) error {
	var (
		reasons [numReasons]int
		faults  [numFaults]int
		tally   serviceTally
		lastRes *model.Resource
		pol     = s.def
		changed bool
	)
	kept := b.Spans[:0]
	for i := range b.Spans {
		sp := &b.Spans[i]
		if i == 0 || sp.Resource != lastRes {
			lastRes = sp.Resource
			pol = s.resourcePolicy(sp.Resource)
			tally.switchTo(s.metrics, sp.ServiceName())
		}
		d := s.decide(sp, s.spanPolicy(sp, pol))
		reasons[d.Reason]++
		faults[d.fault]++
		tally.seen++
		if !d.Keep {
			changed = true
			continue
		}
		tally.kept++
		if d.TraceState != sp.TraceState {
			sp.TraceState = d.TraceState
			changed = true
		}
		if len(kept) != i {
			kept = append(kept, *sp)
		} else {
			kept = kept[:i+1]
		}
	}
	tally.flush(s.metrics)
	s.metrics.add(reasons[:], faults[:])
	if len(kept) == 0 {
		return nil
	}
	b.Spans = kept
	if changed {
		b.OTLP = nil
	}
	return s.next.Consume(ctx, b)
}

// Decide returns the verdict on one span without changing it.
func (s *Sampler) Decide(sp *model.Span) Decision {
	return s.decide(sp, s.spanPolicy(sp, s.resourcePolicy(sp.Resource)))
}

// resourcePolicy returns the policy for spans of res before attribute rules.
func (s *Sampler) resourcePolicy(res *model.Resource) *policy {
	if s.services != nil && res != nil {
		if p, ok := s.services[res.ServiceName]; ok {
			return p
		}
	}
	return s.def
}

// spanPolicy applies the attribute rules, span attributes before resource
// attributes, on top of the resource's policy.
func (s *Sampler) spanPolicy(sp *model.Span, pol *policy) *policy {
	for i := range s.attributes {
		r := &s.attributes[i]
		v, ok := sp.Attributes.Get(r.key)
		if !ok && sp.Resource != nil {
			v, ok = sp.Resource.Attributes.Get(r.key)
		}
		if ok && v.AsString() == r.value {
			return r.pol
		}
	}
	return pol
}

func (s *Sampler) decide(sp *model.Span, pol *policy) Decision {
	var f fault
	if v, ok := sp.Attributes.Get(PriorityAttribute); ok {
		prio, ok := priority(v)
		switch {
		case !ok:
			f = faultBadPriority
		case prio > 0:
			return Decision{Keep: true, TraceState: sp.TraceState, Reason: ReasonPriorityKeep}
		case prio == 0:
			return Decision{Reason: ReasonPriorityDrop}
		}
	}
	if sp.TraceID.IsZero() {
		return Decision{Keep: true, TraceState: sp.TraceState, Reason: ReasonFailOpen, fault: faultZeroTraceID}
	}
	ts, err := ParseTraceState(sp.TraceState)
	if err != nil {
		return Decision{Keep: true, TraceState: sp.TraceState, Reason: ReasonFailOpen, fault: faultBadTraceState}
	}
	if s.mode == ModeHashSeed && !ts.HasRV && !ts.HasTH {
		return s.decideHashSeed(sp, &ts, pol, f)
	}
	return s.decideConsistent(sp, &ts, pol, f)
}

// decideHashSeed is the Collector's hash_seed rule for spans that carry no
// OTEP 235 values.
func (s *Sampler) decideHashSeed(sp *model.Span, ts *TraceState, pol *policy, f fault) Decision {
	h := hashTraceID(s.seed, sp.TraceID)
	if h&bucketMask >= pol.hash.scaled {
		return Decision{Reason: ReasonNotSampled, fault: f}
	}
	ts.RV, ts.HasRV = hashSeedRandomness(h), true
	ts.TH, ts.HasTH = pol.hash.threshold, true
	return Decision{Keep: true, TraceState: ts.String(), Reason: ReasonSampled, fault: f}
}

// decideConsistent applies OTEP 235 equalizing or proportional sampling.
func (s *Sampler) decideConsistent(sp *model.Span, ts *TraceState, pol *policy, f fault) Decision {
	var r Randomness
	switch {
	case ts.HasRV:
		r = ts.RV
	case s.upstream && !ts.HasTH:
		return s.decideUpstream(sp, ts, pol, f)
	default:
		r = RandomnessFromTraceID(sp.TraceID)
	}
	if ts.HasTH && !ts.TH.ShouldKeep(r) {
		// A threshold the span's own randomness fails cannot be right.
		ts.HasTH, ts.TH = false, 0
		f = faultInconsistentThreshold
	}
	return s.apply(ts, r, pol, f, sp.TraceState, false)
}

// decideUpstream samples a span that a legacy SDK ratio sampler kept: the
// SDK kept small values of the trace ID's low 64 bits, so inverting their
// top 56 bits gives randomness that is high for every span the SDK kept and
// nests this stage's choice in the SDK's.
func (s *Sampler) decideUpstream(sp *model.Span, ts *TraceState, pol *policy, f fault) Decision {
	r := Randomness(randomnessMask - sp.TraceID.Low64()>>8)
	ts.TH, ts.HasTH = s.upstreamTH, true
	return s.apply(ts, r, pol, f, sp.TraceState, true)
}

// apply keeps or drops a span with randomness r and incoming threshold
// ts.TH (if ts.HasTH) under pol. synthetic says ts.TH was not in the span's
// tracestate and must be written even when it passes unchanged; otherwise
// a passing span keeps orig, its tracestate as received.
func (s *Sampler) apply(ts *TraceState, r Randomness, pol *policy, f fault, orig string, synthetic bool) Decision {
	if pol.threshold >= MaxThreshold {
		return Decision{Reason: ReasonNotSampled, fault: f}
	}
	target := pol.threshold
	if s.mode == ModeProportional && pol.prob < 1 {
		in := 1.0
		if ts.HasTH {
			in = ts.TH.Probability()
		}
		th, err := ProbabilityToThreshold(pol.prob*in, s.precision)
		if err != nil {
			return Decision{Reason: ReasonNotSampled, fault: f}
		}
		target = th
	}
	if ts.HasTH && ts.TH >= target {
		d := Decision{Keep: true, TraceState: orig, Reason: ReasonPassedThrough, fault: f}
		if synthetic {
			d.TraceState = ts.String()
		}
		return d
	}
	if !target.ShouldKeep(r) {
		return Decision{Reason: ReasonNotSampled, fault: f}
	}
	d := Decision{Keep: true, Reason: ReasonSampled, fault: f}
	if orig == "" && target == pol.threshold {
		d.TraceState = pol.traceState // the common case, without allocating
	} else {
		ts.TH, ts.HasTH = target, true
		d.TraceState = ts.String()
	}
	return d
}

// priority reads a sampling.priority value.
func priority(v model.Value) (float64, bool) {
	switch v.Type {
	case model.ValueInt, model.ValueDouble:
		return v.AsFloat()
	case model.ValueString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
		return f, err == nil
	}
	return 0, false
}
