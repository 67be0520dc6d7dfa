package poll

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// DLT645 is the DL/T 645 protocol over a master.
//
// A meter that refuses a block DI (0201FF00) with an abnormal reply is
// read its block's members one by one (02010100, 02010200, 02010300)
// in the same request, until the first member it does not answer; the
// reads are the quantities the block would give. Answers, when set,
// remembers which meters refuse which blocks, so that they are asked for
// the singles directly, and the block again only after Answers.Retry.
//
// A date-and-time request (2007: 0400010C; 1997: C01F) comes back as a
// date read and a time read from one transaction; a meter that refuses it
// is read date, time, date, and a pair whose two dates differ (the meter's
// day changed while the time was read) is read once more, then refused as
// not joinable rather than joined into a clock a day off.
type DLT645 struct {
	Master  *master.Master
	Now     func() time.Time // nil: time.Now
	Answers *Answers         // nil: every block is tried at every read
}

// Answers is what a collector has learnt of its meters: the block DIs each
// refuses. The zero value is ready and believes a refusal for a day.
type Answers struct {
	Retry time.Duration // how long a refusal holds before the block is asked again; 0: 24h

	mu      sync.Mutex
	refused map[string]map[dlt645.DI]time.Time // meter -> block -> when refused
}

// Refuses reports whether meter refused block at a time still within Retry
// of now.
func (a *Answers) Refuses(meter string, block dlt645.DI, now time.Time) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.refused[meter][block]
	return ok && now.Sub(at) < a.retry()
}

func (a *Answers) retry() time.Duration {
	if a.Retry <= 0 {
		return 24 * time.Hour
	}
	return a.Retry
}

// set records that meter refuses block (refused) or answers it.
func (a *Answers) set(meter string, block dlt645.DI, refused bool, now time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !refused {
		delete(a.refused[meter], block)
		return
	}
	if a.refused == nil {
		a.refused = map[string]map[dlt645.DI]time.Time{}
	}
	if a.refused[meter] == nil {
		a.refused[meter] = map[dlt645.DI]time.Time{}
	}
	a.refused[meter][block] = now
}

// Refused lists, per meter, the blocks it is believed to refuse at now.
func (a *Answers) Refused(now time.Time) map[string][]dlt645.DI {
	out := map[string][]dlt645.DI{}
	if a == nil {
		return out
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for m, bs := range a.refused {
		for b := range bs {
			if now.Sub(bs[b]) < a.retry() {
				out[m] = append(out[m], b)
			}
		}
	}
	return out
}

// WriteTo writes what a has learnt, one refusal a line: the meter, the
// block DI in hex and when it refused it (RFC 3339).
func (a *Answers) WriteTo(w io.Writer) (int64, error) {
	a.mu.Lock()
	var lines []string
	for m, bs := range a.refused {
		for b, at := range bs {
			lines = append(lines, fmt.Sprintf("%s %08X %s\n", m, uint32(b), at.Format(time.RFC3339)))
		}
	}
	a.mu.Unlock()
	sort.Strings(lines)
	n, err := io.WriteString(w, strings.Join(lines, ""))
	return int64(n), err
}

// ReadFrom adds the refusals of r, as WriteTo writes them; a bad line is
// an error naming its line number, and the lines before it are kept.
func (a *Answers) ReadFrom(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	var n int64
	for line := 1; sc.Scan(); line++ {
		n += int64(len(sc.Bytes())) + 1
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return n, fmt.Errorf("line %d: %q: want meter, block DI and time", line, text)
		}
		di, err := strconv.ParseUint(f[1], 16, 32)
		if err != nil {
			return n, fmt.Errorf("line %d: block DI %q: not hexadecimal", line, f[1])
		}
		at, err := time.Parse(time.RFC3339, f[2])
		if err != nil {
			return n, fmt.Errorf("line %d: time %q: %v", line, f[2], err)
		}
		a.set(f[0], dlt645.DI(di), true, at)
	}
	return n, sc.Err()
}

