package gdw3761

import (
	"encoding/hex"
	"strings"
	"testing"
)

// hx turns "68 32 00 ..." into bytes.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func sp(b []byte) string {
	s := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(s[i : i+2])
	}
	return sb.String()
}

func marshal(t testing.TB, f Frame, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var term = Address{Area: 4401, Terminal: 1}

// Hand-built frames (checksums summed by hand).
const (
	hexLogin   = "68 32 00 32 00 68 C9 01 44 01 00 00 02 70 00 00 01 00 82 16"
	hexConfirm = "68 32 00 32 00 68 0B 01 44 01 00 00 00 60 00 00 01 00 B2 16"
)
