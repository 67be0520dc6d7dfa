package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// fixtureReads are what testdata/v1.db holds: some tasks of
// storetest.MeterDay (instantaneous blocks, a load-profile read with
// no-data channels, the daily freeze and the clock).
func fixtureReads(t testing.TB) []read.Read {
	day := storetest.MeterDay(t)
	var out []read.Read
	for _, i := range []int{0, 1, 96, 97, 120, 121} {
		out = append(out, day[i]...)
	}
	return out
}

// TestWriteV1Fixture wrote testdata/v1.db with the schema version 1 code
// (HEADEND_WRITE_V1=1 go test -run TestWriteV1Fixture ./store/sqlite/).
func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("HEADEND_WRITE_V1") == "" {
		t.Skip("writes the fixture only when asked")
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	s := open(t, path, Options{})
	if err := s.Write(t.Context(), fixtureReads(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/v1.db", b, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = store.Thin
}
