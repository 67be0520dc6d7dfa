package mapapi

import "github.com/headend/headend/archive"

// The archive's coordinates (WGS 84): 0,0, or a position off the globe,
// is unknown.

func meterCoord(m *archive.Meter) (lat, lon float64, ok bool) { return coord(m.Lat, m.Lon) }

func concCoord(k *archive.Concentrator) (lat, lon float64, ok bool) { return coord(k.Lat, k.Lon) }

func areaCoord(a *archive.Area) (lat, lon float64, ok bool) { return coord(a.Lat, a.Lon) }

func coord(lat, lon float64) (float64, float64, bool) {
	ok := (lat != 0 || lon != 0) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
	return lat, lon, ok
}
