package daemon

// serve --cluster with cluster.nats: the node's outbox delivers its reads
// to a replicated NATS JetStream stream (store/jetstream) instead of its
// store, and a node with cluster.nats.writer also consumes the stream
// into its configured store. Queries (API, analysis) keep reading that
// store (docs/cluster.md).

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/jetstream"
)

// lagEvery is how often the stream's lag is asked of its servers, for
// /status and the metrics.
const lagEvery = 2 * time.Second

// streamRun is the node's part of the reads stream: its connection, the
// Publisher its outbox delivers to and, on a writer node, the Writer.
type streamRun struct {
	o    jetstream.Options
	nc   *nats.Conn
	pub  *jetstream.Publisher
	w    *jetstream.Writer // nil unless cluster.nats.writer
	log  *slog.Logger
	stop context.CancelFunc // ends the writer (if Stop did not) and the lag poller
	done sync.WaitGroup

	mu     sync.Mutex
	lag    *jetstream.Lag // the last answer; nil before the first
	lagAt  time.Time
	lagErr string
}

// streamNode is the node whose outbox delivers to the stream: the
// cluster node's name under serve --cluster with cluster.nats, else ""
// (the outbox delivers to the store, as a single node's does).
func streamNode(cfg *config.Config, cl *clusterRun) string {
	if cl == nil || !cfg.Cluster.NATS.Enabled() {
		return ""
	}
	return cl.node.Name()
}

// openStream connects to cluster.nats and makes the node's Publisher and,
// with writer: true, its Writer into st. Servers that cannot be reached
// yet are not an error (the outbox keeps the reads until they are); what
// they refuse is.
func openStream(ctx context.Context, s jetstream.Settings, node string, st store.Store, log *slog.Logger) (*streamRun, error) {
	if err := jetstream.CheckNode(node); err != nil {
		return nil, fmt.Errorf("cluster.nats: %v (set cluster.node, else the host name is the node's name)", err)
	}
	o := s.Options(node)
	nc, err := jetstream.Dial(o)
	if err != nil {
		return nil, fmt.Errorf("cluster.nats.urls: %w", err)
	}
	r := &streamRun{o: o, nc: nc, log: log.With("component", "stream")}
	if r.pub, err = jetstream.NewPublisher(ctx, nc, o); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster.nats: %w", err)
	}
	if s.Writer {
		if r.w, err = jetstream.NewWriter(ctx, nc, st, o, r.log); err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster.nats (writer): %w", err)
		}
	}
	return r, nil
}

// start runs the writer and the lag poller until close.
func (r *streamRun) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	if r.w != nil {
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			if err := r.w.Run(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("stream writer stopped", "err", err)
			}
		}()
	}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		t := time.NewTicker(lagEvery)
		defer t.Stop()
		for {
			r.pollLag(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	r.log.Info("stream", "servers", r.o.URLs, "stream", r.o.Stream, "subject", r.pub.Subject(), "writer", r.w != nil)
}

func (r *streamRun) pollLag(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, lagEvery)
	defer cancel()
	var l jetstream.Lag
	var err error
	if r.w != nil {
		l, err = r.w.Lag(ctx)
	} else {
		l, err = jetstream.StreamLag(ctx, r.nc, r.o)
	}
	if ctx.Err() != nil && err != nil {
		return // stopping, or no answer in time: keep the last
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lagErr = ""
	if err != nil {
		r.lagErr = err.Error()
		return
	}
	r.lag, r.lagAt = &l, time.Now()
}

// close is called once the outbox stopped: the publisher closes, the
// writer stops after its store write in flight (10 s at most; what it
// holds is redelivered), and the connection closes.
func (r *streamRun) close() error {
	r.pub.Close()
	var err error
	if r.w != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = r.w.Stop(ctx)
		cancel()
	}
	if r.stop != nil {
		r.stop()
	}
	r.done.Wait()
	r.nc.Close()
	return err
}

