package archive_test

import (
	"strings"
	"testing"

	"github.com/headend/headend/archive"
)

func TestReadResponsibleCSV(t *testing.T) {
	in := "\uFEFFName,Area, Responsible \r\nXinhua,D01,Li Wei\r\n\r\nMarket, D02 ,\r\n"
	m, err := archive.ReadResponsibleCSV(strings.NewReader(in), "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["D01"] != "Li Wei" || m["D02"] != "" {
		t.Fatalf("%v", m)
	}
	a := &archive.Archive{Areas: []archive.Area{{ID: "D01"}, {ID: "D02", Responsible: "Old"}, {ID: "D03", Responsible: "Kept"}}}
	if err := a.SetResponsible(m); err != nil {
		t.Fatal(err)
	}
	if a.Areas[0].Responsible != "Li Wei" || a.Areas[1].Responsible != "" || a.Areas[2].Responsible != "Kept" {
		t.Errorf("%+v", a.Areas)
	}
	if err := a.SetResponsible(map[string]string{"D09": "x", "D01": "y"}); err == nil || !strings.Contains(err.Error(), "D09") || a.Areas[0].Responsible != "Li Wei" {
		t.Errorf("unknown area: %v, %+v", err, a.Areas[0])
	}
}

func TestReadResponsibleCSVErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "r.csv: empty file"},
		{"area,person\nD01\n", "r.csv:2: 1 cells, want at least 2"},
		{"area,person\n,Li\n", "r.csv:2:1: area: must be set"},
		{"area,person\nD01,Li\nD01,Wang\n", "r.csv:3:1: area D01: already on line 2"},
		{"id,name\nD01,Li\n", "r.csv:1: header has no responsible column"},
		{"person\nLi\n", "r.csv:1: header has no area column"},
		{"area,area,person\n", "r.csv:1:2: a second area column"},
		{"area,person\nD01,\"Li\n", "r.csv:2:"},
	}
	for _, c := range cases {
		_, err := archive.ReadResponsibleCSV(strings.NewReader(c.in), "r.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzReadResponsibleCSV(f *testing.F) {
	f.Add("area,responsible\nD01,Li Wei\nD02,\n")
	f.Add("\uFEFFid,责任人\r\nD01,王芳\r\n")
	f.Add("area,person\nD01,\"Li\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := archive.ReadResponsibleCSV(strings.NewReader(in), "f.csv")
		if err != nil {
			return
		}
		for id, p := range m {
			if id == "" || strings.TrimSpace(id) != id || strings.TrimSpace(p) != p {
				t.Fatalf("area %q person %q", id, p)
			}
		}
	})
}
