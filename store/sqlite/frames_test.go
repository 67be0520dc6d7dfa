package sqlite

import (
	"bytes"
	"slices"
	"testing"

	"github.com/headend/headend/meter"
)

func TestFrames(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300) // a two-byte length
	for _, c := range []struct {
		req   []byte
		reply [][]byte
	}{
		{nil, nil},
		{[]byte{0x68, 0x11, 0x16}, nil},
		{[]byte{0x68}, [][]byte{{0x68, 0x91}, long, nil, {0x16}}},
		{nil, [][]byte{nil}},
	} {
		b := appendFrames(nil, c.req, c.reply)
		req, reply, err := decodeFrames(b)
		if err != nil || !bytes.Equal(req, c.req) || !slices.EqualFunc(reply, c.reply, bytes.Equal) {
			t.Errorf("decode(encode(% X, % X)) = % X, % X, %v", c.req, c.reply, req, reply, err)
		}
		if len(reply) > 1 && cap(reply[0]) != len(reply[0]) {
			t.Errorf("a decoded frame has room to grow into the next")
		}
	}
	for _, b := range [][]byte{
		nil, {}, {0x02, 0x00}, {0x01}, {0x01, 0x02, 0x68}, {0x01, 0x80, 0x00}, {0x01, 0x00, 0x81},
		{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
	} {
		if _, _, err := decodeFrames(b); err == nil {
			t.Errorf("decodeFrames(% X): no error", b)
		}
	}
}

// FuzzDecodeFrames checks that decodeFrames never panics and that what it
// accepts encodes back to the same bytes.
func FuzzDecodeFrames(f *testing.F) {
	f.Add(appendFrames(nil, []byte{0x68, 0x11, 0x16}, [][]byte{{0x68, 0x91}, {0x16}}))
	f.Add(appendFrames(nil, nil, nil))
	f.Add(appendFrames(nil, bytes.Repeat([]byte{1}, 200), [][]byte{nil}))
	f.Add([]byte{0x01, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, reply, err := decodeFrames(b)
		if err != nil {
			return
		}
		if again := appendFrames(nil, req, reply); !bytes.Equal(again, b) {
			t.Fatalf("% X decodes to % X, % X, which encodes to % X", b, req, reply, again)
		}
	})
}

func TestFrameRef(t *testing.T) {
	for _, f := range []meter.FrameRef{
		{},
		{Request: []byte{0x68, 0x11}, Reply: [][]byte{{0x68, 0x91}}},
		{Request: []byte{0x68, 0x11}, Reply: [][]byte{{0x68, 0x91}, {0x16}}, Earlier: []meter.Exchange{
			{Request: []byte{0x68, 0x11}, Err: "link: no reply before the deadline"},
			{Request: []byte{0x68, 0x11}, Received: [][]byte{{0x68, 0x91, 0x00}, nil}, Err: "bad checksum at byte 12"},
		}},
		{Earlier: []meter.Exchange{{}}, Dropped: 3},
		{Dropped: 1000},
	} {
		var got meter.FrameRef
		b := appendFrameRef(nil, &f)
		if err := decodeFrameRef(b, &got); err != nil || !sameFrameRef(&got, &f) {
			t.Errorf("decode(encode(%+v)) = %+v, %v", f, got, err)
		}
	}
	for _, b := range [][]byte{{0x02}, {0x02, 0x00, 0x00, 0x00, 0x00}, {0x02, 0x00, 0x00, 0x00, 0x01}, {0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}} {
		if err := decodeFrameRef(b, new(meter.FrameRef)); err == nil {
			t.Errorf("decodeFrameRef(% X): no error", b)
		}
	}
}

func sameFrameRef(a, b *meter.FrameRef) bool {
	return bytes.Equal(a.Request, b.Request) && slices.EqualFunc(a.Reply, b.Reply, bytes.Equal) && a.Dropped == b.Dropped &&
		slices.EqualFunc(a.Earlier, b.Earlier, func(x, y meter.Exchange) bool {
			return bytes.Equal(x.Request, y.Request) && x.Err == y.Err && slices.EqualFunc(x.Received, y.Received, bytes.Equal)
		})
}

// FuzzDecodeFrameRef checks that decodeFrameRef never panics and that
// what it accepts encodes back to the same bytes.
func FuzzDecodeFrameRef(f *testing.F) {
	f.Add(appendFrameRef(nil, &meter.FrameRef{Request: []byte{0x68}, Earlier: []meter.Exchange{{Request: []byte{1}, Received: [][]byte{{2}}, Err: "x"}}}))
	f.Add(appendFrameRef(nil, &meter.FrameRef{Dropped: 2}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got meter.FrameRef
		if decodeFrameRef(b, &got) != nil {
			return
		}
		if again := appendFrameRef(nil, &got); !bytes.Equal(again, b) {
			t.Fatalf("% X decodes to %+v, which encodes to % X", b, got, again)
		}
	})
}
