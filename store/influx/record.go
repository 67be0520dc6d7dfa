package influx

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/headend/headend/meter"
)

// record is the rec field: every part of a read that is not a tag. Its
// JSON keys are short because every point carries them.
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
	ReadAt    int64  `json:"ra,omitempty"` // Unix ns; 0: none
	Tries     int    `json:"tr,omitempty"`
	Frames    string `json:"fr,omitempty"` // request and replies in hex, "|"-separated
	Earlier   string `json:"ex,omitempty"` // earlier exchanges, "|"-separated: request "." received ","-separated "." error, all hex
	Dropped   int    `json:"dr,omitempty"` // earlier exchanges not kept
	FrameSet  string `json:"fh,omitempty"` // the hash of the frames point that holds fr, ex and dr (frames.go)
}

// appendRecord appends the JSON of r's record, escaped for a line-protocol
// string field. It writes what encoding/json would for record, without
// reflection. With fh, the hash of r's frames point (frames.go), the
// frames are not in the record.
func appendRecord(b []byte, r *meter.Read, fh string) []byte {
	b = append(b, `{\"u\":`...)
	b = strconv.AppendInt(b, r.Value.Units, 10)
	b = append(b, `,\"s\":`...)
	b = strconv.AppendUint(b, uint64(r.Value.Scale), 10)
	b = appendJSONStr(b, "st", string(r.Status))
	b = appendJSONStr(b, "ch", r.Channel)
	b = appendJSONInt(b, "di", int64(r.DI))
	b = appendJSONInt(b, "ed", int64(r.Edition))
	b = appendJSONStr(b, "tx", r.Text)
	b = appendJSONStr(b, "un", r.Unit)
	b = appendJSONStr(b, "er", r.Err)
	b = appendJSONInt(b, "mt", nanos(r.MeterTime))
	b = appendJSONInt(b, "ra", nanos(r.ReadAt))
	b = appendJSONInt(b, "tr", int64(r.Frame.Tries))
	if fh != "" {
		b = appendJSONStr(b, "fh", fh)
		return append(b, '}')
	}
	if r.Frame.Request != nil || r.Frame.Reply != nil {
		b = append(b, `,\"fr\":\"`...)
		b = appendFramesHex(b, &r.Frame)
		b = append(b, `\"`...)
	}
	if len(r.Frame.Earlier) > 0 {
		b = append(b, `,\"ex\":\"`...)
		b = appendEarlierHex(b, r.Frame.Earlier)
		b = append(b, `\"`...)
	}
	b = appendJSONInt(b, "dr", int64(r.Frame.Dropped))
	return append(b, '}')
}

// appendFramesHex appends the request and replies of f in hex,
// "|"-separated.
func appendFramesHex(b []byte, f *meter.FrameRef) []byte {
	b = hex.AppendEncode(b, f.Request)
	for _, p := range f.Reply {
		b = append(b, '|')
		b = hex.AppendEncode(b, p)
	}
	return b
}

// appendEarlierHex appends the ex encoding of earlier exchanges:
// "|"-separated, each request "." received ","-separated "." error, all
// in hex.
func appendEarlierHex(b []byte, earlier []meter.Exchange) []byte {
	for i, x := range earlier {
		if i > 0 {
			b = append(b, '|')
		}
		b = hex.AppendEncode(b, x.Request)
		b = append(b, '.')
		for j, f := range x.Received {
			if j > 0 {
				b = append(b, ',')
			}
			b = hex.AppendEncode(b, f)
		}
		b = append(b, '.')
		b = hex.AppendEncode(b, []byte(x.Err))
	}
	return b
}

func appendJSONInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, `,\"`...)
	b = append(b, key...)
	b = append(b, `\":`...)
	return strconv.AppendInt(b, v, 10)
}

// appendJSONStr appends ,"key":"v" as JSON (invalid UTF-8 becomes U+FFFD,
// as encoding/json does), escaped for a line-protocol string field.
func appendJSONStr(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, `,\"`...)
	b = append(b, key...)
	b = append(b, `\":\"`...)
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\\ufffd`...)
			} else {
				b = append(b, v[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"':
			b = append(b, `\\\"`...) // JSON \" in a line-protocol string
		case c == '\\':
			b = append(b, `\\\\`...)
		case c < 0x20:
			b = append(b, `\\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, `\"`...)
}

const hexDigits = "0123456789abcdef"

