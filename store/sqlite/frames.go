package sqlite

import (
	"encoding/binary"
	"errors"
)

// The frames of a read (read.FrameRef.Request and Reply) are one BLOB:
//
//	blob  = 0x01 frame(request) frame(reply)...
//	frame = uvarint(len) byte*len
//
// The leading byte is the format version. The uvarints are minimal, so a
// list of frames has exactly one encoding. An empty request and an empty
// frame both encode as length 0 and decode as nil.
const framesV1 = 0x01

var errFrames = errors.New("bad frames blob")

// appendFrames appends the blob of req and reply to b.
func appendFrames(b []byte, req []byte, reply [][]byte) []byte {
	b = append(b, framesV1)
	b = binary.AppendUvarint(b, uint64(len(req)))
	b = append(b, req...)
	for _, f := range reply {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// decodeFrames decodes a blob made by appendFrames. The frames it returns
// alias b.
func decodeFrames(b []byte) (req []byte, reply [][]byte, err error) {
	if len(b) == 0 || b[0] != framesV1 {
		return nil, nil, errFrames
	}
	b = b[1:]
	req, b, err = nextFrame(b)
	if err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		return req, nil, nil
	}
	// Each frame takes at least one byte: len(b) bounds the count.
	n := 0
	for c := b; len(c) > 0; n++ {
		var f []byte
		if f, c, err = nextFrame(c); err != nil {
			return nil, nil, err
		}
		_ = f
	}
	reply = make([][]byte, n)
	for i := range reply {
		reply[i], b, _ = nextFrame(b)
	}
	return req, reply, nil
}

// nextFrame splits the first frame off b.
func nextFrame(b []byte) (f, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintLen(n) || n > uint64(len(b)-k) {
		return nil, nil, errFrames
	}
	b = b[k:]
	if n == 0 {
		return nil, b, nil
	}
	return b[:n:n], b[n:], nil
}

// uvarintLen is the length of the minimal uvarint of n.
func uvarintLen(n uint64) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}
