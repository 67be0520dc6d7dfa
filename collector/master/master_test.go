package master

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/protocol/dlt645"
)

// scripted is a Link that answers every Send with the next scripted frames.
type scripted struct {
	script [][][]byte // per Send: frames (nil entry: a malformed frame)
	queue  [][]byte
	sent   [][]byte
}

func (s *scripted) Send(_ context.Context, b []byte) error {
	s.sent = append(s.sent, b)
	if len(s.script) > 0 {
		s.queue = append(s.queue, s.script[0]...)
		s.script = s.script[1:]
	}
	return nil
}

func (s *scripted) Receive(context.Context, time.Time) ([]byte, error) {
	if len(s.queue) == 0 {
		return nil, link.ErrTimeout
	}
	b := s.queue[0]
	s.queue = s.queue[1:]
	if b == nil {
		return nil, &dlt645.FrameError{Err: dlt645.ErrChecksum}
	}
	return b, nil
}
func (s *scripted) Discard()          { s.queue = nil }
func (s *scripted) State() link.State { return link.State{Online: true} }
func (s *scripted) Close() error      { return nil }

var (
	meter = dlt645.MustParseAddress("000012345678")
	other = dlt645.MustParseAddress("000012345679")
)

// wirer returns a function that encodes a built frame, failing t on error.
func wirer(t *testing.T) func(dlt645.Frame, error) []byte {
	return func(f dlt645.Frame, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func TestStrayAndCorruptFramesAreSkippedAndCounted(t *testing.T) {
	wire := wirer(t)
	good := wire(dlt645.DLT2007.ReadReply(meter, 0x00010000, []byte{0x78, 0x56, 0x34, 0x12}, false))
	l := &scripted{script: [][][]byte{{
		nil, // corrupt
		wire(dlt645.DLT2007.ReadReply(other, 0x00010000, []byte{1, 0, 0, 0}, false)), // another meter
		wire(dlt645.DLT2007.ReadReply(meter, 0x00020000, []byte{1, 0, 0, 0}, false)), // another DI
		wire(dlt645.DLT2007.ReadRequest(meter, 0x00010000)),                          // an echo of the request
		good,
	}}}
	m := &Master{Link: l}
	req, _ := dlt645.DLT2007.ReadRequest(meter, 0x00010000)
	var tx Transaction
	data, err := m.ReadData(context.Background(), dlt645.DLT2007, req, &tx)
	if err != nil || string(data) != "\x78\x56\x34\x12" {
		t.Fatalf("%v % X", err, data)
	}
	if m.Stats.BadFrames.Load() != 1 || m.Stats.Stray.Load() != 3 || m.Stats.Replies.Load() != 1 {
		t.Fatalf("stats bad %d stray %d replies %d", m.Stats.BadFrames.Load(), m.Stats.Stray.Load(), m.Stats.Replies.Load())
	}
	if m.Stats.Answered.Load() != 1 || m.Stats.MeanLatency() <= 0 {
		t.Fatalf("latency not recorded: %d answered, mean %v", m.Stats.Answered.Load(), m.Stats.MeanLatency())
	}
	if len(tx.Replies) != 1 || string(tx.Replies[0]) != string(good) || len(tx.Request) != 4+16 {
		t.Fatalf("transaction %+v", tx)
	}
}

func TestAbnormalGarbageAndTimeout(t *testing.T) {
	wire := wirer(t)
	l := &scripted{script: [][][]byte{
		{wire(dlt645.DLT2007.AbnormalReply(meter, dlt645.OpRead, 1<<1))},
		{nil, nil},
		{},
	}}
	m := &Master{Link: l}
	req, _ := dlt645.DLT2007.ReadRequest(meter, 0x00010000)
	_, err := m.ReadData(context.Background(), dlt645.DLT2007, req, nil)
	var me *dlt645.MeterError
	if !errors.As(err, &me) || !me.NoData() {
		t.Fatalf("abnormal: %v", err)
	}
	if _, err = m.ReadData(context.Background(), dlt645.DLT2007, req, nil); !errors.Is(err, ErrGarbage) || !errors.Is(err, link.ErrTimeout) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err = m.ReadData(context.Background(), dlt645.DLT2007, req, nil); !errors.Is(err, link.ErrTimeout) || errors.Is(err, ErrGarbage) {
		t.Fatalf("timeout: %v", err)
	}
	if m.Stats.Timeouts.Load() != 2 || m.Stats.Abnormal.Load() != 1 {
		t.Fatalf("timeouts %d abnormal %d", m.Stats.Timeouts.Load(), m.Stats.Abnormal.Load())
	}
}

func TestFollowUpsAreJoined(t *testing.T) {
	wire := wirer(t)
	answer := make([]byte, 300)
	for i := range answer {
		answer[i] = byte(i)
	}
	parts, _ := dlt645.DLT2007.SplitReply(meter, 0x06000001, answer)
	var script [][][]byte
	for _, p := range parts {
		script = append(script, [][]byte{wire(p, nil)})
	}
	l := &scripted{script: script}
	m := &Master{Link: l}
	req, _ := dlt645.DLT2007.ReadRequest(meter, 0x06000001)
	var tx Transaction
	data, err := m.ReadData(context.Background(), dlt645.DLT2007, req, &tx)
	if err != nil || string(data) != string(answer) || len(tx.Replies) != 2 || len(l.sent) != 2 {
		t.Fatalf("%v: %d bytes, %d replies, %d sent", err, len(data), len(tx.Replies), len(l.sent))
	}
}
