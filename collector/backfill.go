package collector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/settings"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// openLedger opens the record of held daily freezes in the data directory.
func (c *Collector) openLedger() error {
	dir := c.config().Collector.DataDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	state := filepath.Join(dir, "collector-state.db")
	l, err := ledger.Open(state)
	if err != nil {
		return err
	}
	k, err := ledger.OpenMarks(state)
	if err != nil {
		l.Close()
		return err
	}
	c.ledger, c.marks = l, k
	// the append-only files of earlier versions, read in once
	for _, im := range []struct {
		file string
		imp  func(string) (int, error)
	}{{"daily-freezes.ledger", l.Import}, {"load-profile.marks", k.Import}} {
		if n, err := im.imp(filepath.Join(dir, im.file)); err != nil {
			c.log.Warn("former state file not imported: tried again at the next start", "file", im.file, "err", err)
		} else if n > 0 {
			c.log.Info("former state file imported into "+state, "file", im.file, "lines", n)
		}
	}
	if err := c.answers.Load(c.answersFile()); err != nil {
		c.log.Warn("blocks refused by meters not loaded: every block is asked again", "err", err)
	}
	return nil
}

// answersFile keeps the block DIs each meter refuses (poll.Answers) from
// one run of the collector (a reload, a restart) to the next.
func (c *Collector) answersFile() string {
	return filepath.Join(c.config().Collector.DataDir, "refused-blocks")
}

// closeLedger saves what the ledger and the marks hold and closes them.
func (c *Collector) closeLedger() {
	if err := errors.Join(c.ledger.Close(), c.marks.Close()); err != nil {
		c.log.Error("collector state not saved: freezes and load-profile records since the last save are read again", "err", err)
	}
}

// saveAnswers writes what the collector learnt of its meters' answers.
func (c *Collector) saveAnswers() {
	if err := c.answers.Save(c.answersFile()); err != nil {
		c.log.Warn("blocks refused by meters not saved", "err", err)
	}
}

// intervalStep is the load-profile interval.
const intervalStep = 15 * time.Minute

// profileWindow is how far back a meter keeps its load profile; an outage
// longer than this loses the records before it.
const profileWindow = 7 * 24 * time.Hour

// intervalRequests reads the load-profile records a meter has that the
// head-end does not: from its newest held record (or, for a meter never
// read, the hour before due) up to due, in requests of at most 24 records.
func (c *Collector) intervalRequests(t poll.Target, due time.Time) []poll.Request {
	if t.Modbus || t.Edition != dlt645.DLT2007 {
		return nil
	}
	// a record is stamped with the end of its interval: the hour before
	// 10:05 is the records of 09:15 .. 10:00
	end := due.Truncate(intervalStep)
	from := end.Add(-time.Hour + intervalStep)
	if last, ok := c.marks.Latest(t.Address); ok {
		if !last.Before(end) {
			return nil
		}
		from = last.Add(intervalStep)
		if from.Before(end.Add(-profileWindow)) {
			from = end.Add(-profileWindow)
		}
	}
	var out []poll.Request
	for at := from; !at.After(end); at = at.Add(24 * intervalStep) {
		n := min(24, int(end.Sub(at)/intervalStep)+1)
		out = append(out, poll.Request{DI: 0x06000001, Blocks: n, From: dlt645.DateTimeOf(at.In(c.config().Collector.Location()), dlt645.YYMMDDhhmm)})
	}
	return out
}

// heldIntervals records the newest load-profile record of an interval read.
func (c *Collector) heldIntervals(reads []meter.Read) {
	if c.marks == nil || len(reads) == 0 || reads[0].Class != meter.Interval {
		return
	}
	var newest time.Time
	for _, r := range reads {
		if r.Status == meter.OK && r.Quantity == "record time" && r.MeterTime.After(newest) {
			newest = r.MeterTime
		}
	}
	if !newest.IsZero() {
		if err := c.marks.Mark(reads[0].Meter, newest); err != nil {
			c.log.Error("load-profile mark not saved: kept in memory, saved with the next mark", "meter", reads[0].Meter, "pending", c.marks.Pending(), "err", err)
		}
	}
}

