// Package metrics is the head-end's Prometheus registry: what the
// collector reads and how it fails, how long transactions take per
// channel, how full the buses and the store's outbox are, and what VEE
// and the loss computation did. Every series is prefixed headend_:
//
//	reads_total{class,status}                read.Read by class and status
//	read_failures_total{reason}              reads that are not ok, by Reason
//	transaction_duration_seconds{channel}    answered transactions (histogram)
//	transactions_total{channel,result}       every transaction: ok or a Reason
//	bus_queue_depth{channel}                 tasks waiting on each bus
//	store_backlog_batches, store_backlog_bytes  outbox not yet in the store
//	outbox_full                              1 while polling is held back
//	outbox_blocked{reason}                   1 while the outbox cannot take reads, and why
//	outbox_blocked_waits_total{reason}       waits of a bus for the outbox, by reason
//	vee_outcomes_total{quality}              reads by the quality VEE gave them
//	loss_computations_total                  line-loss computations
//
// plus the Go runtime and process collectors. A nil *Metrics does
// nothing, so that wiring it is optional.
package metrics

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/meter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Failure reasons, the values of the reason label.
const (
	Timeout     = "timeout"      // no reply before the deadline
	Checksum    = "checksum"     // a frame with a bad checksum, end byte or length
	Garbage     = "garbage"      // only malformed or undecodable bytes came back
	LinkDown    = "link_down"    // the link is not connected, closed, or the connection broke
	Refused     = "refused"      // the meter answered with an error (abnormal reply, Modbus exception)
	NoData      = "no_data"      // the meter has no such value
	BreakerOpen = "breaker_open" // not tried: the meter's circuit breaker is open
	Other       = "other"
)

// Metrics is the registry and its series.
type Metrics struct {
	reg       *prometheus.Registry
	reads     *prometheus.CounterVec
	failures  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	txns      *prometheus.CounterVec
	vee       *prometheus.CounterVec
	loss      prometheus.Counter
	callbacks *callbacks
}

// New returns a registry with every series registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "headend", Name: "reads_total",
			Help: "Reads handed on by the collector, by reading class and status."}, []string{"class", "status"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "headend", Name: "read_failures_total",
			Help: "Reads that are not ok, by reason."}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "headend", Name: "transaction_duration_seconds",
			Help:    "Time from request to answer of answered transactions, per channel.",
			Buckets: []float64{.05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10}}, []string{"channel"}),
		txns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "headend", Name: "transactions_total",
			Help: "Transactions per channel: ok, or the reason they failed."}, []string{"channel", "result"}),
		vee: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "headend", Name: "vee_outcomes_total",
			Help: "Reads through validation, estimation and editing, by the quality they came out with."}, []string{"quality"}),
		loss: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "headend", Name: "loss_computations_total",
			Help: "Line-loss computations of a transformer area and period."}),
		callbacks: &callbacks{
			queue:   prometheus.NewDesc("headend_bus_queue_depth", "Tasks waiting on a channel's bus.", []string{"channel"}, nil),
			batches: prometheus.NewDesc("headend_store_backlog_batches", "Batches of reads in the outbox not yet confirmed by the store.", nil, nil),
			bytes:   prometheus.NewDesc("headend_store_backlog_bytes", "Bytes of reads in the outbox not yet confirmed by the store.", nil, nil),
			full:    prometheus.NewDesc("headend_outbox_full", "1 while the outbox is full and polling is held back.", nil, nil),
			blocked: prometheus.NewDesc("headend_outbox_blocked", "1 while the outbox cannot take reads and polling is held back, with the reason (outbox full, low disk, disk full, ...); 0 with reason \"\" otherwise.",
				[]string{"reason"}, nil),
			waits: prometheus.NewDesc("headend_outbox_blocked_waits_total", "Waits of a bus for the outbox to take a batch, by the reason it could not.",
				[]string{"reason"}, nil),
		},
	}
	m.reg.MustRegister(m.reads, m.failures, m.latency, m.txns, m.vee, m.loss, m.callbacks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry, for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveReads counts a batch of reads (the collector's sink calls it).
func (m *Metrics) ObserveReads(reads []meter.Read) {
	if m == nil {
		return
	}
	for i := range reads {
		r := &reads[i]
		m.reads.WithLabelValues(string(r.Class), string(r.Status)).Inc()
		if r.Status != meter.OK {
			m.failures.WithLabelValues(Reason(r)).Inc()
		}
	}
}

// ObserveTransaction records one transaction of a bus; it fits
// poll.Options.Observe.
func (m *Metrics) ObserveTransaction(channel string, d time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.txns.WithLabelValues(channel, reasonOf(err.Error())).Inc()
		return
	}
	m.txns.WithLabelValues(channel, "ok").Inc()
	m.latency.WithLabelValues(channel).Observe(d.Seconds())
}

// VEE counts n reads that VEE gave quality.
func (m *Metrics) VEE(quality string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.vee.WithLabelValues(quality).Add(float64(n))
}

// Loss counts n line-loss computations.
func (m *Metrics) Loss(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.loss.Add(float64(n))
}

// QueueDepth sets the function that reports the tasks waiting per
// channel at each scrape (nil: none); a later call replaces it.
func (m *Metrics) QueueDepth(f func() map[string]int) {
	if m == nil {
		return
	}
	m.callbacks.mu.Lock()
	m.callbacks.queueFn = f
	m.callbacks.mu.Unlock()
}

// Backlog sets the function that reports the outbox's backlog and
// whether it is full at each scrape (nil: none).
func (m *Metrics) Backlog(f func() (batches, bytes int64, full bool)) {
	if m == nil {
		return
	}
	m.callbacks.mu.Lock()
	m.callbacks.backlogFn = f
	m.callbacks.mu.Unlock()
}

// OutboxBlocked sets the function that reports, at each scrape, why the
// outbox cannot take reads now ("" when it can) and the waits of the
// buses for it so far by reason (nil: none).
func (m *Metrics) OutboxBlocked(f func() (reason string, waits map[string]int64)) {
	if m == nil {
		return
	}
	m.callbacks.mu.Lock()
	m.callbacks.blockedFn = f
	m.callbacks.mu.Unlock()
}

// callbacks is a collector of the gauges read at scrape time.
type callbacks struct {
	queue, batches, bytes, full, blocked, waits *prometheus.Desc

	mu        sync.Mutex
	queueFn   func() map[string]int
	backlogFn func() (int64, int64, bool)
	blockedFn func() (string, map[string]int64)
}

func (c *callbacks) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queue
	ch <- c.batches
	ch <- c.bytes
	ch <- c.full
	ch <- c.blocked
	ch <- c.waits
}

