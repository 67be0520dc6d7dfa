package terminal

import (
	"context"
	"errors"
	"fmt"
	"github.com/headend/headend/collector/poll"
	"testing"
	"time"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// serve answers requests with answer(req) until the connection ends; it
// returns a channel counting the requests.
func (ft *fakeTerminal) serve(answer func(req *gdw3761.Frame) [][]byte) <-chan *gdw3761.Frame {
	reqs := make(chan *gdw3761.Frame, 64)
	go func() {
		defer close(reqs)
		for {
			ft.nc.SetReadDeadline(time.Time{})
			f, err := ft.r.ReadFrame()
			if err != nil {
				var fe *gdw3761.FrameError
				if errors.As(err, &fe) {
					continue
				}
				return
			}
			if f.AFN == gdw3761.AFNConfirm {
				continue
			}
			c := f.Clone()
			reqs <- &c
			for _, b := range answer(&c) {
				if _, err := ft.nc.Write(b); err != nil {
					return
				}
			}
		}
	}()
	return reqs
}

func wire(t *testing.T, f gdw3761.Frame) []byte {
	t.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func online(t *testing.T, known ...string) (*Listener, *fakeTerminal, *Session) {
	t.Helper()
	l := listen(t, nil, known...)
	ft := dialTerminal(t, l, known[0])
	ft.login()
	s, _ := l.Terminal(known[0])
	return l, ft, s
}

// dailyReply answers an AFN 0D F161/F163 read with every point's freeze
// (point n: forward n.1234 kWh, 4 tariffs), split into frames of at most
// perFrame points.
func dailyReply(t *testing.T, req *gdw3761.Frame, perFrame int) [][]byte {
	units, err := req.Units(nil)
	if err != nil {
		t.Error(err)
		return nil
	}
	type pf struct {
		pn uint16
		fn uint8
		td []byte
	}
	var ups []pf
	for _, u := range units {
		ups = append(ups, pf{u.Pn, u.Fn, u.Data})
	}
	var frames [][]byte
	seq := req.Seq.Num()
	for i := 0; i < len(ups); i += perFrame * 2 {
		r := gdw3761.Response(req, seq, i == 0, i+perFrame*2 >= len(ups))
		seq = (seq + 1) & 0x0F
		for _, u := range ups[i:min(i+perFrame*2, len(ups))] {
			d, _ := gdw3761.MakeDADT([]uint16{u.pn}, []uint8{u.fn})
			r.Data = append(r.Data, d[:]...)
			date, _ := gdw3761.A20.Decode(u.td)
			if u.fn >= 177 {
				date, _ = gdw3761.A21.Decode(u.td)
			}
			e := gdw3761.Energy{Date: date, ReadTime: gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Hour: 0, Minute: 7},
				Total: gdw3761.N(int64(u.pn)*10000+1234, 4), Tariffs: []gdw3761.Num{gdw3761.N(1, 4), gdw3761.N(2, 4), {Missing: true}, gdw3761.N(4, 4)}}
			if u.fn == 163 || u.fn == 179 {
				e.Total = gdw3761.N(0, 4)
			}
			if r.Data, err = e.AppendUnit(r.Data, gdw3761.AFNClass2, u.fn); err != nil {
				t.Error(err)
			}
		}
		frames = append(frames, wire(t, r))
	}
	return frames
}

func TestDailyFreezesOf32PointsInOneRequest(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	reqs := ft.serve(func(req *gdw3761.Frame) [][]byte { return dailyReply(t, req, 10) }) // 4 frames: FIR..FIN
	var points []Point
	for pn := uint16(1); pn <= 32; pn++ {
		points = append(points, Point{Pn: pn, Meter: "0000000000" + string(rune('0'+pn/10)) + string(rune('0'+pn%10)), Area: "A1", Channel: "gdw"})
	}
	r := Reader{Session: s, Location: time.UTC}
	reads, n, err := r.ReadDaily(context.Background(), time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), points)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || s.Requests() != 1 || len(reqs) != 1 {
		t.Fatalf("%d requests (%d sent) for 32 points, want 1", n, s.Requests())
	}
	freeze := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	fwd := map[string]meter.Read{}
	for _, rd := range reads {
		if rd.DI == 0x05060101 && rd.Quantity == "daily freeze -1 forward active energy total" {
			fwd[rd.Meter] = rd
		}
		if rd.Status == meter.Failed {
			t.Fatalf("failed read %+v", rd)
		}
	}
	if len(fwd) != 32 {
		t.Fatalf("forward totals of %d meters, want 32 (%d reads)", len(fwd), len(reads))
	}
	p7 := fwd[points[6].Meter]
	if p7.Value.String() != "7.1234" || p7.Unit != "kWh" || !p7.MeterTime.Equal(freeze) || p7.Class != meter.Daily || p7.Status != meter.OK {
		t.Fatalf("p7 %+v", p7)
	}
	if len(p7.Frame.Request) == 0 || len(p7.Frame.Reply) != 4 {
		t.Fatalf("frame ref: request %d bytes, %d reply frames, want 4", len(p7.Frame.Request), len(p7.Frame.Reply))
	}
	// 32 points × (time + 5 forward + 5 reverse)
	if len(reads) != 32*11 {
		t.Fatalf("%d reads, want %d", len(reads), 32*11)
	}
	for _, rd := range reads {
		if rd.Meter == points[0].Meter && rd.Quantity == "daily freeze -1 forward active energy tariff 3 (flat)" && rd.Status != meter.NoData {
			t.Fatalf("EE filler read as %+v", rd)
		}
	}
}

