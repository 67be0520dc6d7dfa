package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// fixtureReads are what testdata/v1.db and v2.db hold: some tasks of
// storetest.MeterDayPolled (instantaneous blocks, a load-profile read
// with no-data channels, the daily freeze and the clock).
func fixtureReads(t testing.TB) []meter.Read {
	day := storetest.MeterDayPolled(t)
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
// it is migrated (through version 2), reads back what the same writes
// read back from a new file, and keeps each distinct frames blob once.
func TestMigrateFromVersion1(t *testing.T) { testMigrate(t, "testdata/v1.db") }

// TestMigrateFromVersion2 opens a file the schema version 2 code wrote
// (testdata/v2.db, the same reads, written at commit 11640e2): it is
// migrated to compact rows and reads back what the same writes read back
// from a new file.
func TestMigrateFromVersion2(t *testing.T) { testMigrate(t, "testdata/v2.db") }

func testMigrate(t *testing.T, fixture string) {
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, path, Options{})
	defer s.Close()
	var v, frames, reads, series, tables int
	s.w.QueryRow("PRAGMA user_version").Scan(&v)
	s.w.QueryRow("SELECT count(*) FROM frames").Scan(&frames)
	s.w.QueryRow("SELECT count(*) FROM reads").Scan(&reads)
	s.w.QueryRow("SELECT count(*) FROM series").Scan(&series)
	s.w.QueryRow("SELECT count(*) FROM sqlite_master WHERE name LIKE '%2' OR name = 'reads_area'").Scan(&tables)
	if v != schemaVersion || reads != 64 || frames != 18 || tables != 0 {
		t.Fatalf("version %d, %d reads, %d frames, %d old tables left; want %d, 64, 18, 0", v, reads, frames, tables, schemaVersion)
	}
	got, err := s.Query(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := open(t, filepath.Join(t.TempDir(), "new.db"), Options{})
	defer fresh.Close()
	if err := fresh.Write(t.Context(), fixtureReads(t)); err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Query(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var freshSeries int
	fresh.w.QueryRow("SELECT count(*) FROM series").Scan(&freshSeries)
	if series != freshSeries {
		t.Errorf("%d series after migration, %d written anew", series, freshSeries)
	}
	storetest.ExpectReads(t, "migrated", got, want)
	// and the points view reads as before
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM points WHERE status = 'ok' AND err = '' AND read_at IS NOT NULL").Scan(&n); err != nil || n == 0 {
		t.Errorf("points view: %d ok rows, %v", n, err)
	}
}
