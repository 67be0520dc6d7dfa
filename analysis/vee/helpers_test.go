package vee

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

const fwd = "forward active energy total"

// day0 is a Monday.
var zeroTime time.Time

var day0 = time.Date(2026, 11, 2, 0, 0, 0, 0, CST)

func d(s string) dlt645.Decimal {
	v, err := dlt645.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return v
}

// hm is a time on day0 plus days.
func hm(days int, clock string) time.Time {
	var h, m int
	fmt.Sscanf(clock, "%d:%d", &h, &m)
	return day0.AddDate(0, 0, days).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// reg is a register read of meter M1 stamped t, received 5 minutes later.
func reg(class meter.Class, t time.Time, value string) meter.Read {
	return meter.Read{Meter: "M1", Class: class, Quantity: fwd, Unit: "kWh", Value: d(value),
		MeterTime: t, ReadAt: t.Add(5 * time.Minute), Status: meter.OK}
}

// inst is an instantaneous read of M1 received at t.
func inst(quantity, unit string, t time.Time, value string) meter.Read {
	return meter.Read{Meter: "M1", Class: meter.Instantaneous, Quantity: quantity, Unit: unit, Value: d(value), ReadAt: t, Status: meter.OK}
}

func newV(t testing.TB, c Config) *Validator {
	t.Helper()
	v, err := NewValidator(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// intervals makes interval reads from t every 15 minutes, starting at
// start and adding the deltas in turn.
func intervals(t time.Time, start string, deltas ...string) []meter.Read {
	r := d(start)
	out := []meter.Read{reg(meter.Interval, t, r.String())}
	for i, x := range deltas {
		r, _ = add(r, d(x))
		out = append(out, reg(meter.Interval, t.Add(time.Duration(i+1)*15*time.Minute), r.String()))
	}
	return out
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// valueAt returns the latest version at tm.
func valueAt(t testing.TB, vals []Value, quantity string, tm time.Time) Value {
	t.Helper()
	return classAt(t, vals, "", quantity, tm)
}

// daily returns the latest version of the daily forward register at tm.
func daily(t testing.TB, vals []Value, tm time.Time) Value {
	t.Helper()
	return classAt(t, vals, meter.Daily, fwd, tm)
}

func classAt(t testing.TB, vals []Value, class meter.Class, quantity string, tm time.Time) Value {
	t.Helper()
	var got Value
	found := false
	for _, v := range vals {
		if (class == "" || v.Class == class) && v.Quantity == quantity && v.Time.Equal(tm) && (!found || v.Version > got.Version) {
			got, found = v, true
		}
	}
	if !found {
		t.Fatalf("no %s value at %s in %s", quantity, tm, dump(vals))
	}
	return got
}

func dump(vals []Value) string {
	var b strings.Builder
	for _, v := range vals {
		fmt.Fprintf(&b, "\n  %s v%d %s %s Δ%s from %s %s %s", v.Time.Format("01-02 15:04"), v.Version, v.Quantity, v.Value, v.Delta,
			v.DeltaFrom.Format("01-02 15:04"), v.Quality, codesOf(v))
	}
	return b.String()
}

func codesOf(v Value) string {
	var c []string
	for _, r := range v.Reasons {
		c = append(c, string(r.Code))
	}
	return strings.Join(c, ",")
}

func wantQ(t testing.TB, v Value, q Quality, codes ...Code) {
	t.Helper()
	if v.Quality != q {
		t.Errorf("%s %s at %s: quality %s, want %s (%s)", v.Quantity, v.Value, v.Time, v.Quality, q, reasonsText(v))
	}
	for _, c := range codes {
		if !v.Has(c) {
			t.Errorf("%s at %s: no reason %s (%s)", v.Quantity, v.Time, c, reasonsText(v))
		}
	}
}

func reasonsText(v Value) string {
	var b []string
	for _, r := range v.Reasons {
		b = append(b, string(r.Code)+": "+r.Message)
	}
	if len(b) == 0 {
		return "no reasons"
	}
	return strings.Join(b, "; ")
}

func figure(t testing.TB, r Reason, name string) Figure {
	t.Helper()
	for _, f := range r.Evidence {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("%s: no figure %q in %+v", r.Code, name, r.Evidence)
	return Figure{}
}
