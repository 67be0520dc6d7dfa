package config

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestConfigurationDoc checks docs/configuration.md against the loader:
// every key the loader knows has a row, with its default as the loader
// has it, and the page names no key the loader does not know.
func TestConfigurationDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // key -> default column
	for _, line := range strings.Split(string(b), "\n") {
		cols := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cols) < 3 {
			continue
		}
		rows[strings.Trim(cols[0], "| `")] = strings.Trim(cols[1], "`")
	}
	fs := pflag.NewFlagSet("doc", pflag.ContinueOnError)
	RegisterFlags(fs)
	known := map[string]bool{}
	for _, k := range Keys() {
		known[k] = true
		def, ok := rows[k]
		if !ok {
			t.Errorf("docs/configuration.md: no row for %s", k)
			continue
		}
		want := fs.Lookup(FlagName(k)).DefValue
		if want == "" || want == "[]" {
			want = "—"
		}
		if def != want {
			t.Errorf("docs/configuration.md: %s defaults to %q, the page says %q", k, want, def)
		}
	}
	for k := range rows {
		if !known[k] {
			t.Errorf("docs/configuration.md: %s is no key of the loader", k)
		}
	}
}
