package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// run executes the headend command tree in-process.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(strings.NewReader(stdin), &out, &errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func reports(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		rs = append(rs, m)
	}
	return rs
}

const replyHex = "68 78 56 34 12 00 00 68 91 08 33 33 34 33 AB 89 67 45 2A 16"

func TestDecodeReadReply(t *testing.T) {
	for _, in := range []string{replyHex, strings.ReplaceAll(replyHex, " ", ""), "FE FE FE FE " + replyHex, "0x68,0x78,0x56,0x34,0x12,0x00,0x00,0x68,0x91,0x08,0x33,0x33,0x34,0x33,0xab,0x89,0x67,0x45,0x2a,0x16"} {
		out, _, err := run(t, "", "decode", in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		r := reports(t, out)[0]
		vals := r["values"].([]any)
		v := vals[0].(map[string]any)
		if r["version"] != "2007" || r["address"] != "000012345678" || r["control"] != "91" || r["function"] != "read data" ||
			r["di"] != "00010000" || v["value"] != "123456.78" || v["unit"] != "kWh" || v["name"] != "forward active energy total" {
			t.Fatalf("%q: report %v", in, r)
		}
		if _, has := r["error"]; has {
			t.Fatalf("error key on a good frame: %v", r)
		}
	}
}

func TestDecodeFromStdinManyFramesAndErrors(t *testing.T) {
	bad := strings.Replace(replyHex, "2A 16", "2B 16", 1)
	in := "68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16\n" + bad + "\n" + replyHex + "\n68 78 56 34 12 00 00 68 D1 01 35 EB 16\n"
	out, errOut, err := run(t, in, "decode")
	if !errors.Is(err, errReported) {
		t.Fatalf("exit error %v, want status 1", err)
	}
	rs := reports(t, out)
	if len(rs) != 4 {
		t.Fatalf("%d reports, want 4:\n%s", len(rs), out)
	}
	if rs[0]["direction"] != "request" || rs[2]["values"].([]any)[0].(map[string]any)["value"] != "123456.78" {
		t.Fatalf("good frames around the bad one: %v", rs)
	}
	if !strings.Contains(rs[1]["error"].(string), "checksum") || !strings.Contains(errOut, "frame 2 at byte 16") {
		t.Fatalf("bad checksum report %v, stderr %q", rs[1], errOut)
	}
	bits := rs[3]["err_bits"].([]any)
	if len(bits) != 1 || bits[0] != "no requested data" || !strings.Contains(errOut, "frame 4 at byte 56") {
		t.Fatalf("abnormal reply %v, stderr %q", rs[3], errOut)
	}
}

func TestDecodeBadInput(t *testing.T) {
	_, _, err := run(t, "", "decode", "68 7G")
	if err == nil || !strings.Contains(err.Error(), "position 5") {
		t.Fatalf("bad hex: %v", err)
	}
	_, errOut, err := run(t, "", "decode", "00 01 02")
	if !errors.Is(err, errReported) || !strings.Contains(errOut, "no frame") {
		t.Fatalf("no frame: %v %q", err, errOut)
	}
	_, errOut, err = run(t, "", "decode", replyHex[:30])
	if !errors.Is(err, errReported) || !strings.Contains(errOut, "truncated") {
		t.Fatalf("truncated: %v %q", err, errOut)
	}
}

func TestDecodeText(t *testing.T) {
	out, _, err := run(t, "", "decode", "--text", replyHex)
	if err != nil || !strings.Contains(out, "forward active energy total = 123456.78 kWh") || !strings.Contains(out, "reply from 000012345678") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestDecode1997AndForcedEdition(t *testing.T) {
	out, _, err := run(t, "", "decode", "68 78 56 34 12 00 00 68 81 06 43 C3 CC CC CC CC A1 16")
	r := reports(t, out)[0]
	if err != nil || r["version"] != "1997" || r["di"] != "9010" || r["values"].([]any)[0].(map[string]any)["value"] != "999999.99" {
		t.Fatalf("%v %v", err, r)
	}
	// Broadcast time (08) is the same in both; --edition picks the table.
	out, _, _ = run(t, "", "decode", "--edition", "1997", "68 99 99 99 99 99 99 68 08 06 3A 78 46 55 44 59 5E 16")
	if r := reports(t, out)[0]; r["version"] != "1997" || r["values"].([]any)[0].(map[string]any)["value"] != "2026-11-22T13:45:07" {
		t.Fatalf("forced edition: %v", r)
	}
}

func TestEncodeRead(t *testing.T) {
	out, _, err := run(t, "", "encode", "read", "--addr", "000012345678", "--di", "00010000")
	if err != nil || strings.TrimSpace(out) != "68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16" {
		t.Fatalf("%v %q", err, out)
	}
	out, _, _ = run(t, "", "encode", "read", "--edition", "1997", "--addr", "12345678", "--di", "9010", "--preamble", "2")
	if strings.TrimSpace(out) != "FE FE 68 78 56 34 12 00 00 68 01 02 43 C3 ED 16" {
		t.Fatalf("1997: %q", out)
	}
}

// Each encode subcommand builds a frame that decode reads back as the
// function asked for, with the password masked.
func TestEncodeEveryFunctionDecodesBack(t *testing.T) {
	authFlags := []string{"--password", "123456", "--operator", "0000ABCD"}
	cases := []struct {
		args []string
		fn   string
	}{
		{[]string{"read", "--addr", "1", "--di", "06000001", "--blocks", "4", "--from", "2026-11-22T13:00"}, "read data"},
		{[]string{"read-followup", "--addr", "1", "--di", "0001FF00", "--seq", "2"}, "read follow-up data"},
		{[]string{"read-address"}, "read address"},
		{append([]string{"write", "--addr", "1", "--di", "04000103", "--value", "15"}, authFlags...), "write data"},
		{[]string{"write-address", "--new", "000987654321"}, "write address"},
		{[]string{"time", "--at", "2026-11-22T13:45:07"}, "broadcast time"},
		{[]string{"freeze", "--addr", "1"}, "freeze"},
		{[]string{"baud", "--addr", "1", "--baud", "9600"}, "change baud rate"},
		{append([]string{"password", "--addr", "1", "--new-level", "4", "--new-password", "135790"}, authFlags...), "change password"},
		{append([]string{"demand-reset", "--addr", "1"}, authFlags...), "max demand reset"},
		{append([]string{"meter-reset", "--addr", "1"}, authFlags...), "meter reset"},
		{append([]string{"event-reset", "--addr", "1"}, authFlags...), "event reset"},
		{append([]string{"relay", "--addr", "1", "--command", "trip", "--until", "2026-11-23T00:00:00"}, authFlags...), "relay control"},
	}
	for _, c := range cases {
		out, errOut, err := run(t, "", append([]string{"encode"}, c.args...)...)
		if err != nil {
			t.Fatalf("%v: %v %s", c.args, err, errOut)
		}
		dec, _, err := run(t, "", "decode", strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("%v: decode: %v", c.args, err)
		}
		r := reports(t, dec)[0]
		if r["function"] != c.fn {
			t.Errorf("%v: decoded as %v, want %s", c.args, r["function"], c.fn)
		}
		if strings.Contains(dec, "123456") || strings.Contains(dec, "135790") {
			t.Errorf("%v: password printed: %s", c.args, dec)
		}
	}
}

func TestEncodeRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"encode", "read", "--di", "00010000"},
		{"encode", "read", "--addr", "12x", "--di", "00010000"},
		{"encode", "read", "--addr", "1", "--di", "0001"},
		{"encode", "read", "--addr", "1", "--di", "00010000", "--preamble", "9"},
		{"encode", "relay", "--addr", "1", "--command", "explode", "--password", "123456"},
		{"encode", "relay", "--addr", "1", "--command", "trip", "--password", "12"},
		{"encode", "relay", "--edition", "1997", "--addr", "1", "--command", "trip", "--password", "123456"},
		{"encode", "time", "--at", "yesterday"},
		{"encode", "write", "--addr", "1", "--di", "04000101", "--value", "3", "--password", "123456"},
	} {
		if _, _, err := run(t, "", args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// FuzzParseHex: the hex reader never panics, and what it accepts is what
// the formatter prints back.
func FuzzParseHex(f *testing.F) {
	for _, s := range []string{replyHex, "0x68,0x16", "FEFE", "6 8", "0x", "68:16-00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseHex(s)
		if err != nil {
			return
		}
		back, err := parseHex(spacedHex(b))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("%q -> % X -> %v", s, b, err)
		}
	})
}

