package archive_test

import "testing"

// A line of customer meters without an area meter is a valid archive:
// collection works for it; only its balance needs the area meter
// (analysis/loss says "no area meter in the archive").
func TestValidateAreaWithoutAreaMeter(t *testing.T) {
	a := small()
	a.Meters[0].Role = "customer"
	if err := a.Validate(); err != nil {
		t.Fatalf("a line of customer meters refused: %v", err)
	}
	ix := a.Index()
	if _, ok := ix.AreaMeter("A1"); ok {
		t.Fatal("A1 has an area meter")
	}
	if n := len(ix.MetersInArea("A1")); n != 3 {
		t.Fatalf("A1 has %d meters to read, want 3", n)
	}
}
