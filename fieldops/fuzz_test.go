package fieldops

import (
	"errors"
	"strings"
	"testing"

	"github.com/headend/headend/protocol/dlt645"
)

// ParseItems never panics, returns at most MaxItems DIs without
// duplicates, and every error is a ParamError for the parameter.
func FuzzParseItems(f *testing.F) {
	for _, s := range []string{"", "00010000", "9010", "phase A voltage", "instantaneous,clock", "0x0201 FF00", "status", ",,", "forward_active-energy  total"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, old bool) {
		ed := dlt645.DLT2007
		if old {
			ed = dlt645.DLT1997
		}
		dis, err := ParseItems(ed, "di", strings.Split(s, ";"))
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param != "di" {
				t.Fatalf("%q: error %v is not a di ParamError", s, err)
			}
			return
		}
		if len(dis) == 0 || len(dis) > MaxItems {
			t.Fatalf("%q: %d DIs", s, len(dis))
		}
		seen := map[dlt645.DI]bool{}
		for _, d := range dis {
			if seen[d] {
				t.Fatalf("%q: %s twice", s, d)
			}
			seen[d] = true
		}
	})
}

// ParseAuthority never panics and never puts the password in an error.
func FuzzParseAuthority(f *testing.F) {
	f.Add("123456", 0, "ABCD")
	f.Add("02123456", 2, "0x1")
	f.Add("", 0, "")
	f.Add("99999999", 9, "FFFFFFFF")
	f.Fuzz(func(t *testing.T, pw string, level int, op string) {
		a, err := ParseAuthority(pw, level, op)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("not a ParamError: %v", err)
			}
			if len(pw) >= 4 && pe.Param != "operator" && strings.Contains(err.Error(), pw) {
				t.Fatalf("error repeats the password: %v", err)
			}
			return
		}
		if a.Level > 9 || len(pw) != 6 && len(pw) != 8 || op == "" {
			t.Fatalf("accepted %q level %d operator %q: %+v", pw, level, op, a)
		}
	})
}

// ParseRange never panics and accepts only ordered ranges within MaxScan.
func FuzzParseRange(f *testing.F) {
	f.Add("000031000000", "000031000007")
	f.Add("1", "10000")
	f.Add("99", "1")
	f.Add("AAAAAAAAAAAA", "999999999999")
	f.Fuzz(func(t *testing.T, from, to string) {
		lo, hi, err := ParseRange(from, to)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || (pe.Param != "from" && pe.Param != "to") {
				t.Fatalf("%q %q: %v", from, to, err)
			}
			return
		}
		if hi < lo || hi-lo >= MaxScan || hi > 999999999999 {
			t.Fatalf("%q %q: accepted %d..%d", from, to, lo, hi)
		}
	})
}

// readRows never panics, and returns good rows only beside row errors.
func FuzzReadRows(f *testing.F) {
	f.Add("address,channel,area,ct\n1000002,CH-A,A,1\n000001000003,CH-A,A,0\n")
	f.Add("address,channel,area\n\"1\n2\",x,y\n")
	f.Add("\uFEFFaddr,channel,area\r\n12,a,b\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		meters, rowErrs, err := readRows(strings.NewReader(in), "f.csv")
		if err != nil && (meters != nil || rowErrs != nil) {
			t.Fatalf("a file error with rows: %v", err)
		}
		for _, m := range meters {
			if len(m.Address) != 12 || m.Channel == "" || m.Area == "" {
				t.Fatalf("a bad meter passed: %+v", m)
			}
		}
	})
}
