package dlt645

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func seedFrames(f *testing.F) {
	for _, s := range []string{hexReadReq, hexReadReply, hexReplyCS16, hexRead97, hexReadReply97,
		"FE FE FE FE " + hexReadReply, "00 68 16 " + hexReadReq + " " + hexReadReply} {
		f.Add(hx(f, s))
	}
}

// FuzzReader feeds arbitrary bytes through the streaming reader: it must
// not panic or loop, every frame it returns must re-encode to the exact
// wire bytes it came from, and every error must be typed.
func FuzzReader(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("reader does not make progress")
			}
			fr, err := r.ReadFrame()
			if err == io.EOF {
				return
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			b, err := fr.MarshalBinary()
			if err != nil || !bytes.Equal(b, r.Raw()) {
				t.Fatalf("frame % X re-encodes to % X (%v)", r.Raw(), b, err)
			}
			// Whatever the frame, decoding its message must not panic.
			ed, _ := DetectEdition(fr.Control)
			m, err := ed.Decode(fr)
			if err == nil && m.HasDI {
				ed.Registry().Decode(m.DI, m.Payload, nil)
			}
		}
	})
}

// FuzzValues decodes arbitrary data for a DI of either edition; what
// decodes without error must encode back to the same bytes.
func FuzzValues(f *testing.F) {
	f.Add(uint32(0x00010000), false, []byte{0x78, 0x56, 0x34, 0x12})
	f.Add(uint32(0x0001FF00), false, bytes.Repeat([]byte{0x11}, 20))
	f.Add(uint32(0x01010000), false, []byte{0x56, 0x34, 0x12, 0x30, 0x14, 0x22, 0x11, 0x26})
	f.Add(uint32(0x06000001), false, []byte{0xA0, 0xA0, 0x0B, 0, 0, 1, 1, 0x26, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0x40, 0xE5})
	f.Add(uint32(0x9010), true, []byte{0x99, 0x99, 0x99, 0x99})
	f.Add(uint32(0x00000000), false, []byte{0xEE, 0xEE, 0xEE, 0xEE})
	f.Fuzz(func(t *testing.T, di uint32, old bool, data []byte) {
		ed := DLT2007
		if old {
			ed = DLT1997
		}
		r := ed.Registry()
		vals, err := r.Decode(DI(di), data, nil)
		if err != nil {
			return
		}
		spec, ok := r.Lookup(DI(di))
		if !ok || (len(spec.Fields) > 0 && (spec.Fields[0].Format.Kind == KindProfile || spec.Fields[len(spec.Fields)-1].Format.Size == 0)) {
			return
		}
		back, err := spec.Encode(nil, vals)
		if err != nil {
			t.Fatalf("%s % X decoded but does not encode: %v", DI(di), data, err)
		}
		// The encoding may differ in spelling (FF filler comes back as
		// EE, -0 as 0) but must mean the same.
		again, err := r.Decode(DI(di), back, nil)
		if err != nil || len(again) != len(vals) {
			t.Fatalf("%s: % X -> % X does not decode back: %v", DI(di), data, back, err)
		}
		for i := range vals {
			if vals[i].String() != again[i].String() && !(vals[i].Kind == KindNumber && vals[i].Number.Units == 0) {
				t.Fatalf("%s: %s became %s", DI(di), vals[i].String(), again[i].String())
			}
		}
	})
}

// FuzzProfile decodes arbitrary load-profile bytes.
func FuzzProfile(f *testing.F) {
	r := ProfileRecord{Groups: 0x3F, Time: DateTime{Layout: YYMMDDhhmm, Year: 2026, Month: 1, Day: 1}}
	b, _ := AppendProfileRecord(nil, &r)
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := DecodeProfile(in)
		if err != nil {
			return
		}
		var out []byte
		for i := range recs {
			out, err = AppendProfileRecord(out, &recs[i])
			if err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
		}
		if len(out) != len(in) {
			t.Fatalf("re-encoded length %d, input %d", len(out), len(in))
		}
	})
}

// FuzzParse covers the text parsers: addresses, decimals, DIs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"000012345678", "AAAAAAAAAAAA", "-123.45", "00010000", "9010", "0x0201FF00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := ParseAddress(s); err == nil {
			if b, err := ParseAddress(a.String()); err != nil || b != a {
				t.Fatalf("address %q -> %s does not parse back", s, a)
			}
		}
		if d, err := ParseDecimal(s); err == nil {
			if e, err := ParseDecimal(d.String()); err != nil || e != d {
				t.Fatalf("decimal %q -> %s does not parse back", s, d)
			}
		}
		ParseDI(s)
	})
}
