package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scripted is a link whose every transaction answers with what the
// script says for the meter: a reply frame, malformed frames, nothing,
// or a link that is down.
type scripted struct {
	mu      sync.Mutex
	script  map[string]string // meter address -> ok, refuse, nodata, garbage, silent, down
	pending [][]byte
	garbage int
}

func (l *scripted) Send(ctx context.Context, b []byte) error {
	var f dlt645.Frame
	if err := f.UnmarshalBinary(b[4:]); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	addr := f.Address
	di := dlt645.DI(0x00010000)
	var reply dlt645.Frame
	var err error
	switch l.script[addr.String()] {
	case "ok":
		reply, err = dlt645.DLT2007.ReadReply(addr, di, []byte{0x78, 0x56, 0x34, 0x12}, false)
	case "refuse":
		reply, err = dlt645.DLT2007.AbnormalReply(addr, dlt645.OpRead, 0x04)
	case "nodata":
		reply, err = dlt645.DLT2007.AbnormalReply(addr, dlt645.OpRead, 0x02)
	case "garbage":
		l.garbage = 2
		return nil
	case "down":
		return fmt.Errorf("link tcp 127.0.0.1:1: send: %w: dial tcp 127.0.0.1:1: connect: connection refused", link.ErrOffline)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	wire, err := reply.AppendBinary(nil)
	l.pending = append(l.pending, wire)
	return err
}

func (l *scripted) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.garbage > 0 {
		l.garbage--
		return nil, &dlt645.FrameError{Err: dlt645.ErrChecksum, Detail: "sum is 3C, frame says 3D"}
	}
	if len(l.pending) == 0 {
		return nil, link.ErrTimeout
	}
	b := l.pending[0]
	l.pending = l.pending[1:]
	return b, nil
}

func (l *scripted) Discard()          {}
func (l *scripted) State() link.State { return link.State{Online: true} }
func (l *scripted) Close() error      { return nil }

