package api

import (
	"errors"
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
