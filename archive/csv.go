package archive

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CSVColumns are the meter CSV columns, in the order WriteMetersCSV
// writes them. address, channel and area are required; an empty edition
// is 2007, an empty role customer, an empty ct or pt 1. The columns from
// lat on are optional: a file without them reads as before, and an empty
// cell is the field's zero (unknown, not on record).
var CSVColumns = []string{"address", "edition", "unit", "channel", "area", "role", "customer", "customer_name", "ct", "pt", "tariff",
	"lat", "lon", "multiplier", "verified_on", "verify_months", "rotation_due", "accuracy", "ct_verified_on", "ct_verify_months"}

var csvAliases = map[string]string{
	"meter": "address", "meter_address": "address", "addr": "address", "comm_address": "address",
	"protocol": "edition", "unit_id": "unit", "modbus_unit": "unit",
	"customer_id": "customer", "name": "customer_name",
	"ct_ratio": "ct", "pt_ratio": "pt", "tariff_class": "tariff",
	"latitude": "lat", "longitude": "lon", "lng": "lon", "stored_multiplier": "multiplier",
	"verification_date": "verified_on", "verification_months": "verify_months", "accuracy_status": "accuracy", "tolerance": "accuracy",
}

var csvRequired = []string{"address", "channel", "area"}

// maxCSVErrors bounds the problems one file reports.
const maxCSVErrors = 50

