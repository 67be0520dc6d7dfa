package dlt645

import (
	"encoding/hex"
	"strings"
	"testing"
)

// hx turns "68 78 56 ..." into bytes.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func sp(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strings.ToUpper(hex.EncodeToString([]byte{x})))
	}
	return sb.String()
}

func mustFrame(t testing.TB, f Frame, err error) []byte {
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

// Frames computed by hand from the standard's rules (address low byte
// first, data +33H, CS = sum of bytes 68 .. last data byte mod 256).
const (
	// read 00010000 from 000012345678: CS = 0x2C6 mod 256 = C6
	hexReadReq = "68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16"
	// reply 123456.78 kWh: value 78 56 34 12 + 33 = AB 89 67 45; CS 2A
	hexReadReply = "68 78 56 34 12 00 00 68 91 08 33 33 34 33 AB 89 67 45 2A 16"
	// reply 0.00 kWh: the checksum is 16
	hexReplyCS16 = "68 78 56 34 12 00 00 68 91 08 33 33 34 33 33 33 33 33 16 16"
	// 1997 read 9010 and reply 999999.99
	hexRead97      = "68 78 56 34 12 00 00 68 01 02 43 C3 ED 16"
	hexReadReply97 = "68 78 56 34 12 00 00 68 81 06 43 C3 CC CC CC CC A1 16"
)
