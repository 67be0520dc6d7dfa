package model

import (
	"testing"
	"time"
)

// A meter whose clock is slow freezes a few seconds after midnight: read
// at 00:10, before the step is committed, it holds that day's freeze.
func TestDailyFreezesAtSlowClock(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, DefaultZone)
	cfg := Config{Seed: 1, Start: start, Areas: []AreaConfig{{ID: "A", AreaMeter: MeterConfig{Address: "000001000000"},
		Customers: []MeterConfig{{Address: "000001000001", DailyKWh: 10}}}}}
	fl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := fl.Meter("000001000001")
	fl.AdvanceTo(start.Add(23 * time.Hour))
	m.SetClock(start.Add(23*time.Hour), start.Add(23*time.Hour-20*time.Second)) // 20 s slow
	at := start.Add(24*time.Hour + 10*time.Minute)
	fl.AdvanceTo(at)
	old := m.DailyFreezes()
	if len(old) > 0 && old[0].Time.Equal(start.Add(24*time.Hour)) {
		t.Fatal("the step's freeze is committed already: the case is not the one tested")
	}
	fz := m.DailyFreezesAt(at)
	if len(fz) == 0 || !fz[0].Time.Equal(start.Add(24*time.Hour)) {
		t.Fatalf("freezes at 00:10 = %v, want the one of %s first", fz, start.Add(24*time.Hour))
	}
	// the freeze is the registers at the meter's midnight: what the
	// committed freeze shows once the step is past
	fl.AdvanceTo(start.Add(24*time.Hour + 20*time.Minute))
	if got := m.DailyFreezes()[0]; got.Forward != fz[0].Forward || !got.Time.Equal(fz[0].Time) {
		t.Errorf("committed freeze %v, read before %v", got, fz[0])
	}
	if n := len(m.DailyFreezesAt(start.Add(24*time.Hour + 20*time.Minute))); n != len(m.DailyFreezes()) {
		t.Errorf("after the step: %d freezes, want %d (no double)", n, len(m.DailyFreezes()))
	}
	// a clock ahead froze in the step before: nothing added
	fl2, _ := New(cfg)
	m2 := fl2.Meter("000001000001")
	fl2.AdvanceTo(start.Add(23 * time.Hour))
	m2.SetClock(start.Add(23*time.Hour), start.Add(23*time.Hour+20*time.Second))
	fl2.AdvanceTo(at)
	if a, b := len(m2.DailyFreezesAt(at)), len(m2.DailyFreezes()); a != b {
		t.Errorf("clock ahead: %d freezes at 00:10, %d committed", a, b)
	}
}