// hasFreezes reports whether a meter keeps a daily freeze history
// (DL/T 645-2007 meters; not 1997 or Modbus meters).
func hasFreezes(m *archive.Meter) bool { return m.Edition == archive.Edition2007 }

// freezeDay is the date of a 00:00 freeze.
func freezeDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// daysBetween counts whole days from a to b (both freeze days).
func daysBetween(a, b time.Time) int {
	return int(b.Sub(a).Round(time.Hour) / (24 * time.Hour))
}

// backfillAtStart enqueues, for every meter of channels with a freeze
// history, what reads back the freezes missing since the head-end last
// held one. A meter never read is read its last few freezes (commission).
// For a meter the ledger knows, which freeze index holds which day is the
// meter's business, not the head-end clock's: a clock ahead of the meters
// (a host clock a year ahead of a simulated fleet, a clock jumped
// forward) would ask for indices the meter answers with freezes already
// held, or has not got. So a meter with days missing up to today is read
// its latest freeze (index 1), and heldFreeze reads back the gap before
// the day that freeze gives; before today's daily read falls due, that
// read does the same and nothing is enqueued here.
func (c *Collector) backfillAtStart(channels []*channel) {
	now := c.opts.Clock.Now().In(c.config().Collector.Location())
	today := freezeDay(now)
	upTo := today.AddDate(0, 0, -1)
	d := c.config().Collector.Daily
	if !d.Enabled || now.Sub(today) > d.Spec.At+d.Jitter {
		upTo = today
	}
	// every meter's daily read of today is still to come
	dailyComing := d.Enabled && d.Spec.Kind == settings.SpecDaily && now.Sub(today) < d.Spec.At
	n, probes := 0, 0
	plan := c.config().Collector.Plan.Reading()
	for _, ch := range channels {
		for _, m := range c.index().MetersOnChannel(ch.id) {
			if !hasFreezes(m) {
				continue
			}
			if k := c.config().Collector.BackfillDays; k > 0 && !c.ledger.Known(m.Address) {
				n += c.commission(ch, m, min(k, ledger.Window))
				continue
			}
			if dailyComing || len(c.ledger.Missing(m.Address, upTo)) == 0 {
				continue
			}
			if ch.bus.Enqueue(poll.Task{Target: target(m), Class: meter.Daily, Due: c.opts.Clock.Now(), Requests: plan.FreezeRequests(1)}) {
				probes++
			}
		}
	}
	if n > 0 || probes > 0 {
		c.log.Info("backfill", "freezes", n, "meters_with_gaps", probes, "up_to", upTo.Format(time.DateOnly))
	}
}

// freezeDue is when the read of freeze k (1: the meter's latest) is due:
// the latest now; an older one two days later, so that on a line that
// cannot read everything at once the freezes that balance the days after
// the start (the latest, and the next days' daily reads, due at 00:05 plus
// their jitter) go before the history. Due only orders a bus's queue: on
// a line with time to spare the history is read at once.
func freezeDue(now time.Time, k int) time.Time {
	if k <= 1 {
		return now
	}
	return now.Add(48 * time.Hour)
}

// commission enqueues the latest freeze of a meter the head-end has
// never read; once it is held, heldFreeze enqueues the k-1 days before
// the day it gave (the history a meter taken over holds), as history
// reads that find their index when they are read.
func (c *Collector) commission(ch *channel, m *archive.Meter, k int) int {
	c.commissioning.Store(m.Address, k)
	plan := c.config().Collector.Plan.Reading()
	if ch.bus.Enqueue(poll.Task{Target: target(m), Class: meter.Daily, Due: c.opts.Clock.Now(), Requests: plan.FreezeRequests(1)}) {
		return 1
	}
	return 0
}

// history enqueues the read of the freeze of day for meter m, given that
// freeze 1 is now of day latest. It is due two days on (freezeDue), so on
// a busy line it is read after midnights that shift the meter's freeze
// indices: the requests carry the day wanted, and freezeIndex sets the
// index when the read is made.
func (c *Collector) history(ch *channel, m *archive.Meter, day, latest time.Time) bool {
	k := daysBetween(day, latest) + 1
	if k < 1 || k > ledger.Window {
		return false
	}
	reqs := c.config().Collector.Plan.Reading().FreezeRequests(k)
	for i := range reqs {
		reqs[i].From = dlt645.DateTimeOf(day, dlt645.YYMMDDhhmm)
	}
	return ch.bus.Enqueue(poll.Task{Target: target(m), Class: meter.Daily, Due: freezeDue(c.opts.Clock.Now(), k), Requests: reqs})
}

