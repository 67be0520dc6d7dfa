package main

import (
	"errors"
	"strings"
	"testing"
)

const (
	gdwLoginHex = "68 32 00 32 00 68 C9 01 44 01 00 00 02 70 00 00 01 00 82 16"
	// An AFN 10 F1 reply from port 2 carrying the 645 read reply replyHex.
	gdwForwardReplyHex = "68 8E 00 8E 00 68 88 01 44 01 00 00 10 67 00 00 01 00 02 14 00 " + replyHex + " C6 16"
)

func TestDecodeGDWLogin(t *testing.T) {
	out, _, err := run(t, "", "decode", gdwLoginHex)
	if err != nil {
		t.Fatal(err)
	}
	r := reports(t, out)[0]
	units := r["units"].([]any)
	u := units[0].(map[string]any)
	if r["protocol"] != "Q/GDW 1376.1" || r["terminal"] != "4401 0001" || r["direction"] != "uplink" ||
		r["afn"] != "AFN 02 (link test)" || u["fn"] != 1.0 || u["pn"] != 0.0 {
		t.Fatalf("report %v", r)
	}
}

func TestDecodeGDWForwardedMeterFrame(t *testing.T) {
	out, _, err := run(t, "", "decode", gdwForwardReplyHex)
	if err != nil {
		t.Fatal(err)
	}
	r := reports(t, out)[0]
	u := r["units"].([]any)[0].(map[string]any)
	fw, ok := u["forwarded"].(map[string]any)
	if !ok {
		t.Fatalf("no forwarded frame in %v", u)
	}
	v := fw["values"].([]any)[0].(map[string]any)
	if fw["address"] != "000012345678" || v["value"] != "123456.78" || v["unit"] != "kWh" {
		t.Fatalf("forwarded %v", fw)
	}
	out, _, err = run(t, "", "decode", "--text", gdwForwardReplyHex)
	if err != nil || !strings.Contains(out, "forwarded DL/T 645-2007 reply 000012345678") || !strings.Contains(out, "123456.78 kWh") {
		t.Fatalf("--text: %v\n%s", err, out)
	}
}

func TestDecodeGDWBadThenGood(t *testing.T) {
	bad := strings.Replace(gdwLoginHex, "82 16", "83 16", 1)
	out, errOut, err := run(t, "", "decode", "00 11 "+bad+" "+gdwLoginHex)
	if !errors.Is(err, errReported) || !strings.Contains(errOut, "bad checksum") {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
	rs := reports(t, out)
	if len(rs) != 2 || rs[0]["error"] == nil || rs[1]["afn"] != "AFN 02 (link test)" {
		t.Fatalf("reports %v", rs)
	}
}

// A DL/T 645 frame stays a DL/T 645 frame.
func TestDecodeGDWLeaves645Alone(t *testing.T) {
	out, _, err := run(t, "", "decode", replyHex)
	if err != nil || reports(t, out)[0]["version"] != "2007" {
		t.Fatalf("%v %s", err, out)
	}
}

func TestEncodeGDW(t *testing.T) {
	out, _, err := run(t, "", "encode", "gdw", "confirm", "--terminal", "4401 0001", "--seq", "0")
	if err != nil || strings.TrimSpace(out) != "68 32 00 32 00 68 0B 01 44 01 00 00 00 60 00 00 01 00 B2 16" {
		t.Fatalf("confirm: %v %q", err, out)
	}
	out, _, err = run(t, "", "encode", "gdw", "read-daily", "--terminal", "4401 0001", "--date", "2026-12-06", "--points", "1-2", "--fn", "161", "--text")
	if err != nil || !strings.HasPrefix(out, "68 4A 00 4A 00 68 4B 01 44 01 00 00 0D 60 03 01 01 14 06 12 26 06 12 26 ") ||
		!strings.Contains(out, "p2 F161") || !strings.Contains(out, "day = 2026-12-06") {
		t.Fatalf("read-daily: %v\n%s", err, out)
	}
	out, _, err = run(t, "", "encode", "gdw", "archive-push", "--terminal", "4401 0001", "--pw", strings.Repeat("AB", 16),
		"--meter", "1,1,2,2400,30,000012345678,4,5/1", "--text")
	if err != nil || !strings.Contains(out, "01 00 01 00 01 00 62 1E 78 56 34 12 00 00") || !strings.Contains(out, "PW present (not shown)") ||
		!strings.Contains(out, "point 1 port 2 baud 2400 protocol 30 address 000012345678 tariffs 4 class 5/1") {
		t.Fatalf("archive-push: %v\n%s", err, out)
	}
	if _, decoded, _ := strings.Cut(out, "\n"); strings.Contains(decoded, "AB AB") {
		t.Errorf("the PW shows outside the frame's hex:\n%s", out)
	}
	out, _, err = run(t, "", "encode", "gdw", "forward", "--terminal", "4401 0001", "--data", "68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16", "--text")
	if err != nil || !strings.Contains(out, "serial = 2400 8E1") || !strings.Contains(out, "forwarded DL/T 645-2007 request 000012345678: read data") {
		t.Fatalf("forward: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"read-daily", "--terminal", "4401 0001", "--date", "yesterday"},
		{"read-current", "--terminal", "44010"},
		{"read-current", "--terminal", "4401 0001", "--points", "9-1"},
		{"archive-push", "--terminal", "4401 0001"},
		{"clock-set", "--terminal", "4401 0001", "--pw", "12"},
	} {
		if _, _, err := run(t, "", append([]string{"encode", "gdw"}, args...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
