package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParams(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	r := httptest.NewRequest("GET", "/x?from=2025-06-01&n=12&bad=2025-13-01&class=high", nil)
	if d, err := Date(r, "from", loc, time.Time{}); err != nil || !d.Equal(time.Date(2025, 6, 1, 0, 0, 0, 0, loc)) {
		t.Fatalf("from: %v %v", d, err)
	}
	var bp *BadParam
	if _, err := Date(r, "bad", loc, time.Time{}); !errors.As(err, &bp) || !strings.HasPrefix(err.Error(), "bad: ") {
		t.Fatalf("bad date: %v", err)
	}
	if n, err := Int(r, "n", 0, 100, 5); err != nil || n != 12 {
		t.Fatalf("n: %d %v", n, err)
	}
	if _, err := Int(r, "n", 0, 10, 5); err == nil || !strings.HasPrefix(err.Error(), "n: ") {
		t.Fatalf("n out of range: %v", err)
	}
	if n, _ := Int(r, "absent", 0, 10, 5); n != 5 {
		t.Fatalf("default: %d", n)
	}
	if _, err := OneOf(r, "class", "low", "qualified"); err == nil || !strings.Contains(err.Error(), "class") {
		t.Fatalf("class: %v", err)
	}
}

// Query parameters from anywhere: a value is accepted or refused with an
// error naming the parameter, never a panic.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"2025-06-01", "12", "-1", "9223372036854775808", "", "2025-02-30", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/x?p="+url.QueryEscape(v), nil)
		for _, err := range []error{
			func() error { _, err := Date(r, "p", time.UTC, time.Time{}); return err }(),
			func() error { _, err := Int(r, "p", 0, 1000, 0); return err }(),
			func() error { _, err := OneOf(r, "p", "a", "b"); return err }(),
		} {
			if err != nil && !strings.HasPrefix(err.Error(), "p: ") {
				t.Fatalf("%q: error %q does not name the parameter", v, err)
			}
		}
	})
}

func TestDateYears(t *testing.T) {
	for _, v := range []string{"0000-01-01", "1969-12-31", "2201-01-01"} {
		r := httptest.NewRequest("GET", "/?from="+v, nil)
		_, err := Date(r, "from", time.UTC, time.Time{})
		if err == nil || !strings.Contains(err.Error(), `from: "`+v+`" is not a date in the years 1970 to 2200`) {
			t.Errorf("from=%s: %v", v, err)
		}
	}
	r := httptest.NewRequest("GET", "/?from=2026-01-01", nil)
	if _, err := Date(r, "from", time.UTC, time.Time{}); err != nil {
		t.Error(err)
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"a":1}`, 0, ""},
		{"{\"a\":1}\n  ", 0, ""},
		{`{"a":1} garbage`, 400, "trailing data after the JSON value (at byte 7)"},
		{`{"a":1}}`, 400, "trailing data"},
		{`{"a":1}{"a":2}`, 400, "trailing data"},
		{`{"b":1}`, 400, `unknown field "b"`},
		{`{"a":"` + strings.Repeat("x", 100) + `"}`, 413, "request body too large"},
		{`{"a":1}` + strings.Repeat(" ", 100) + "x", 413, "request body too large"},
	} {
		w := httptest.NewRecorder()
		var b body
		err := DecodeJSON(w, httptest.NewRequest("POST", "/", strings.NewReader(tc.body)), 64, &b)
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%q: %v", tc.body, err)
		case tc.status != 0 && (err == nil || BodyStatus(err) != tc.status || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v (status %d), want %d %q", tc.body, err, BodyStatus(err), tc.status, tc.want)
		}
	}
	if err := DecodeJSON(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), 64, &body{}); err != io.EOF {
		t.Errorf("empty body: %v", err)
	}
}

// FuzzDecodeJSON checks that a body DecodeJSON accepts is one JSON value
// and that it never panics.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1} x`, `{"a":1}}`, `[1]`, `"s"`, ``, `{"a":` + strings.Repeat("9", 80) + `}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v map[string]any
		err := DecodeJSON(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(body)), 64, &v)
		if err == nil && (!json.Valid([]byte(body)) || len(body) > 64) {
			t.Fatalf("accepted %q", body)
		}
		if s := BodyStatus(err); err != nil && s != 400 && s != 413 {
			t.Fatalf("%q: status %d", body, s)
		}
	})
}
