package terminal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Protocol is the poll.Protocol of a gdw3761 channel in current or
// frozen mode: the collector's schedules, backfill and on-demand reads
// ask it for a meter's 645 identifiers as they ask any bus, and it
// answers them from the terminal's own data, read for every point of the
// channel at once and kept for the other meters. In frozen mode the
// daily freeze identifiers (05060001, 05060101, 05060201, DI0 the days
// back) come from one AFN 0D F161/F163 read per MaxPoints points and day,
// the last settlement day's registers (0001FF01, 0002FF01) from F177/F179;
// in current mode the current registers and instantaneous values
// (0001FF00, 0002FF00, 0201FF00, 0202FF00, 02030000, 02060000) from AFN
// 0C F129/F131/F25. Everything else goes to Forward (AFN 10).
type Protocol struct {
	Reader  *Reader
	Mode    string         // "current" or "frozen" (archive.ModeCurrent, ModeFrozen)
	Points  func() []Point // the channel's meters with their measuring points
	Forward poll.Protocol  // for what the terminal's data does not hold
	// Fresh is how long a current-data batch serves other meters; 0 is
	// 5 minutes.
	Fresh time.Duration

	mu      sync.Mutex
	batches map[batchKey]*batch
	reqs    int64
}

type batchKey struct {
	class meter.Class
	day   time.Time // the freeze's day or month; zero for current data
}

type batch struct {
	at    time.Time
	reads map[string][]meter.Read // by meter
}

// Requests returns the AFN 0C/0D read requests made so far.
func (p *Protocol) Requests() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reqs
}

func (p *Protocol) fresh() time.Duration {
	if p.Fresh > 0 {
		return p.Fresh
	}
	return 5 * time.Minute
}

// which says how rq is answered: the class of batch, the day, and the
// 645 block its reads are named after.
func (p *Protocol) which(rq poll.Request, now time.Time) (batchKey, bool) {
	if rq.Blocks > 0 || rq.TimeSync {
		return batchKey{}, false
	}
	loc := p.Reader.loc()
	today := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	switch p.Mode {
	case "frozen":
		switch rq.DI &^ 0xFF {
		case 0x05060000, 0x05060100, 0x05060200:
			n := int(rq.DI & 0xFF)
			if n < 1 || n > 62 {
				return batchKey{}, false
			}
			return batchKey{meter.Daily, today.AddDate(0, 0, -n)}, true
		}
		switch rq.DI {
		case 0x0001FF01, 0x0002FF01:
			return batchKey{meter.Monthly, time.Date(today.Year(), today.Month()-1, 1, 0, 0, 0, 0, loc)}, true
		}
	case "current":
		switch rq.DI {
		case 0x0001FF00, 0x0002FF00, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000:
			return batchKey{class: meter.Instantaneous}, true
		}
	}
	return batchKey{}, false
}

// Do answers rq for t from the terminal's data, reading the batch it is
// in when it has not been read yet.
func (p *Protocol) Do(ctx context.Context, t poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	now := p.Reader.now()
	k, ok := p.which(rq, now)
	if !ok {
		if p.Forward == nil {
			return nil, fmt.Errorf("terminal %s: %s is not in its %s data and nothing forwards it", p.Reader.Session.ID(), rq.DI.Format(t.Edition), p.Mode)
		}
		return p.Forward.Do(ctx, t, rq, base)
	}
	b, err := p.batch(ctx, k, now)
	if err != nil {
		return nil, err
	}
	var out []meter.Read
	n := rq.DI & 0xFF
	for _, r := range b.reads[t.Address] {
		match := r.DI == rq.DI
		if k.class == meter.Daily {
			match = r.DI&^0xFF == rq.DI&^0xFF // the reads carry DI0 01
		}
		if r.DI == 0 {
			match = true // the terminal sent nothing for the point
		}
		if !match {
			continue
		}
		if k.class == meter.Daily && r.DI != 0 && r.DI&0xFF != n {
			r.DI = r.DI&^0xFF | n
			r.Quantity = strings.Replace(r.Quantity, "daily freeze -1 ", fmt.Sprintf("daily freeze -%d ", n), 1)
		}
		o := base
		o.DI, o.Quantity, o.Value, o.Text, o.Unit = r.DI, r.Quantity, r.Value, r.Text, r.Unit
		o.MeterTime, o.ReadAt, o.Status, o.Err, o.Frame = r.MeterTime, r.ReadAt, r.Status, r.Err, r.Frame
		if o.Edition == 0 {
			o.Edition = dlt645.DLT2007
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		base.Status, base.ReadAt = meter.NoData, now
		base.Err = fmt.Sprintf("terminal %s has no %s of meter %s (no measuring point?)", p.Reader.Session.ID(), k.class, t.Address)
		out = append(out, base)
	}
	return out, nil
}

func (p *Protocol) batch(ctx context.Context, k batchKey, now time.Time) (*batch, error) {
	p.mu.Lock()
	b := p.batches[k]
	if b != nil && (k.class != meter.Instantaneous || now.Sub(b.at) < p.fresh()) {
		p.mu.Unlock()
		return b, nil
	}
	p.mu.Unlock()
	points := p.Points()
	var reads []meter.Read
	var n int
	var err error
	switch k.class {
	case meter.Daily:
		reads, n, err = p.Reader.ReadDaily(ctx, k.day, points)
	case meter.Monthly:
		reads, n, err = p.Reader.ReadMonthly(ctx, k.day, points)
	default:
		reads, n, err = p.Reader.ReadCurrent(ctx, points)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs += int64(n)
	if err != nil {
		return nil, err
	}
	b = &batch{at: now, reads: map[string][]meter.Read{}}
	for _, r := range reads {
		b.reads[r.Meter] = append(b.reads[r.Meter], r)
	}
	if p.batches == nil {
		p.batches = map[batchKey]*batch{}
	}
	for old := range p.batches { // keep a few days: backfill walks back one day at a time
		if old.class == k.class && k.day.Sub(old.day) > 3*24*time.Hour {
			delete(p.batches, old)
		}
	}
	p.batches[k] = b
	return b, nil
}
