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
	// Again is how long after a freeze's read its points without data
	// are asked again, when one of their meters is asked; 0 is 15
	// minutes.
	Again time.Duration

	mu      sync.Mutex
	batches map[batchKey]*batch
	reqs    int64
}

type batchKey struct {
	class meter.Class
	day   time.Time // the freeze's day or month; zero for current data
}

// batch is what one read of every point gave: the replies, by meter. A
// freeze's meter is dropped once each of its identifiers has been handed
// over with data; one without data stays, to be asked again.
type batch struct {
	at    time.Time // read
	tried time.Time // its points without data last asked
	// collected is set once a reply of the batch held data
	collected bool
	meters    map[string]*held
}

// held is one meter's point in a batch.
type held struct {
	p      Point
	reply  *reply
	served uint8 // the identifiers handed over (bits of servedBit)
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
	h, err := p.held(ctx, k, t.Address, now)
	if err != nil {
		return nil, err
	}
	var out []meter.Read
	if h != nil {
		out = p.answer(k, h, rq, base)
		p.served(k, t.Address, h, rq.DI)
	}
	if len(out) == 0 {
		base.Status, base.ReadAt = meter.NoData, now
		base.Err = fmt.Sprintf("terminal %s has no %s of meter %s (no measuring point?)", p.Reader.Session.ID(), k.class, t.Address)
		out = append(out, base)
	}
	return out, nil
}

// answer is the reads of h that answer rq, on base.
func (p *Protocol) answer(k batchKey, h *held, rq poll.Request, base meter.Read) []meter.Read {
	var out []meter.Read
	n := rq.DI & 0xFF
	for _, r := range p.Reader.pointReads(h.reply, h.p) {
		match := r.DI == rq.DI
		if k.class == meter.Daily {
			match = r.DI&^0xFF == rq.DI&^0xFF // the reads carry DI0 01
		}
		if !match {
			continue
		}
		if k.class == meter.Daily && r.DI&0xFF != n {
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
	return out
}

// servedBit is the bit of a freeze's identifier di, and all the bits of
// its class.
func servedBit(class meter.Class, di dlt645.DI) (bit, all uint8) {
	switch class {
	case meter.Daily:
		switch di &^ 0xFF {
		case 0x05060000:
			return 1, 7
		case 0x05060100:
			return 2, 7
		}
		return 4, 7
	case meter.Monthly:
		if di == 0x0001FF01 {
			return 1, 3
		}
		return 2, 3
	}
	return 0, 0xFF
}

// served notes that di of meter m was handed over, and drops the meter
// from a freeze's batch once all of its identifiers have been, with
// data: its reads are in the store, the frames with them.
func (p *Protocol) served(k batchKey, m string, h *held, di dlt645.DI) {
	bit, all := servedBit(k.class, di)
	p.mu.Lock()
	defer p.mu.Unlock()
	h.served |= bit
	if h.served == all && !h.reply.empty(h.p) {
		if b := p.batches[k]; b != nil && b.meters[m] == h {
			delete(b.meters, m)
			if len(b.meters) == 0 {
				b.meters = map[string]*held{} // a map keeps its buckets
			}
		}
	}
}

// held returns meter m's point in batch k, reading the batch when it has
// not been read (or its current data is stale), the meter's point alone
// when the batch does not hold it (it was handed over, or is new), and
// the batch's points without data again after Again; nil when the
// channel has no point for m.
func (p *Protocol) held(ctx context.Context, k batchKey, m string, now time.Time) (*held, error) {
	p.mu.Lock()
	b := p.batches[k]
	if b != nil && k.class == meter.Instantaneous && now.Sub(b.at) >= p.fresh() {
		b = nil
	}
	var ask []Point
	var h *held
	switch {
	case b == nil:
		ask = p.Points()
	default:
		h = b.meters[m]
		switch {
		case h == nil:
			for _, pt := range p.Points() {
				if pt.Meter == m {
					ask = []Point{pt}
				}
			}
			if ask == nil {
				p.mu.Unlock()
				return nil, nil
			}
		case k.class != meter.Instantaneous && h.reply.empty(h.p) && now.Sub(b.tried) >= p.again():
			for _, x := range b.meters {
				if x.reply.empty(x.p) {
					ask = append(ask, x.p)
				}
			}
			b.tried = now
		default:
			p.mu.Unlock()
			return h, nil
		}
	}
	p.mu.Unlock()
	reps, n, err := p.Reader.fetch(ctx, ask, k.class, k.day)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs += int64(n)
	if err != nil && (b == nil || len(reps) == 0) {
		return nil, err
	}
	if b == nil {
		b = &batch{at: now, tried: now, meters: map[string]*held{}}
		p.keep(k, b)
	}
	for _, f := range reps {
		// the terminal has collected when an earlier read of the
		// batch had data: a point asked again alone is not "nothing
		// collected yet"
		f.reply.collected = f.reply.collected || b.collected
		b.collected = b.collected || f.reply.collected
		for _, pt := range f.points {
			b.meters[pt.Meter] = &held{p: pt, reply: f.reply}
		}
	}
	return b.meters[m], nil
}

// keep files batch b under k, dropping a class's batches more than 3
// days older (the backfill walks back one day at a time).
func (p *Protocol) keep(k batchKey, b *batch) {
	if p.batches == nil {
		p.batches = map[batchKey]*batch{}
	}
	for old := range p.batches {
		if old.class == k.class && k.day.Sub(old.day) > 3*24*time.Hour {
			delete(p.batches, old)
		}
	}
	p.batches[k] = b
}

func (p *Protocol) again() time.Duration {
	if p.Again > 0 {
		return p.Again
	}
	return 15 * time.Minute
}

// Unserved takes out what the freezes' batches hold that no meter's task
// has asked for yet: for each meter with data, the reads of the
// identifiers not yet handed over, as its daily (or monthly) task would
// have had them, one slice per meter and freeze. The collector hands them
// on when it stops: they were read from the terminal, and a stop that
// dropped them would read them again after the restart at best.
func (p *Protocol) Unserved() [][]meter.Read {
	now := p.Reader.now()
	loc := p.Reader.loc()
	today := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]meter.Read
	for k, b := range p.batches {
		var dis []dlt645.DI
		switch k.class {
		case meter.Daily:
			n := 0
			for d := k.day; d.Before(today); d = d.AddDate(0, 0, 1) {
				n++
			}
			if n < 1 || n > 62 {
				continue // no longer a day the meter's index names
			}
			dis = []dlt645.DI{0x05060000 | dlt645.DI(n), 0x05060100 | dlt645.DI(n), 0x05060200 | dlt645.DI(n)}
		case meter.Monthly:
			dis = []dlt645.DI{0x0001FF01, 0x0002FF01}
		default:
			continue // current data is read again at the next start
		}
		for m, h := range b.meters {
			if h.reply.empty(h.p) {
				continue
			}
			var reads []meter.Read
			for _, di := range dis {
				bit, _ := servedBit(k.class, di)
				if h.served&bit != 0 {
					continue
				}
				base := meter.Read{Meter: m, Area: h.p.Area, Channel: h.p.Channel, Class: k.class,
					DI: di, Edition: dlt645.DLT2007, Quantity: poll.Asked(dlt645.DLT2007, di)}
				reads = append(reads, p.answer(k, h, poll.Request{DI: di}, base)...)
				h.served |= bit
			}
			if len(reads) > 0 {
				out = append(out, reads)
			}
			delete(b.meters, m)
		}
	}
	return out
}
