package collector

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// openLedger opens the record of held daily freezes in the data directory.
func (c *Collector) openLedger() error {
	dir := c.cfg.Collector.DataDir
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
	return filepath.Join(c.cfg.Collector.DataDir, "refused-blocks")
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
		out = append(out, poll.Request{DI: 0x06000001, Blocks: n, From: dlt645.DateTimeOf(at.In(c.cfg.Collector.Location()), dlt645.YYMMDDhhmm)})
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

// backfillAtStart enqueues, for every meter with a freeze history, the
// freezes missing since the head-end last held one: up to yesterday, and
// today too if today's daily read is already past.
func (c *Collector) backfillAtStart() {
	now := c.opts.Clock.Now().In(c.cfg.Collector.Location())
	today := freezeDay(now)
	upTo := today.AddDate(0, 0, -1)
	d := c.cfg.Collector.Daily
	if !d.Enabled || now.Sub(today) > d.Spec.At+d.Jitter {
		upTo = today
	}
	n := 0
	for _, ch := range c.channelList() {
		for _, m := range c.idx.MetersOnChannel(ch.id) {
			if !hasFreezes(m) {
				continue
			}
			if k := c.cfg.Collector.BackfillDays; k > 0 && !c.ledger.Known(m.Address) {
				n += c.commission(ch, m, min(k, ledger.Window))
				continue
			}
			n += c.backfill(ch, m, upTo, today)
		}
	}
	if n > 0 {
		c.log.Info("backfill", "freezes", n, "up_to", upTo.Format(time.DateOnly))
	}
}

// commission enqueues the last k freezes of a meter the head-end has
// never read: the history a meter taken over holds.
func (c *Collector) commission(ch *channel, m *archive.Meter, k int) int {
	n := 0
	plan := c.cfg.Collector.Plan.Reading()
	for i := k; i >= 1; i-- {
		if ch.bus.Enqueue(poll.Task{Target: target(m), Class: meter.Daily, Due: c.opts.Clock.Now(), Requests: plan.FreezeRequests(i)}) {
			n++
		}
	}
	return n
}

// backfill enqueues the freezes of meter m missing up to upTo, given that
// freeze 1 (the meter's latest) is of day latest.
func (c *Collector) backfill(ch *channel, m *archive.Meter, upTo, latest time.Time) int {
	n := 0
	plan := c.cfg.Collector.Plan.Reading()
	for _, day := range c.ledger.Missing(m.Address, upTo) {
		k := daysBetween(day, latest) + 1
		if k < 1 || k > ledger.Window {
			continue
		}
		if ch.bus.Enqueue(poll.Task{Target: target(m), Class: meter.Daily, Due: c.opts.Clock.Now(), Requests: plan.FreezeRequests(k)}) {
			n++
		}
	}
	return n
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
	m, ok := c.idx.Meter(meterID)
	if !ok || k != 1 {
		return // backfill reads do not start more backfill
	}
	if ch := c.channel(m.Channel); ch != nil {
		c.backfill(ch, m, day.AddDate(0, 0, -1), day)
	}
}