func (c *callbacks) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	q, b, bl := c.queueFn, c.backlogFn, c.blockedFn
	c.mu.Unlock()
	if bl != nil {
		reason, waits := bl()
		v := 0.0
		if reason != "" {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.blocked, prometheus.GaugeValue, v, reason)
		for r, n := range waits {
			ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(n), r)
		}
	}
	if q != nil {
		for name, n := range q() {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n), name)
		}
	}
	if b != nil {
		batches, bytes, full := b()
		f := 0.0
		if full {
			f = 1
		}
		ch <- prometheus.MustNewConstMetric(c.batches, prometheus.GaugeValue, float64(batches))
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(bytes))
		ch <- prometheus.MustNewConstMetric(c.full, prometheus.GaugeValue, f)
	}
}

// Reason buckets why a read is not ok: its status for skipped, no-data
// and refused reads, and for failed reads the error the bus, the master,
// the link or Modbus gave (read.Read.Err).
func Reason(r *meter.Read) string {
	switch r.Status {
	case meter.OK:
		return ""
	case meter.Skipped:
		return BreakerOpen
	case meter.NoData:
		return NoData
	case meter.Refused:
		return Refused
	}
	return reasonOf(r.Err)
}

// reasonOf buckets an error message. Order matters: a garbage error
// ends in the timeout it ran into, a link error may wrap a timeout.
func reasonOf(msg string) string {
	m := strings.ToLower(msg)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(m, s) {
				return true
			}
		}
		return false
	}
	switch {
	case m == "":
		return Other
	case has("only garbage"): // master.ErrGarbage
		return Garbage
	case has("bad checksum", "bad end byte", "truncated frame", "oversize length", "response crc"): // dlt645 frame errors, a Modbus RTU CRC
		return Checksum
	case has("link: not connected", "link: closed", "connection refused", "connection reset", "broken pipe",
		"connection lost", "no route to host", "network is unreachable", "use of closed network connection", "eof"):
		return LinkDown
	case has("no reply before the deadline", "i/o timeout", "deadline exceeded", "timeout", "timed out"): // link.ErrTimeout, Modbus
		return Timeout
	case has("modbus: exception"): // a Modbus device answered with an exception
		return Refused
	case has("dlt645: bad bcd", "dlt645: bad decimal", "does not fit", "follow-up", "not a number", "bytes for"): // an answer that does not decode
		return Garbage
	}
	return Other
}
