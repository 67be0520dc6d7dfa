package fieldops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/protocol/dlt645"
)

// ScanRequest asks which meters are on a bus.
type ScanRequest struct {
	// From and To bound an address range to search, both included; each
	// address gets a read of its forward active energy. Empty: no search.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Wildcard searches the bus by address wildcards (see search.go):
	// it finds meters with any addresses, several on one bus, in about
	// 1 + 100 requests per collision plus one per meter. It is the
	// default when neither a range nor ReadAddress is asked for.
	Wildcard bool `json:"wildcard,omitempty"`
	// ReadAddress asks the wildcard address AA..AA for the one meter on
	// a point-to-point line (function 13); with several meters on the
	// bus their replies collide and nobody is heard.
	ReadAddress bool `json:"read_address,omitempty"`
	// Edition is what to speak: 2007, 1997 or both (the default).
	Edition string `json:"edition,omitempty"`
	// TimeoutMS is how long to wait at each address of the range, and
	// how long the wildcard search listens after each probe (it must
	// cover the slowest meter's reply); 0 is Options.ScanTimeout.
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// Progress, if set, is told after each request how far the scan is.
	Progress func(ScanProgress) `json:"-"`
}

// ScanProgress is how far a scan is.
type ScanProgress struct {
	Done  int `json:"done"`  // addresses or wildcard patterns probed
	Total int `json:"total"` // addresses to probe; 0 when unknown (a wildcard search)
	Found int `json:"found"` // meters found so far
	// Probing is the address or wildcard pattern probed last, or the
	// meter just found.
	Probing string `json:"probing,omitempty"`
}

// Found is a meter that answered.
type Found struct {
	Address string         `json:"address"`
	Edition dlt645.Edition `json:"edition"`
	How     string         `json:"how"` // "read address", "search" (a range) or "wildcard"
	Note    string         `json:"note,omitempty"`
	// InArchive says whether the archive knows the meter on this bus
	// (set when the scan ran through the collector); ArchiveChannel is
	// where the archive has it when that is another channel.
	InArchive      *bool  `json:"in_archive,omitempty"`
	ArchiveChannel string `json:"archive_channel,omitempty"`
}

