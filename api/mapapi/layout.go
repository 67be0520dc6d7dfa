package mapapi

import (
	"math"

	"github.com/headend/headend/archive"
)

// SyntheticOrigin is where a synthetic layout starts (latitude,
// longitude) when the archive has no coordinates at all: the first
// area's centre, the others on a grid to its south-east. The positions
// have no geographic meaning.
var SyntheticOrigin = [2]float64{30, 120}

const (
	// spiralStep spaces the meters laid out around an area (degrees of
	// latitude, about 40 m): the k-th is step·√k from the centre.
	spiralStep = 0.00035
	// goldenAngle turns each meter of the spiral from the last (radians).
	goldenAngle = 2.399963229728653
	// minSpacing is the least distance between the centres of areas on
	// the grid (degrees, about 550 m).
	minSpacing = 0.005
)

// pos is a position; synthetic when laid out rather than the archive's.
type pos struct {
	lat, lon  float64
	synthetic bool
}

func (p pos) placed() string {
	if p.synthetic {
		return "synthetic"
	}
	return "archive"
}

// placement is where everything goes on the map.
type placement struct {
	layout Layout
	centre map[string]pos // by area
	meter  map[string]pos // by address
	conc   map[string]pos // by concentrator id
}

// place positions every area, meter and concentrator of the archive:
// the archive's coordinates where it has them; otherwise an area's centre
// is the mean of its known meters and concentrators or a place on a grid
// beside the known ones, its unknown meters are laid out on a sunflower
// spiral around the centre (the area meter at the centre), and its
// unknown concentrators just north of it. The same archive gives the same
// layout.
func place(ix *archive.Index) placement {
	a := ix.Archive()
	pl := placement{centre: map[string]pos{}, meter: map[string]pos{}, conc: map[string]pos{}}
	known, total := 0, 0
	sum := map[string][3]float64{} // by area: Σlat, Σlon, n of the known positions
	note := func(area string, lat, lon float64) {
		s := sum[area]
		sum[area] = [3]float64{s[0] + lat, s[1] + lon, s[2] + 1}
	}
	for i := range a.Meters {
		m := &a.Meters[i]
		total++
		if lat, lon, ok := meterCoord(m); ok {
			known++
			pl.meter[m.Address] = pos{lat: lat, lon: lon}
			note(m.Area, lat, lon)
		}
	}
	for i := range a.Concentrators {
		k := &a.Concentrators[i]
		total++
		if lat, lon, ok := concCoord(k); ok {
			known++
			pl.conc[k.ID] = pos{lat: lat, lon: lon}
			note(k.Area, lat, lon)
		}
	}
	switch {
	case known == total:
		pl.layout = FromArchive
	case known == 0:
		pl.layout = Synthetic
	default:
		pl.layout = Mixed
	}

	// Centres: the archive's, else the mean of what is known, else the grid.
	var gridded []string
	maxUnknown := 0
	north, east, anyKnown := -90.0, -180.0, false
	for i := range a.Areas {
		ar := &a.Areas[i]
		unknown := 0
		for _, m := range ix.MetersInArea(ar.ID) {
			if _, ok := pl.meter[m.Address]; !ok {
				unknown++
			}
		}
		maxUnknown = max(maxUnknown, unknown)
		c, ok := pos{}, false
		if lat, lon, has := areaCoord(ar); has {
			c, ok = pos{lat: lat, lon: lon}, true
		} else if s := sum[ar.ID]; s[2] > 0 {
			c, ok = pos{lat: s[0] / s[2], lon: s[1] / s[2]}, true
		}
		if !ok {
			gridded = append(gridded, ar.ID)
			continue
		}
		pl.centre[ar.ID] = c
		north, east, anyKnown = max(north, c.lat), max(east, c.lon), true
	}
	spacing := max(minSpacing, 2.6*spiralStep*math.Sqrt(float64(maxUnknown+1)))
	lat0, lon0 := SyntheticOrigin[0], SyntheticOrigin[1]
	if anyKnown {
		lat0, lon0 = north, east+spacing/math.Cos(north*math.Pi/180)
	}
	cols := int(math.Ceil(math.Sqrt(float64(len(gridded)))))
	for i, id := range gridded {
		lat := lat0 - float64(i/cols)*spacing
		lon := lon0 + float64(i%cols)*spacing/math.Cos(lat0*math.Pi/180)
		pl.centre[id] = pos{lat: round6(lat), lon: round6(lon), synthetic: true}
	}

	// Unknown meters on a spiral around their centre; concentrators north of it.
	for i := range a.Areas {
		id := a.Areas[i].ID
		c := pl.centre[id]
		k := 0
		for _, m := range ix.MetersInArea(id) {
			if _, ok := pl.meter[m.Address]; ok {
				continue
			}
			if m.Role == archive.RoleArea && k == 0 {
				pl.meter[m.Address] = pos{lat: c.lat, lon: c.lon, synthetic: true}
				k++
				continue
			}
			k = max(k, 1)
			pl.meter[m.Address] = around(c, spiralStep*math.Sqrt(float64(k)), float64(k)*goldenAngle)
			k++
		}
	}
	n := map[string]int{}
	for i := range a.Concentrators {
		kc := &a.Concentrators[i]
		if _, ok := pl.conc[kc.ID]; ok {
			continue
		}
		c := pl.centre[kc.Area]
		j := n[kc.Area]
		n[kc.Area]++
		pl.conc[kc.ID] = pos{lat: round6(c.lat + 0.6*spiralStep),
			lon: round6(c.lon + float64(j)*0.6*spiralStep/math.Cos(c.lat*math.Pi/180)), synthetic: true}
	}
	return pl
}

// around is the position r degrees from c at angle theta, the longitude
// stretched so that the spiral is round on the map.
func around(c pos, r, theta float64) pos {
	return pos{
		lat:       round6(c.lat + r*math.Sin(theta)),
		lon:       round6(c.lon + r*math.Cos(theta)/math.Cos(c.lat*math.Pi/180)),
		synthetic: true,
	}
}

// round6 rounds to 6 decimals (about 0.1 m).
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
