package pgaudit

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/audit/audittest"
	"github.com/headend/headend/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The PostgreSQL log meets the contract, and that of a log several nodes
// share.
func TestContract(t *testing.T) {
	audittest.RunShared(t, func(t testing.TB) audittest.Opener {
		dsn := pgtest.Shared(t).NewDatabase(t)
		return func(t testing.TB, now func() time.Time) *audit.Log {
			t.Helper()
			st, err := Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			l, err := audit.OpenStore(context.Background(), st, audit.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	})
}

// A database a newer head-end migrated is refused.
func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDatabase(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.pool.Exec(ctx, "UPDATE audit_schema SET version = $1", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opened a newer schema: %v", err)
	}
}
