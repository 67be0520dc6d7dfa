package archive

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
)

// maxCSVErrors bounds the problems one file reports.
const maxCSVErrors = 50

// CSVFile is a CSV file with a header row, read the way every CSV of the
// head-end is read (the meters, responsible persons, exchanges, loss
// targets): a UTF-8 byte-order mark, CRLF line ends and blank lines are
// accepted, rows may have any number of cells, and problems are gathered
// (at most 50, then "too many errors, stopping") to be returned all at
// once, each naming the file and line.
type CSVFile struct {
	Name       string   // the file's name in problems
	Header     []string // the header row's cells, as written
	HeaderLine int      // the header row's line

	cr   *csv.Reader
	errs []error
}

// OpenCSV reads the header row of r, a file called name. want lists the
// header's columns for the problem of an empty file; comment, if not 0,
// starts comment lines.
func OpenCSV(r io.Reader, name, want string, comment rune) (*CSVFile, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	f := &CSVFile{Name: name, cr: csv.NewReader(br)}
	f.cr.FieldsPerRecord = -1
	f.cr.Comment = comment
	hdr, err := f.cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header row (%s)", name, want)
	}
	if err != nil {
		return nil, f.syntax(err)
	}
	f.Header = hdr
	f.HeaderLine, _ = f.cr.FieldPos(0)
	return f, nil
}

// Where is "name:line", or "name:line:col" when col > 0 (cells count
// from 1, as a spreadsheet does).
func (f *CSVFile) Where(line, col int) string {
	pos := fmt.Sprintf("%s:%d", f.Name, line)
	if col > 0 {
		pos += fmt.Sprintf(":%d", col)
	}
	return pos
}

// Add records a problem; past the bound it records that it stops.
func (f *CSVFile) Add(err error) {
	if len(f.errs) > maxCSVErrors {
		return
	}
	if len(f.errs) == maxCSVErrors {
		f.errs = append(f.errs, fmt.Errorf("%s: too many errors, stopping", f.Name))
		return
	}
	f.errs = append(f.errs, err)
}

// Problems is how many problems were recorded.
func (f *CSVFile) Problems() int { return len(f.errs) }

// Err joins the problems recorded, or is nil.
func (f *CSVFile) Err() error { return errors.Join(f.errs...) }

// Rows yields each row after the header with its line. A syntax error (a
// stray quote) is recorded and ends the rows: the rest of the file cannot
// be trusted to be split where its author meant.
func (f *CSVFile) Rows() iter.Seq2[int, []string] {
	return func(yield func(int, []string) bool) {
		for {
			rec, err := f.cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				f.Add(f.syntax(err))
				return
			}
			line, _ := f.cr.FieldPos(0)
			if !yield(line, rec) {
				return
			}
		}
	}
}

// syntax names the file, line and column of a CSV syntax error.
func (f *CSVFile) syntax(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %v", f.Name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %v", f.Name, err)
}
