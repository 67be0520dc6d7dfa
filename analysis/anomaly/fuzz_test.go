package anomaly

import (
	"math"
	"strconv"
	"testing"
	"time"
)

// FuzzDetect raises flags on a small area with arbitrary register
// differences, missing reads and instantaneous values: it never panics,
// every confidence is in [0, 1] and every flag starts on an analysed day.
func FuzzDetect(f *testing.F) {
	f.Add([]byte{0, 10, 200, 3, 7, 255, 128, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{255, 255, 255, 0, 0, 0, 9, 9, 9, 128, 128})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return int(b)
		}
		fl := simple(t, 12, 4)
		addrs := []string{"000000000001", c0, c1, "000000000102", "000000000103"}
		for range 40 {
			m, d := addrs[next()%len(addrs)], next()%12
			switch next() % 6 {
			case 0:
				fl.fwd[m][d] = int64(next()-128) * int64(next()+1) * 100
			case 1:
				fl.rev[m][d] = int64(next()) * int64(next())
			case 2:
				if fl.drop[m] == nil {
					fl.drop[m] = map[int]bool{}
				}
				fl.drop[m][next()%13] = true
			case 3:
				fl.instant(m, []string{"phase A voltage", "phase B voltage", "phase C voltage"}[next()%3], day(d).Add(time.Duration(next())*time.Minute), strconv.Itoa(next()*2))
			case 4:
				fl.instant(m, []string{"phase A current", "phase B current", "phase C current"}[next()%3], day(d).Add(time.Duration(next())*time.Minute), strconv.Itoa(next()-100))
			case 5:
				fl.instant(m, []string{QuantityClockError, QuantityCoverOpen}[next()%2], day(d).Add(time.Duration(next())*time.Minute), strconv.Itoa(next()*next()-3000))
			}
		}
		rep := Detect(fl.input(), Config{})
		for _, f := range rep.Flags {
			if math.IsNaN(f.Confidence) || f.Confidence < 0 || f.Confidence > 1 {
				t.Fatalf("%s confidence %v", f.Kind, f.Confidence)
			}
			if f.Start.Before(day(0)) || f.Start.After(day(12)) || f.End.Before(f.Start) {
				t.Fatalf("%s from %v to %v", f.Kind, f.Start, f.End)
			}
		}
		for _, rk := range rep.Theft {
			for _, c := range rk.Candidates {
				if math.IsNaN(c.Score) || c.Score < 0 || c.Score > 1 {
					t.Fatalf("score %v", c.Score)
				}
			}
		}
	})
}