func TestRawBytesBothWays(t *testing.T) {
	out, _, err := run(t, "", "encode", "--raw", "read", "--addr", "000012345678", "--di", "00010000")
	if err != nil || out != "\x68\x78\x56\x34\x12\x00\x00\x68\x11\x04\x33\x33\x34\x33\xC6\x16" {
		t.Fatalf("%v % X", err, out)
	}
	dec, _, err := run(t, out, "decode", "--raw")
	if err != nil || reports(t, dec)[0]["function"] != "read data" {
		t.Fatalf("%v %s", err, dec)
	}
}

// A configuration with errors is refused before anything starts, with
// the file, the key and the reason.
func TestServeRefusesABadConfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/bad.yaml"
	os.WriteFile(path, []byte(`collector:
  instantaneous: {enabled: true, spec: every 15m, jiter: 1m}
archive:
  areas: [{id: A1, name: A}]
  channels: [{id: CH1, kind: tcp, address: "127.0.0.1:1"}]
  meters:
    - {address: "000001000001", edition: "2007", channel: CH1, area: A1, role: area, ct: 0, pt: 1}
    - {address: "000001000001", edition: "2007", channel: CH2, area: A1, role: customer, ct: 1, pt: 1}
`), 0o644)
	_, _, err := run(t, "", "serve", "--config", path)
	if err == nil {
		t.Fatal("a bad configuration was accepted")
	}
	msg := err.Error()
	for _, want := range []string{"bad.yaml", "jiter", "unknown key", "ct", "duplicate", "CH2"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
}
