// Package api is the head-end's HTTP API: shared helpers for its parts
// (api/loss for analysts, api/billing for billing systems, api/field for
// metering staff), which read what the analysis stored and never touch
// the collector's transports.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Error writes a JSON error.
func Error(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}

// JSON writes v as JSON.
func JSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(v)
}

// BadParam is a malformed query parameter.
type BadParam struct {
	Name, Value, Want string
}

func (e *BadParam) Error() string {
	return fmt.Sprintf("%s: %q is not %s", e.Name, e.Value, e.Want)
}

// Date reads a YYYY-MM-DD parameter as 00:00 in loc, in the years
// MinYear to MaxYear; def when absent.
func Date(r *http.Request, name string, loc *time.Location, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return t, &BadParam{name, v, "a date (want YYYY-MM-DD)"}
	}
	if !InYears(t) {
		return time.Time{}, &BadParam{name, v, fmt.Sprintf("a date in the years %d to %d", MinYear, MaxYear)}
	}
	return t, nil
}

// InYears reports whether t falls in the years MinYear to MaxYear.
func InYears(t time.Time) bool { return t.Year() >= MinYear && t.Year() <= MaxYear }

// The years a date parameter may name: reads before 1970 or after 2200
// are a typing error, not a query.
const (
	MinYear = 1970
	MaxYear = 2200
)

// Int reads an integer parameter within [lo, hi]; def when absent.
func Int(r *http.Request, name string, lo, hi, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, &BadParam{name, v, fmt.Sprintf("an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

// OneOf reads a parameter that must be one of the choices ("" allowed
// when absent).
func OneOf(r *http.Request, name string, choices ...string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", &BadParam{name, v, fmt.Sprintf("one of %v", choices)}
}

// Span reads the parameters from and to, days with to included: by
// default the week ending yesterday (today is 00:00 of the head-end's
// day). It refuses a span that ends before it starts or is longer than
// ten years.
func Span(r *http.Request, loc *time.Location, today time.Time) (from, to time.Time, err error) {
	to, err = Date(r, "to", loc, today.AddDate(0, 0, -1))
	if err == nil {
		from, err = Date(r, "from", loc, to.AddDate(0, 0, -6))
	}
	if err == nil && to.Before(from) {
		err = &BadParam{Name: "to", Value: r.URL.Query().Get("to"), Want: "on or after from"}
	}
	if err == nil && to.Sub(from) > 3660*24*time.Hour {
		err = &BadParam{Name: "from", Value: r.URL.Query().Get("from"), Want: "within 10 years of to"}
	}
	return from, to, err
}

// DecodeJSON reads r's body, of at most max bytes, as one JSON value into
// v: an unknown field, a second value or anything but spaces after the
// value is an error, and so is a body over max ([BodyStatus] is then
// 413). An empty body returns io.EOF, for the caller to take as "no body"
// or refuse.
func DecodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	if r.Body == nil {
		return io.EOF
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	at := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return err
		}
		return fmt.Errorf("trailing data after the JSON value (at byte %d)", at)
	}
	return nil
}

// BodyStatus is the status for an error of [DecodeJSON]: 413 for a body
// over the limit, else 400.
func BodyStatus(err error) int {
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}
