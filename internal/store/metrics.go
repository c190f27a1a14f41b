package store

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	spansStored      prometheus.Counter
	bytesStored      prometheus.Counter
	refused          prometheus.Counter
	headSpans        prometheus.Gauge
	headBytes        prometheus.Gauge
	blocksWritten    prometheus.Counter
	blockBytes       prometheus.Counter
	blockWriteErrors prometheus.Counter
	blockOpenErrors  prometheus.Counter
	blocksDeleted    *prometheus.CounterVec
	blockReadErrors  prometheus.Counter
	blocks           prometheus.Gauge
	blocksSize       prometheus.Gauge
	searchBlocksRead prometheus.Counter
	searchBlocksSkip prometheus.Counter
}

// Reasons a block is deleted, the values of the reason label of
// waymark_store_blocks_deleted_total.
const (
	reasonRetention = "retention"
	reasonDiskLimit = "disk_limit"
	reasonCompacted = "compacted"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		spansStored:      prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_spans_stored_total", Help: "Spans made durable in the WAL."}),
		bytesStored:      prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_wal_record_bytes_total", Help: "Bytes of WAL records written by the store."}),
		refused:          prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_refused_batches_total", Help: "Batches refused as overloaded (backpressure)."}),
		headSpans:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "waymark_store_head_spans", Help: "Spans in the head."}),
		headBytes:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "waymark_store_head_bytes", Help: "Estimated memory of the spans in the head."}),
		blocksWritten:    prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_blocks_written_total", Help: "Blocks cut from the head."}),
		blockBytes:       prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_block_bytes_written_total", Help: "Bytes of block data files written."}),
		blockWriteErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_block_write_errors_total", Help: "Failed block writes."}),
		blockOpenErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_block_open_errors_total", Help: "Blocks that could not be opened and were skipped."}),
		blocksDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waymark_store_blocks_deleted_total",
			Help: "Blocks deleted, by reason: retention (expired), disk_limit (oldest data over storage.max_disk_bytes) or compacted (merged into a larger block)."}, []string{"reason"}),
		blockReadErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_block_read_errors_total", Help: "Block reads that failed on damaged data; the block's part of the answer was skipped."}),
		blocks:           prometheus.NewGauge(prometheus.GaugeOpts{Name: "waymark_store_blocks", Help: "Open blocks of every tenant."}),
		blocksSize:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "waymark_store_blocks_size_bytes", Help: "Bytes of the data and index objects of the open blocks (what storage.max_disk_bytes bounds)."}),
		searchBlocksRead: prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_search_blocks_read_total", Help: "Blocks a search read."}),
		searchBlocksSkip: prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_store_search_blocks_skipped_total",
			Help: "Blocks a search skipped because their summary (services, span names, attribute values) proves they hold no match."}),
	}
	for _, r := range []string{reasonRetention, reasonDiskLimit, reasonCompacted} {
		m.blocksDeleted.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.spansStored, m.bytesStored, m.refused, m.headSpans, m.headBytes, m.blocksWritten,
			m.blockBytes, m.blockWriteErrors, m.blockOpenErrors, m.blocksDeleted, m.blockReadErrors, m.blocks, m.blocksSize, m.searchBlocksRead, m.searchBlocksSkip)
	}
	return m
}
