package sqlite

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/headend/headend/meter"
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

// A read with earlier exchanges (read.FrameRef.Earlier, Dropped) has a
// version 2 blob:
//
//	blob     = 0x02 uvarint(n) frame(request) frame(reply)*n
//	           uvarint(dropped) uvarint(m) exchange*m
//	exchange = frame(request) uvarint(k) frame(received)*k frame(err)
//
// with m or dropped not 0 (else the blob is version 1), and no bytes
// after the last exchange.
const framesV2 = 0x02

// appendFrameRef appends the blob of f to b: version 1 when f has no
// earlier exchanges, else version 2.
func appendFrameRef(b []byte, f *meter.FrameRef) []byte {
	if len(f.Earlier) == 0 && f.Dropped == 0 {
		return appendFrames(b, f.Request, f.Reply)
	}
	b = append(b, framesV2)
	b = binary.AppendUvarint(b, uint64(len(f.Reply)))
	b = appendFrame(b, f.Request)
	for _, r := range f.Reply {
		b = appendFrame(b, r)
	}
	b = binary.AppendUvarint(b, uint64(f.Dropped))
	b = binary.AppendUvarint(b, uint64(len(f.Earlier)))
	for _, x := range f.Earlier {
		b = appendFrame(b, x.Request)
		b = binary.AppendUvarint(b, uint64(len(x.Received)))
		for _, r := range x.Received {
			b = appendFrame(b, r)
		}
		b = appendFrame(b, []byte(x.Err))
	}
	return b
}

func appendFrame(b, f []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// decodeFrameRef decodes a blob made by appendFrameRef into f's Request,
// Reply, Earlier and Dropped; the frames alias b.
func decodeFrameRef(b []byte, f *meter.FrameRef) error {
	if len(b) > 0 && b[0] == framesV1 {
		var err error
		f.Request, f.Reply, err = decodeFrames(b)
		return err
	}
	if len(b) == 0 || b[0] != framesV2 {
		return errFrames
	}
	d := blobReader{b: b[1:]}
	n := d.count()
	f.Request = d.frame()
	if n > 0 {
		f.Reply = make([][]byte, n)
		for i := range f.Reply {
			f.Reply[i] = d.frame()
		}
	}
	f.Dropped = d.number()
	m := d.count()
	if d.err == nil && m == 0 && f.Dropped == 0 {
		return errFrames // not canonical: that is a version 1 blob
	}
	f.Earlier = make([]meter.Exchange, m)
	for i := range f.Earlier {
		x := &f.Earlier[i]
		x.Request = d.frame()
		if k := d.count(); k > 0 {
			x.Received = make([][]byte, k)
			for j := range x.Received {
				x.Received[j] = d.frame()
			}
		}
		x.Err = string(d.frame())
	}
	if d.err != nil || len(d.b) > 0 {
		return errFrames
	}
	return nil
}

// blobReader reads the parts of a blob, remembering the first error.
type blobReader struct {
	b   []byte
	err error
}

// count reads a count: a minimal uvarint no larger than the bytes left
// (every item takes at least one).
func (d *blobReader) count() int {
	if d.err != nil {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || k != uvarintLen(n) || n > uint64(len(d.b)-k) {
		d.err = errFrames
		return 0
	}
	d.b = d.b[k:]
	return int(n)
}

// number reads a minimal uvarint that fits an int.
func (d *blobReader) number() int {
	if d.err != nil {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || k != uvarintLen(n) || n > math.MaxInt32 {
		d.err = errFrames
		return 0
	}
	d.b = d.b[k:]
	return int(n)
}

func (d *blobReader) frame() []byte {
	if d.err != nil {
		return nil
	}
	f, rest, err := nextFrame(d.b)
	if err != nil {
		d.err = err
		return nil
	}
	d.b = rest
	return f
}
