package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/store"
)

// A retention pass is logged at WARN with its counts and cut-offs when it
// removed something, at ERROR with what it would have removed when it was
// refused, and not at all when it removed nothing.
func TestPruneLogs(t *testing.T) {
	now := time.Date(2027, 10, 1, 0, 0, 0, 0, time.UTC)
	cut := time.Date(2026, 10, 23, 23, 45, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		p    store.Pruned
		err  error
		want []string
	}{
		{"removed", store.Pruned{Reads: 96, StoredReads: 9600, RawCutoff: cut}, nil,
			[]string{"level=WARN", "retention: removed reads past their retention", "reads=96", "stored_reads=9600", "raw_cutoff=2026-10-23T23:45:00Z", "clock=2027-10-01T00:00:00Z"}},
		{"refused", store.Pruned{Reads: 2207, StoredReads: 2910, RawCutoff: cut}, fmt.Errorf("x: %w", store.ErrPruneRefused),
			[]string{"level=ERROR", "retention: refused, nothing removed", "store.retention.max_share", "reads=2207", "stored_reads=2910", "raw_cutoff=2026-10-23T23:45:00Z"}},
		{"nothing", store.Pruned{StoredReads: 9600}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			prune(t.Context(), func(context.Context) (store.Pruned, error) { return tc.p, tc.err }, now, log)
			out := buf.String()
			if tc.want == nil && out != "" {
				t.Errorf("logged %q, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("log %q lacks %q", out, w)
				}
			}
		})
	}
}