// ReadMetersCSV reads meters from CSV with a header row naming the
// columns (any order, any case; see [CSVColumns] and a few aliases such
// as ct_ratio). A UTF-8 byte-order mark, CRLF line ends, blank lines and
// spaces around cells are accepted; addresses that lost their leading
// zeros are padded. Each meter's Source is "name:line". Problems are
// returned all at once, each as "name:line:column: field: reason", the
// column counting cells from 1 as a spreadsheet does. The meters are
// checked on their own (address, edition, unit, role, ratios), not
// against channels or areas: that is [Archive.Validate]'s job.
func ReadMetersCSV(r io.Reader, name string) ([]Meter, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	var errs []error
	bad := func(line, col int, field, format string, args ...any) {
		if len(errs) == maxCSVErrors {
			errs = append(errs, fmt.Errorf("%s: too many errors, stopping", name))
		}
		if len(errs) > maxCSVErrors {
			return
		}
		pos := fmt.Sprintf("%s:%d", name, line)
		if col > 0 {
			pos += fmt.Sprintf(":%d", col)
		}
		errs = append(errs, &FieldError{Where: pos, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
		}
		return fmt.Errorf("%s: %v", name, err)
	}

	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header row (%s)", name, strings.Join(CSVColumns, ","))
	}
	if err != nil {
		return nil, csvErr(err)
	}
	hline, _ := cr.FieldPos(0)
	col := map[string]int{} // canonical column -> index
	header := make([]string, len(hdr))
	for i, h := range hdr {
		k := strings.ToLower(strings.TrimSpace(h))
		k = strings.NewReplacer(" ", "_", "-", "_").Replace(k)
		if a, ok := csvAliases[k]; ok {
			k = a
		}
		header[i] = k
		switch {
		case k == "":
			bad(hline, i+1, "", "empty column name")
		case !isColumn(k):
			bad(hline, i+1, "", "unknown column %q (known: %s)", strings.TrimSpace(h), strings.Join(CSVColumns, ", "))
		default:
			if j, dup := col[k]; dup {
				bad(hline, i+1, "", "column %s repeats column %d", k, j+1)
			} else {
				col[k] = i
			}
		}
	}
	for _, k := range csvRequired {
		if _, ok := col[k]; !ok {
			bad(hline, 0, "", "header has no %s column", k)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	var meters []Meter
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// a syntax error (a stray quote): the rest of the file
			// cannot be trusted to be split where its author meant
			if len(errs) <= maxCSVErrors {
				errs = append(errs, csvErr(err))
			}
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			bad(line, 0, "", "%d cells, the header has %d", len(rec), len(header))
			continue
		}
		cell := func(k string) (string, int) {
			i, ok := col[k]
			if !ok {
				return "", 0
			}
			return strings.TrimSpace(rec[i]), i + 1
		}
		ok := true
		for i, v := range rec {
			if j := strings.IndexFunc(v, isControl); j >= 0 {
				bad(line, i+1, header[i], "control character %q", v[j])
				ok = false
			}
		}
		if !ok {
			continue
		}
		m := Meter{Source: fmt.Sprintf("%s:%d", name, line)}
		v, c := cell("address")
		if a, err := NormalizeAddress(v); err != nil {
			bad(line, c, "address", "%v", err)
		} else {
			m.Address = a
		}
		v, c = cell("edition")
		if e, err := ParseEdition(v); err != nil {
			bad(line, c, "edition", "%v", err)
		} else {
			m.Edition = e
		}
		v, c = cell("role")
		if r, err := ParseRole(v); err != nil {
			bad(line, c, "role", "%v", err)
		} else {
			m.Role = r
		}
		integer := func(k string, def int) int {
			v, c := cell(k)
			if v == "" {
				return def
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				bad(line, c, k, "%q is not an integer", v)
				return -1
			}
			return n
		}
		m.Unit = integer("unit", 0)
		m.CT = integer("ct", 1)
		m.PT = integer("pt", 1)
		m.Multiplier = integer("multiplier", 0)
		m.VerifyMonths = integer("verify_months", 0)
		m.CTVerifyMonths = integer("ct_verify_months", 0)
		coord := func(k string) float64 {
			v, c := cell(k)
			if v == "" {
				return 0
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				bad(line, c, k, "%q is not a number of degrees", v)
				return 0
			}
			return f
		}
		m.Lat, m.Lon = coord("lat"), coord("lon")
		date := func(k string) Date {
			v, c := cell(k)
			d, err := ParseDate(v)
			if err != nil {
				bad(line, c, k, "%v", err)
			}
			return d
		}
		m.VerifiedOn, m.RotationDue, m.CTVerifiedOn = date("verified_on"), date("rotation_due"), date("ct_verified_on")
		if v, c := cell("accuracy"); v != "" {
			if a, err := ParseAccuracy(v); err != nil {
				bad(line, c, "accuracy", "%v", err)
			} else {
				m.Tolerance = a
			}
		}
		m.Channel, _ = cell("channel")
		m.Area, _ = cell("area")
		m.Customer, _ = cell("customer")
		m.CustomerName, _ = cell("customer_name")
		m.Tariff, _ = cell("tariff")
		n := len(errs)
		checkMeterFields(&m, func(field, reason string) {
			if m.Address == "" && field == "address" {
				return // reported above
			}
			_, c := cell(field)
			bad(line, c, field, "%s", reason)
		})
		for _, k := range csvRequired {
			if v, c := cell(k); v == "" && k != "address" {
				bad(line, c, k, "must be set")
			}
		}
		if len(errs) == n {
			meters = append(meters, m)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return meters, nil
}

func isColumn(k string) bool {
	for _, c := range CSVColumns {
		if c == k {
			return true
		}
	}
	return false
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7F }

// optInt writes 0 as an empty cell.
func optInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// float writes a coordinate exactly (it reads back the same), 0 as an
// empty cell.
func float(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// stripBOM skips a UTF-8 byte-order mark.
func stripBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	return br
}

// csvError names the file, line and column of a CSV syntax error.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %v", name, err)
}

// WriteMetersCSV writes meters with a header row of [CSVColumns], the
// form ReadMetersCSV reads back. An empty edition or role is written as
// its default; a unit id of 0 as an empty cell.
func WriteMetersCSV(w io.Writer, meters []Meter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return err
	}
	rec := make([]string, len(CSVColumns))
	for i := range meters {
		m := &meters[i]
		ed, role := m.Edition, m.Role
		if ed == "" {
			ed = Edition2007
		}
		if role == "" {
			role = RoleCustomer
		}
		unit := ""
		if m.Unit != 0 {
			unit = strconv.Itoa(m.Unit)
		}
		rec = append(rec[:0], m.Address, string(ed), unit, m.Channel, m.Area, string(role),
			m.Customer, m.CustomerName, strconv.Itoa(m.CT), strconv.Itoa(m.PT), m.Tariff,
			float(m.Lat), float(m.Lon), optInt(m.Multiplier), m.VerifiedOn.String(), optInt(m.VerifyMonths),
			m.RotationDue.String(), string(m.Tolerance), m.CTVerifiedOn.String(), optInt(m.CTVerifyMonths))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
