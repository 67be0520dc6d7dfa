package influx

import (
	"encoding/hex"
	"encoding/json"
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
// selects by), and three fields: value (a float, for Flux and Grafana),
// status, and rec, the exact read (see record) that Query gives back.
// Keeping the read in one field makes a query read one value a point, not
// seventeen: on InfluxDB 1.8 that is what a query's time is made of.
func appendRead(b []byte, r *read.Read) []byte {
	b = append(b, measReads...)
	b = appendTag(b, "meter", r.Meter)
	b = appendTag(b, "area", r.Area)
	b = appendTag(b, "class", string(r.Class))
	b = appendTag(b, "quantity", r.Quantity)
	b = append(b, " value="...)
	b = strconv.AppendFloat(b, r.Value.Float64(), 'g', -1, 64)
	b = appendStr(b, "status", string(r.Status))
	rec, _ := json.Marshal(recordOf(r))
	b = appendStr(b, "rec", string(rec))
	b = append(b, ' ')
	return strconv.AppendInt(b, store.Time(r).UnixNano(), 10)
}

// record is the rec field: every part of a read that is not a tag, the
// value as exact integers.
type record struct {
	Units     int64  `json:"u"`
	Scale     uint8  `json:"s"`
	Status    string `json:"st,omitempty"`
	Channel   string `json:"ch,omitempty"`
	DI        uint32 `json:"di,omitempty"`
	Edition   uint8  `json:"ed,omitempty"`
	Text      string `json:"tx,omitempty"`
	Unit      string `json:"un,omitempty"`
	Err       string `json:"er,omitempty"`
	MeterTime int64  `json:"mt,omitempty"` // Unix ns; 0: none
	ReadAt    int64  `json:"ra,omitempty"`
	Tries     int    `json:"tr,omitempty"`
	Frames    string `json:"fr,omitempty"` // see encodeFrames
}

func recordOf(r *read.Read) record {
	return record{Units: r.Value.Units, Scale: r.Value.Scale, Status: string(r.Status), Channel: r.Channel, DI: uint32(r.DI),
		Edition: uint8(r.Edition), Text: r.Text, Unit: r.Unit, Err: r.Err, MeterTime: nanos(r.MeterTime), ReadAt: nanos(r.ReadAt),
		Tries: r.Frame.Tries, Frames: encodeFrames(r.Frame)}
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
