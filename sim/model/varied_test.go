package model

import (
	"reflect"
	"testing"
)

// A varied fleet is deterministic from its seed, valid, sized and mixed as
// documented, and plants every kind it promises.
func TestVaried(t *testing.T) {
	kinds := map[FaultKind]int{}
	variants := map[string]int{}
	mixes := map[Mix]int{}
	day3 := 0
	for seed := int64(1); seed <= 20; seed++ {
		v, err := Varied(VariedOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Varied(VariedOptions{Seed: seed})
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("seed %d: two fleets from one seed differ", seed)
		}
		if _, err := New(v.Config); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if n := len(v.Areas); n < 2 || n > 4 {
			t.Errorf("seed %d: %d areas", seed, n)
		}
		for _, a := range v.Areas {
			if a.Customers < 20 || a.Customers > 400 {
				t.Errorf("seed %d: area %s has %d customers", seed, a.ID, a.Customers)
			}
			mixes[a.Mix]++
		}
		byArea := map[string]int{}
		for _, p := range v.Planted {
			kinds[p.Kind]++
			variants[p.Variant]++
			byArea[p.Area]++
			if p.Kind == FaultTheft {
				if p.Fraction < 0.1 || p.Fraction > 0.6 {
					t.Errorf("seed %d: theft of %.2f", seed, p.Fraction)
				}
				if p.Day == 3 {
					day3++
				}
				if p.Day < 2 || p.Day > v.Days-14 {
					t.Errorf("seed %d: theft on day %d", seed, p.Day)
				}
			}
			if !p.Onset.Equal(v.Config.Start.AddDate(0, 0, p.Day)) {
				t.Errorf("seed %d: %s onset %s is not day %d", seed, p.Kind, p.Onset, p.Day)
			}
		}
		two := false
		for _, n := range byArea {
			two = two || n >= 2
		}
		if !two {
			t.Errorf("seed %d: no area with two faults", seed)
		}
	}
	for _, k := range []FaultKind{FaultTheft, FaultStopped, FaultReverseWiring, FaultJump, FaultBackwards,
		FaultClockDrift, FaultCoverOpen, FaultPhaseLoss, WireNoAnswer, WireOffline} {
		if kinds[k] == 0 {
			t.Errorf("no %s planted in 20 seeds", k)
		}
	}
	for _, s := range []string{"dead", "paired", "intermittent"} {
		if variants[s] == 0 {
			t.Errorf("no %s meter in 20 seeds", s)
		}
	}
	for _, m := range []Mix{MixResidential, MixCommercial, MixMixed} {
		if mixes[m] == 0 {
			t.Errorf("no %s area in 20 seeds", m)
		}
	}
	if day3 == 0 {
		t.Error("no theft from day 3 in 20 seeds")
	}
	if _, err := Varied(VariedOptions{Seed: 1, Days: 10}); err == nil {
		t.Error("10 days: no error")
	}
}
