package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The results section: embedded by default; postgres needs a DSN, from
// the file, the environment or dsn_file.
func TestResults(t *testing.T) {
	c, err := Load(write(t, base), nil)
	if err != nil || c.Results.Kind != "embedded" {
		t.Fatalf("default: %+v %v", c.Results, err)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"results: {kind: mysql}\n", `h.yaml:1: results.kind: "mysql": want embedded or postgres`},
		{"results: {kind: postgres}\n", "results.dsn: must be set for kind postgres (HEADEND_RESULTS_DSN or results.dsn_file)"},
		{"results: {kind: postgres, dsn_file: /nonexistent/dsn}\n", "results.dsn_file: open /nonexistent/dsn"},
	} {
		if _, err := Load(write(t, bad.yaml+base), nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.yaml, err, bad.want)
		}
	}
	t.Setenv("HEADEND_RESULTS_DSN", "postgres://headend:s3cret@db/headend")
	if c, err = Load(write(t, "results: {kind: postgres}\n"+base), nil); err != nil || c.Results.DSN != "postgres://headend:s3cret@db/headend" {
		t.Fatalf("from the environment: %+v %v", c.Results, err)
	}
	f := filepath.Join(t.TempDir(), "dsn")
	os.WriteFile(f, []byte("host=db dbname=headend\n"), 0o600)
	if c, err = Load(write(t, "results: {kind: postgres, dsn_file: "+f+"}\n"+base), nil); err != nil || c.Results.DSN != "host=db dbname=headend" {
		t.Fatalf("dsn_file: %+v %v", c.Results, err)
	}
}
