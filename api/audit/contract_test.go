package audit_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/audit/audittest"
)

// The file log meets the contract of one node's log.
func TestContract(t *testing.T) {
	audittest.Run(t, func(t testing.TB) audittest.Opener {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		return func(t testing.TB, now func() time.Time) *audit.Log {
			l, err := audit.Open(path, audit.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	})
}
