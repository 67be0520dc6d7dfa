package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// Writer takes the stream's messages into a store.Store through the
// shared durable pull consumer Options.Durable: it fetches up to
// Options.Fetch messages, writes their reads in one store Write and
// acknowledges each message after the Write returned nil; while it holds
// messages (the next group is fetched during a Write) it marks them in
// progress every third of AckWait, so a slow store does not get them
// redelivered. A failed Write is negatively acknowledged with a delay of
// Options.Backoff(deliveries), so the messages come back (to this writer
// or another) until the store takes them: nothing is lost. A message whose bytes do not decode is
// reported (a *CorruptError naming the stream sequence) and terminated,
// so it is neither retried forever nor holds up the others.
//
// Several Writers, one per node, may run at once: they share the
// consumer, and JetStream gives each message to one of them at a time.
// A Writer whose context ends leaves what it holds unacknowledged: it is
// redelivered after Options.AckWait and written again, which
// store.Store.Write's idempotence makes harmless. Stop is the clean end:
// after the write in flight, giving back what it fetched at once.
//
// Order is kept within a message, not across messages: a naked message
// comes back after those behind it, and several writers store side by
// side. Points are keyed, so this matters only for two different values
// of one key (a re-read that changed), where the later write wins.
type Writer struct {
	o     Options
	st    store.Store
	js    jetstream.JetStream
	strm  jetstream.Stream   // nil until bound
	cons  jetstream.Consumer // nil until bound
	log   *slog.Logger
	mu    sync.Mutex
	stats WriterStats
	held  map[jetstream.Msg]bool // fetched, not yet acknowledged or naked
	stop  chan struct{}          // closed by Stop
	once  sync.Once
	done  chan struct{} // closed when Run returns; nil while it does not run
}

// WriterStats count what a Writer did since it was made.
type WriterStats struct {
	Writes      int64  `json:"writes"`       // store Writes that returned nil
	Messages    int64  `json:"messages"`     // messages written and acknowledged
	Reads       int64  `json:"reads"`        // reads in them
	Redelivered int64  `json:"redelivered"`  // of those, messages delivered more than once
	Failures    int64  `json:"failures"`     // store Writes that failed (their messages naked)
	Terminated  int64  `json:"terminated"`   // corrupt messages terminated
	AckErrors   int64  `json:"ack_errors"`   // acknowledgements not confirmed (the message may come again)
	LastError   string `json:"last_error"`   // the last error of any kind
	LastStore   string `json:"last_store"`   // the last store error
	LastCorrupt string `json:"last_corrupt"` // the last corrupt message (a *CorruptError)
	LastSeq     uint64 `json:"last_seq"`     // stream sequence of the last message acknowledged
}

// CorruptError reports a message of the stream whose data is not an
// encoded batch of reads.
type CorruptError struct {
	Stream  string
	Seq     uint64 // stream sequence
	Subject string // the publishing node's subject
	Reason  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("jetstream: stream %s message %d (subject %s): %v; terminated", e.Stream, e.Seq, e.Subject, e.Reason)
}

func (e *CorruptError) Unwrap() error { return e.Reason }

// NewWriter binds the shared durable consumer on nc (which it does not
// close), creating the stream and the consumer if they do not exist yet,
// to write into st. Messages go to log (nil: slog.Default()). As with
// NewPublisher, servers that cannot be reached leave the binding to Run;
// what they refuse is an error.
func NewWriter(ctx context.Context, nc *nats.Conn, st store.Store, o Options, log *slog.Logger) (*Writer, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	w := &Writer{o: o, st: st, js: js, log: log.With("stream", o.Stream, "consumer", o.Durable), stop: make(chan struct{})}
	if _, _, err := w.bind(ctx); err != nil && refused(err) {
		return nil, err
	}
	return w, nil
}