func TestBadFramesCountedGoodOnePasses(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	ft.serve(func(req *gdw3761.Frame) [][]byte {
		good := dailyReply(t, req, 8)[0]
		corrupt := append([]byte(nil), good...)
		corrupt[len(corrupt)-2]++ // checksum
		noise := []byte{0x00, 0x68, 0x11, 0x68}
		// a corrupt copy, noise, then the good reply right behind
		return [][]byte{append(append(corrupt, noise...), good...)}
	})
	r := Reader{Session: s, Location: time.UTC}
	reads, _, err := r.ReadDaily(context.Background(), time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), []Point{{Pn: 1, Meter: "000000000001"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 11 || reads[1].Status != meter.OK {
		t.Fatalf("reads %+v", reads)
	}
	if st := s.Status(); st.BadFrames < 1 {
		t.Fatalf("bad frames %d, want >= 1", st.BadFrames)
	}
}

func TestExchangeTimesOutAndIgnoresLateReply(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	var held *gdw3761.Frame
	ft.serve(func(req *gdw3761.Frame) [][]byte {
		if held == nil {
			held = req // no answer to the first
			return nil
		}
		late := gdw3761.Confirm(held)
		late.Control = gdw3761.MakeControl(true, false, false, false, 0)
		r := gdw3761.Response(req, req.Seq.Num(), true, true)
		r.AFN = gdw3761.AFNClass1
		r.Data = append(r.Data, 0, 0, 0x02, 0)
		r.Data, _ = gdw3761.A1.Append(r.Data, gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Hour: 1, Weekday: 1})
		return [][]byte{wire(t, late), wire(t, r)}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	clk := gdw3761.ReadClock(gdw3761.Address{}, 0)
	if _, err := s.Exchange(ctx, &clk); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	frames, err := s.Exchange(context.Background(), &clk)
	if err != nil || len(frames) != 1 || frames[0].AFN != gdw3761.AFNClass1 {
		t.Fatalf("%v %+v", err, frames)
	}
	waitFor(t, "late reply counted stray", func() bool { return s.Status().Stray >= 1 })
}

func TestForwarding645ThroughTerminal(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	addr := dlt645.MustParseAddress("000012345678")
	reply, _ := dlt645.DLT2007.ReadReply(addr, 0x00010000, []byte{0x78, 0x56, 0x34, 0x12}, false)
	rb, _ := reply.MarshalBinary()
	var got []byte
	ft.serve(func(req *gdw3761.Frame) [][]byte {
		us, err := req.Units(nil)
		if err != nil || len(us) != 1 || req.AFN != gdw3761.AFNTransfer {
			t.Errorf("forward request %v %v", req.AFN, err)
			return nil
		}
		var fr gdw3761.ForwardRequest
		if err := fr.UnmarshalUnit(us[0].Data); err != nil {
			t.Error(err)
		}
		got = append([]byte(nil), fr.Data...)
		r := gdw3761.Response(req, req.Seq.Num(), true, true)
		r.Data = append(r.Data, 0, 0, 0x01, 0)
		x := gdw3761.ForwardReply{Port: fr.Port, Data: append([]byte{0xFE, 0xFE}, rb...)}
		r.Data, _ = x.AppendUnit(r.Data)
		return [][]byte{wire(t, r)}
	})
	m := &master.Master{Link: &Link{Session: s}}
	req, _ := dlt645.DLT2007.ReadRequest(addr, 0x00010000)
	data, err := m.ReadData(context.Background(), dlt645.DLT2007, req, nil)
	if err != nil || string(data) != "\x78\x56\x34\x12" {
		t.Fatalf("%v % X", err, data)
	}
	want, _ := req.MarshalBinary()
	if len(got) < len(want) || string(got[len(got)-len(want):]) != string(want) {
		t.Fatalf("forwarded % X, want the 645 request % X", got, want)
	}
}

func TestProtocolServesAreaFromOneRequest(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	reqs := ft.serve(func(req *gdw3761.Frame) [][]byte { return dailyReply(t, req, 16) })
	var points []Point
	for pn := uint16(1); pn <= 32; pn++ {
		points = append(points, Point{Pn: pn, Meter: fmt.Sprintf("%012d", pn), Area: "A1", Channel: "gdw"})
	}
	now := time.Date(2026, 12, 7, 0, 5, 0, 0, time.UTC)
	p := &Protocol{Reader: &Reader{Session: s, Location: time.UTC, Now: func() time.Time { return now }}, Mode: "frozen",
		Points: func() []Point { return points }}
	for _, pt := range points {
		for _, di := range []dlt645.DI{0x05060001, 0x05060101, 0x05060201} {
			tg := poll.Target{Address: pt.Meter, Edition: dlt645.DLT2007, Area: "A1"}
			base := meter.Read{Meter: pt.Meter, Area: "A1", Channel: "gdw", Class: meter.Daily, DI: di}
			reads, err := p.Do(context.Background(), tg, poll.Request{DI: di}, base)
			if err != nil || len(reads) == 0 || reads[0].Status != meter.OK {
				t.Fatalf("%s %08X: %v %+v", pt.Meter, uint32(di), err, reads)
			}
			if di == 0x05060101 && (reads[0].Quantity != "daily freeze -1 forward active energy total" || len(reads) != 5) {
				t.Fatalf("%+v", reads)
			}
		}
	}
	if p.Requests() != 1 || len(reqs) != 1 {
		t.Fatalf("%d requests for 32 meters' daily freezes, want 1", p.Requests())
	}
	// backfill: the freeze 2 days back is another request, of its day
	reads, err := p.Do(context.Background(), poll.Target{Address: points[0].Meter}, poll.Request{DI: 0x05060102}, meter.Read{Meter: points[0].Meter})
	if err != nil || reads[0].DI != 0x05060102 || reads[0].Quantity != "daily freeze -2 forward active energy total" ||
		!reads[0].MeterTime.Equal(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)) || p.Requests() != 2 {
		t.Fatalf("%v %+v (%d requests)", err, reads[0], p.Requests())
	}
}

func TestCurrentDataOfManyPoints(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	reqs := ft.serve(func(req *gdw3761.Frame) [][]byte {
		us, err := req.Units(nil)
		if err != nil {
			t.Error(err)
			return nil
		}
		r := gdw3761.Response(req, req.Seq.Num(), true, true)
		rt := gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Hour: 10, Minute: 15}
		for _, u := range us {
			d, _ := gdw3761.MakeDADT([]uint16{u.Pn}, []uint8{u.Fn})
			r.Data = append(r.Data, d[:]...)
			switch u.Fn {
			case 25:
				v := gdw3761.Instant{ReadTime: rt}
				for i := range v.P {
					v.P[i], v.Q[i], v.PF[i], v.S[i] = gdw3761.N(12345, 4), gdw3761.N(0, 4), gdw3761.N(985, 1), gdw3761.N(12345, 4)
				}
				for i := range v.U {
					v.U[i], v.I[i] = gdw3761.N(2201, 1), gdw3761.N(5123, 3)
				}
				v.I0 = gdw3761.N(0, 3)
				r.Data, err = v.AppendUnit(r.Data)
			default:
				e := gdw3761.Energy{ReadTime: rt, Total: gdw3761.N(int64(u.Pn)*10000, 4)}
				r.Data, err = e.AppendUnit(r.Data, gdw3761.AFNClass1, u.Fn)
			}
			if err != nil {
				t.Error(err)
			}
		}
		return [][]byte{wire(t, r)}
	})
	var points []Point
	for pn := uint16(1); pn <= 20; pn++ {
		points = append(points, Point{Pn: pn, Meter: fmt.Sprintf("%012d", pn)})
	}
	r := Reader{Session: s, Location: time.UTC}
	reads, n, err := r.ReadCurrent(context.Background(), points)
	if err != nil || n != 1 || len(reqs) != 1 {
		t.Fatalf("%v, %d requests", err, n)
	}
	byQ := map[string]meter.Read{}
	for _, rd := range reads {
		if rd.Meter == "000000000003" {
			byQ[rd.Quantity] = rd
		}
	}
	rt := time.Date(2026, 12, 7, 10, 15, 0, 0, time.UTC)
	for q, want := range map[string]string{"forward active energy total": "3.0000 kWh", "reverse active energy total": "3.0000 kWh",
		"phase A voltage": "220.1 V", "phase C current": "5.123 A", "active power total": "1.2345 kW", "power factor total": "0.985 "} {
		rd, ok := byQ[q]
		if !ok || rd.Value.String()+" "+rd.Unit != want || rd.Status != meter.OK || !rd.MeterTime.Equal(rt) {
			t.Errorf("%s: %+v, want %s at %s", q, rd, want, rt)
		}
	}
}

func TestMonthlyFreezesThroughProtocol(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	reqs := ft.serve(func(req *gdw3761.Frame) [][]byte { return dailyReply(t, req, 64) })
	points := []Point{{Pn: 1, Meter: "000000000001"}, {Pn: 9, Meter: "000000000009"}}
	now := time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)
	p := &Protocol{Reader: &Reader{Session: s, Location: time.UTC, Now: func() time.Time { return now }}, Mode: "frozen",
		Points: func() []Point { return points }}
	for _, pt := range points {
		for _, di := range []dlt645.DI{0x0001FF01, 0x0002FF01} {
			reads, err := p.Do(context.Background(), poll.Target{Address: pt.Meter}, poll.Request{DI: di}, meter.Read{Meter: pt.Meter, Class: meter.Monthly})
			if err != nil || len(reads) != 5 || reads[0].Status != meter.OK {
				t.Fatalf("%s %08X: %v %+v", pt.Meter, uint32(di), err, reads)
			}
			if di == 0x0001FF01 && (reads[0].Quantity != "forward active energy total, settlement day -1" ||
				!reads[0].MeterTime.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))) {
				t.Fatalf("%+v", reads[0])
			}
		}
	}
	if p.Requests() != 1 || len(reqs) != 1 {
		t.Fatalf("%d requests for two meters' monthly freezes, want 1", p.Requests())
	}
}