// ScanResult is what a scan found.
type ScanResult struct {
	Channel string `json:"channel,omitempty"`
	Probed  int    `json:"probed"` // addresses and wildcard patterns visited
	// Requests is how many requests the scan sent, confirmations and
	// retries included.
	Requests int     `json:"requests"`
	Found    []Found `json:"found"`
	// Missing are the meters the archive has on this bus in the range
	// searched that did not answer (set through the collector).
	Missing []string `json:"missing,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// scanPlan is a checked scan request.
type scanPlan struct {
	lo, hi   uint64 // range, when search
	search   bool
	readAddr bool
	wildcard bool
	eds      []dlt645.Edition
	timeout  time.Duration
}

func (p *scanPlan) total() int {
	n := 0
	if p.readAddr {
		n++
	}
	if p.search {
		n += int(p.hi - p.lo + 1)
	}
	return n
}

// ParseRange checks an address range: two addresses (leading zeros may
// be missing), the first not above the second, at most MaxScan apart.
func ParseRange(from, to string) (lo, hi uint64, err error) {
	num := func(param, s string) (uint64, error) {
		if strings.TrimSpace(s) == "" {
			return 0, badParam(param, "required with a range search (both from and to)")
		}
		n, err := archive.NormalizeAddress(s)
		if err != nil {
			return 0, badParam(param, "%v", err)
		}
		v, _ := strconv.ParseUint(n, 10, 64)
		return v, nil
	}
	if lo, err = num("from", from); err != nil {
		return 0, 0, err
	}
	if hi, err = num("to", to); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, badParam("to", "%012d is below from %012d", hi, lo)
	}
	if hi-lo >= MaxScan {
		return 0, 0, badParam("to", "the range holds %d addresses; a scan visits at most %d", hi-lo+1, MaxScan)
	}
	return lo, hi, nil
}

func (o *Options) checkScan(rq ScanRequest) (scanPlan, error) {
	var p scanPlan
	switch strings.ToLower(strings.TrimSpace(rq.Edition)) {
	case "", "both", "any":
		p.eds = []dlt645.Edition{dlt645.DLT2007, dlt645.DLT1997}
	default:
		ed, err := dlt645.ParseEdition(rq.Edition)
		if err != nil {
			return p, badParam("edition", "%q: want 2007, 1997 or both", rq.Edition)
		}
		p.eds = []dlt645.Edition{ed}
	}
	if rq.From != "" || rq.To != "" {
		var err error
		if p.lo, p.hi, err = ParseRange(rq.From, rq.To); err != nil {
			return p, err
		}
		p.search = true
	}
	p.readAddr = rq.ReadAddress
	p.wildcard = rq.Wildcard || !p.search && !p.readAddr
	if rq.TimeoutMS < 0 || rq.TimeoutMS > 60000 {
		return p, badParam("timeout_ms", "%d: want 1 to 60000 (0: the default)", rq.TimeoutMS)
	}
	p.timeout = orDefault(time.Duration(rq.TimeoutMS)*time.Millisecond, orDefault(o.ScanTimeout, 500*time.Millisecond))
	return p, nil
}

func probeDI(ed dlt645.Edition) dlt645.DI {
	if ed == dlt645.DLT1997 {
		return 0x9010
	}
	return 0x00010000
}

// scan runs a checked scan. progress, if set, is called after each
// address of a range or read address with the count done and the total;
// rich, if set, after each request.
func (s *session) scan(ctx context.Context, p scanPlan, progress func(done, total int), rich func(ScanProgress)) (*ScanResult, error) {
	out := &ScanResult{Channel: s.channel, Found: []Found{}}
	total := p.total()
	if p.wildcard {
		total = 0 // not known in advance
	}
	tell := func(probing string) {
		if progress != nil && total > 0 {
			progress(out.Probed, total)
		}
		if rich != nil {
			rich(ScanProgress{Done: out.Probed, Total: total, Found: len(out.Found), Probing: probing})
		}
	}
	step := func() {
		out.Probed++
		tell("")
	}
	once := Options{Now: s.o.Now, Location: s.o.Location, Gap: s.o.Gap, Retries: -1}
	if p.readAddr {
		rs := &session{m: s.m, channel: s.channel, o: &once, busy: s.busy}
		found := false
		for _, ed := range p.eds {
			rs.ed = ed
			req, err := ed.ReadAddressRequest()
			if err != nil {
				return out, err
			}
			before := s.m.Stats.Requests.Load()
			msg, err := rs.exchange(ctx, "AAAAAAAAAAAA", &req)
			out.Requests += int(s.m.Stats.Requests.Load() - before)
			if err == nil {
				out.Found = append(out.Found, Found{Address: msg.Address.String(), Edition: ed, How: "read address"})
				found = true
				break
			}
			if !errors.Is(err, ErrNoAnswer) && !errors.Is(err, ErrRefused) && !errors.Is(err, master.ErrGarbage) {
				return out, err
			}
		}
		if !found {
			out.Notes = append(out.Notes, "read address: no single answer (no meter on the line, or several whose replies collide)")
		}
		s.busy = rs.busy
		step()
	}
	if p.wildcard {
		ws := &session{m: s.m, channel: s.channel, o: &once, busy: s.busy}
		for _, ed := range p.eds {
			ws.ed = ed
			if err := ws.wildcard(ctx, ed, p.timeout, out, tell); err != nil {
				return out, fmt.Errorf("wildcard search (%s) stopped after %d requests: %w", ed, out.Requests, err)
			}
		}
		s.busy = ws.busy
	}
	if !p.search {
		return out, nil
	}
	probe := &master.Master{Link: s.m.Link, Timeout: p.timeout, Preamble: s.m.Preamble, Now: s.m.Now}
	ps := &session{m: probe, channel: s.channel, o: &once, busy: s.busy}
	for n := p.lo; n <= p.hi; n++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		addrS := fmt.Sprintf("%012d", n)
		addr, _ := dlt645.ParseAddress(addrS)
		for _, ed := range p.eds {
			ps.ed = ed
			req, err := ed.ReadRequest(addr, probeDI(ed))
			if err != nil {
				return out, err
			}
			before := probe.Stats.Requests.Load()
			_, err = ps.exchange(ctx, addrS, &req)
			out.Requests += int(probe.Stats.Requests.Load() - before)
			f := Found{Address: addrS, Edition: ed, How: "search"}
			switch {
			case err == nil:
			case errors.Is(err, ErrRefused):
				f.Note = "answered, refusing the probe read"
			case errors.Is(err, ErrNoAnswer):
				continue
			case errors.Is(err, ErrBadAnswer) && errors.Is(err, master.ErrGarbage):
				f.Note = "garbled reply: something answers at this address"
			default:
				return out, fmt.Errorf("scan stopped at %s: %w", addrS, err)
			}
			out.Found = append(out.Found, f)
			break
		}
		step()
	}
	s.busy = ps.busy
	return out, nil
}
