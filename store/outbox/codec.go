package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// A record on disk is
//
//	[length uint32 LE][crc32c(payload) uint32 LE][payload: length bytes]
//
// and a payload is one batch, encoded by appendBatch.
const (
	headerSize = 8
	// maxRecord bounds the length field, so a corrupt length cannot make
	// recovery allocate gigabytes.
	maxRecord = 64 << 20
	// batchVersion is the first byte of every payload.
	batchVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reasons a record is refused, in CorruptError.Reason and from decodeRecord.
var (
	errTorn     = errors.New("torn record (file ends inside it)")
	errLength   = errors.New("bad record length")
	errChecksum = errors.New("checksum mismatch")
	errBadBatch = errors.New("bad batch payload")
	errTrailing = fmt.Errorf("%w: trailing bytes", errBadBatch)
)

// encodeRecord returns the record holding payload.
func encodeRecord(payload []byte) []byte {
	rec := make([]byte, headerSize, headerSize+len(payload))
	return sealRecord(append(rec, payload...))
}

// sealRecord fills in the header of rec, whose payload follows
// headerSize bytes left for it.
func sealRecord(rec []byte) []byte {
	payload := rec[headerSize:]
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(payload, castagnoli))
	return rec
}

// decodeRecord reads the record at the start of b. It returns the payload
// (aliasing b) and the record's size. A b that ends inside the record is
// errTorn; a zero or oversized length is errLength; a payload whose
// checksum does not match is errChecksum.
func decodeRecord(b []byte) (payload []byte, n int, err error) {
	if len(b) < headerSize {
		return nil, 0, errTorn
	}
	length := binary.LittleEndian.Uint32(b[0:])
	if length == 0 || length > maxRecord {
		return nil, 0, errLength
	}
	if uint64(len(b)-headerSize) < uint64(length) {
		return nil, 0, errTorn
	}
	payload = b[headerSize : headerSize+int(length)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errChecksum
	}
	return payload, headerSize + int(length), nil
}

// appendBatch appends the payload encoding of reads to b:
//
//	version byte (1), uvarint count, then each read's fields in
//	declaration order.
//
// Strings are a uvarint length and the bytes. Byte slices are uvarint
// length+1 and the bytes, 0 meaning nil, so nil and empty both survive.
// Integers are (zig-zag) varints, Edition and Decimal.Scale one byte.
// Times are a kind byte: 0 the zero time; 1 UTC; 2 any other location,
// followed by its zone abbreviation (string) and offset in seconds
// (varint); kinds 1 and 2 then carry Unix seconds (varint) and
// nanoseconds (uvarint). A time decodes to the same instant with the same
// zone name and offset (in a time.FixedZone: the rules of a named
// location like Asia/Shanghai are not kept, only the offset in force).
//
// The encoding is canonical: decodeBatch refuses any byte string that
// appendBatch would not have produced.
func appendBatch(b []byte, reads []meter.Read) []byte {
	b = append(b, batchVersion)
	b = binary.AppendUvarint(b, uint64(len(reads)))
	for i := range reads {
		r := &reads[i]
		b = appendString(b, r.Meter)
		b = appendString(b, r.Area)
		b = appendString(b, r.Channel)
		b = appendString(b, string(r.Class))
		b = binary.AppendUvarint(b, uint64(r.DI))
		b = append(b, byte(r.Edition))
		b = appendString(b, r.Quantity)
		b = binary.AppendVarint(b, r.Value.Units)
		b = append(b, r.Value.Scale)
		b = appendString(b, r.Text)
		b = appendString(b, r.Unit)
		b = appendTime(b, r.MeterTime)
		b = appendTime(b, r.ReadAt)
		b = appendString(b, string(r.Status))
		b = appendString(b, r.Err)
		b = appendBytes(b, r.Frame.Request)
		if r.Frame.Reply == nil {
			b = append(b, 0)
		} else {
			b = binary.AppendUvarint(b, uint64(len(r.Frame.Reply))+1)
			for _, f := range r.Frame.Reply {
				b = appendBytes(b, f)
			}
		}
		b = binary.AppendVarint(b, int64(r.Frame.Tries))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	if p == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(p))+1)
	return append(b, p...)
}

