package archive

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ReadResponsibleCSV reads who is responsible for each area's loss from
// CSV with a header row naming the columns area and responsible (any
// order and case; aliases area_id, id, 台区 and person, 责任人; other
// columns are ignored, so an area export can be read as it is). A UTF-8
// byte-order mark, CRLF line ends, blank lines and spaces around cells
// are accepted; an empty responsible cell clears the area's person.
// Problems are returned all at once as "name:line:column: reason".
func ReadResponsibleCSV(r io.Reader, name string) (map[string]string, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	var errs []error
	bad := func(line, col int, format string, args ...any) {
		if len(errs) > maxCSVErrors {
			return
		}
		if len(errs) == maxCSVErrors {
			errs = append(errs, fmt.Errorf("%s: too many errors, stopping", name))
			return
		}
		pos := fmt.Sprintf("%s:%d", name, line)
		if col > 0 {
			pos += fmt.Sprintf(":%d", col)
		}
		errs = append(errs, fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...)))
	}
	syntax := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
		}
		return fmt.Errorf("%s: %v", name, err)
	}
	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header row (area,responsible)", name)
	}
	if err != nil {
		return nil, syntax(err)
	}
	hline, _ := cr.FieldPos(0)
	areaCol, personCol := -1, -1
	for i, h := range hdr {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "area", "area_id", "id", "台区":
			if areaCol >= 0 {
				bad(hline, i+1, "a second area column (the first is column %d)", areaCol+1)
			}
			areaCol = i
		case "responsible", "person", "责任人":
			if personCol >= 0 {
				bad(hline, i+1, "a second responsible column (the first is column %d)", personCol+1)
			}
			personCol = i
		}
	}
	if areaCol < 0 {
		bad(hline, 0, "header has no area column")
	}
	if personCol < 0 {
		bad(hline, 0, "header has no responsible column")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := map[string]string{}
	first := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(errs) <= maxCSVErrors {
				errs = append(errs, syntax(err))
			}
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(areaCol, personCol) {
			bad(line, 0, "%d cells, want at least %d", len(rec), max(areaCol, personCol)+1)
			continue
		}
		area, person := strings.TrimSpace(rec[areaCol]), strings.TrimSpace(rec[personCol])
		switch {
		case area == "":
			bad(line, areaCol+1, "area: must be set")
		case strings.IndexFunc(area+person, isControl) >= 0:
			bad(line, 0, "control character")
		case first[area] != 0:
			bad(line, areaCol+1, "area %s: already on line %d", area, first[area])
		default:
			first[area] = line
			out[area] = person
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// SetResponsible names the responsible person of each area in m. It
// changes nothing and reports every area of m that is not in the archive
// when there is one.
func (a *Archive) SetResponsible(m map[string]string) error {
	idx := map[string]int{}
	for i := range a.Areas {
		idx[a.Areas[i].ID] = i
	}
	var unknown []string
	for id := range m {
		if _, ok := idx[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("responsible: areas not in the archive: %s", strings.Join(unknown, ", "))
	}
	for id, p := range m {
		a.Areas[idx[id]].Responsible = p
	}
	return nil
}
