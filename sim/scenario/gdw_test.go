package scenario

import (
	"strings"
	"testing"
)

func TestGDWDemoLoads(t *testing.T) {
	s, err := Load("../../testdata/scenarios/gdw-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Terminals) != 2 {
		t.Fatalf("terminals = %v, want 2", s.Terminals)
	}
	if got := s.Terminals["T4401-0001"].Address.String(); got != "4401 0001" {
		t.Errorf("T4401-0001 address = %q", got)
	}
}

func TestGDWTerminalErrors(t *testing.T) {
	for _, tc := range []struct{ conc, want string }{
		{`{protocol: gdw3761, address: "4401 0001", access: {kind: tcp-listen, listen: "127.0.0.1:1"}}`, "kind must be tcp-dialin"},
		{`{protocol: gdw3761, address: "44x1", access: {kind: tcp-dialin, dial: "127.0.0.1:1"}}`, "areas[0].concentrator.address"},
		{`{protocol: iec104, access: {kind: tcp-dialin, dial: "127.0.0.1:1"}}`, "concentrator.protocol"},
	} {
		y := "start: 2025-06-01T00:00:00+08:00\nareas:\n  - id: A\n    customers: {residential: 2}\n    concentrator: " + tc.conc + "\n"
		_, err := Parse("t.yaml", []byte(y))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.conc, err, tc.want)
		}
	}
}

func TestGDWRepeatCountsTerminalUp(t *testing.T) {
	y := "start: 2025-06-01T00:00:00+08:00\nareas:\n  - id: A\n    repeat: 3\n    customers: {residential: 2}\n    concentrator: {protocol: gdw3761, address: \"4401 0009\", access: {kind: tcp-dialin, dial: \"127.0.0.1:1\"}}\n"
	s, err := Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Terminals["C-A-003"].Address.String(); got != "4401 000B" {
		t.Errorf("third terminal = %q, want 4401 000B (%v)", got, s.Terminals)
	}
}
