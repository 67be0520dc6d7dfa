package model

import (
	"hash/fnv"
	"math"
	"time"
)

// Randomness is counter based: every random quantity is a hash of the seed,
// the meter (or area) and the step or day it belongs to. Any value can thus
// be recomputed in any order, and the same seed gives the same fleet.

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func hash3(a, b, c uint64) uint64 { return mix(mix(mix(a)^b) ^ c) }

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// gauss maps a hash to an approximately standard normal value (Irwin–Hall
// sum of four 16-bit uniforms), bounded to about ±3.5.
func gauss(h uint64) float64 {
	s := float64(h&0xffff) + float64(h>>16&0xffff) + float64(h>>32&0xffff) + float64(h>>48)
	return (s/65536 - 2) * math.Sqrt(3)
}

func strHash(seed int64, s string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	return mix(f.Sum64() ^ uint64(seed))
}

// Hash streams.
const (
	sParam uint64 = iota + 1
	sDay
	sStep
	sWeather
	sPV
	sInst
	sFreq
)

// Hourly load shapes per class (relative; normalised to mean 1 in init).
var shapes = [3][24]float64{
	Residential: {0.45, 0.38, 0.35, 0.33, 0.33, 0.40, 0.70, 1.10, 1.00, 0.80, 0.75, 0.85,
		0.95, 0.80, 0.70, 0.70, 0.80, 1.10, 1.60, 1.90, 1.90, 1.60, 1.10, 0.70},
	Commercial: {0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.35, 0.50, 0.90, 1.40, 1.60, 1.70,
		1.70, 1.60, 1.60, 1.60, 1.60, 1.60, 1.50, 1.40, 1.20, 0.80, 0.50, 0.35},
	Industrial: {0.50, 0.50, 0.50, 0.50, 0.50, 0.50, 0.60, 0.90, 1.50, 1.60, 1.60, 1.40,
		1.20, 1.50, 1.60, 1.60, 1.50, 1.30, 0.90, 0.70, 0.60, 0.55, 0.50, 0.50},
}

func init() {
	for c := range shapes {
		var s float64
		for _, v := range shapes[c] {
			s += v
		}
		for h := range shapes[c] {
			shapes[c][h] *= 24 / s
		}
	}
}

// class parameters: daily kWh range, weekend factor, step noise, PF range.
var classParams = [3]struct {
	minKWh, maxKWh float64
	weekend, noise float64
	minPF, maxPF   float64
	summer, winter float64
	dayNoise       float64
}{
	Residential: {4, 14, 1.10, 0.25, 0.93, 0.98, 1.35, 1.20, 0.15},
	Commercial:  {40, 160, 0.80, 0.10, 0.88, 0.95, 1.25, 1.10, 0.10},
	Industrial:  {200, 900, 0.45, 0.08, 0.82, 0.92, 1.05, 1.00, 0.08},
}

// shapeAt is the class shape at a time of day, linearly interpolated
// between hourly points (at the centre of each hour).
func shapeAt(c Class, tod time.Duration) float64 {
	h := tod.Hours() - 0.5
	if h < 0 {
		h += 24
	}
	i := int(h)
	f := h - float64(i)
	return shapes[c][i%24]*(1-f) + shapes[c][(i+1)%24]*f
}

// seasonFactor is the class's seasonal multiplier for a day of year.
func seasonFactor(c Class, yday int) float64 {
	p := classParams[c]
	// summer peak around day 210, winter around day 15
	s := math.Cos(2 * math.Pi * float64(yday-210) / 365)
	if s > 0 {
		return 0.9 + (p.summer-0.9)*s*s
	}
	return 0.9 + (p.winter-0.9)*s*s
}

func weekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// clearSky is the PV output per kW peak at a local time, 0 at night.
func clearSky(yday int, tod time.Duration) float64 {
	season := math.Cos(2 * math.Pi * float64(yday-172) / 365) // +1 midsummer
	dayLen := 12 + 2.5*season
	noon := 12.25
	h := tod.Hours()
	x := (h - (noon - dayLen/2)) / dayLen
	if x <= 0 || x >= 1 {
		return 0
	}
	return (0.72 + 0.1*season) * math.Pow(math.Sin(math.Pi*x), 1.3)
}
