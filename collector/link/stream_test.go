package link

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
)

// The data identifier the tests read: forward active energy, total.
const testDI dlt645.DI = 0x00010000

// meters is a fake bus: each meter answers a read of any DI with its
// value bytes; a meter not in the map is dead (no reply). When gated, every
// request waits for a release from the test after announcing itself.
type meters struct {
	values  map[dlt645.Address][]byte
	arrived chan dlt645.Address // each request's address, when gated
	release chan struct{}       // one token lets one request be answered
}

func newMeters(values map[string][]byte) *meters {
	m := &meters{values: make(map[dlt645.Address][]byte)}
	for a, v := range values {
		m.values[dlt645.MustParseAddress(a)] = v
	}
	return m
}

// gate makes every request wait for the test.
func (m *meters) gate() *meters {
	m.arrived = make(chan dlt645.Address, 16)
	m.release = make(chan struct{}, 16)
	return m
}

func (m *meters) Exchange(ctx context.Context, req []byte) []byte {
	var f dlt645.Frame
	if err := f.UnmarshalBinary(req); err != nil {
		return nil
	}
	msg, err := dlt645.DLT2007.Decode(&f)
	if err != nil || !msg.HasDI {
		return nil
	}
	if m.arrived != nil {
		m.arrived <- msg.Address
		select {
		case <-m.release:
		case <-ctx.Done():
			return nil
		}
	}
	v, ok := m.values[msg.Address]
	if !ok {
		return nil
	}
	reply, err := dlt645.DLT2007.ReadReply(msg.Address, msg.DI, v, false)
	if err != nil {
		return nil
	}
	b, _ := reply.AppendBinary(bytes.Clone(dlt645.Preamble))
	return b
}

var _ field.Bus = (*meters)(nil)

// readRequest is the wire bytes of a read of testDI, with preamble.
func readRequest(t testing.TB, addr string) []byte {
	t.Helper()
	f, err := dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress(addr), testDI)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.AppendBinary(bytes.Clone(dlt645.Preamble))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkReply decodes raw as the read reply of addr and compares its value.
func checkReply(t testing.TB, raw []byte, addr string, want []byte) {
	t.Helper()
	var f dlt645.Frame
	if err := f.UnmarshalBinary(raw); err != nil {
		t.Fatalf("reply % X: %v", raw, err)
	}
	msg, err := dlt645.DLT2007.Decode(&f)
	if err != nil {
		t.Fatalf("reply % X: %v", raw, err)
	}
	if msg.Address != dlt645.MustParseAddress(addr) || !msg.Control.Reply() || msg.DI != testDI || !bytes.Equal(msg.Payload, want) {
		t.Fatalf("reply from %s DI %s control %s value % X; want %s %s value % X",
			msg.Address, msg.DI, msg.Control, msg.Payload, addr, testDI, want)
	}
}

// transact sends a read to addr over l and checks the reply.
func transact(t testing.TB, l Link, addr string, want []byte) {
	t.Helper()
	ctx := t.Context()
	l.Discard()
	if err := l.Send(ctx, readRequest(t, addr)); err != nil {
		t.Fatalf("send to %s: %v", addr, err)
	}
	raw, err := l.Receive(ctx, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatalf("receive from %s: %v", addr, err)
	}
	checkReply(t, raw, addr, want)
}

// expectTimeout sends a read nobody answers and checks that Receive gives
// up with ErrTimeout at the deadline, not before.
func expectTimeout(t testing.TB, l Link, addr string) {
	t.Helper()
	ctx := t.Context()
	l.Discard()
	if err := l.Send(ctx, readRequest(t, addr)); err != nil {
		t.Fatalf("send to %s: %v", addr, err)
	}
	start := time.Now()
	deadline := start.Add(200 * time.Millisecond)
	raw, err := l.Receive(ctx, deadline)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("receive from dead meter %s: % X, %v; want ErrTimeout", addr, raw, err)
	}
	if time.Now().Before(deadline) {
		t.Fatalf("ErrTimeout after %s, before the 200ms deadline", time.Since(start))
	}
}

// Values of the test meters.
var (
	value1 = []byte{0x34, 0x12, 0x00, 0x00} // 12.34 kWh
	value2 = []byte{0x78, 0x56, 0x00, 0x00} // 56.78 kWh
)

const (
	meterA = "000000000001"
	meterB = "000000000002"
	dead   = "000000000099"
)

// logBuffer is a log destination tests can read while links write to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestExpBackoff(t *testing.T) {
	b := ExpBackoff(time.Second, 8*time.Second)
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 10: 8 * time.Second} {
		for range 20 {
			if d := b(attempt); d < want/2 || d > want {
				t.Fatalf("attempt %d: %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
	if d := ExpBackoff(0, 0)(3); d != 0 {
		t.Fatalf("zero back-off gave %s", d)
	}
}

func TestFrameQueueDropsOldest(t *testing.T) {
	q := newFrameQueue(2)
	for i := range 3 {
		if dropped := q.push(item{frame: []byte{byte(i)}}); dropped != (i == 2) {
			t.Fatalf("push %d: dropped %v", i, dropped)
		}
	}
	for _, want := range []byte{1, 2} {
		it, ok := q.pop()
		if !ok || it.frame[0] != want {
			t.Fatalf("pop: %v %v, want %d", it, ok, want)
		}
	}
	q.push(item{})
	q.drain()
	if _, ok := q.pop(); ok {
		t.Fatal("queue not empty after drain")
	}
}