// parseRecord parses a rec field. What appendRecord writes is read without
// reflection; anything else (an escape in a string, another key, another
// spacing) goes to encoding/json.
func parseRecord(s string) (record, error) {
	if rec, ok := fastRecord(s); ok {
		return rec, nil
	}
	var rec record
	err := json.Unmarshal([]byte(s), &rec)
	return rec, err
}

// fastRecord parses {"key":value,...} with integer values and strings
// holding no escape, control character or invalid UTF-8.
func fastRecord(s string) (rec record, ok bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return rec, false
	}
	for s = s[1 : len(s)-1]; s != ""; {
		if s[0] != '"' {
			return rec, false
		}
		key, rest, found := strings.Cut(s[1:], `":`)
		if !found || strings.IndexByte(key, '"') >= 0 {
			return rec, false
		}
		var val string
		str := rest != "" && rest[0] == '"'
		if str {
			k := strings.IndexByte(rest[1:], '"')
			if k < 0 {
				return rec, false
			}
			val, s = rest[1:k+1], rest[k+2:]
			if strings.ContainsFunc(val, func(r rune) bool { return r < 0x20 || r == '\\' || r == utf8.RuneError }) {
				return rec, false
			}
		} else {
			k := strings.IndexByte(rest, ',')
			if k < 0 {
				k = len(rest)
			}
			val, s = rest[:k], rest[k:]
			if !jsonInt(val) {
				return rec, false
			}
		}
		if s != "" {
			if s[0] != ',' || len(s) == 1 {
				return rec, false
			}
			s = s[1:]
		}
		var err error
		var n uint64
		switch {
		case key == "u" && !str:
			rec.Units, err = strconv.ParseInt(val, 10, 64)
		case key == "s" && !str:
			n, err = strconv.ParseUint(val, 10, 8)
			rec.Scale = uint8(n)
		case key == "di" && !str:
			n, err = strconv.ParseUint(val, 10, 32)
			rec.DI = uint32(n)
		case key == "ed" && !str:
			n, err = strconv.ParseUint(val, 10, 8)
			rec.Edition = uint8(n)
		case key == "mt" && !str:
			rec.MeterTime, err = strconv.ParseInt(val, 10, 64)
		case key == "ra" && !str:
			rec.ReadAt, err = strconv.ParseInt(val, 10, 64)
		case key == "dr" && !str:
			var t int64
			t, err = strconv.ParseInt(val, 10, 32)
			rec.Dropped = int(t)
		case key == "tr" && !str:
			var t int64
			t, err = strconv.ParseInt(val, 10, 0)
			rec.Tries = int(t)
		case !str:
			return rec, false
		case key == "st":
			rec.Status = val
		case key == "ch":
			rec.Channel = val
		case key == "tx":
			rec.Text = val
		case key == "un":
			rec.Unit = val
		case key == "er":
			rec.Err = val
		case key == "fr":
			rec.Frames = val
		case key == "ex":
			rec.Earlier = val
		case key == "fh":
			rec.FrameSet = val
		default:
			return rec, false
		}
		if err != nil {
			return rec, false
		}
	}
	return rec, true
}

// jsonInt reports whether s is an integer as JSON writes it.
func jsonInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] == '0' && len(s) > 1 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodeFrames is the inverse of the fr encoding: the request in hex
// (empty if none), then "|" and each reply frame in hex. No frames at all
// is the empty string.
func decodeFrames(s string, tries int) (meter.FrameRef, error) {
	f := meter.FrameRef{Tries: tries}
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

// decodeEarlier is the inverse of the ex encoding.
func decodeEarlier(s string) ([]meter.Exchange, error) {
	if s == "" {
		return nil, nil
	}
	var out []meter.Exchange
	for _, e := range strings.Split(s, "|") {
		parts := strings.Split(e, ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("exchange %q: want request.received.error", e)
		}
		var x meter.Exchange
		var err error
		if x.Request, err = hex.DecodeString(parts[0]); err != nil {
			return nil, err
		}
		if len(x.Request) == 0 {
			x.Request = nil
		}
		if parts[1] != "" {
			for _, f := range strings.Split(parts[1], ",") {
				b, err := hex.DecodeString(f)
				if err != nil {
					return nil, err
				}
				x.Received = append(x.Received, b)
			}
		}
		msg, err := hex.DecodeString(parts[2])
		if err != nil {
			return nil, err
		}
		x.Err = string(msg)
		out = append(out, x)
	}
	return out, nil
}
