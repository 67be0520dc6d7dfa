package fieldops

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/protocol/dlt645"
)

// Daemon does the field operations through the running collector: each
// one waits for its turn on the meter's bus and has the bus to itself
// while it runs (polling on that bus waits). Meters and channels must be
// in the collector's archive. A long scan holds its bus for its whole
// length.
type Daemon struct {
	// Collector returns the collector running now (it changes on a
	// reload); nil, or a nil result, means none is.
	Collector func() *collector.Collector
	// Options apply to every operation; Gap is taken from each channel.
	Options
}

func (d *Daemon) current() (*collector.Collector, *archive.Index, error) {
	if d.Collector == nil {
		return nil, nil, ErrUnavailable
	}
	c := d.Collector()
	if c == nil {
		return nil, nil, ErrUnavailable
	}
	return c, c.ArchiveIndex(), nil
}

// meter finds a meter of the archive that speaks DL/T 645.
func (d *Daemon) meter(s string) (*collector.Collector, *archive.Index, *archive.Meter, dlt645.Edition, error) {
	n, _, err := parseMeter("meter", s)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	c, ix, err := d.current()
	if err != nil {
		return nil, nil, nil, 0, err
	}
	m, ok := ix.Meter(n)
	if !ok {
		return nil, nil, nil, 0, fmt.Errorf("%w: %s is not in the archive", ErrUnknownMeter, n)
	}
	ed, ok := m.Edition.DLT645()
	if !ok {
		return nil, nil, nil, 0, fmt.Errorf("%w: meter %s is read over Modbus, not DL/T 645", ErrUnsupported, n)
	}
	return c, ix, m, ed, nil
}

// on runs fn in a session on target's bus, in its turn.
func (d *Daemon) on(ctx context.Context, c *collector.Collector, ix *archive.Index, target, channel string, fn func(s *session) error) error {
	o := d.Options
	if ch, ok := ix.Channel(channel); ok {
		o.Gap = ch.Gap
	}
	err := c.Do(ctx, target, func(ctx context.Context, m *master.Master, ed dlt645.Edition) error {
		return fn(&session{m: m, ed: ed, channel: channel, o: &o})
	})
	switch {
	case errors.Is(err, collector.ErrNoTarget):
		return fmt.Errorf("%w: %w", ErrUnknownMeter, err)
	case errors.Is(err, collector.ErrNotDLT645), errors.Is(err, collector.ErrStopping):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// ReadMeter reads items (see ParseItems) from a meter of the archive.
func (d *Daemon) ReadMeter(ctx context.Context, meter string, items []string) (*Reading, error) {
	c, ix, m, ed, err := d.meter(meter)
	if err != nil {
		return nil, err
	}
	dis, err := ParseItems(ed, "di", items)
	if err != nil {
		return nil, err
	}
	var out *Reading
	err = d.on(ctx, c, ix, m.Address, m.Channel, func(s *session) error {
		var err error
		out, err = s.read(ctx, m.Address, dis)
		return err
	})
	if out != nil {
		out.Area = m.Area
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadClock reads a meter's clock.
func (d *Daemon) ReadClock(ctx context.Context, meter string) (*ClockReading, error) {
	c, ix, m, _, err := d.meter(meter)
	if err != nil {
		return nil, err
	}
	var out *ClockReading
	err = d.on(ctx, c, ix, m.Address, m.Channel, func(s *session) error {
		addr, _ := dlt645.ParseAddress(m.Address)
		var err error
		out, err = s.clock(ctx, m.Address, addr)
		return err
	})
	return out, err
}

// SyncClock sets a meter's clock (see Direct.SyncClock). A broadcast
// reaches every meter on the meter's bus. Audited.
func (d *Daemon) SyncClock(ctx context.Context, meter string, rq SyncRequest) (res *ClockSync, err error) {
	c, ix, m, ed, err := d.meter(meter)
	if err != nil {
		return nil, err
	}
	defer func() { d.auditSync(ctx, m.Address, m.Channel, ed, rq, res, err) }()
	auth, err := syncAuthority(rq)
	if err != nil {
		return nil, err
	}
	if err := d.guard(ctx, syncAction(rq), m.Address, syncDetail(m.Channel, ed, rq)); err != nil {
		return nil, err
	}
	err = d.on(ctx, c, ix, m.Address, m.Channel, func(s *session) error {
		addr, _ := dlt645.ParseAddress(m.Address)
		var err error
		res, err = s.syncClock(ctx, m.Address, addr, rq, auth)
		return err
	})
	return res, err
}

// Relay trips or closes a meter's relay (see Direct.Relay). Audited.
func (d *Daemon) Relay(ctx context.Context, meter string, rq RelayRequest) (res *RelayResult, err error) {
	c, ix, m, ed, err := d.meter(meter)
	if err != nil {
		return nil, err
	}
	defer func() { d.auditRelay(ctx, m.Address, m.Channel, ed, rq, res, err) }()
	p, err := d.checkRelay(ed, rq)
	if err != nil {
		return nil, err
	}
	if err := d.guard(ctx, relayAction(rq), m.Address, relayDetail(rq, m.Channel, ed)); err != nil {
		return nil, err
	}
	err = d.on(ctx, c, ix, m.Address, m.Channel, func(s *session) error {
		addr, _ := dlt645.ParseAddress(m.Address)
		var err error
		res, err = s.relay(ctx, m.Address, addr, p)
		return err
	})
	return res, err
}

// Scan looks for meters on a channel of the archive and compares what it
// finds with the archive: meters found that the archive does not have
// there, and meters of the archive in the range that did not answer.
func (d *Daemon) Scan(ctx context.Context, channel string, rq ScanRequest, progress func(done, total int)) (*ScanResult, error) {
	c, ix, err := d.current()
	if err != nil {
		return nil, err
	}
	ch, ok := ix.Channel(channel)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not in the archive", ErrUnknownChannel, channel)
	}
	if ch.Kind.IsModbus() {
		return nil, fmt.Errorf("%w: channel %s speaks Modbus", ErrUnsupported, channel)
	}
	p, err := d.checkScan(rq)
	if err != nil {
		return nil, err
	}
	var out *ScanResult
	err = d.on(ctx, c, ix, channel, channel, func(s *session) error {
		var err error
		out, err = s.scan(ctx, p, progress, rq.Progress)
		return err
	})
	if out == nil {
		return nil, err
	}
	found := map[string]bool{}
	for i := range out.Found {
		f := &out.Found[i]
		found[f.Address] = true
		m, ok := ix.Meter(f.Address)
		known := ok && m.Channel == channel
		f.InArchive = &known
		if ok && !known {
			f.ArchiveChannel = m.Channel
		}
	}
	if p.search && err == nil {
		for _, m := range ix.MetersOnChannel(channel) {
			n, _ := strconv.ParseUint(m.Address, 10, 64)
			if n >= p.lo && n <= p.hi && !found[m.Address] {
				out.Missing = append(out.Missing, m.Address)
			}
		}
	}
	return out, err
}

// Status is the collector's channels, concentrators and areas.
func (d *Daemon) Status(context.Context) (*Status, error) {
	c, ix, err := d.current()
	if err != nil {
		return nil, err
	}
	return StatusOf(c.Status(), ix), nil
}
