package sqlite

import (
	"bytes"
	"slices"
	"testing"
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
