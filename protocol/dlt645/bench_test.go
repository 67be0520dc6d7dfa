package dlt645

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkEncodeReadRequest(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		f := Frame{Address: meterA, Control: 0x11, Data: []byte{0, 0, 1, 0}}
		buf, _ = f.AppendBinary(buf[:0])
	}
}

// BenchmarkDecodeReadReply is the hot path of a poll: wire bytes of a
// read reply to named exact values, into a reused Frame and Value slice.
func BenchmarkDecodeReadReply(b *testing.B) {
	in := hx(b, hexReadReply)
	var f Frame
	vals := make([]Value, 0, 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := f.Decode(in); err != nil {
			b.Fatal(err)
		}
		m, err := DLT2007.Decode(&f)
		if err != nil {
			b.Fatal(err)
		}
		vals, err = registry2007.Decode(m.DI, m.Payload, vals[:0])
		if err != nil || vals[0].Number.Units != 12345678 {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBlockReply decodes a five-member energy block.
func BenchmarkDecodeBlockReply(b *testing.B) {
	fr, _ := DLT2007.ReadReply(meterA, 0x0001FF00, hx(b, "00 10 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00"), false)
	in, _ := fr.MarshalBinary()
	var f Frame
	vals := make([]Value, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		f.Decode(in)
		m, _ := DLT2007.Decode(&f)
		vals, _ = registry2007.Decode(m.DI, m.Payload, vals[:0])
	}
}

// BenchmarkReader streams 1,000 replies with preambles through a Reader.
func BenchmarkReader(b *testing.B) {
	one := append([]byte{0xFE, 0xFE, 0xFE, 0xFE}, hx(b, hexReadReply)...)
	stream := bytes.Repeat(one, 1000)
	rd := bytes.NewReader(stream)
	r := NewReader(rd)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		rd.Reset(stream)
		r.Reset(rd)
		n := 0
		for {
			_, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d frames", n)
		}
	}
}
