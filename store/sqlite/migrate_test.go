package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// fixtureReads are what testdata/v1.db holds: some tasks of
// storetest.MeterDay (instantaneous blocks, a load-profile read with
// no-data channels, the daily freeze and the clock).
func fixtureReads(t testing.TB) []meter.Read {
	day := storetest.MeterDay(t)
	var out []meter.Read
	for _, i := range []int{0, 1, 96, 97, 120, 121} {
		out = append(out, day[i]...)
	}
	return out
}

// TestWriteV1Fixture wrote testdata/v1.db with the schema version 1 code
// (HEADEND_WRITE_V1=1 go test -run TestWriteV1Fixture ./store/sqlite/ at
// the commit that added it); run now, it would write the current schema.
func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("HEADEND_WRITE_V1") == "" {
		t.Skip("writes the fixture only when asked")
	}
	t.Fatal("the fixture is schema version 1: write it with that code")
}

// TestMigrateFromVersion1 opens a file the schema version 1 code wrote:
// it is migrated, reads back what the same writes read back from a new
// file, and keeps each distinct frames blob once.
func TestMigrateFromVersion1(t *testing.T) {
	b, err := os.ReadFile("testdata/v1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, path, Options{})
	defer s.Close()
	var v, frames, reads int
	s.w.QueryRow("PRAGMA user_version").Scan(&v)
	s.w.QueryRow("SELECT count(*) FROM frames").Scan(&frames)
	s.w.QueryRow("SELECT count(*) FROM reads").Scan(&reads)
	if v != schemaVersion || reads != 64 || frames != 18 {
		t.Fatalf("version %d, %d reads, %d frames; want %d, 64, 18", v, reads, frames, schemaVersion)
	}
	got, err := s.Query(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := open(t, filepath.Join(t.TempDir(), "v2.db"), Options{})
	defer fresh.Close()
	if err := fresh.Write(t.Context(), fixtureReads(t)); err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Query(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.ExpectReads(t, "migrated", got, want)
}
