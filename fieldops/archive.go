package fieldops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
)

// ExportMeters writes every meter of the configuration's archive (inline
// and from CSV files) as one CSV, the form ImportMeters reads.
func ExportMeters(w io.Writer, cfg *config.Config) error {
	return archive.WriteMetersCSV(w, cfg.Archive.Meters)
}

// Import is what an archive import changes.
type Import struct {
	Source  string   `json:"source"`
	Added   []string `json:"added"`   // addresses new to the archive
	Updated []string `json:"updated"` // addresses whose row was replaced
	Files   []string `json:"files"`   // the archive CSV files rewritten
	DryRun  bool     `json:"dry_run,omitempty"`

	content map[string][]archive.Meter // file -> its meters after the import
}

// ImportOptions say where an import goes.
type ImportOptions struct {
	// Into is the archive CSV file new meters go to; empty: the file
	// that holds most meters of the new meter's area. It must be one of
	// the configuration's archive.meters_csv files or match its globs.
	Into string
	// DryRun checks and plans without writing.
	DryRun bool
}

// ImportMeters reads meters from a CSV (name is its name in messages) and
// merges them into the archive's CSV files: a meter whose address is in
// the archive replaces its row where it is, a new one is added. Every
// row is checked on its own (archive.ReadMetersCSV) and the archive with
// the import is validated as a whole (archive.Validate); every problem
// is reported, each with its file and line, and nothing is written if
// there is any. Files are replaced atomically. Audited as archive.import.
func ImportMeters(ctx context.Context, cfg *config.Config, r io.Reader, name string, opt ImportOptions, o *Options) (res *Import, err error) {
	defer func() {
		d := map[string]any{"config": cfg.File}
		if res != nil {
			d["added"], d["updated"], d["files"] = len(res.Added), len(res.Updated), res.Files
			if res.DryRun {
				d["dry_run"] = true
			}
		}
		o.audit(ctx, "archive.import", name, d, err)
	}()
	im, err := PlanImport(cfg, r, name, opt.Into)
	if err != nil {
		return nil, err
	}
	if opt.DryRun {
		im.DryRun = true
		return im, nil
	}
	if err := o.guard(ctx, "archive.import", name, map[string]any{"config": cfg.File, "added": len(im.Added), "updated": len(im.Updated), "files": im.Files}); err != nil {
		return nil, err
	}
	return im, im.write()
}

// PlanImport checks an import and plans it without writing anything.
func PlanImport(cfg *config.Config, r io.Reader, name, into string) (*Import, error) {
	meters, rowErrs, err := readRows(r, name)
	if err != nil {
		return nil, err
	}
	if len(meters) == 0 && rowErrs == nil {
		return nil, fmt.Errorf("%s: no meters", name)
	}
	files, fileOf := archiveFiles(cfg)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: the archive has no CSV files to import into: list one under archive.meters_csv", cfg.File)
	}
	if into != "" {
		if into, err = checkInto(cfg, files, into); err != nil {
			return nil, err
		}
	}
	im := &Import{Source: name, Added: []string{}, Updated: []string{}, Files: []string{}, content: map[string][]archive.Meter{}}
	for _, f := range files {
		im.content[f] = nil
	}
	// the archive's meters by address, and where each lives
	type place struct {
		file string // "" for an inline meter
		i    int
	}
	at := map[string]place{}
	merged := make([]archive.Meter, 0, len(cfg.Archive.Meters)+len(meters))
	mergedAt := map[string]int{}
	areaFiles := map[string]map[string]int{} // area -> file -> meters
	for _, m := range cfg.Archive.Meters {
		f := fileOf(m.Source)
		p := place{file: f, i: -1}
		if f != "" {
			p.i = len(im.content[f])
			im.content[f] = append(im.content[f], m)
			if areaFiles[m.Area] == nil {
				areaFiles[m.Area] = map[string]int{}
			}
			areaFiles[m.Area][f]++
		}
		at[m.Address] = p
		mergedAt[m.Address] = len(merged)
		merged = append(merged, m)
	}
	errs := rowErrs
	line := map[string]string{} // address -> import source, for duplicates
	changed := map[string]bool{}
	for _, m := range meters {
		if prev, dup := line[m.Address]; dup {
			errs = append(errs, fmt.Errorf("%s: address %s: repeats %s", m.Source, m.Address, prev))
			continue
		}
		line[m.Address] = m.Source
		if p, ok := at[m.Address]; ok {
			if p.file == "" {
				errs = append(errs, fmt.Errorf("%s: address %s: the meter is listed inline in %s; change it there", m.Source, m.Address, cfg.File))
				continue
			}
			im.content[p.file][p.i] = m
			changed[p.file] = true
			im.Updated = append(im.Updated, m.Address)
			merged[mergedAt[m.Address]] = m // validated with the import's line in messages
			continue
		}
		dest := into
		if dest == "" {
			dest = busiest(areaFiles[m.Area])
		}
		if dest == "" {
			errs = append(errs, fmt.Errorf("%s: address %s: no archive CSV file holds meters of area %q: say which file with --into", m.Source, m.Address, m.Area))
			continue
		}
		im.content[dest] = append(im.content[dest], m)
		changed[dest] = true
		im.Added = append(im.Added, m.Address)
		merged = append(merged, m)
	}
	a := *cfg.Archive
	a.Meters = merged
	if err := a.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, f := range files {
		if changed[f] {
			im.Files = append(im.Files, f)
			delete(changed, f)
		}
	}
	if changed[into] {
		im.Files = append(im.Files, into) // a new file the globs match
	}
	return im, nil
}