const (
	timeZero  = 0
	timeUTC   = 1
	timeFixed = 2
)

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, timeZero)
	}
	if t.Location() == time.UTC {
		b = append(b, timeUTC)
	} else {
		name, off := t.Zone()
		b = append(b, timeFixed)
		b = appendString(b, name)
		b = binary.AppendVarint(b, int64(off))
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// decodeBatch decodes a payload made by appendBatch.
func decodeBatch(p []byte) ([]meter.Read, error) {
	d := decoder{b: p}
	if d.byte() != batchVersion {
		return nil, fmt.Errorf("%w: version", errBadBatch)
	}
	n := d.uvarint()
	// Each read takes at least 20 bytes; a count beyond that is a lie.
	if d.err != nil || n > uint64(len(d.b))/20+1 {
		return nil, fmt.Errorf("%w: count", errBadBatch)
	}
	reads := make([]meter.Read, n)
	for i := range reads {
		r := &reads[i]
		r.Meter = d.string()
		r.Area = d.string()
		r.Channel = d.string()
		r.Class = meter.Class(d.string())
		di := d.uvarint()
		if di > math.MaxUint32 {
			d.fail("DI")
		}
		r.DI = dlt645.DI(di)
		r.Edition = dlt645.Edition(d.byte())
		r.Quantity = d.string()
		r.Value.Units = d.varint()
		r.Value.Scale = d.byte()
		r.Text = d.string()
		r.Unit = d.string()
		r.MeterTime = d.time()
		r.ReadAt = d.time()
		r.Status = meter.Status(d.string())
		r.Err = d.string()
		r.Frame.Request = d.bytes()
		if k := d.uvarint(); k > 0 {
			if k-1 > uint64(len(d.b)) { // each frame takes at least a byte
				d.fail("reply count")
			} else {
				r.Frame.Reply = make([][]byte, k-1)
				for j := range r.Frame.Reply {
					r.Frame.Reply[j] = d.bytes()
				}
			}
		}
		tries := d.varint()
		if int64(int(tries)) != tries {
			d.fail("tries")
		}
		r.Frame.Tries = int(tries)
		if d.err != nil {
			return nil, d.err
		}
	}
	if len(d.b) != 0 {
		return nil, errTrailing
	}
	return reads, nil
}

// decoder reads appendBatch's primitives, remembering the first error;
// after an error every read returns a zero value.
type decoder struct {
	b   []byte
	err error
	// The last fixed zone made, reused while the times are in it.
	zone     *time.Location
	zoneName string
	zoneOff  int
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errBadBatch, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// uvarint refuses overlong encodings, so every value has one encoding.
func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n != uvarintLen(v) {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1) // zig-zag, as binary.Varint
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail("short")
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string() string { return string(d.take(d.uvarint())) }

func (d *decoder) bytes() []byte {
	k := d.uvarint()
	if k == 0 || d.err != nil {
		return nil
	}
	return append([]byte{}, d.take(k-1)...)
}

func (d *decoder) time() time.Time {
	var loc *time.Location
	switch d.byte() {
	case timeZero:
		return time.Time{}
	case timeUTC:
		loc = time.UTC
	case timeFixed:
		name := d.string()
		off := d.varint()
		if int64(int(off)) != off {
			d.fail("zone offset")
			return time.Time{}
		}
		if d.zone == nil || d.zoneName != name || d.zoneOff != int(off) {
			d.zone, d.zoneName, d.zoneOff = time.FixedZone(name, int(off)), name, int(off)
		}
		loc = d.zone
	default:
		d.fail("time kind")
		return time.Time{}
	}
	sec, nsec := d.varint(), d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail("nanoseconds")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).In(loc)
	if t.Unix() != sec || t.IsZero() {
		d.fail("time out of range")
		return time.Time{}
	}
	return t
}
