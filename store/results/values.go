package results

import (
	"strings"
	"time"

	"github.com/headend/headend/meter"
)

// KindValue is the record kind of a validated register value (daily,
// monthly): Body is a vee.Value.
const KindValue = "value"

// ValueKey is the record key of a validated value:
// "M1|daily|energy_import|2025-06-02T00:00:00Z".
func ValueKey(meterID string, class meter.Class, quantity string, t time.Time) string {
	return strings.Join([]string{meterID, string(class), quantity, t.UTC().Format(time.RFC3339)}, "|")
}