// bind returns the stream and the consumer, making them the first time.
func (w *Writer) bind(ctx context.Context) (jetstream.Stream, jetstream.Consumer, error) {
	w.mu.Lock()
	s, c := w.strm, w.cons
	w.mu.Unlock()
	if c != nil {
		return s, c, nil
	}
	s, err := EnsureStream(ctx, w.js, w.o)
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	c, err = s.CreateOrUpdateConsumer(cctx, jetstream.ConsumerConfig{
		Durable:       w.o.Durable,
		Description:   "head-end storage writers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.o.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 64 * w.o.Fetch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream: consumer %s of stream %s: %w", w.o.Durable, w.o.Stream, err)
	}
	w.mu.Lock()
	w.strm, w.cons = s, c
	w.mu.Unlock()
	return s, c, nil
}

// Run writes the stream's messages into the store until ctx ends, and
// returns ctx's error, or until Stop, and returns nil. Errors on the way
// (a NATS server away, a store down) are retried; see Stats. One Run at
// a time.
func (w *Writer) Run(ctx context.Context) error {
	done := make(chan struct{})
	w.mu.Lock()
	w.done = done
	w.mu.Unlock()
	defer close(done)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stopped := false
	defer func() {
		cancel()
		wg.Wait()
		w.mu.Lock()
		held := w.held
		w.held = nil // left to their redelivery
		w.mu.Unlock()
		if stopped {
			for m := range held {
				_ = m.Nak() // to another writer now, not after AckWait
			}
		}
	}()
	groups := make(chan group) // unbuffered: the fetcher holds one group ahead
	wg.Add(2)
	go func() { defer wg.Done(); w.fetchLoop(ctx, groups) }()
	go func() { defer wg.Done(); w.keepAlive(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.stop:
			stopped = true
			return nil
		case g := <-groups:
			select {
			case <-w.stop: // Stop came during the write before: g is not written
				w.hold(g.msgs, true)
				stopped = true
				return nil
			default:
			}
			w.store(ctx, g)
		}
	}
}

// Stop ends Run cleanly: the store Write in flight, if any, completes and
// is acknowledged, and the messages fetched but not written are
// negatively acknowledged at once, so that another writer takes them
// without waiting for AckWait. It waits for Run to return (a fetch in
// flight ends within FetchWait and a second) or for ctx to end.
func (w *Writer) Stop(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jetstream: writer of %s/%s: stopping: %w", w.o.Stream, w.o.Durable, ctx.Err())
	}
}

// group is what one fetch gave: the messages that decoded, and their reads.
type group struct {
	msgs  []jetstream.Msg
	reads []meter.Read
}

// fetchLoop fetches groups and hands them on until ctx ends.
func (w *Writer) fetchLoop(ctx context.Context, groups chan<- group) {
	fails := 0
	for ctx.Err() == nil {
		g, err := w.fetch(ctx)
		if ctx.Err() != nil {
			return // what it holds is redelivered after AckWait
		}
		if err != nil {
			fails++
			w.fail(err)
			if sleep(ctx, w.o.Backoff(fails)) != nil {
				return
			}
			continue
		}
		fails = 0
		if len(g.msgs) == 0 {
			continue
		}
		select {
		case groups <- g:
		case <-ctx.Done():
			return // what it holds is redelivered after AckWait
		}
	}
}

// fetch takes up to Options.Fetch messages, terminating those that do not
// decode. They are held (see keepAlive) until acknowledged.
func (w *Writer) fetch(ctx context.Context) (group, error) {
	_, cons, err := w.bind(ctx)
	if err != nil {
		return group{}, err
	}
	// Not FetchContext: with it the client gives the pull request up
	// only 10 % after the server does, and a message the server sent just
	// before its expiry, arriving later on a loaded machine, would be
	// dropped and wait AckWait for its redelivery. With FetchMaxWait the
	// client waits a second more; ctx is looked at between fetches.
	batch, err := cons.Fetch(w.o.Fetch, jetstream.FetchMaxWait(w.o.FetchWait))
	if err != nil {
		return group{}, fmt.Errorf("jetstream: fetch from %s/%s: %w", w.o.Stream, w.o.Durable, err)
	}
	var g group
	for m := range batch.Messages() {
		rs, err := outbox.DecodeBatch(m.Data())
		if err != nil {
			w.terminate(m, err)
			continue
		}
		g.msgs = append(g.msgs, m)
		g.reads = append(g.reads, rs...)
	}
	w.hold(g.msgs, true)
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil && len(g.msgs) == 0 {
		return group{}, fmt.Errorf("jetstream: fetch from %s/%s: %w", w.o.Stream, w.o.Durable, err)
	}
	return g, nil
}

