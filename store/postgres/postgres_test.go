package postgres

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/internal/pgtest"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/resultstest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// factory makes a database per test on the test binary's server; every
// open is another Store on it (another node, or a restart).
func factory(t testing.TB) resultstest.Opener {
	dsn := pgtest.Shared(t).NewDatabase(t)
	return func(t testing.TB, now func() time.Time) store.Results {
		t.Helper()
		s, err := Open(context.Background(), dsn, Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestContract(t *testing.T) { resultstest.Run(t, factory) }

// Open records the schema's version, opens a database at that version
// as it is, and refuses one a newer head-end migrated.
func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDatabase(t)
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.pool.QueryRow(ctx, "SELECT version FROM results_schema").Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d %v, want %d", v, err, SchemaVersion)
	}
	again, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	again.Close()
	if _, err := s.pool.Exec(ctx, "UPDATE results_schema SET version = $1", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dsn, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opened a newer schema: %v", err)
	}
}

// A bad DSN, or a server that is not there, is an error naming it,
// without its password.
func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{"postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable", "postgres://u:s3cret@[::1/db", "port=x password=s3cret"} {
		_, err := Open(ctx, dsn, Options{})
		if err == nil {
			t.Errorf("%s: opened", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "postgres") {
			t.Errorf("the error does not say what it opened: %v", err)
		}
	}
}

// durable makes a database per benchmark on a server of its own with
// fsync and synchronous commit on, as in production.
func durable(t testing.TB) resultstest.Opener {
	dsn := pgtest.Start(t, pgtest.Options{Durable: true}).NewDatabase(t)
	return func(t testing.TB, now func() time.Time) store.Results {
		s, err := Open(context.Background(), dsn, Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func BenchmarkPut(b *testing.B) {
	b.Run("fsync=off", func(b *testing.B) { resultstest.BenchPut(b, factory, 500) })
	b.Run("fsync=on", func(b *testing.B) { resultstest.BenchPut(b, durable, 500) })
	b.Run("fsync=on/batch=1", func(b *testing.B) { resultstest.BenchPut(b, durable, 1) })
}

func BenchmarkPutParallel(b *testing.B) { resultstest.BenchPutParallel(b, factory, 500) }

func BenchmarkSince(b *testing.B) { resultstest.BenchSince(b, factory, 20000) }

// BenchmarkRecordBytes puts 100,000 new value records (a day's validated
// value of a meter and register, as BenchPut puts them: a 90-byte JSON
// body) in batches of 500 and reports what the database takes for them:
// every relation's pg_total_relation_size (tables, their indexes and
// TOAST: versions, current rows, the feed's sequence) after a VACUUM,
// per record.
func BenchmarkRecordBytes(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	dsn := pgtest.Shared(b).NewDatabase(b)
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		if _, err := s.pool.Exec(ctx, "VACUUM"); err != nil {
			b.Fatal(err)
		}
		var bytes int64
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'S')`).Scan(&bytes); err != nil {
			b.Fatal(err)
		}
		return bytes
	}
	empty := size()
	b.ResetTimer()
	// once whatever b.N (a database of its own each call): -benchtime 1x
	for i := 0; i < n; i += 500 {
		if _, err := s.Put(ctx, resultstest.Values(i, 500)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	full := size()
	b.ReportMetric(float64(full-empty)/n, "bytes/record")
	b.ReportMetric(float64(full-empty), "bytes")
}
