package influx

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// measFrames is the measurement of the frames of reads.
const measFrames = "frames"

// The frames of a transaction (a read's FrameRef less Tries) are one
// point of the frames measurement, which the reads of the transaction
// refer to by the frame set's hash, the fh of their rec:
//
//	frames,meter=M fr="...",ex="...",dr=Ni T
//
// fr, ex and dr are as in rec (record), each left out when empty; the
// hash is 16 hex digits of the SHA-256 of these fields as written. T is
// the second of the read's ReadAt (store.Time when it has none), plus the
// hash modulo 10⁹ as nanoseconds: the frames of a meter's transactions in
// one second are different points (the one series per meter keeps the
// series count that of the meters), and a read's frames are at a time it
// knows. Query reads them back by meter and time and checks the hash of
// what it found. A read whose frames point would fall outside
// InfluxDB's time range keeps its frames in rec, as before frames were
// points of their own (and as points written then still do).

// frameSet is the frames point of a read.
type frameSet struct {
	meter string
	hash  string // 16 hex digits
	at    int64  // the point's time, Unix ns
}

// frameSetOf returns the frames point of r, false if r has no frames or
// they stay in its rec.
func frameSetOf(r *meter.Read) (frameSet, bool) {
	f := &r.Frame
	if f.Request == nil && f.Reply == nil && f.Earlier == nil && f.Dropped == 0 {
		return frameSet{}, false
	}
	sum := frameHash(f)
	h := binary.BigEndian.Uint64(sum[:])
	anchor := r.ReadAt
	if anchor.IsZero() {
		anchor = store.Time(r)
	}
	sec := anchor.Unix()
	if sec < minTime.Unix()+1 || sec > maxTime.Unix()-1 {
		return frameSet{}, false
	}
	return frameSet{r.Meter, hex.EncodeToString(sum[:]), sec*1e9 + int64(h%1e9)}, true
}

// frameHash is the first 8 bytes of the SHA-256 of the fields of f's
// frames point.
func frameHash(f *meter.FrameRef) [8]byte {
	sum := sha256.Sum256(appendFrameFields(nil, f))
	return [8]byte(sum[:8])
}

// appendFrameFields appends fr, ex and dr of f as line-protocol fields,
// each with a leading comma; fields that would be empty are left out (one
// is not, for a FrameRef frameSetOf gives a point).
func appendFrameFields(b []byte, f *meter.FrameRef) []byte {
	if f.Request != nil || f.Reply != nil {
		b = append(b, `,fr="`...)
		b = appendFramesHex(b, f)
		b = append(b, '"')
	}
	if len(f.Earlier) > 0 {
		b = append(b, `,ex="`...)
		b = appendEarlierHex(b, f.Earlier)
		b = append(b, '"')
	}
	if f.Dropped != 0 {
		b = append(b, ",dr="...)
		b = strconv.AppendInt(b, int64(f.Dropped), 10)
		b = append(b, 'i')
	}
	return b
}

// appendFrameSet appends the frames point of r, whose frameSetOf is fs.
func appendFrameSet(b []byte, r *meter.Read, fs frameSet) []byte {
	b = append(b, measFrames...)
	b = appendTag(b, "meter", r.Meter)
	b = append(b, ' ')
	n := len(b)
	b = appendFrameFields(b, &r.Frame)
	b = append(b[:n], b[n+1:]...) // the first field's comma
	b = append(b, ' ')
	b = strconv.AppendInt(b, fs.at, 10)
	return append(b, '\n')
}

// frameKey finds a frames point: its meter and time.
type frameKey struct {
	meter string
	at    int64
}

// frameSetAt is where the frames point of a read with rec field fh and
// the given ReadAt and store.Time is.
func frameSetAt(meterID, fh string, readAt, t time.Time) (frameKey, error) {
	h, err := strconv.ParseUint(fh, 16, 64)
	if err != nil || len(fh) != 16 {
		return frameKey{}, fmt.Errorf("frame set %q: want 16 hex digits", fh)
	}
	anchor := readAt
	if anchor.IsZero() {
		anchor = t
	}
	return frameKey{meterID, anchor.Unix()*1e9 + int64(h%1e9)}, nil
}

// parseFrameSet turns a frames point's fields into the FrameRef they
// hold, less Tries.
func parseFrameSet(r row) (meter.FrameRef, error) {
	f, err := decodeFrames(r.str("fr"), 0)
	if err != nil {
		return f, fmt.Errorf("field fr: %w", err)
	}
	if f.Earlier, err = decodeEarlier(r.str("ex")); err != nil {
		return f, fmt.Errorf("field ex: %w", err)
	}
	dr, err := r.int("dr")
	if err != nil {
		return f, err
	}
	f.Dropped = int(dr)
	return f, nil
}

// framesFlux is the query of the frames points of meters (all if more
// than maxFluxMeters) in [from, to] of bucket.
func framesFlux(bucket string, meters []string, from, to int64) string {
	conds := []string{`r._measurement == ` + fluxString(measFrames)}
	if len(meters) <= maxFluxMeters {
		or := make([]string, len(meters))
		for i, m := range meters {
			or[i] = `r.meter == ` + fluxString(tagValue(m))
		}
		conds = append(conds, "("+strings.Join(or, " or ")+")")
	}
	return fmt.Sprintf("from(bucket: %s)\n  |> range(start: %s, stop: %s)\n  |> filter(fn: (r) => %s)\n"+
		`  |> drop(columns: ["_start", "_stop", "_measurement"])`+"\n",
		fluxString(bucket), fluxTime(time.Unix(0, from)), fluxTime(time.Unix(0, to+1)), strings.Join(conds, " and "))
}

// maxFluxMeters is the most meters a frames query names.
const maxFluxMeters = 500
