package archive

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Exchange is a meter exchange (换表) on record: OldMeter was removed and
// NewMeter installed in its place at Date, with the registers each showed
// then (forward active energy total, kWh). The old meter need not be in
// the archive any more; the new one, when it is, must be in Area.
type Exchange struct {
	Area           string         `yaml:"area"`
	OldMeter       string         `yaml:"old_meter"`
	NewMeter       string         `yaml:"new_meter"`
	Date           time.Time      `yaml:"date"` // when: write the time with its zone (2025-06-10T10:30:00+08:00)
	RemovalReading dlt645.Decimal `yaml:"removal_reading"`
	InstallReading dlt645.Decimal `yaml:"install_reading"`

	Source string `yaml:"-"` // e.g. "exchanges.csv:3"; empty = "exchanges[i]"
}

// ExchangeColumns are the exchange CSV columns, in the order
// WriteExchangesCSV writes them; all are required.
var ExchangeColumns = []string{"area", "old_meter", "new_meter", "date", "removal_reading", "install_reading"}

// exchangeTimeLayouts are the forms an exchange time may take in a CSV:
// always with its zone, since the billing day it falls on depends on it.
var exchangeTimeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04Z07:00", "2006-01-02T15:04Z07:00"}

// ParseExchangeTime reads an exchange time: RFC 3339
// (2025-06-10T10:30:00+08:00), or with a space for the T and without
// seconds. A time without a zone is refused.
func ParseExchangeTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range exchangeTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time with its zone (want e.g. 2025-06-10T10:30:00+08:00)", s)
}

// checkExchange checks an exchange's own fields.
func checkExchange(e *Exchange, report func(field, reason string)) {
	if e.Area == "" {
		report("area", "must be set")
	}
	for _, f := range []struct{ name, v string }{{"old_meter", e.OldMeter}, {"new_meter", e.NewMeter}} {
		if err := CheckAddress(f.v); err != nil {
			report(f.name, err.Error())
		}
	}
	if e.OldMeter != "" && e.OldMeter == e.NewMeter {
		report("new_meter", "the same meter as old_meter")
	}
	if e.Date.IsZero() {
		report("date", "must be set")
	}
	for _, f := range []struct {
		name string
		v    dlt645.Decimal
	}{{"removal_reading", e.RemovalReading}, {"install_reading", e.InstallReading}} {
		if f.v.Units < 0 || f.v.Scale > 4 {
			report(f.name, fmt.Sprintf("%s: must be a reading ≥ 0 with at most 4 decimals", f.v))
		}
	}
}

// ReadExchangesCSV reads meter exchanges from CSV with a header row
// naming [ExchangeColumns] (any order and case). Problems come back all
// at once, each as "name:line:column: field: reason"; addresses that lost
// their leading zeros are padded.
func ReadExchangesCSV(r io.Reader, name string) ([]Exchange, error) {
	cr := csv.NewReader(stripBOM(r))
	cr.FieldsPerRecord = -1
	var errs []error
	bad := func(line, col int, field, format string, args ...any) {
		if len(errs) > maxCSVErrors {
			return
		}
		pos := fmt.Sprintf("%s:%d", name, line)
		if col > 0 {
			pos += fmt.Sprintf(":%d", col)
		}
		errs = append(errs, &FieldError{Where: pos, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header row (%s)", name, strings.Join(ExchangeColumns, ","))
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		k := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(h)))
		switch _, dup := col[k]; {
		case !contains(ExchangeColumns, k):
			bad(1, i+1, "", "unknown column %q (known: %s)", strings.TrimSpace(h), strings.Join(ExchangeColumns, ", "))
		case dup:
			bad(1, i+1, "", "column %s repeats column %d", k, col[k]+1)
		default:
			col[k] = i
		}
	}
	for _, k := range ExchangeColumns {
		if _, ok := col[k]; !ok {
			bad(1, 0, "", "header has no %s column", k)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []Exchange
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, csvError(name, err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(hdr) {
			bad(line, 0, "", "%d cells, the header has %d", len(rec), len(hdr))
			continue
		}
		cell := func(k string) (string, int) { return strings.TrimSpace(rec[col[k]]), col[k] + 1 }
		n := len(errs)
		e := Exchange{Source: fmt.Sprintf("%s:%d", name, line)}
		e.Area, _ = cell("area")
		for _, k := range []string{"old_meter", "new_meter"} {
			v, c := cell(k)
			a, err := NormalizeAddress(v)
			if err != nil {
				bad(line, c, k, "%v", err)
			}
			if k == "old_meter" {
				e.OldMeter = a
			} else {
				e.NewMeter = a
			}
		}
		if v, c := cell("date"); v == "" {
			bad(line, c, "date", "must be set")
		} else if t, err := ParseExchangeTime(v); err != nil {
			bad(line, c, "date", "%v", err)
		} else {
			e.Date = t
		}
		for _, k := range []string{"removal_reading", "install_reading"} {
			v, c := cell(k)
			d, err := dlt645.ParseDecimal(v)
			if err != nil {
				bad(line, c, k, "%q is not a reading", v)
				continue
			}
			if k == "removal_reading" {
				e.RemovalReading = d
			} else {
				e.InstallReading = d
			}
		}
		if len(errs) == n {
			checkExchange(&e, func(field, reason string) {
				_, c := cell(field)
				bad(line, c, field, "%s", reason)
			})
		}
		if len(errs) == n {
			out = append(out, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// WriteExchangesCSV writes exchanges in the form ReadExchangesCSV reads.
func WriteExchangesCSV(w io.Writer, exs []Exchange) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ExchangeColumns); err != nil {
		return err
	}
	for _, e := range exs {
		if err := cw.Write([]string{e.Area, e.OldMeter, e.NewMeter, e.Date.Format(time.RFC3339Nano),
			e.RemovalReading.String(), e.InstallReading.String()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
