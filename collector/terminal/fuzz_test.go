package terminal

import (
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

// FuzzReplies feeds arbitrary frames to what turns a terminal's replies
// into reads and forwarded 645 bytes: no panic, and every point of the
// batch gets at least one read.
func FuzzReplies(f *testing.F) {
	req, _ := gdw3761.ReadDaily(gdw3761.Address{Area: 4401, Terminal: 1}, 0, gdw3761.DateTime{Year: 2026, Month: 12, Day: 6}, []uint16{1, 2}, []uint8{161, 163})
	for _, b := range dailyReplySeeds(&req) {
		f.Add(b)
	}
	f.Add([]byte{0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x88, 0x01, 0x44, 0x01, 0x00, 0x00, 0x10, 0x60, 0, 0, 1, 0, 2, 1, 0, 0x16})
	s := &Session{id: "4401 0001"}
	r := &Reader{Session: s, Location: time.UTC}
	batch := []Point{{Pn: 1, Meter: "000000000001"}, {Pn: 2, Meter: "000000000002"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr gdw3761.Frame
		if _, err := fr.Decode(b); err != nil {
			return
		}
		frames := []gdw3761.Frame{fr}
		forwarded(frames)
		isLink(&fr, 3)
		rp := replyOf(s.ID(), meter.Daily, time.Unix(0, 0), time.Unix(0, 0), meter.FrameRef{Reply: [][]byte{b}}, batch)
		for _, p := range batch {
			reads := r.pointReads(rp, p)
			// the time, forward and reverse freezes, each with data or not
			dis := map[uint32]bool{}
			for _, rd := range reads {
				dis[uint32(rd.DI)] = true
				if rd.Meter != p.Meter || rd.Status == meter.Failed && rd.Err == "" {
					t.Fatalf("point %d: %+v", p.Pn, rd)
				}
			}
			if len(dis) != 3 {
				t.Fatalf("point %d: reads of %d identifiers, want 3: %+v", p.Pn, len(dis), reads)
			}
			rp.empty(p)
		}
	})
}

// dailyReplySeeds are replies to req as a terminal sends them.
func dailyReplySeeds(req *gdw3761.Frame) [][]byte {
	us, _ := req.Units(nil)
	rep := gdw3761.Response(req, 0, true, true)
	for _, u := range us {
		d, _ := gdw3761.MakeDADT([]uint16{u.Pn}, []uint8{u.Fn})
		rep.Data = append(rep.Data, d[:]...)
		e := gdw3761.Energy{Date: gdw3761.DateTime{Year: 2026, Month: 12, Day: 6}, ReadTime: gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Minute: 5},
			Total: gdw3761.N(12345, 4), Tariffs: []gdw3761.Num{gdw3761.N(1, 4), {Missing: true}}}
		rep.Data, _ = e.AppendUnit(rep.Data, gdw3761.AFNClass2, u.Fn)
	}
	b, _ := rep.MarshalBinary()
	deny := gdw3761.Deny(req)
	deny.Control = gdw3761.MakeControl(true, false, false, false, 0)
	d, _ := deny.MarshalBinary()
	return [][]byte{b, d}
}
