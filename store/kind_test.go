package store

import (
	"testing"

	"github.com/headend/headend/meter"
)

// Events are flag evidence: they are kept as long as the register reads
// the flags are about, not pruned with the raw reads after 90 days.
func TestKindOf(t *testing.T) {
	for c, want := range map[meter.Class]Kind{
		meter.Daily: Registers, meter.Monthly: Registers, meter.Event: Registers,
		meter.Interval: Raw, meter.Instantaneous: Raw, meter.Clock: Raw,
	} {
		if got := KindOf(c); got != want {
			t.Errorf("KindOf(%s) = %d, want %d", c, got, want)
		}
	}
}
