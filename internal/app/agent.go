package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/export/otlp"
	"waymark/internal/process/batch"
	"waymark/internal/process/enrich"
	"waymark/internal/process/sample"
	"waymark/internal/queue"
)

// exporterRun is one backend of the agent: its durable queue and the
// exporter that drains it.
type exporterRun struct {
	name   string
	q      *queue.Queue
	exp    *otlp.Exporter
	cancel context.CancelFunc
	done   chan struct{} // closed when exp.Run returned
}

// startAgent opens one queue per exporter, starts the exporters, builds
// receivers → enrich → sample → batch → every queue, and serves the
// receivers and the admin port.
func (a *App) startAgent() error {
	cfg := a.cfg.Agent
	queues := make([]otlp.Putter, 0, len(cfg.Exporters))
	for _, ec := range cfg.Exporters {
		run, err := a.startExporter(ec.Name, ec.Config)
		if err != nil {
			return err
		}
		queues = append(queues, run.q)
	}
	bt, err := batch.New(cfg.Batch, otlp.NewEnqueuer(fanout(queues)), a.reg, a.log.With("component", "batch"))
	if err != nil {
		return err
	}
	smp, err := sample.New(cfg.Sampling, bt, a.reg, a.log.With("component", "sampler"))
	if err != nil {
		return err
	}
	enr, err := enrich.New(cfg.Enrich, smp, a.reg, a.log.With("component", "enrich"))
	if err != nil {
		return err
	}
	if err := a.startReceivers(enr, http.NewServeMux()); err != nil {
		return err
	}
	return a.serveAdmin(a.cfg.AgentAdminPort())
}

// startExporter opens the queue of the exporter called name and starts
// sending from it. Its metrics carry the label exporter=name.
func (a *App) startExporter(name string, cfg otlp.Config) (*exporterRun, error) {
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"exporter": name}, a.reg)
	log := a.log.With("exporter", name)
	q, err := queue.Open(a.cfg.QueueDir(name), queue.Options{Config: a.cfg.Agent.Queue, Registerer: reg, Logger: log.With("component", "queue")})
	if err != nil {
		return nil, fmt.Errorf("exporter %s: open queue: %w", name, err)
	}
	exp, err := otlp.New(cfg, q, reg, log.With("component", "exporter"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("exporter %s: %w", name, err), q.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &exporterRun{name: name, q: q, exp: exp, cancel: cancel, done: make(chan struct{})}
	a.exporters = append(a.exporters, run)
	go func() {
		defer close(run.done)
		_ = exp.Run(ctx) // returns nil once ctx ends or the queue closes
	}()
	return run, nil
}

// stopExporters stops every exporter (its in-flight items stay queued)
// and closes its queue, which records the ack position.
func (a *App) stopExporters() error {
	var errs []error
	for _, r := range a.exporters {
		r.cancel()
	}
	for _, r := range a.exporters {
		<-r.done
		if err := r.exp.Close(); err != nil {
			errs = append(errs, fmt.Errorf("exporter %s: close: %w", r.name, err))
		}
		if err := r.q.Close(); err != nil {
			errs = append(errs, fmt.Errorf("exporter %s: close queue: %w", r.name, err))
		}
	}
	a.exporters = nil
	return errors.Join(errs...)
}

// fanout returns a Putter that puts every item into each of queues, at
// once, and returns when all have it. One queue's failure does not stop
// the others; the errors are joined, so a *model.OverloadedError stays
// visible to errors.As and the sender retries. The queues that took the
// item then hold it twice, which the backend's deduplication absorbs.
func fanout(queues []otlp.Putter) otlp.Putter {
	if len(queues) == 1 {
		return queues[0]
	}
	return multiPutter(queues)
}

type multiPutter []otlp.Putter

// Put puts item into every queue concurrently.
func (m multiPutter) Put(ctx context.Context, item []byte) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, q := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = q.Put(ctx, item)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