// streamStatus is the stream's part of GET /status (cluster.stream).
type streamStatus struct {
	Stream    string                   `json:"stream"`
	Subject   string                   `json:"subject"`             // this node's
	Connected string                   `json:"connected,omitempty"` // the server the node talks to; empty: none now
	Lag       *jetstream.Lag           `json:"lag,omitempty"`       // the writers' progress as of LagAt
	LagAt     time.Time                `json:"lag_at,omitzero"`
	LagErr    string                   `json:"lag_error,omitempty"`
	Publisher jetstream.PublisherStats `json:"publisher"`
	Writer    *jetstream.WriterStats   `json:"writer,omitempty"` // on a writer node
}

func (r *streamRun) status() *streamStatus {
	st := &streamStatus{Stream: r.o.Stream, Subject: r.pub.Subject(), Publisher: r.pub.Stats()}
	if r.nc.IsConnected() {
		st.Connected = r.nc.ConnectedUrlRedacted()
	}
	if r.w != nil {
		ws := r.w.Stats()
		st.Writer = &ws
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lag != nil {
		l := *r.lag
		st.Lag, st.LagAt = &l, r.lagAt
	}
	st.LagErr = r.lagErr
	return st
}

// register adds the stream's metrics, labelled with the node.
func (r *streamRun) register(reg prometheus.Registerer) {
	labels := prometheus.Labels{"node": r.o.Node}
	counter := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "headend", Subsystem: "stream", Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v()) })
	}
	gauge := func(name, help string, v func(jetstream.Lag) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "headend", Subsystem: "stream", Name: name, Help: help, ConstLabels: labels},
			func() float64 {
				r.mu.Lock()
				defer r.mu.Unlock()
				if r.lag == nil {
					return 0
				}
				return v(*r.lag)
			})
	}
	for _, c := range []struct {
		name, help string
		v          func(jetstream.PublisherStats) int64
	}{
		{"published_reads_total", "reads this node's outbox delivered to the stream (PubAcks received)", func(s jetstream.PublisherStats) int64 { return s.Reads }},
		{"published_messages_total", "messages this node published that the stream stored", func(s jetstream.PublisherStats) int64 { return s.Messages }},
		{"publish_duplicates_total", "messages the stream dropped as already held (a batch sent again)", func(s jetstream.PublisherStats) int64 { return s.Duplicates }},
		{"publish_failures_total", "deliveries to the stream that failed (the outbox retries them)", func(s jetstream.PublisherStats) int64 { return s.Failures }},
	} {
		reg.MustRegister(counter(c.name, c.help, func() int64 { return c.v(r.pub.Stats()) }))
	}
	reg.MustRegister(
		gauge("pending_messages", "messages in the stream not yet delivered to a writer",
			func(l jetstream.Lag) float64 { return float64(l.Pending) }),
		gauge("ack_pending_messages", "messages delivered to a writer, not yet acknowledged",
			func(l jetstream.Lag) float64 { return float64(l.AckPending) }),
		gauge("messages", "messages the stream holds (not yet stored by a writer)",
			func(l jetstream.Lag) float64 { return float64(l.Messages) }),
	)
	if r.w == nil {
		return
	}
	for _, c := range []struct {
		name, help string
		v          func(jetstream.WriterStats) int64
	}{
		{"stored_reads_total", "reads this node's writer stored and acknowledged", func(s jetstream.WriterStats) int64 { return s.Reads }},
		{"stored_messages_total", "messages this node's writer stored and acknowledged", func(s jetstream.WriterStats) int64 { return s.Messages }},
		{"redelivered_messages_total", "of those, messages delivered more than once", func(s jetstream.WriterStats) int64 { return s.Redelivered }},
		{"store_failures_total", "store writes of this node's writer that failed (their messages come again)", func(s jetstream.WriterStats) int64 { return s.Failures }},
	} {
		reg.MustRegister(counter(c.name, c.help, func() int64 { return c.v(r.w.Stats()) }))
	}
}
