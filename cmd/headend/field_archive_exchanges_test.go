package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headend/headend/daemon/config"
)

// TestArchiveExchangesCSV checks archive.exchanges_csv and "headend
// archive export --exchanges": the exchanges of the YAML and of the CSV
// are both on record, the export writes them in the form the key reads
// (a round trip loads the same), and a bad row is named by file, line and
// column.
func TestArchiveExchangesCSV(t *testing.T) {
	dir := t.TempDir()
	yaml := `collector: {data_dir: data}
http: {listen: ""}
archive:
  areas: [{id: A, name: A}]
  channels: [{id: CH, kind: tcp, address: "127.0.0.1:1"}]
  meters:
    - {address: "000001000000", channel: CH, area: A, role: area, ct: 1, pt: 1}
    - {address: "000001000001", channel: CH, area: A, ct: 1, pt: 1}
  exchanges:
    - {area: A, old_meter: "000001000009", new_meter: "000001000001", date: "2025-06-10T10:30:00+08:00", removal_reading: "247.81", install_reading: "0.00"}
  exchanges_csv: ex.csv
`
	cfg := filepath.Join(dir, "headend.yaml")
	os.WriteFile(cfg, []byte(yaml), 0o644)
	os.WriteFile(filepath.Join(dir, "ex.csv"), []byte("area,old_meter,new_meter,date,removal_reading,install_reading\n"+
		"A,1000008,000001000000,2025-07-01 09:00+08:00,1234.5,0.01\n"), 0o644)

	out, _, err := run(t, "", "archive", "export", "--config", cfg, "--exchanges")
	want := "area,old_meter,new_meter,date,removal_reading,install_reading\n" +
		"A,000001000009,000001000001,2025-06-10T10:30:00+08:00,247.81,0.00\n" +
		"A,000001000008,000001000000,2025-07-01T09:00:00+08:00,1234.5,0.01\n"
	if err != nil || out != want {
		t.Fatalf("export --exchanges %v:\n%s\nwant:\n%s", err, out, want)
	}

	// the export, as the only source, loads the same exchanges
	exported := filepath.Join(dir, "all.csv")
	if _, errOut, err := run(t, "", "archive", "export", "--config", cfg, "--exchanges", "--out", exported); err != nil || !strings.Contains(errOut, "2 exchanges written") {
		t.Fatalf("export --out %v %s", err, errOut)
	}
	i := strings.Index(yaml, "  exchanges:")
	os.WriteFile(cfg, []byte(yaml[:i]+"  exchanges_csv: all.csv\n"), 0o644)
	c, err := config.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if exs := c.Archive.Exchanges; len(exs) != 2 || exs[1].OldMeter != "000001000008" || exs[1].RemovalReading.String() != "1234.5" || exs[0].Source != "all.csv:2" {
		t.Errorf("round trip: %+v", exs)
	}

	os.WriteFile(exported, []byte("area,old_meter,new_meter,date,removal_reading,install_reading\nA,000001000009,000001000001,2025-06-10 10:30,1,0\n"), 0o644)
	if _, err := config.Load(cfg, nil); err == nil || !strings.Contains(err.Error(), "all.csv:2:4: date:") || !strings.Contains(err.Error(), "with its zone") {
		t.Errorf("bad date: %v", err)
	}
	// an exchange into a meter of another area is caught by the archive's checks, named by its row
	os.WriteFile(exported, []byte("area,old_meter,new_meter,date,removal_reading,install_reading\nB,000001000009,000001000001,2025-06-10T10:30:00+08:00,1,0\n"), 0o644)
	if _, err := config.Load(cfg, nil); err == nil || !strings.Contains(err.Error(), "all.csv:2") {
		t.Errorf("unknown area: %v", err)
	}
}
