package schedule

import (
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

var cst = time.FixedZone("CST", 8*3600)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNextIsAlignedAndJitterFixedPerMeter(t *testing.T) {
	p := Plan{Class: meter.Instantaneous, Every: 15 * time.Minute, Jitter: 10 * time.Minute}
	for _, m := range []string{"000001000001", "000001000002", "000001000003"} {
		j := jitter(m, p.Class, p.Jitter)
		if j < 0 || j >= 10*time.Minute {
			t.Fatalf("jitter %v", j)
		}
		n1 := p.next(m, at("2025-06-01 10:07:00"))
		n2 := p.next(m, n1)
		if n2.Sub(n1) != 15*time.Minute {
			t.Fatalf("%s: cycles %v apart", m, n2.Sub(n1))
		}
		// same place in every cycle: on the quarter hour plus the meter's jitter
		if off := n1.Sub(n1.Truncate(15 * time.Minute)); off != j {
			t.Fatalf("%s: due %s, %v after the quarter, jitter %v", m, n1.Format(time.TimeOnly), off, j)
		}
		if !n1.After(at("2025-06-01 10:07:00")) || n1.After(at("2025-06-01 10:25:00")) {
			t.Fatalf("%s: next after 10:07 is %s", m, n1)
		}
	}
	if jitter("000001000001", meter.Daily, time.Hour) == jitter("000001000002", meter.Daily, time.Hour) {
		t.Fatal("two meters share a jitter (possible, but not with these addresses)")
	}
}

func TestDailyAfterMidnight(t *testing.T) {
	p := Plan{Class: meter.Daily, Every: 24 * time.Hour, Offset: 5 * time.Minute, Jitter: time.Hour}
	n := p.next("000001000009", at("2025-06-01 13:00:00"))
	if n.Before(at("2025-06-02 00:05:00")) || !n.Before(at("2025-06-02 01:05:00")) {
		t.Fatalf("daily read due %s, want within an hour after 00:05 the next day", n)
	}
}

// fakeClock moves only when the test says so.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time                         { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time { return make(chan time.Time) }

func TestFireEnqueuesDueTasksInOrder(t *testing.T) {
	clock := &fakeClock{now: at("2025-06-01 09:59:00")}
	bus := poll.New(poll.DLT645{Master: &master.Master{}}, nil, poll.Options{})
	members := []Member{
		{Target: poll.Target{Address: "000001000001"}, Bus: bus},
		{Target: poll.Target{Address: "000001000002"}, Bus: bus},
	}
	plans := []Plan{{Class: meter.Instantaneous, Every: 15 * time.Minute, Jitter: 10 * time.Minute, Requests: InstantaneousRequests}}
	s := New(clock, plans, members)
	// one cycle: each meter exactly once between 10:00 and 10:15
	n := s.Fire(at("2025-06-01 10:14:59"))
	if n != 2 {
		t.Fatalf("fired %d tasks in the first cycle, want 2", n)
	}
	if next, _ := s.Next(); next.Before(at("2025-06-01 10:15:00")) {
		t.Fatalf("next due %s", next)
	}
	// after a day away: only the latest cycle of each meter is offered
	// (not 96), and the bus, whose queue still holds the first cycle's
	// tasks, takes none of them
	n = s.Fire(at("2025-06-02 10:14:59"))
	if st := bus.Stats(); n != 0 || st.Queued != 2 || st.Coalesced != 2 {
		t.Fatalf("fired %d, queued %d, coalesced %d", n, st.Queued, st.Coalesced)
	}
}

func TestCalendarPlan(t *testing.T) {
	// the 1st of each month at 00:30
	monthly := func(t time.Time) time.Time {
		n := time.Date(t.Year(), t.Month(), 1, 0, 30, 0, 0, t.Location())
		if !n.After(t) {
			n = n.AddDate(0, 1, 0)
		}
		return n
	}
	p := Plan{Class: meter.Monthly, Jitter: 30 * time.Minute, Next: monthly}
	n := p.next("000001000009", at("2025-06-01 00:10:00"))
	j := jitter("000001000009", meter.Monthly, 30*time.Minute)
	if want := at("2025-06-01 00:30:00").Add(j); !n.Equal(want) {
		t.Fatalf("next %s, want %s", n, want)
	}
	if n2 := p.next("000001000009", n); !n2.Equal(at("2025-07-01 00:30:00").Add(j)) {
		t.Fatalf("then %s", n2)
	}
}

// A configured plan replaces the default for the kinds of meter it
// names; the others keep the default; freeze n is the plan's daily DIs
// with DI0 n.
func TestReadingPlan(t *testing.T) {
	r := Reading{Instantaneous: ByEdition{DLT2007: []dlt645.DI{0x00010000, 0x02010100}}}
	m07, m97 := poll.Target{Edition: dlt645.DLT2007}, poll.Target{Edition: dlt645.DLT1997}
	if got := r.InstantaneousRequests(m07, time.Time{}); len(got) != 2 || got[0].DI != 0x00010000 || got[1].DI != 0x02010100 {
		t.Errorf("2007: %v", got)
	}
	if got, want := r.InstantaneousRequests(m97, time.Time{}), InstantaneousRequests(m97, time.Time{}); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 6 {
		t.Errorf("1997: %v, want the default %v", got, want)
	}
	fz := Reading{}.FreezeRequests(40)
	if len(fz) != 3 || fz[0].DI != 0x05060028 || fz[1].DI != 0x05060128 || fz[2].DI != 0x05060228 {
		t.Errorf("freeze 40: %v", fz)
	}
	if ClockRequests(poll.Target{Modbus: true}, time.Time{}) != nil {
		t.Error("a Modbus meter keeps no clock")
	}
}
