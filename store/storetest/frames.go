package storetest

import (
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// testFrames checks that every read can be traced to its frames after a
// round trip: a block's members sharing one request and reply, a read
// that succeeded on its third try with its two failed tries, a failed
// read with every try, and an all-NoData transaction kept as one row.
func testFrames(t *testing.T, open Factory) {
	s, now := open(t, store.Retention{})
	defer s.Close()
	at := now.Add(-2 * time.Hour).Truncate(time.Second)
	req := []byte{0xFE, 0x68, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x11, 0x04, 0x33, 0x32, 0x34, 0x35, 0x9A, 0x16}
	reply := []byte{0x68, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x91, 0x06, 0x33, 0x32, 0x34, 0x35, 0x55, 0x56, 0x4B, 0x16}
	earlier := []meter.Exchange{
		{Request: req, Err: "link: no reply before the deadline"},
		{Request: req, Received: [][]byte{{0x68, 0x01, 0x00, 0x91, 0x00, 0x16}}, Err: "master: only garbage before the deadline (1 malformed frames, the last: bad checksum at byte 17): link: no reply before the deadline"},
	}
	ok := meter.FrameRef{Request: req, Reply: [][]byte{reply}, Tries: 3, Earlier: earlier}
	in := []meter.Read{
		{Meter: "000012345690", Area: "F1", Class: meter.Instantaneous, Quantity: "phase A voltage", ReadAt: at, Status: meter.OK, Frame: ok},
		{Meter: "000012345690", Area: "F1", Class: meter.Instantaneous, Quantity: "phase B voltage", ReadAt: at, Status: meter.OK, Frame: ok},
		{Meter: "000012345690", Area: "F1", Class: meter.Instantaneous, Quantity: "phase C voltage", ReadAt: at, Status: meter.NoData, Frame: ok},
		{Meter: "000012345691", Area: "F1", Class: meter.Instantaneous, Quantity: "phase A voltage", ReadAt: at, Status: meter.Failed,
			Err: "after 3 tries: link: no reply before the deadline", Frame: meter.FrameRef{Tries: 3, Earlier: earlier, Dropped: 1}},
		{Meter: "000012345692", Area: "F1", Class: meter.Interval, Quantity: "reactive power total", ReadAt: at, Status: meter.NoData, Frame: meter.FrameRef{Request: req, Reply: [][]byte{reply}, Tries: 1}},
		{Meter: "000012345692", Area: "F1", Class: meter.Interval, Quantity: "reactive power phase A", ReadAt: at, Status: meter.NoData, Frame: meter.FrameRef{Request: req, Reply: [][]byte{reply}, Tries: 1}},
	}
	if err := s.Write(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Query(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	// the NoData member of a transaction that gave values goes; of the
	// all-NoData one, the first stays
	expectReads(t, "frames", got, Sorted([]meter.Read{in[0], in[1], in[3], in[4]}))
}