// backfill enqueues the freezes of meter m missing up to upTo, given that
// freeze 1 (the meter's latest) is of day latest.
func (c *Collector) backfill(ch *channel, m *archive.Meter, upTo, latest time.Time) int {
	n := 0
	for _, day := range c.ledger.Missing(m.Address, upTo) {
		if c.history(ch, m, day, latest) {
			n++
		}
	}
	return n
}

// freezeIndex sets the index of a history read (a daily freeze request
// whose From names the day wanted) from the day the meter's latest
// freeze was last read of, when the read is made: a meter freezes a new
// day at every midnight of its own clock, so an index taken when the
// read was enqueued would, a midnight later, read the day after the one
// wanted, a day the head-end may hold already (its re-read by another
// index would replace the held freeze's frames, and the day wanted would
// never be read). A day held by then is not read again: the request
// gives no read.
type freezeIndex struct {
	poll.Protocol
	c *Collector
}

// Do reads rq, a history read at the index of its day now.
func (p freezeIndex) Do(ctx context.Context, t poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	if rq.Blocks != 0 || rq.From.Year == 0 || rq.DI>>16 != 0x0506 {
		return p.Protocol.Do(ctx, t, rq, base)
	}
	day, err := rq.From.Time(p.c.config().Collector.Location())
	rq.From = dlt645.DateTime{}
	if err != nil {
		return p.Protocol.Do(ctx, t, rq, base)
	}
	day = freezeDay(day)
	if p.c.ledger != nil && p.c.ledger.Has(t.Address, day) {
		return nil, nil
	}
	if v, ok := p.c.latest.Load(t.Address); ok {
		k := daysBetween(day, v.(time.Time)) + 1
		if k < 1 || k > ledger.Window {
			return nil, nil // not a day the meter holds
		}
		rq.DI = rq.DI&^0xFF | dlt645.DI(k)
		base.DI, base.Quantity = rq.DI, poll.Asked(t.Edition, rq.DI)
	}
	return p.Protocol.Do(ctx, t, rq, base)
}

// heldFreeze records a daily read that gave what the meter can give, and
// fills the gap before it if there is one. A freeze is held when its time
// was read and every other read of it is OK or a definite answer that the
// meter has no such data (NoData, Refused: a meter that keeps no reverse
// register will never give one); a read that failed or was skipped means
// the freeze is still to be read.
func (c *Collector) heldFreeze(reads []meter.Read) {
	if c.ledger == nil || len(reads) == 0 || reads[0].Class != meter.Daily {
		return
	}
	var at time.Time
	k := 0
	for _, r := range reads {
		switch r.Status {
		case meter.OK:
		case meter.NoData, meter.Refused:
			continue
		default:
			return
		}
		if r.DI>>8 == 0x050600 {
			k = int(r.DI & 0xFF)
		}
		if !r.MeterTime.IsZero() {
			at = r.MeterTime
		}
	}
	if at.IsZero() || k == 0 {
		return
	}
	meterID := reads[0].Meter
	day := freezeDay(at)
	if err := c.ledger.Mark(meterID, day); err != nil {
		c.log.Error("daily freeze not saved in the ledger: kept in memory, saved with the next mark", "meter", meterID, "pending", c.ledger.Pending(), "err", err)
	}
	m, ok := c.index().Meter(meterID)
	if !ok || k != 1 {
		return // backfill reads do not start more backfill
	}
	if v, ok := c.latest.Load(meterID); !ok || v.(time.Time).Before(day) {
		c.latest.Store(meterID, day)
	}
	ch := c.channel(m.Channel)
	if ch == nil {
		return
	}
	if v, ok := c.commissioning.LoadAndDelete(meterID); ok {
		for i := 1; i < v.(int); i++ {
			c.history(ch, m, day.AddDate(0, 0, -i), day)
		}
		return
	}
	c.backfill(ch, m, day.AddDate(0, 0, -1), day)
}
