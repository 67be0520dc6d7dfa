package main

import (
	"strings"
	"testing"
)

// Issue 16.17: one corrupted frame is one error object, and a stray 68
// before a good frame is noise (noted by --text), not an error object.
func TestDecodeOneErrorPerCorruptFrame(t *testing.T) {
	// a read request with its checksum C6 corrupted to C7, after FE FE FE FE 00
	out, errOut, err := run(t, "", "decode", "FE FE FE FE 00 68 78 56 34 12 00 00 68 11 04 33 33 34 33 C7 16")
	rs := reports(t, out)
	if err == nil || len(rs) != 1 || !strings.Contains(rs[0]["error"].(string), "bad checksum at byte 5") ||
		strings.Count(errOut, "headend decode:") != 1 {
		t.Errorf("corrupt frame: %d reports %v, stderr %q, err %v", len(rs), rs, errOut, err)
	}

	stray := "68 01 02 03 04 05 06 " + replyHex
	out, errOut, err = run(t, "", "decode", stray)
	rs = reports(t, out)
	if err != nil || len(rs) != 1 || rs[0]["error"] != nil || errOut != "" {
		t.Errorf("stray 68: %d reports %v, stderr %q, err %v", len(rs), rs, errOut, err)
	}
	out, _, _ = run(t, "", "decode", "--text", stray)
	if !strings.Contains(out, "noise before frame 1: 7 bytes at byte 0 skipped (68 01 02 03 04 05 06)") ||
		!strings.Contains(out, "frame 1 at byte 7:") {
		t.Errorf("--text with a stray 68:\n%s", out)
	}
	// an FE preamble is no noise
	out, _, _ = run(t, "", "decode", "--text", "FE FE FE FE "+replyHex)
	if strings.Contains(out, "noise") {
		t.Errorf("preamble called noise:\n%s", out)
	}
}

// Function 1D: multi-function terminal output control, its reply 9D and
// its refusal DD (frames built by hand: N = 01, +33H = 34).
func TestDecodeTerminalOutputControl(t *testing.T) {
	for _, c := range []struct{ hex, errPart string }{
		{"68 78 56 34 12 00 00 68 1D 01 34 36 16", ""},
		{"68 78 56 34 12 00 00 68 9D 01 34 B6 16", ""},
		{"68 78 56 34 12 00 00 68 DD 01 34 F6 16", "refused multi-function terminal output control (1D)"},
	} {
		out, _, err := run(t, "", "decode", c.hex)
		rs := reports(t, out)
		if len(rs) != 1 || rs[0]["function"] != "multi-function terminal output control" {
			t.Errorf("%s: %v", c.hex, rs)
			continue
		}
		e, _ := rs[0]["error"].(string)
		if (c.errPart == "") != (err == nil) || !strings.Contains(e, c.errPart) {
			t.Errorf("%s: error %q (%v)", c.hex, e, err)
		}
	}
}

// FuzzDecode runs decode over arbitrary bytes: it must not panic, and
// must report at most one error object per 68 in the input.
func FuzzDecode(f *testing.F) {
	for _, h := range []string{"FE FE FE FE 00 68 78 56 34 12 00 00 68 11 04 33 33 34 33 C7 16",
		"68 01 02 03 04 05 06 " + replyHex, replyHex + " " + replyHex} {
		b, err := parseHex(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, text := range []bool{false, true} {
			var out, errOut strings.Builder
			decodeAll(in, nil, text, &out, &errOut)
			if errs, starts := strings.Count(errOut.String(), "headend decode: frame"), strings.Count(string(in), "\x68"); errs > starts {
				t.Fatalf("%d errors for %d 68 bytes in % X", errs, starts, in)
			}
		}
	})
}
