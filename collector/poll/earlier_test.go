package poll

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// flakyLink is a line that loses the first request, answers the second
// with a corrupted reply (its bytes handed on with the FrameError) and
// the third as the meter does.
type flakyLink struct {
	*busLink
	sends   int
	garbage []byte
}

func (l *flakyLink) Send(ctx context.Context, b []byte) error {
	l.sends++
	switch l.sends {
	case 1:
		return nil // lost: the meter never heard it
	case 2:
		l.busLink.Send(ctx, b)
		if len(l.busLink.pending) > 0 {
			g := bytes.Clone(l.busLink.pending[0])
			g[len(g)-2] ^= 0x5A // the checksum
			l.garbage, l.busLink.pending = g, nil
		}
		return nil
	}
	return l.busLink.Send(ctx, b)
}

func (l *flakyLink) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	if g := l.garbage; g != nil {
		l.garbage = nil
		return g, &dlt645.FrameError{Err: dlt645.ErrChecksum, Offset: int64(len(g) - 2)}
	}
	return l.busLink.Receive(ctx, deadline)
}

func TestEveryExchangeOfARetriedReadIsKept(t *testing.T) {
	r := newRig(t, Options{})
	fl := &flakyLink{busLink: r.link}
	r.master.Link = fl
	m := r.area.Customers[4] // a meter without faults
	rs := r.runTasks(t, Task{Target: r.target(m), Class: meter.Instantaneous, Requests: energy(0x00010000)})[0]
	if len(rs) != 1 || rs[0].Status != meter.OK {
		t.Fatalf("reads %+v, want one OK", rs)
	}
	f := rs[0].Frame
	if f.Tries != 3 || len(f.Earlier) != 2 || f.Dropped != 0 {
		t.Fatalf("tries %d, %d earlier exchanges (%d dropped), want 3 and 2", f.Tries, len(f.Earlier), f.Dropped)
	}
	timeout, garbage := f.Earlier[0], f.Earlier[1]
	if !bytes.Equal(timeout.Request, f.Request) || len(timeout.Received) != 0 || !strings.Contains(timeout.Err, link.ErrTimeout.Error()) {
		t.Errorf("try 1: %+v, want the request, nothing received, a timeout", timeout)
	}
	if !bytes.Equal(garbage.Request, f.Request) || len(garbage.Received) != 1 || len(garbage.Received[0]) == 0 ||
		!strings.Contains(garbage.Err, "checksum") {
		t.Errorf("try 2: %+v, want the request, the corrupted frame, a bad checksum", garbage)
	}
	if len(f.Reply) != 1 {
		t.Errorf("try 3: %d reply frames, want 1", len(f.Reply))
	}
}

func TestAFailedReadKeepsWhatTheLineSaid(t *testing.T) {
	r := newRig(t, Options{Retries: 3})
	m := r.area.Customers[0] // index 1: no answer
	rs := r.runTasks(t, Task{Target: r.target(m), Class: meter.Instantaneous, Requests: energy(0x00010000)})[0]
	if len(rs) != 1 || rs[0].Status != meter.Failed {
		t.Fatalf("reads %+v, want one Failed", rs)
	}
	f := rs[0].Frame
	if len(f.Earlier) != 4 {
		t.Fatalf("%d exchanges kept, want all 4 tries", len(f.Earlier))
	}
	for i, x := range f.Earlier {
		if len(x.Request) == 0 || x.Err == "" {
			t.Errorf("try %d: %+v, want its request and its error", i+1, x)
		}
	}
}
