package dlt645

import (
	"errors"
	"io"
)

// Reader reads frames from a byte stream: a serial port, a TCP connection
// to a concentrator, a captured log. It skips FE preambles and line noise,
// resynchronises on 68 and frames by the length byte. A malformed frame
// comes back as a *[FrameError], once: what starts inside the bytes it
// spans is a good frame or nothing (a 68 in its header or data is not a
// second bad frame). The next call goes on from the byte after that
// frame's first 68, so a corrupt frame never costs a good frame behind
// it. A stray 68 just before a frame is noise, skipped like any other.
//
// Errors from the underlying reader (a deadline, say) are returned as they
// are, with the bytes received so far kept for the next call.
type Reader struct {
	r       io.Reader
	buf     []byte
	start   int   // first unread byte in buf
	end     int   // end of valid bytes in buf
	base    int64 // stream offset of buf[0]
	frame   Frame
	raw     []byte
	rawOff  int64
	skipped int64
	eof     bool
	// quiet is the stream offset up to which the bytes belong to a bad
	// frame already reported: no second error comes from inside it.
	quiet int64
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 4*MaxFrameLen)}
}

// Reset discards buffered bytes and reads from r from now on.
func (r *Reader) Reset(rd io.Reader) {
	r.r = rd
	r.Discard()
	r.base = 0
	r.skipped = 0
	r.eof = false
	r.quiet = 0
}

// Discard drops any buffered bytes, such as a late reply to an earlier
// request, so the next frame read is a fresh one.
func (r *Reader) Discard() {
	r.base += int64(r.end)
	r.start, r.end = 0, 0
}

// Buffered returns the number of bytes received and not yet consumed.
func (r *Reader) Buffered() int { return r.end - r.start }

// Skipped returns how many bytes of preamble and noise were skipped so far.
func (r *Reader) Skipped() int64 { return r.skipped }

// Raw returns the wire bytes of the frame last returned by ReadFrame, from
// the first 68 to the 16. It is valid until the next call.
func (r *Reader) Raw() []byte { return r.raw }

// Offset returns the stream offset of the first 68 of the frame last
// returned by ReadFrame.
func (r *Reader) Offset() int64 { return r.rawOff }

// ReadFrame returns the next frame. The Frame and its Data are owned by
// the Reader and valid until the next call; use [Frame.Clone] to keep one.
// At the end of the stream it returns io.EOF, or a FrameError wrapping
// ErrTruncated when the stream ends inside a frame.
func (r *Reader) ReadFrame() (*Frame, error) {
	if r.buf == nil {
		r.buf = make([]byte, 4*MaxFrameLen)
	}
	for {
		st, at, span := scanFrame(r.buf[r.start:r.end], 0, r.eof)
		if at < 0 {
			r.skip(r.end - r.start)
		} else {
			r.skip(at)
		}
		switch st {
		case scanFrameOK:
			b := r.buf[r.start:r.end]
			off := r.base + int64(r.start)
			n, err := r.frame.load(b, 0)
			r.raw = b[:n]
			r.rawOff = off
			r.start += n
			if err != nil {
				var fe *FrameError
				if errors.As(err, &fe) {
					fe.Offset = off
				}
				return nil, err
			}
			return &r.frame, nil
		case scanBadHeader:
			r.skip(1)
			continue
		case scanNeedMore:
			if r.eof {
				if r.start == r.end {
					return nil, io.EOF
				}
				// No complete frame follows this one in the buffer (scanFrame
				// would have said scanCutOff), so nothing behind it is lost.
				off := r.base + int64(r.start)
				r.skip(r.end - r.start)
				if off < r.quiet {
					continue // inside a bad frame already reported
				}
				return nil, &FrameError{Offset: off, Err: ErrTruncated, Detail: "stream ended inside the frame"}
			}
			if err := r.fill(); err != nil {
				if err == io.EOF {
					r.eof = true
					continue
				}
				return nil, err
			}
		default:
			off := r.base + int64(r.start)
			err := scanError(r.buf[r.start:r.end], st, off)
			r.skip(1)
			if off < r.quiet {
				continue // a 68 inside a bad frame already reported
			}
			r.quiet = off + int64(max(span, 1))
			return nil, err
		}
	}
}

func (r *Reader) skip(n int) {
	r.start += n
	r.skipped += int64(n)
}

// fill reads more bytes, moving the unread ones to the front first.
func (r *Reader) fill() error {
	if r.start > 0 {
		copy(r.buf, r.buf[r.start:r.end])
		r.base += int64(r.start)
		r.end -= r.start
		r.start = 0
	}
	if r.end == len(r.buf) {
		// Cannot happen: a candidate frame is at most MaxFrameLen long
		// and the buffer holds four; drop a byte rather than loop.
		r.skip(1)
		return nil
	}
	n, err := r.r.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
