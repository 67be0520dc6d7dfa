package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/headend/headend/"

// Test kits (packages whose name ends in "test": analysistest, storetest,
// apitest, ...) are code for tests, as _test.go files are: they may import
// anything, and only tests and other kits may import them.

// rank is each top folder's floor; a package may import its own floor and
// floors below it.
var rank = map[string]int{
	"protocol": 0, "meter": 1, "archive": 2, "store": 3, "collector": 4, "cluster": 4,
	"analysis": 5, "fieldops": 6, "api": 7, "daemon": 8, "cmd": 9,
}

// top is the top folder of a module path ("collector/poll" → "collector").
func top(p string) string {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

func TestImportsRunOneWay(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "testdata" || n == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			if !strings.HasPrefix(p, module) {
				continue
			}
			if msg := allowed(rel, strings.TrimPrefix(p, module)); msg != "" {
				t.Errorf("%s imports %s: %s", filepath.ToSlash(path), strings.TrimPrefix(p, module), msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked %d files: the walk did not find the module", checked)
	}
}

// allowed says why pkg may not import dep, or "" when it may.
func allowed(pkg, dep string) string {
	from, to := top(pkg), top(dep)
	switch {
	case strings.HasSuffix(dep, "test"):
		if strings.HasSuffix(pkg, "test") {
			return ""
		}
		return "a test kit is for tests only"
	case strings.HasSuffix(pkg, "test"):
		return ""
	case to == "internal":
		return ""
	case to == "sim":
		if from == "sim" || pkg == "cmd/metersim" || strings.HasSuffix(pkg, "test") {
			return ""
		}
		return "only the simulator, cmd/metersim and test helpers use sim/"
	case from == "sim":
		if to == "protocol" || to == "meter" {
			return ""
		}
		return "the simulated field stands on the wire codecs only"
	case from == "internal":
		return "internal/ holds test kits that import nothing of the head-end"
	}
	rf, okf := rank[from]
	rt, okt := rank[to]
	if !okf || !okt {
		return "a top folder the layout does not name (add it to README's layout and to rank)"
	}
	if rt > rf {
		return to + "/ stands above " + from + "/"
	}
	return ""
}

func TestRankNamesEveryTopFolder(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n := e.Name()
		if _, ok := rank[n]; ok || strings.HasPrefix(n, ".") {
			continue
		}
		switch n {
		case "sim", "internal", "configs", "testdata", "docs", "scripts":
			continue
		}
		if hasGo(filepath.Join("..", "..", n)) {
			t.Errorf("top folder %s/ holds Go code but has no place in the layout", n)
		}
	}
}

func hasGo(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}