// store writes a group to the store and acknowledges it, or naks it.
func (w *Writer) store(ctx context.Context, g group) {
	werr := w.st.Write(ctx, g.reads)
	if ctx.Err() != nil {
		// Stopping (or killed, as a test does it): no acknowledgement,
		// the messages are redelivered after AckWait.
		return
	}
	if werr != nil {
		w.nak(g.msgs, werr)
	} else {
		w.ack(ctx, g.msgs, len(g.reads))
	}
	w.hold(g.msgs, false)
}

// hold adds msgs to the messages held, or removes them.
func (w *Writer) hold(msgs []jetstream.Msg, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		w.held = map[jetstream.Msg]bool{}
	}
	for _, m := range msgs {
		if on {
			w.held[m] = true
		} else {
			delete(w.held, m)
		}
	}
}

// keepAlive tells the server every third of AckWait that the messages held
// (waiting for the store or in its Write) are in progress, so that a slow
// store does not get them redelivered to another writer meanwhile.
func (w *Writer) keepAlive(ctx context.Context) {
	t := time.NewTicker(w.o.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		msgs := make([]jetstream.Msg, 0, len(w.held))
		for m := range w.held {
			msgs = append(msgs, m)
		}
		w.mu.Unlock()
		for _, m := range msgs {
			_ = m.InProgress()
		}
	}
}

func (w *Writer) terminate(m jetstream.Msg, reason error) {
	cerr := &CorruptError{Stream: w.o.Stream, Subject: m.Subject(), Reason: reason}
	if md, err := m.Metadata(); err == nil {
		cerr.Seq = md.Sequence.Stream
	}
	if err := m.Term(); err != nil {
		w.log.Warn("terminating a corrupt message failed; it comes again", "seq", cerr.Seq, "err", err)
	}
	w.log.Error(cerr.Error(), "seq", cerr.Seq, "subject", cerr.Subject)
	w.mu.Lock()
	w.stats.Terminated++
	w.stats.LastError, w.stats.LastCorrupt = cerr.Error(), cerr.Error()
	w.mu.Unlock()
}

func (w *Writer) nak(msgs []jetstream.Msg, werr error) {
	var first, last uint64
	for _, m := range msgs {
		attempt := 1
		if md, err := m.Metadata(); err == nil {
			attempt = int(md.NumDelivered)
			if first == 0 {
				first = md.Sequence.Stream
			}
			last = md.Sequence.Stream
		}
		_ = m.NakWithDelay(w.o.Backoff(attempt))
	}
	err := fmt.Errorf("jetstream: writing messages %d..%d of stream %s to the store: %w (redelivered later)", first, last, w.o.Stream, werr)
	w.log.Warn(err.Error())
	w.mu.Lock()
	w.stats.Failures++
	w.stats.LastError, w.stats.LastStore = err.Error(), err.Error()
	w.mu.Unlock()
}

// ack acknowledges msgs, all at once, and waits for the server to
// confirm each (an unconfirmed ack is counted: the message may come again).
func (w *Writer) ack(ctx context.Context, msgs []jetstream.Msg, reads int) {
	var redelivered int64
	var last uint64
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.o.Timeout)
	defer cancel()
	errs := make(chan error, len(msgs))
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil {
			if md.NumDelivered > 1 {
				redelivered++
			}
			last = max(last, md.Sequence.Stream)
		}
		go func() { errs <- m.DoubleAck(actx) }()
	}
	var ackErrs int64
	for range msgs {
		if err := <-errs; err != nil {
			ackErrs++
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Writes++
	w.stats.Messages += int64(len(msgs))
	w.stats.Reads += int64(reads)
	w.stats.Redelivered += redelivered
	w.stats.AckErrors += ackErrs
	w.stats.LastSeq = max(w.stats.LastSeq, last)
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	w.stats.LastError = err.Error()
	w.mu.Unlock()
}

// Stats returns the counters since NewWriter.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
