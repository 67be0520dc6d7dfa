package vee

import (
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Every problem is reported at once, each naming its setting.
func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.IntervalWindow = time.Hour
	c.Recent = 1
	s := &c.Versions[0]
	s.Gap.Step = 7 * time.Minute
	s.Spike.Factor = d("0")
	s.Spike.MinRefs = 20
	s.Register.Max1997 = nil
	s.Zero.Span = 0
	s.Usage.MinDays = 40
	s.Usage.Low = d("5")
	s.Sum.Pct = d("-1")
	s.Clock.Fail = time.Minute
	s.Plausible.FrequencyMin = d("60")
	s.Estimate.MinSimilarDays = 0
	later := DefaultSettings() // From zero: not after the first
	c.Versions = append(c.Versions, later)
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"interval_window", "recent", "versions[0].gap.step", "versions[0].spike.factor", "versions[0].spike:",
		"versions[0].register:", "versions[0].zero.span", "versions[0].usage:", "low 5 must be below high 3", "versions[0].sum",
		"versions[0].clock", "versions[0].plausible.frequency_min", "versions[0].estimate", "versions[1].from"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
	if _, err := NewValidator(Config{}); err == nil || !strings.Contains(err.Error(), "versions") {
		t.Errorf("%v", err)
	}
	bad := DefaultConfig()
	bad.Versions[0].Spike.MinDelta = dlt645.Decimal{Units: 1, Scale: 30}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "1e-30") {
		t.Errorf("%v", err)
	}
}

func TestExactArithmetic(t *testing.T) {
	big := dlt645.Decimal{Units: 9e18, Scale: 0}
	if cmpDec(big, dlt645.Decimal{Units: 1, Scale: 18}) != 1 || cmpDec(dlt645.Decimal{Units: -9e18}, dlt645.Decimal{Units: 1, Scale: 18}) != -1 {
		t.Error("cmpDec across scales at the edges")
	}
	if cmpDec(d("1.10"), d("1.1")) != 0 || cmpDec(d("-0.01"), d("0")) != -1 {
		t.Error("cmpDec")
	}
	if _, ok := rescale(big, 2); ok {
		t.Error("rescale overflow")
	}
	if u, ok := rescale(d("-1.5"), 3); !ok || u != -1500 {
		t.Error("rescale", u)
	}
	if _, ok := rescale(d("1.55"), 1); ok {
		t.Error("rescale lost a digit")
	}
	if _, ok := sub(big, dlt645.Decimal{Units: -9e18}); ok {
		t.Error("sub overflow")
	}
	if p, ok := product(d("-1.5"), d("220")); !ok || p != d("-330.0") {
		t.Error("product", p)
	}
	if _, ok := product(big, big); ok {
		t.Error("product overflow")
	}
	if _, ok := absDec(dlt645.Decimal{Units: -1 << 63}); ok {
		t.Error("abs of the minimum")
	}
	if mul(-3, 4).cmp(mul(2, -6)) != 0 || mul(-1<<63, -1<<63).cmp(mul(1<<62, 1<<62)) != 1 {
		t.Error("mul")
	}
}

// A number no meter sends fails; Forget starts a meter afresh.
func TestOddReads(t *testing.T) {
	v := newV(t, DefaultConfig())
	r := reg(meter.Daily, hm(1, "00:00"), "100.00")
	r.Value.Scale = 19
	out := v.Validate(nil, r)
	wantQ(t, out[0], Failed, CodeImplausible)
	v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"))
	v.Forget("M1")
	out = v.Validate(nil, reg(meter.Daily, hm(2, "00:00"), "0.00")) // a new meter at the address
	wantQ(t, out[0], Valid)
	if !out[0].DeltaFrom.IsZero() {
		t.Error("a delta after Forget")
	}
}
