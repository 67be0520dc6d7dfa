package influx

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/store"
)

// Measurement names.
const (
	measReads      = "reads"
	measAggregates = "aggregates"
)

// appendRead appends the line-protocol line of a read: measurement reads,
// tags meter, area, class, quantity (the Key and the area the loss query
// selects by), the value as exact integer fields units and scale with a
// float value beside them for Flux and Grafana, and every other field of
// the read so that Query gives it back unchanged.
func appendRead(b []byte, r *read.Read) []byte {
	b = append(b, measReads...)
	b = appendTag(b, "meter", r.Meter)
	b = appendTag(b, "area", r.Area)
	b = appendTag(b, "class", string(r.Class))
	b = appendTag(b, "quantity", r.Quantity)
	b = append(b, " units="...)
	b = strconv.AppendInt(b, r.Value.Units, 10)
	b = append(b, "i,scale="...)
	b = strconv.AppendInt(b, int64(r.Value.Scale), 10)
	b = append(b, "i,value="...)
	b = strconv.AppendFloat(b, r.Value.Float64(), 'g', -1, 64)
	b = appendStr(b, "status", string(r.Status))
	b = appendStr(b, "channel", r.Channel)
	b = append(b, ",di="...)
	b = strconv.AppendInt(b, int64(r.DI), 10)
	b = append(b, "i,edition="...)
	b = strconv.AppendInt(b, int64(r.Edition), 10)
	b = append(b, 'i')
	b = appendStr(b, "text", r.Text)
	b = appendStr(b, "unit", r.Unit)
	b = appendStr(b, "err", r.Err)
	b = append(b, ",meter_time="...)
	b = strconv.AppendInt(b, nanos(r.MeterTime), 10)
	b = append(b, "i,read_at="...)
	b = strconv.AppendInt(b, nanos(r.ReadAt), 10)
	b = append(b, "i,tries="...)
	b = strconv.AppendInt(b, int64(r.Frame.Tries), 10)
	b = append(b, 'i')
	b = appendStr(b, "frames", encodeFrames(r.Frame))
	b = append(b, ' ')
	return strconv.AppendInt(b, store.Time(r).UnixNano(), 10)
}

// appendTag appends ,key=value with line protocol's tag escapes; an empty
// value is left out (line protocol has no empty tags).
func appendTag(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ',', '=', ' ', '\\':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, ' ') // a tag cannot hold a newline
		default:
			b = append(b, c)
		}
	}
	return b
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

// encodeFrames writes the request and reply frames as hex, separated by
// "|": the request first (empty if none), then each reply. No frames at
// all is the empty string.
func encodeFrames(f read.FrameRef) string {
	if f.Request == nil && f.Reply == nil {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(hex.EncodeToString(f.Request))
	for _, r := range f.Reply {
		sb.WriteByte('|')
		sb.WriteString(hex.EncodeToString(r))
	}
	return sb.String()
}

// decodeFrames is the inverse of encodeFrames.
func decodeFrames(s string, tries int) (read.FrameRef, error) {
	f := read.FrameRef{Tries: tries}
	if s == "" {
		return f, nil
	}
	parts := strings.Split(s, "|")
	var err error
	if f.Request, err = hex.DecodeString(parts[0]); err != nil {
		return f, err
	}
	for _, p := range parts[1:] {
		r, err := hex.DecodeString(p)
		if err != nil {
			return f, err
		}
		f.Reply = append(f.Reply, r)
	}
	return f, nil
}
