package main

import (
	"strings"
	"testing"
)

// An AFN 0E F1 reply (ACD, EC 12): a meter found that the archive does
// not hold (ERC35) and a cover opened (ERC37), hand-built.
const gdwEventsHex = "68 B2 00 B2 00 68 A8 01 44 01 00 00 0E 64 00 00 01 00 0C 00 0A 0C " +
	"23 0F 30 09 07 12 26 02 01 78 56 34 12 00 00 01 05 25 07 00 10 07 12 26 03 80 0C 00 54 16"

func TestDecodeGDWEvents(t *testing.T) {
	out, _, err := run(t, "", "decode", "--text", gdwEventsHex)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EC 12/0", "ERC35", "port 2: 1 unknown meters found: 000012345678 (phases 001, signal 5)", "ERC37", "p3"} {
		if !strings.Contains(out, want) {
			t.Errorf("decode lacks %q:\n%s", want, out)
		}
	}
}
