package influx

import (
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Measurement names.
const (
	measReads      = "reads"
	measAggregates = "aggregates"
)

// appendRead appends the line-protocol line of a read (see store/README.md):
//
//	reads,meter=M,area=A,class=C,quantity=Q value=F,units=Ni,scale=Ni,status="S",rec="{...}" T
//
// The tags are the Key (meter, class, quantity; the time is the point's
// timestamp) and the area the loss queries select by. value is a float for
// Flux and Grafana; units and scale are the exact value; rec is the whole
// read as JSON (see record), which is what Query reads back, so that a
// query reads one field a point.
func appendRead(b []byte, r *meter.Read) []byte { return appendReadRef(b, r, "") }

// appendReadRef is appendRead with fh, the hash of the read's frames
// point (frames.go), in rec instead of the frames.
func appendReadRef(b []byte, r *meter.Read, fh string) []byte {
	b = append(b, measReads...)
	b = appendTag(b, "meter", r.Meter)
	b = appendTag(b, "area", r.Area)
	b = appendTag(b, "class", string(r.Class))
	b = appendTag(b, "quantity", r.Quantity)
	b = append(b, " value="...)
	b = strconv.AppendFloat(b, r.Value.Float64(), 'g', -1, 64)
	b = append(b, ",units="...)
	b = strconv.AppendInt(b, r.Value.Units, 10)
	b = append(b, "i,scale="...)
	b = strconv.AppendUint(b, uint64(r.Value.Scale), 10)
	b = append(b, 'i')
	b = appendStr(b, "status", string(r.Status))
	b = append(b, `,rec="`...)
	b = appendRecord(b, r, fh)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, store.Time(r).UnixNano(), 10)
	return append(b, '\n')
}

// appendTag appends ,key=value with line protocol's tag escapes, the value
// as tagValue gives it; an empty value is left out (line protocol has no
// empty tags).
func appendTag(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	v = tagValue(v)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ',', '=', ' ':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// tagValue is s as it is kept in a tag. Line protocol cannot hold a
// newline in a tag, nor a backslash at its end or before a comma, an
// equals sign or a space; a value with a backslash, a newline or a
// carriage return is kept with each of them as \x5c, \x0a or \x0d.
// Others are kept as they are. fromTag undoes it.
func tagValue(s string) string {
	if !strings.ContainsAny(s, "\\\n\r") {
		return s
	}
	return tagEscaper.Replace(s)
}

var (
	tagEscaper   = strings.NewReplacer(`\`, `\x5c`, "\n", `\x0a`, "\r", `\x0d`)
	tagUnescaper = strings.NewReplacer(`\x5c`, `\`, `\x0a`, "\n", `\x0d`, "\r")
)

// fromTag is the inverse of tagValue.
func fromTag(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return tagUnescaper.Replace(s)
}

// appendStr appends ,key="value" with string field escapes.
func appendStr(b []byte, key, v string) []byte {
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=', '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
