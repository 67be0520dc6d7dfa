package field

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// Fleet is a load tool, not a simulator: N lightweight Q/GDW 1376.1
// terminals that dial a head-end, log in (AFN 02 F1), heartbeat (F3) and
// answer the daily-freeze reads AFN 0D F161/F163 of their points from
// precomputed values, each answer held back by Delay (the GPRS round
// trip, modelled on the terminal's side). There is no meter bus, clock,
// archive or event log: anything else is denied (AFN 00 F2). Terminal i
// (0-based) has address Area, First+i and points 1..Points; point n's
// forward total is n.1234 kWh with tariffs 1, 2, 3, 4 kWh, its reverse
// total 0.
//
// The zero Fleet is not usable: set Addr and N.
type Fleet struct {
	Addr   string
	Area   uint16
	First  uint16 // first terminal address A2; 0 is 1
	N      int
	Points int // per terminal; 0 is 32
	// Heartbeat is the interval between a terminal's heartbeats; 0 is 60
	// s. Each terminal's first beat falls at its own offset within the
	// first interval, so the fleet's beats are spread evenly.
	Heartbeat time.Duration
	Delay     time.Duration // before each answer
	// Dialers is how many terminals dial at once; 0 is 64 (the
	// listener's accept backlog is finite).
	Dialers      int
	MaxFrameData int // data bytes per reply frame; 0 is 2048

	terms []*loadTerminal
	wg    sync.WaitGroup
	stats struct{ logins, heartbeats, requests, answered, denied, errors atomic.Int64 }
}

// FleetStats count what a Fleet's terminals did.
type FleetStats struct {
	Logins, Heartbeats, Requests, Answered, Denied, Errors int64
}

type loadTerminal struct {
	f    *Fleet
	addr gdw3761.Address
	nc   net.Conn
	wmu  sync.Mutex
	seq  atomic.Uint32
	beat *time.Timer
}

// Start dials and logs in every terminal, Dialers at a time, and returns
// once every login is confirmed (or with the first failure, the fleet
// then closed). The terminals answer and heartbeat until ctx is done or
// Close.
func (f *Fleet) Start(ctx context.Context) error {
	if f.N <= 0 || f.Addr == "" {
		return fmt.Errorf("load fleet: Addr and N must be set")
	}
	if f.First == 0 {
		f.First = 1
	}
	if int(f.First)+f.N-1 > 0xFFFF {
		return fmt.Errorf("load fleet: %d terminals from A2 %d pass 65535", f.N, f.First)
	}
	if f.Points <= 0 {
		f.Points = 32
	}
	if f.Heartbeat <= 0 {
		f.Heartbeat = time.Minute
	}
	if f.Dialers <= 0 {
		f.Dialers = 64
	}
	if f.MaxFrameData <= 0 {
		f.MaxFrameData = 2048
	}
	f.terms = make([]*loadTerminal, f.N)
	for i := range f.terms {
		f.terms[i] = &loadTerminal{f: f, addr: gdw3761.Address{Area: f.Area, Terminal: f.First + uint16(i)}}
	}
	next := atomic.Int64{}
	errs := make(chan error, f.Dialers)
	var dial sync.WaitGroup
	for range f.Dialers {
		dial.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= f.N || ctx.Err() != nil {
					errs <- nil
					return
				}
				if err := f.terms[i].login(ctx); err != nil {
					errs <- fmt.Errorf("load fleet: terminal %v: %w", f.terms[i].addr, err)
					next.Store(int64(f.N))
					return
				}
			}
		})
	}
	dial.Wait()
	close(errs)
	var err error
	for e := range errs {
		err = errors.Join(err, e)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		f.Close()
		return err
	}
	for i, t := range f.terms {
		off := time.Duration(int64(f.Heartbeat) * int64(i) / int64(f.N))
		t.wmu.Lock()
		t.beat = time.AfterFunc(off, t.heartbeat)
		t.wmu.Unlock()
	}
	context.AfterFunc(ctx, func() { f.Close() })
	return nil
}

// Wait waits until every terminal's connection has ended (the head-end
// hung up, or Close).
func (f *Fleet) Wait() { f.wg.Wait() }

// Close hangs up every terminal and waits for their goroutines.
func (f *Fleet) Close() {
	for _, t := range f.terms {
		if t == nil {
			continue
		}
		t.wmu.Lock()
		if t.beat != nil {
			t.beat.Stop()
		}
		t.wmu.Unlock()
		if t.nc != nil {
			t.nc.Close()
		}
	}
	f.wg.Wait()
}

// Stats returns the fleet's counters.
func (f *Fleet) Stats() FleetStats {
	s := &f.stats
	return FleetStats{Logins: s.logins.Load(), Heartbeats: s.heartbeats.Load(), Requests: s.requests.Load(),
		Answered: s.answered.Load(), Denied: s.denied.Load(), Errors: s.errors.Load()}
}

