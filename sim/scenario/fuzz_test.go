package scenario

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: any bytes give a scenario that validates, or an error that
// names the file; never a panic.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"tiny.yaml", "demo.yaml"} {
		b, err := os.ReadFile("../../testdata/scenarios/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nareas: [{id: A, repeat: 9999, customers: {residential: 999999}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := sc.Config.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
	})
}
