package meter

import (
	"encoding/json"
	"testing"
)

func TestQualityUsableEstimated(t *testing.T) {
	for q, want := range map[Quality][2]bool{ // usable, estimated
		Valid: {true, false}, Edited: {true, false},
		EstimatedInterpolation: {true, true}, EstimatedProfile: {true, true},
		Suspect: {false, false}, FailedQuality: {false, false}, "": {false, false}, "bogus": {false, false},
		"estimated-interpolation": {false, false}, // only decoding maps a former spelling
	} {
		if got := [2]bool{q.Usable(), q.Estimated()}; got != want {
			t.Errorf("%q: usable, estimated = %v, want %v", q, got, want)
		}
	}
}

// TestQualityFormerSpelling decodes qualities as line-loss results stored
// them before they shared this vocabulary: hyphenated estimates.
func TestQualityFormerSpelling(t *testing.T) {
	var got struct {
		A, B, C, D Quality
		Count      map[Quality]int
	}
	in := `{"A":"estimated-interpolation","B":"estimated-profile","C":"estimated_profile","D":"suspect",
		"Count":{"estimated-interpolation":2,"valid":3}}`
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	if got.A != EstimatedInterpolation || got.B != EstimatedProfile || got.C != EstimatedProfile || got.D != Suspect {
		t.Errorf("decoded %q %q %q %q", got.A, got.B, got.C, got.D)
	}
	if got.Count[EstimatedInterpolation] != 2 || got.Count[Valid] != 3 || len(got.Count) != 2 {
		t.Errorf("map keys decoded to %v", got.Count)
	}
	out, err := json.Marshal(got.A)
	if err != nil || string(out) != `"estimated_interpolation"` {
		t.Errorf("encoded %s, %v; want \"estimated_interpolation\"", out, err)
	}
	if err := json.Unmarshal([]byte(`12`), &got.A); err == nil {
		t.Error("a number decoded as a quality")
	}
}

// FuzzQualityText checks that decoding never fails on text and keeps
// every spelling but the former ones as it is.
func FuzzQualityText(f *testing.F) {
	for _, s := range []string{"valid", "estimated-interpolation", "estimated_profile", "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var q Quality
		if err := q.UnmarshalText([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if _, former := formerly[s]; !former && string(q) != s {
			t.Fatalf("%q decoded as %q", s, q)
		}
		if q.Estimated() != (q == EstimatedInterpolation || q == EstimatedProfile) || q.Usable() && !(q.Estimated() || q == Valid || q == Edited) {
			t.Fatalf("%q: usable %v estimated %v", q, q.Usable(), q.Estimated())
		}
	})
}