// TestReasonsOfRealFailures runs reads through a real bus and master, so
// that the reasons are bucketed from the errors they really produce.
func TestReasonsOfRealFailures(t *testing.T) {
	script := map[string]string{"000000000001": "ok", "000000000002": "refuse", "000000000003": "nodata",
		"000000000004": "garbage", "000000000005": "silent", "000000000006": "down"}
	m := New()
	lk := &scripted{script: script}
	bus := poll.New(poll.DLT645{Master: &master.Master{Link: lk, Timeout: time.Millisecond}}, m.ObserveReads,
		poll.Options{Channel: "C1", Retries: -1, BreakAfter: 1, Observe: m.ObserveTransaction,
			Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go bus.Run(ctx)
	run := func(addr string, n int) []meter.Read {
		done := make(chan []meter.Read, 1)
		rqs := make([]poll.Request, n)
		for i := range rqs {
			rqs[i] = poll.Request{DI: 0x00010000}
		}
		bus.Enqueue(poll.Task{Target: poll.Target{Address: addr, Edition: dlt645.DLT2007}, Class: meter.Daily, Requests: rqs, Done: done})
		return <-done
	}
	want := map[string]string{"000000000001": "", "000000000002": Refused, "000000000003": NoData,
		"000000000004": Garbage, "000000000005": Timeout, "000000000006": LinkDown}
	for addr, reason := range want {
		rs := run(addr, 1)
		if got := Reason(&rs[0]); got != reason {
			t.Errorf("%s (%s): reason %q, want %q (status %s, err %q)", addr, script[addr], got, reason, rs[0].Status, rs[0].Err)
		}
	}
	// the silent meter's breaker is open now: a probe, then skipped
	rs := run("000000000005", 2)
	if Reason(&rs[1]) != BreakerOpen {
		t.Errorf("behind an open breaker: %+v", rs[1])
	}

	for reason, n := range map[string]float64{Refused: 1, NoData: 1, Garbage: 1, Timeout: 2, LinkDown: 1, BreakerOpen: 1} {
		if got := testutil.ToFloat64(m.failures.WithLabelValues(reason)); got != n {
			t.Errorf("read_failures_total{reason=%q} = %v, want %v", reason, got, n)
		}
	}
	if got := testutil.ToFloat64(m.reads.WithLabelValues("daily", "ok")); got != 1 {
		t.Errorf("ok daily reads %v", got)
	}
	if got := testutil.ToFloat64(m.reads.WithLabelValues("daily", "skipped")); got != 1 {
		t.Errorf("skipped daily reads %v", got)
	}
	// answered transactions (ok, refused, no data) are timed; the others counted by reason
	if got := testutil.ToFloat64(m.txns.WithLabelValues("C1", "ok")); got != 3 {
		t.Errorf("ok transactions %v", got)
	}
	for _, r := range []string{Garbage, Timeout, LinkDown} {
		if got := testutil.ToFloat64(m.txns.WithLabelValues("C1", r)); got < 1 {
			t.Errorf("transactions_total{result=%q} = %v", r, got)
		}
	}
	if n := testutil.CollectAndCount(m.latency); n != 1 {
		t.Errorf("%d latency series", n)
	}
}

func TestReasonOfOtherErrors(t *testing.T) {
	for msg, want := range map[string]string{
		"after 3 tries: modbus unit 4 registers 0000..0010: read tcp 127.0.0.1:50312->127.0.0.1:15020: i/o timeout":     Timeout,
		"after 1 tries: modbus unit 4 registers 0000..0010: dial tcp 127.0.0.1:15020: connect: connection refused":      LinkDown,
		"after 1 tries: modbus unit 4 registers 0000..0010: modbus: exception '2' (illegal data address), function '4'": Refused,
		"after 1 tries: modbus: response crc '1234' does not match expected '4321'":                                     Checksum,
		"dlt645: bad BCD: byte 1 of 4 is AB":                                                    Garbage,
		"after 3 tries: link mqtt gateway G1: send: link: not connected (connection lost: EOF)": LinkDown,
		"something new": Other,
		"":              Other,
	} {
		r := meter.Read{Status: meter.Failed, Err: msg}
		if got := Reason(&r); got != want {
			t.Errorf("%q: %q, want %q", msg, got, want)
		}
	}
}

func TestExposition(t *testing.T) {
	m := New()
	m.ObserveReads([]meter.Read{{Class: meter.Interval, Status: meter.OK}, {Class: meter.Interval, Status: meter.Failed, Err: "after 3 tries: link: no reply before the deadline"}})
	m.ObserveTransaction("C0102-1", 120*time.Millisecond, nil)
	m.ObserveTransaction("C0102-1", 2*time.Second, errors.New("link: no reply before the deadline"))
	m.VEE("estimated", 4)
	m.VEE("valid", 0)
	m.Loss(2)
	m.QueueDepth(func() map[string]int { return map[string]int{"C0102-1": 3, "C0103-1": 0} })
	m.Backlog(func() (int64, int64, bool) { return 5, 4096, true })
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := string(b)
	for _, w := range []string{
		`headend_reads_total{class="interval",status="ok"} 1`,
		`headend_reads_total{class="interval",status="failed"} 1`,
		`headend_read_failures_total{reason="timeout"} 1`,
		`headend_transaction_duration_seconds_bucket{channel="C0102-1",le="0.2"} 1`,
		`headend_transaction_duration_seconds_count{channel="C0102-1"} 1`,
		`headend_transactions_total{channel="C0102-1",result="timeout"} 1`,
		`headend_bus_queue_depth{channel="C0102-1"} 3`,
		`headend_bus_queue_depth{channel="C0103-1"} 0`,
		`headend_store_backlog_batches 5`,
		`headend_store_backlog_bytes 4096`,
		`headend_outbox_full 1`,
		`headend_vee_outcomes_total{quality="estimated"} 4`,
		`headend_loss_computations_total 2`,
		`go_goroutines `,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("exposition lacks %s", w)
		}
	}
	if strings.Contains(out, `quality="valid"`) {
		t.Error("VEE of 0 reads made a series")
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`# HELP headend_outbox_full 1 while the outbox is full and polling is held back.
# TYPE headend_outbox_full gauge
headend_outbox_full 1
`), "headend_outbox_full"); err != nil {
		t.Error(err)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.ObserveReads([]meter.Read{{Status: meter.Failed}})
	m.ObserveTransaction("x", time.Second, nil)
	m.VEE("valid", 1)
	m.Loss(1)
	m.QueueDepth(nil)
	m.Backlog(nil)
	m.OutboxBlocked(nil)
}

// Why the outbox cannot take reads shows as a labelled gauge, and the
// waits it cost as a counter by reason; 0 once it takes reads again.
func TestOutboxBlocked(t *testing.T) {
	m := New()
	reason, waits := "low disk", map[string]int64{"low disk": 7, "outbox full": 2}
	m.OutboxBlocked(func() (string, map[string]int64) { return reason, waits })
	want := `# HELP headend_outbox_blocked_waits_total Waits of a bus for the outbox to take a batch, by the reason it could not.
# TYPE headend_outbox_blocked_waits_total counter
headend_outbox_blocked_waits_total{reason="low disk"} 7
headend_outbox_blocked_waits_total{reason="outbox full"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "headend_outbox_blocked_waits_total"); err != nil {
		t.Error(err)
	}
	gauge := func(series string) {
		t.Helper()
		want := `# HELP headend_outbox_blocked 1 while the outbox cannot take reads and polling is held back, with the reason (outbox full, low disk, disk full, ...); 0 with reason "" otherwise.
# TYPE headend_outbox_blocked gauge
` + series + "\n"
		if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "headend_outbox_blocked"); err != nil {
			t.Error(err)
		}
	}
	gauge(`headend_outbox_blocked{reason="low disk"} 1`)
	reason = ""
	gauge(`headend_outbox_blocked{reason=""} 0`)
}

// FuzzReason: any error text buckets into one of the known reasons, so
// that the reason label stays a short fixed set.
func FuzzReason(f *testing.F) {
	f.Add("after 3 tries: master: only garbage before the deadline (2 malformed frames): link: no reply before the deadline")
	f.Add("link: not connected")
	f.Add("\xff")
	known := map[string]bool{Timeout: true, Checksum: true, Garbage: true, LinkDown: true, Refused: true, NoData: true, BreakerOpen: true, Other: true}
	f.Fuzz(func(t *testing.T, msg string) {
		r := meter.Read{Status: meter.Failed, Err: msg}
		if got := Reason(&r); !known[got] {
			t.Fatalf("%q: reason %q", msg, got)
		}
	})
}
