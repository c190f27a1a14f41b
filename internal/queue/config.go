package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FullPolicy says what Put does when the queue is full.
type FullPolicy string

// Full-queue policies.
const (
	// DropOldest discards the oldest items, acked or not, to make room.
	DropOldest FullPolicy = "drop_oldest"
	// Refuse makes Put return *model.OverloadedError.
	Refuse FullPolicy = "refuse"
)

// Config is the queue's tunable part.
type Config struct {
	// CapacityBytes bounds the bytes of un-acked records (payload plus an
	// 8-byte header each). Disk use may exceed it by up to one segment of
	// acked records not yet deleted. Zero means 1 GiB.
	CapacityBytes int64 `yaml:"capacity_bytes"`
	// SegmentBytes is the size at which a new segment file is started.
	// Zero means 16 MiB. A larger item gets a segment of its own.
	SegmentBytes int64 `yaml:"segment_bytes"`
	// FullPolicy is drop_oldest or refuse; empty means drop_oldest.
	FullPolicy FullPolicy `yaml:"full_policy"`
	// AckSyncInterval bounds how often the ack position is written to disk;
	// acks in between are lost on a crash and their items delivered again.
	// Zero writes the ack position on every Ack.
	AckSyncInterval time.Duration `yaml:"ack_sync_interval"`
	// RetryAfter is the delay Refuse suggests to senders. Zero means 1s.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// Defaults applied to zero fields.
const (
	DefaultCapacityBytes = 1 << 30
	DefaultSegmentBytes  = 16 << 20
	defaultRetryAfter    = time.Second
)

// DefaultConfig returns a 1 GiB queue that drops its oldest items when full
// and writes the ack position at most once a second.
func DefaultConfig() Config {
	return Config{
		CapacityBytes:   DefaultCapacityBytes,
		SegmentBytes:    DefaultSegmentBytes,
		FullPolicy:      DropOldest,
		AckSyncInterval: time.Second,
		RetryAfter:      defaultRetryAfter,
	}
}

// Validate reports every invalid field by its YAML key. It changes nothing.
func (c Config) Validate() error {
	var errs []error
	if c.CapacityBytes < 0 {
		errs = append(errs, fmt.Errorf("capacity_bytes: %d is negative", c.CapacityBytes))
	}
	if c.SegmentBytes < 0 {
		errs = append(errs, fmt.Errorf("segment_bytes: %d is negative", c.SegmentBytes))
	}
	if c.CapacityBytes > 0 && c.SegmentBytes > c.CapacityBytes {
		errs = append(errs, fmt.Errorf("segment_bytes: %d is larger than capacity_bytes %d", c.SegmentBytes, c.CapacityBytes))
	}
	switch c.FullPolicy {
	case "", DropOldest, Refuse:
	default:
		errs = append(errs, fmt.Errorf("full_policy: %q is not drop_oldest or refuse", c.FullPolicy))
	}
	if c.AckSyncInterval < 0 {
		errs = append(errs, fmt.Errorf("ack_sync_interval: %s is negative", c.AckSyncInterval))
	}
	if c.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("retry_after: %s is negative", c.RetryAfter))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.CapacityBytes == 0 {
		c.CapacityBytes = DefaultCapacityBytes
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = min(DefaultSegmentBytes, c.CapacityBytes)
	}
	if c.FullPolicy == "" {
		c.FullPolicy = DropOldest
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = defaultRetryAfter
	}
	return c
}

// Options are the Config plus the queue's collaborators.
type Options struct {
	Config `yaml:",inline"`
	// Registerer receives the queue's metrics; nil means no metrics.
	Registerer prometheus.Registerer `yaml:"-"`
	// Logger receives drop and recovery messages; nil discards them.
	Logger *slog.Logger `yaml:"-"`
}
