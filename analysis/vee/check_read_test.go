package vee

import (
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

func clockRead(t time.Time, secs int64) meter.Read {
	r := meter.Read{Meter: "M1", Class: meter.Clock, Quantity: "clock error", Unit: "s", ReadAt: t,
		MeterTime: t.Add(time.Duration(secs) * time.Second), Status: meter.OK}
	r.Value.Units = secs
	return r
}

// A clock 300 s off is within the 5-minute tolerance, 301 s beyond: the
// clock read is suspect, and so are the values the meter stamps after it;
// beyond an hour those are failed.
func TestClockError(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, clockRead(hm(0, "03:00"), -300), reg(meter.Daily, hm(1, "00:00"), "100.00"))
	wantQ(t, out[0], Valid)
	wantQ(t, out[1], Valid)
	out = v.Validate(nil, clockRead(hm(1, "03:00"), 301), reg(meter.Daily, hm(2, "00:00"), "110.00"), inst("phase A voltage", "V", hm(2, "00:10"), "220.0"))
	wantQ(t, out[0], Suspect, CodeClockError)
	wantQ(t, out[1], Suspect, CodeClockError)
	wantQ(t, out[2], Valid) // stamped by the head-end
	out = v.Validate(nil, clockRead(hm(2, "03:00"), -3601), reg(meter.Daily, hm(3, "00:00"), "120.00"))
	wantQ(t, out[0], Suspect, CodeClockError)
	wantQ(t, out[1], Failed, CodeClockError)
	if r, _ := out[0].Reason(CodeClockError); figure(t, r, "error").Text != "-1h0m1s" {
		t.Errorf("%+v", r.Evidence)
	}
}

// A value stamped more than 5 minutes after it was received is suspect.
func TestFuture(t *testing.T) {
	v := newV(t, DefaultConfig())
	ok := reg(meter.Daily, hm(1, "00:00"), "100.00")
	ok.ReadAt = ok.MeterTime.Add(-5 * time.Minute)
	ahead := reg(meter.Daily, hm(2, "00:00"), "110.00")
	ahead.ReadAt = ahead.MeterTime.Add(-5*time.Minute - time.Second)
	out := v.Validate(nil, ok, ahead)
	wantQ(t, out[0], Valid)
	wantQ(t, out[1], Suspect, CodeFuture)
	// not taken into the series: the next day's delta is from day 1
	out = v.Validate(nil, reg(meter.Daily, hm(3, "00:00"), "120.00"))
	if got := valueAt(t, out, fwd, hm(3, "00:00")); got.Delta != d("20.00") {
		t.Errorf("%s", dump(out))
	}
}

// Physical ranges of instantaneous values.
func TestImplausible(t *testing.T) {
	strict := DefaultConfig()
	strict.Versions[0].Plausible.NegativeCurrent = false
	for _, tc := range []struct {
		quantity, unit, value string
		c                     Config
		want                  Quality
	}{
		{"phase A voltage", "V", "330.0", DefaultConfig(), Valid},
		{"phase A voltage", "V", "330.1", DefaultConfig(), Suspect},
		{"phase A voltage", "V", "0.0", DefaultConfig(), Valid},
		{"phase A current", "A", "100.000", DefaultConfig(), Valid},
		{"phase A current", "A", "100.001", DefaultConfig(), Suspect},
		{"phase A current", "A", "-5.000", DefaultConfig(), Valid},
		{"phase A current", "A", "-5.000", strict, Suspect},
		{"power factor total", "", "1.000", DefaultConfig(), Valid},
		{"power factor total", "", "-1.000", DefaultConfig(), Valid},
		{"power factor total", "", "1.001", DefaultConfig(), Suspect},
		{"active power total", "kW", "-100.0000", DefaultConfig(), Valid},
		{"active power total", "kW", "100.0001", DefaultConfig(), Suspect},
		{"grid frequency", "Hz", "44.99", DefaultConfig(), Suspect},
		{"grid frequency", "Hz", "50.00", DefaultConfig(), Valid},
	} {
		v := newV(t, tc.c)
		out := v.Validate(nil, inst(tc.quantity, tc.unit, hm(0, "10:00"), tc.value))
		if out[0].Quality != tc.want || (tc.want == Suspect) != out[0].Has(CodeImplausible) {
			t.Errorf("%s %s %s: %s %s", tc.quantity, tc.value, tc.unit, out[0].Quality, reasonsText(out[0]))
		}
	}
}

// A load-profile read older than the 30-hour window cannot be checked.
func TestLate(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Interval, hm(2, "10:00"), "200.00"), reg(meter.Interval, hm(0, "10:00"), "100.00"))
	wantQ(t, out[1], Suspect, CodeLate)
	if v.Stats().Late != 1 {
		t.Errorf("%+v", v.Stats())
	}
}