// Load reads the refusals saved in the file at path; a missing file is
// none.
func (a *Answers) Load(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := a.ReadFrom(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Save writes the refusals to the file at path (through a temporary file,
// so that a crash leaves the old one).
func (a *Answers) Save(path string) error {
	var buf bytes.Buffer
	a.WriteTo(&buf)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Date-and-time DIs: one transaction that gives the meter's date and time.
const (
	DateTime2007 dlt645.DI = 0x0400010C // YYMMDDWWhhmmss (verify against the meter's manual)
	DateTime1997 dlt645.DI = 0xC01F     // the C010 date and C011 time block
)

// dateTimeParts are the date and time DIs of ed.
func dateTimeParts(ed dlt645.Edition) (date, clock dlt645.DI) {
	if ed == dlt645.DLT1997 {
		return 0xC010, 0xC011
	}
	return 0x04000101, 0x04000102
}

// singles are the member DIs of a block DI (nil for a plain DI).
func singles(ed dlt645.Edition, di dlt645.DI) []dlt645.DI {
	s, ok := ed.Registry().Lookup(di)
	if !ok || len(s.Members) == 0 {
		return nil
	}
	out := make([]dlt645.DI, len(s.Members))
	for i, m := range s.Members {
		out[i] = m.DI
	}
	return out
}

// Do sends one read (or load-profile read) and decodes the answer.
func (p DLT645) Do(ctx context.Context, t Target, rq Request, base meter.Read) ([]meter.Read, error) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	if rq.TimeSync {
		at := now()
		f, err := t.Edition.BroadcastTimeRequest(dlt645.DateTimeOf(at, dlt645.YYMMDDhhmmss))
		if err != nil {
			return nil, err
		}
		wire, err := p.Master.Send(ctx, &f)
		if err != nil {
			return nil, err
		}
		base.Quantity, base.Status, base.ReadAt = "broadcast time sync", meter.OK, at
		base.Text = at.Format("2006-01-02T15:04:05")
		base.Frame.Request = wire
		return []meter.Read{base}, nil
	}
	addr, err := dlt645.ParseAddress(t.Address)
	if err != nil {
		base.Status, base.Err, base.ReadAt = meter.Failed, err.Error(), now()
		return []meter.Read{base}, nil // asking again will not help
	}
	if rq.Blocks == 0 && (rq.DI == DateTime2007 || rq.DI == DateTime1997) {
		return p.dateTime(ctx, t, addr, rq, base, now)
	}
	if m := singles(t.Edition, rq.DI); rq.Blocks == 0 && len(m) > 0 {
		if p.Answers.Refuses(t.Address, rq.DI, now()) {
			return p.members(ctx, t, addr, m, base, now)
		}
		reads, err := p.one(ctx, t, addr, rq, base, now)
		if err != nil {
			return nil, err
		}
		refused := len(reads) == 1 && (reads[0].Status == meter.NoData || reads[0].Status == meter.Refused) && reads[0].Frame.Reply != nil
		p.Answers.set(t.Address, rq.DI, refused, now())
		if refused {
			return p.members(ctx, t, addr, m, base, now)
		}
		return reads, nil
	}
	return p.one(ctx, t, addr, rq, base, now)
}

// members reads a refused block's members one by one, until the first the
// meter does not answer (a single-phase meter's phase B, a fifth tariff).
func (p DLT645) members(ctx context.Context, t Target, addr dlt645.Address, dis []dlt645.DI, base meter.Read, now func() time.Time) ([]meter.Read, error) {
	var out []meter.Read
	for i, di := range dis {
		b := base
		b.DI, b.Quantity = di, Asked(t.Edition, di)
		reads, err := p.one(ctx, t, addr, Request{DI: di}, b, now)
		if err != nil {
			return nil, err
		}
		answered := false
		for _, r := range reads {
			if r.Status == meter.OK {
				answered = true
			}
		}
		if !answered {
			if i == 0 {
				return reads, nil // not even the first: the meter has none of it
			}
			break
		}
		out = append(out, reads...)
	}
	return out, nil
}

// dateTime reads the meter's date and time as a date read and a time read
// that belong together (see DLT645).
func (p DLT645) dateTime(ctx context.Context, t Target, addr dlt645.Address, rq Request, base meter.Read, now func() time.Time) ([]meter.Read, error) {
	dDI, tDI := dateTimeParts(t.Edition)
	if !p.Answers.Refuses(t.Address, rq.DI, now()) {
		reads, err := p.one(ctx, t, addr, rq, base, now)
		if err != nil {
			return nil, err
		}
		refused := len(reads) == 1 && (reads[0].Status == meter.NoData || reads[0].Status == meter.Refused) && reads[0].Frame.Reply != nil
		p.Answers.set(t.Address, rq.DI, refused, now())
		if !refused {
			return reads, nil
		}
	}
	single := func(di dlt645.DI) (meter.Read, error) {
		b := base
		b.DI, b.Quantity = di, Asked(t.Edition, di)
		reads, err := p.one(ctx, t, addr, Request{DI: di}, b, now)
		if err != nil {
			return meter.Read{}, err
		}
		return reads[0], nil
	}
	date, err := single(dDI)
	if err != nil {
		return nil, err
	}
	var clock meter.Read
	for try := 0; try < 2; try++ {
		if clock, err = single(tDI); err != nil {
			return nil, err
		}
		after, err := single(dDI)
		if err != nil {
			return nil, err
		}
		if date.Status != meter.OK || clock.Status != meter.OK || after.Status != meter.OK || after.Text == date.Text {
			return []meter.Read{date, clock}, nil
		}
		// the meter's day changed between the two: the time belongs to
		// neither for certain; read the time again after the new date
		if try == 1 {
			after.Status, after.Err = meter.Failed, fmt.Sprintf("date changed from %s to %s while the time was read: not joined", date.Text, after.Text)
			return []meter.Read{after, clock}, nil
		}
		date = after
	}
	return []meter.Read{date, clock}, nil
}

// splitDateTime turns the data of a date-and-time reply into the date
// read and the time read it holds: 2007 0400010C is ss mm hh WW DD MM YY,
// 1997 C01F is the C010 date (WW DD MM YY) then the C011 time (ss mm hh).
func splitDateTime(ed dlt645.Edition, data []byte, r meter.Read) []meter.Read {
	dDI, tDI := dateTimeParts(ed)
	if len(data) != 7 {
		r.Status, r.Err = meter.Failed, fmt.Sprintf("date and time %s: %d bytes, want 7", r.DI.Format(ed), len(data))
		return []meter.Read{r}
	}
	date, clock := data[3:7], data[0:3]
	if ed == dlt645.DLT1997 {
		date, clock = data[0:4], data[4:7]
	}
	var out []meter.Read
	for _, part := range []struct {
		di   dlt645.DI
		data []byte
	}{{dDI, date}, {tDI, clock}} {
		b := r
		out = append(out, values(ed, Request{DI: part.di}, part.data, b)...)
	}
	return out
}

// one is one read transaction.
func (p DLT645) one(ctx context.Context, t Target, addr dlt645.Address, rq Request, base meter.Read, now func() time.Time) ([]meter.Read, error) {
	var err error
	var req dlt645.Frame
	if rq.Blocks > 0 {
		req, err = t.Edition.ReadProfileRequest(addr, rq.DI, rq.Blocks, rq.From)
	} else {
		req, err = t.Edition.ReadRequest(addr, rq.DI)
	}
	if err != nil {
		base.Status, base.Err, base.ReadAt = meter.Failed, err.Error(), now()
		return []meter.Read{base}, nil
	}
	var tx master.Transaction
	data, err := p.Master.ReadData(ctx, t.Edition, req, &tx)
	base.Frame.Request, base.Frame.Reply = tx.Request, tx.Replies
	base.ReadAt = now()
	var me *dlt645.MeterError
	switch {
	case err == nil && (rq.DI == DateTime2007 || rq.DI == DateTime1997):
		return splitDateTime(t.Edition, data, base), nil
	case err == nil:
		return values(t.Edition, rq, data, base), nil
	case errors.As(err, &me):
		// the meter answered: no point asking again
		base.Status, base.Err = meter.Refused, me.Error()
		if me.NoData() {
			base.Status = meter.NoData
		}
		return []meter.Read{base}, nil
	}
	return nil, err
}

// values turns the value bytes of a reply into reads, one per value.
func values(ed dlt645.Edition, rq Request, data []byte, base meter.Read) []meter.Read {
	vals, err := ed.Registry().Decode(rq.DI, data, nil)
	if err != nil {
		base.Status, base.Err = meter.Failed, err.Error()
		return []meter.Read{base}
	}
	out := make([]meter.Read, 0, len(vals))
	for i := range vals {
		v := &vals[i]
		r := base
		r.DI, r.Quantity, r.Unit, r.Status = v.DI, v.Name, v.Unit, meter.OK
		switch {
		case v.NoData:
			r.Status = meter.NoData
		case v.Kind == dlt645.KindNumber:
			r.Value = v.Number
		default:
			r.Text = v.String()
		}
		out = append(out, r)
	}
	return out
}
