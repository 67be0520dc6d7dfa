package dtu

import (
	"bytes"
	"testing"
)

// FuzzPacketsMatch checks the configured-packet matcher and the Registry
// against their definition: a match is a prefix, ErrShort a proper prefix
// of a packet, anything else ErrNotPacket.
func FuzzPacketsMatch(f *testing.F) {
	f.Add([]byte("860123"), []byte("\xFEh"), []byte("860123\x68\x16"))
	f.Add([]byte("REG 1"), []byte("HB 1"), []byte("HB"))
	f.Fuzz(func(t *testing.T, reg, hb, b []byte) {
		p := Packets{Register: reg, Heartbeat: hb}
		k, n, err := p.Match(b)
		switch err {
		case nil:
			want := map[Kind][]byte{Registration: reg, Heartbeat: hb}[k]
			if len(want) == 0 || n != len(want) || !bytes.HasPrefix(b, want) {
				t.Fatalf("Match(% X) = %v %d for packets % X / % X", b, k, n, reg, hb)
			}
		case ErrShort:
			if !(len(reg) > len(b) && bytes.HasPrefix(reg, b)) && !(len(hb) > len(b) && bytes.HasPrefix(hb, b)) {
				t.Fatalf("Match(% X) = ErrShort for packets % X / % X", b, reg, hb)
			}
		case ErrNotPacket:
			if len(reg) > 0 && bytes.HasPrefix(b, reg) || len(hb) > 0 && bytes.HasPrefix(b, hb) {
				t.Fatalf("Match(% X) missed a packet", b)
			}
		default:
			t.Fatalf("Match: unexpected error %v", err)
		}
		var r Registry
		if r.Add("A", p) != nil {
			return
		}
		id, n, err := r.Register(b)
		if (err == nil && id == "A") != (k == Registration) || k == Registration && n != len(reg) {
			t.Fatalf("Register(% X) = %q %d %v, Match says %v", b, id, n, err, k)
		}
	})
}