func (t *loadTerminal) send(fr *gdw3761.Frame) error {
	b, err := fr.MarshalBinary()
	if err != nil {
		return err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err = t.nc.Write(b)
	return err
}

func (t *loadTerminal) link(fn uint8) error {
	fr, err := gdw3761.Link(t.addr, uint8(t.seq.Add(1)-1)&0x0F, fn, gdw3761.DateTime{})
	if err != nil {
		return err
	}
	return t.send(&fr)
}

// login dials, logs in, waits for the confirmation and starts serving.
func (t *loadTerminal) login(ctx context.Context) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.f.Addr)
	if err != nil {
		return err
	}
	t.nc = nc
	if err := t.link(1); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	r := gdw3761.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		a, err := r.ReadFrame()
		if err != nil {
			return fmt.Errorf("login answer: %w", err)
		}
		if a.AFN != gdw3761.AFNConfirm {
			continue
		}
		if err := gdw3761.Acknowledged(a); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		break
	}
	nc.SetReadDeadline(time.Time{})
	t.f.stats.logins.Add(1)
	t.f.wg.Go(func() { t.serve(r) })
	return nil
}

func (t *loadTerminal) heartbeat() {
	if err := t.link(3); err != nil {
		t.f.stats.errors.Add(1)
		return
	}
	t.f.stats.heartbeats.Add(1)
	t.wmu.Lock()
	t.beat.Reset(t.f.Heartbeat)
	t.wmu.Unlock()
}

func (t *loadTerminal) serve(r *gdw3761.Reader) {
	for {
		fr, err := r.ReadFrame()
		if err != nil {
			var fe *gdw3761.FrameError
			if errors.As(err, &fe) {
				t.f.stats.errors.Add(1)
				continue
			}
			return
		}
		if fr.Control.Up() || fr.AFN == gdw3761.AFNConfirm {
			continue
		}
		t.f.stats.requests.Add(1)
		replies := t.answer(fr)
		if t.f.Delay <= 0 {
			t.write(replies)
			continue
		}
		time.AfterFunc(t.f.Delay, func() { t.write(replies) })
	}
}

func (t *loadTerminal) write(replies []gdw3761.Frame) {
	for i := range replies {
		if err := t.send(&replies[i]); err != nil {
			t.f.stats.errors.Add(1)
			return
		}
	}
}

// answer returns the reply frames to the request req.
func (t *loadTerminal) answer(req *gdw3761.Frame) []gdw3761.Frame {
	deny := func() []gdw3761.Frame {
		t.f.stats.denied.Add(1)
		r := gdw3761.Frame{Protocol: req.Protocol, Control: gdw3761.MakeControl(true, false, false, false, gdw3761.FuncNoData),
			Address: t.addr, AFN: gdw3761.AFNConfirm, Seq: gdw3761.Single(req.Seq.Num(), false), Data: []byte{0, 0, 0x02, 0}}
		r.Address.Master = req.Address.Master
		return []gdw3761.Frame{r}
	}
	units, err := req.Units(nil)
	if err != nil || len(units) == 0 || req.AFN != gdw3761.AFNClass2 {
		return deny()
	}
	var frames []gdw3761.Frame
	var data []byte
	flush := func() {
		frames = append(frames, gdw3761.Frame{Data: data})
		data = nil
	}
	e := gdw3761.Energy{ReadTime: gdw3761.DateTime{Year: 2026, Month: 1, Day: 1, Minute: 7},
		Tariffs: []gdw3761.Num{gdw3761.N(10000, 4), gdw3761.N(20000, 4), gdw3761.N(30000, 4), gdw3761.N(40000, 4)}}
	var unit []byte
	for _, u := range units {
		if u.Unknown || (u.Fn != 161 && u.Fn != 163) {
			return deny()
		}
		pns := []uint16{u.Pn}
		if u.Pn == gdw3761.AllPoints {
			pns = pns[:0]
			for pn := 1; pn <= t.f.Points; pn++ {
				pns = append(pns, uint16(pn))
			}
		}
		if e.Date, err = gdw3761.A20.Decode(u.Data); err != nil {
			return deny()
		}
		e.ReadTime.Year, e.ReadTime.Month, e.ReadTime.Day = e.Date.Year, e.Date.Month, e.Date.Day
		for _, pn := range pns {
			if pn < 1 || int(pn) > t.f.Points {
				continue
			}
			e.Total = gdw3761.N(int64(pn)*10000+1234, 4)
			if u.Fn == 163 {
				e.Total = gdw3761.N(0, 4)
			}
			d, err := gdw3761.MakeDADT([]uint16{pn}, []uint8{u.Fn})
			if err != nil {
				return deny()
			}
			if unit, err = e.AppendUnit(append(unit[:0], d[:]...), gdw3761.AFNClass2, u.Fn); err != nil {
				return deny()
			}
			if len(data) > 0 && len(data)+len(unit) > t.f.MaxFrameData {
				flush()
			}
			data = append(data, unit...)
		}
	}
	if len(data) > 0 {
		flush()
	}
	if len(frames) == 0 {
		return deny()
	}
	for i := range frames {
		r := gdw3761.Response(req, (req.Seq.Num()+uint8(i))&0x0F, i == 0, i == len(frames)-1)
		r.Address = t.addr
		r.Address.Master = req.Address.Master
		r.Data = frames[i].Data
		frames[i] = r
	}
	t.f.stats.answered.Add(1)
	return frames
}
