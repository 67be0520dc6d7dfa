package fieldops

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/headend/headend/daemon/config"
)

// archiveDir writes a configuration whose meters are in two CSV files,
// one per area, and one inline.
func archiveDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"headend.yaml": `collector: {data_dir: data}
http: {listen: ""}
archive:
  areas:
    - {id: A, name: A, feeder: F1, voltage_level: 10kV/0.4kV}
    - {id: B, name: B, feeder: F1, voltage_level: 10kV/0.4kV}
  channels:
    - {id: CH-A, kind: tcp, address: "127.0.0.1:1"}
    - {id: CH-B, kind: tcp, address: "127.0.0.1:2"}
  meters:
    - {address: "000009000001", channel: CH-B, area: B, ct: 1, pt: 1}
  meters_csv: [meters/*.csv]
`,
		"meters/a.csv": "address,channel,area,role,ct,pt\n000001000000,CH-A,A,area,20,1\n000001000001,CH-A,A,customer,1,1\n",
		"meters/b.csv": "address,channel,area,role,ct,pt\n000002000000,CH-B,B,area,30,1\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(dir, "headend.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestImportReportsEveryBadRowAndWritesNothing(t *testing.T) {
	dir := archiveDir(t)
	cfg := load(t, dir)
	before, _ := os.ReadFile(filepath.Join(dir, "meters/a.csv"))
	in := "address,channel,area,ct\n" +
		"1000002,CH-A,A,1\n" + // fine
		"000001000003,CH-A,A,0\n" + // bad ratio
		"000001000004,CH-Z,A,1\n" + // no such channel
		"1000002,CH-A,A,1\n" + // repeats line 2
		"000009000001,CH-B,B,5\n" + // inline in the YAML
		"000003000001,CH-B,C,1\n" // no such area
	var audit auditLog
	_, err := ImportMeters(t.Context(), cfg, strings.NewReader(in), "new.csv", ImportOptions{}, &Options{Audit: audit.hook})
	if err == nil {
		t.Fatal("a bad import was accepted")
	}
	for _, want := range []string{"new.csv:3:4: ct", "new.csv:4", "CH-Z", "new.csv:5: address 000001000002: repeats new.csv:2",
		"new.csv:6: address 000009000001: the meter is listed inline", "new.csv:7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, "meters/a.csv"))
	if !bytes.Equal(before, after) {
		t.Error("a bad import changed the archive")
	}
	if len(audit.recs) != 1 || audit.recs[0].action != "archive.import" || audit.recs[0].detail["result"] == "ok" {
		t.Errorf("audit %+v", audit.recs)
	}
}

func TestImportUpdatesInPlaceAndAddsByArea(t *testing.T) {
	dir := archiveDir(t)
	cfg := load(t, dir)
	in := "address,channel,area,role,ct,customer\n" +
		"000001000001,CH-A,A,customer,1,C-17\n" + // update in a.csv
		"000002000005,CH-B,B,customer,1,C-18\n" + // new in B: b.csv
		"000001000009,CH-A,A,pv,1,C-19\n" // new in A: a.csv
	var audit auditLog
	im, err := ImportMeters(t.Context(), cfg, strings.NewReader(in), "new.csv", ImportOptions{}, &Options{Audit: audit.hook})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(im.Updated, []string{"000001000001"}) || !slices.Equal(im.Added, []string{"000002000005", "000001000009"}) || len(im.Files) != 2 {
		t.Fatalf("import %+v", im)
	}
	cfg2 := load(t, dir) // the result loads and validates
	if len(cfg2.Archive.Meters) != len(cfg.Archive.Meters)+2 {
		t.Fatalf("%d meters after import", len(cfg2.Archive.Meters))
	}
	a, _ := os.ReadFile(filepath.Join(dir, "meters/a.csv"))
	lines := strings.Split(strings.TrimSpace(string(a)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[2], "000001000001,2007,,CH-A,A,customer,C-17") || !strings.HasPrefix(lines[3], "000001000009,") {
		t.Errorf("a.csv:\n%s", a)
	}
	if len(audit.recs) != 1 || audit.recs[0].detail["result"] != "ok" || audit.recs[0].detail["added"] != 2 {
		t.Errorf("audit %+v", audit.recs)
	}

	// a new area's meters go where --into says, if the archive reads it
	var pe *ParamError
	_, err = PlanImport(cfg2, strings.NewReader("address,channel,area\n000002000007,CH-B,B\n"), "x.csv", filepath.Join(dir, "elsewhere.csv"))
	if !errorsAs(err, &pe) || pe.Param != "into" {
		t.Errorf("into outside the archive: %v", err)
	}
	im, err = ImportMeters(t.Context(), cfg2, strings.NewReader("address,channel,area\n000002000007,CH-B,B\n"), "x.csv",
		ImportOptions{Into: filepath.Join(dir, "meters/c.csv")}, &Options{})
	if err != nil || len(im.Files) != 1 || !strings.HasSuffix(im.Files[0], "c.csv") {
		t.Fatalf("%+v %v", im, err)
	}
	if n := len(load(t, dir).Archive.Meters); n != len(cfg2.Archive.Meters)+1 {
		t.Errorf("%d meters after importing into a new file", n)
	}

	var out bytes.Buffer
	if err := ExportMeters(&out, load(t, dir)); err != nil || strings.Count(out.String(), "\n") != 8 {
		t.Errorf("export %v:\n%s", err, out.String())
	}
}

func errorsAs(err error, target **ParamError) bool { return errors.As(err, target) }
