package gdw3761

import (
	"bytes"
	"io"
	"testing"
)

// bench32 is an AFN 0D F161 reply for points 1..32 (four identifiers of
// eight points), each with 4 tariffs: a day's freeze of a small area.
func bench32(tb testing.TB) []byte {
	req, _ := ReadDaily(term, 0, DateTime{Year: 2026, Month: 12, Day: 6}, []uint16{1}, []uint8{161})
	f := Response(&req, 0, true, true)
	e := Energy{Date: DateTime{Year: 2026, Month: 12, Day: 6}, ReadTime: DateTime{Year: 2026, Month: 12, Day: 7, Minute: 5}, Tariffs: make([]Num, 4)}
	for g := range 4 {
		pns := make([]uint16, 8)
		for i := range pns {
			pns[i] = uint16(g*8 + i + 1)
		}
		d, err := MakeDADT(pns, []uint8{161})
		if err != nil {
			tb.Fatal(err)
		}
		f.Data = append(f.Data, d[:]...)
		for _, pn := range pns {
			e.Total = N(int64(pn)*1234567, 4)
			for t := range e.Tariffs {
				e.Tariffs[t] = N(int64(pn)*100000+int64(t), 4)
			}
			if f.Data, err = e.AppendUnit(f.Data, AFNClass2, 161); err != nil {
				tb.Fatal(err)
			}
		}
	}
	b, err := f.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestBench32(t *testing.T) {
	in := bench32(t)
	var f Frame
	if err := f.UnmarshalBinary(in); err != nil {
		t.Fatal(err)
	}
	us, err := f.Units(nil)
	if err != nil || len(us) != 32 {
		t.Fatalf("%d units, %v", len(us), err)
	}
	var e Energy
	if err := e.UnmarshalUnit(AFNClass2, 161, us[31].Data); err != nil || us[31].Pn != 32 || e.Total.String() != "3950.6144" || len(e.Tariffs) != 4 {
		t.Fatalf("p32 %v %v", e, err)
	}
}

// BenchmarkDecodeF161Reply32 is the hot path of a daily read through a
// concentrator: wire bytes of an AFN 0D F161 reply of 32 points to exact
// readings, into a reused Frame, Unit slice and Energy.
func BenchmarkDecodeF161Reply32(b *testing.B) {
	in := bench32(b)
	var f Frame
	us := make([]Unit, 0, 64)
	e := Energy{Tariffs: make([]Num, 0, 8)}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := f.Decode(in); err != nil {
			b.Fatal(err)
		}
		var err error
		if us, err = f.Units(us[:0]); err != nil || len(us) != 32 {
			b.Fatal(err)
		}
		for _, u := range us {
			if err := e.UnmarshalUnit(f.AFN, u.Fn, u.Data); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkEncodeDailyRequest(b *testing.B) {
	pns := make([]uint16, 32)
	for i := range pns {
		pns[i] = uint16(i + 1)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		f, err := ReadDaily(term, 1, DateTime{Year: 2026, Month: 12, Day: 6}, pns, []uint8{161})
		if err != nil {
			b.Fatal(err)
		}
		buf, _ = f.AppendBinary(buf[:0])
	}
}

// BenchmarkReader streams 1,000 heartbeats through a Reader.
func BenchmarkReader(b *testing.B) {
	hb, _ := Link(term, 1, 3, DateTime{})
	one, _ := hb.MarshalBinary()
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

// TestDecodeF161NoAllocs holds the benchmark's hot path to zero
// allocations once the reused values have grown.
func TestDecodeF161NoAllocs(t *testing.T) {
	in := bench32(t)
	var f Frame
	var us []Unit
	var e Energy
	run := func() {
		f.Decode(in)
		us, _ = f.Units(us[:0])
		for _, u := range us {
			e.UnmarshalUnit(f.AFN, u.Fn, u.Data)
		}
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Errorf("%v allocations per reply", a)
	}
}