// readRows reads meters from CSV. Rows with problems of their own are
// reported in rowErrs and the others returned, so that the archive's
// checks can run on them too and every bad row is reported at once; err
// is a file that cannot be read as rows at all (a bad header, broken
// quoting).
func readRows(r io.Reader, name string) (meters []archive.Meter, rowErrs []error, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	meters, err = archive.ReadMetersCSV(bytes.NewReader(b), name)
	if err == nil {
		return meters, nil, nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	bad := map[int]bool{}
	for _, e := range errs {
		var fe *archive.FieldError
		if !errors.As(e, &fe) {
			return nil, nil, err
		}
		rest, ok := strings.CutPrefix(fe.Where, name+":")
		n, _, _ := strings.Cut(rest, ":")
		k, convErr := strconv.Atoi(n)
		if !ok || convErr != nil || k <= 1 {
			return nil, nil, err // the header
		}
		bad[k] = true
	}
	// the same file with the bad rows blanked: line numbers stay
	lines := bytes.SplitAfter(b, []byte("\n"))
	for k := range bad {
		if k <= len(lines) {
			lines[k-1] = []byte("\n")
		}
	}
	meters, err2 := archive.ReadMetersCSV(bytes.NewReader(bytes.Join(lines, nil)), name)
	if err2 != nil {
		return nil, nil, err
	}
	return meters, errs, nil
}

// busiest is the file with the most meters (the first of equals in name
// order).
func busiest(files map[string]int) string {
	best, n := "", 0
	for f, k := range files {
		if k > n || k == n && f < best {
			best, n = f, k
		}
	}
	return best
}

// archiveFiles lists the configuration's archive CSV files and maps a
// meter's Source ("name:line") to the file it came from ("" for inline).
func archiveFiles(cfg *config.Config) ([]string, func(source string) string) {
	byName := map[string]string{}
	dir := filepath.Dir(cfg.File)
	for _, f := range cfg.ArchiveFiles {
		byName[f] = f
		if r, err := filepath.Rel(dir, f); err == nil {
			byName[r] = f
		}
	}
	return cfg.ArchiveFiles, func(source string) string {
		i := strings.LastIndexByte(source, ':')
		if i < 0 {
			return ""
		}
		return byName[source[:i]]
	}
}

// checkInto accepts a file of the archive, or a new one its globs match.
func checkInto(cfg *config.Config, files []string, into string) (string, error) {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	want := abs(into)
	for _, f := range files {
		if abs(f) == want {
			return f, nil
		}
	}
	for _, pat := range cfg.Sources.MetersCSV {
		if ok, _ := filepath.Match(abs(pat), want); ok {
			return into, nil
		}
	}
	return "", badParam("into", "%s is not one of the archive's CSV files (archive.meters_csv: %s)", into, strings.Join(cfg.Sources.MetersCSV, ", "))
}

// write replaces every changed file: all are written to temporary files
// first, then renamed over the old ones.
func (im *Import) write() error {
	var tmps []string
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for _, f := range im.Files {
		mode := os.FileMode(0o644)
		if st, err := os.Stat(f); err == nil {
			mode = st.Mode().Perm()
		}
		t, err := os.CreateTemp(filepath.Dir(f), "."+filepath.Base(f)+".import-*")
		if err != nil {
			cleanup()
			return fmt.Errorf("import into %s: %w", f, err)
		}
		tmps = append(tmps, t.Name())
		err = archive.WriteMetersCSV(t, im.content[f])
		if err == nil {
			err = t.Sync()
		}
		if cerr := t.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(t.Name(), mode)
		}
		if err != nil {
			cleanup()
			return fmt.Errorf("import into %s: %w", f, err)
		}
	}
	for i, f := range im.Files {
		if err := os.Rename(tmps[i], f); err != nil {
			cleanup()
			return fmt.Errorf("import into %s: %w", f, err)
		}
	}
	return nil
}
