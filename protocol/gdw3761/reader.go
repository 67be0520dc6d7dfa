package gdw3761

import (
	"errors"
	"io"
)

// Reader reads frames from a byte stream, typically the TCP connection a
// terminal dialled in on. It skips line noise, resynchronises on 68 and
// frames by the length field. A malformed frame comes back once as a
// *[FrameError]; the next call goes on from the byte after that frame's
// first 68, so a corrupt frame never costs a good frame behind it (a
// frame cut off by the next one is reported as soon as the next one is
// complete, not after its claimed length has been waited for).
//
// Errors from the underlying reader (a deadline, say) are returned as they
// are, with the bytes received so far kept for the next call. The buffer
// starts small and grows to hold the longest frame seen, so that
// thousands of idle connections stay cheap.
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
	quiet   int64 // no second error from inside a bad frame already reported
}

const (
	initialBuffer = 512
	maxBuffer     = 2 * MaxFrameLen
)

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Reset discards buffered bytes and reads from rd from now on.
func (r *Reader) Reset(rd io.Reader) {
	r.r = rd
	r.Discard()
	r.base, r.skipped, r.eof, r.quiet = 0, 0, false, 0
}

// Discard drops any buffered bytes.
func (r *Reader) Discard() {
	r.base += int64(r.end)
	r.start, r.end = 0, 0
}

// Buffered returns the number of bytes received and not yet consumed.
func (r *Reader) Buffered() int { return r.end - r.start }

// Skipped returns how many bytes of noise were skipped so far.
func (r *Reader) Skipped() int64 { return r.skipped }

// Raw returns the wire bytes of the frame last returned, valid until the
// next call.
func (r *Reader) Raw() []byte { return r.raw }

// Offset returns the stream offset of the frame last returned.
func (r *Reader) Offset() int64 { return r.rawOff }

// ReadFrame returns the next frame, owned by the Reader and valid until
// the next call (use [Frame.Clone] to keep it). At the end of the stream
// it returns io.EOF, or a FrameError wrapping ErrTruncated when the stream
// ends inside a frame.
func (r *Reader) ReadFrame() (*Frame, error) {
	if r.buf == nil {
		r.buf = make([]byte, initialBuffer)
	}
	for {
		st, at, span := scanFrame(r.buf[r.start:r.end], 0, r.eof)
		if at < 0 {
			// Keep a trailing partial header start: nothing before it can begin a frame.
			r.skip(r.end - r.start)
		} else {
			r.skip(at)
		}
		switch st {
		case scanFrameOK:
			b := r.buf[r.start:r.end]
			off := r.base + int64(r.start)
			n, err := r.frame.load(b, 0)
			r.raw, r.rawOff = b[:n], off
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
		case scanNeedMore:
			if r.eof {
				if r.start == r.end {
					return nil, io.EOF
				}
				off := r.base + int64(r.start)
				r.skip(r.end - r.start)
				if off < r.quiet {
					continue
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
				continue
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

// fill reads more bytes, moving the unread ones to the front first and
// growing the buffer when it is full.
func (r *Reader) fill() error {
	if r.start > 0 {
		copy(r.buf, r.buf[r.start:r.end])
		r.base += int64(r.start)
		r.end -= r.start
		r.start = 0
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= maxBuffer {
			// A candidate frame is at most MaxFrameLen; drop a byte rather than loop.
			r.skip(1)
			return nil
		}
		nb := make([]byte, min(2*len(r.buf), maxBuffer))
		copy(nb, r.buf[:r.end])
		r.buf = nb
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
