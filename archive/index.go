package archive

import "github.com/headend/headend/protocol/dlt645"

// Index answers lookups on an archive. It points into the archive's
// slices and is a snapshot: build a new one after changing the archive.
// It is safe for concurrent reads.
type Index struct {
	a          *Archive
	meters     map[string]*Meter
	onChannel  map[string][]*Meter
	areaMeter  map[string]*Meter
	customers  map[string][]*Meter
	inArea     map[string][]*Meter
	areas      map[string]*Area
	channels   map[string]*Channel
	concs      map[string]*Concentrator
	concOfChan map[string]*Concentrator
}

// Index builds the lookups. On an archive that does not validate, the
// first of duplicates wins.
func (a *Archive) Index() *Index {
	ix := &Index{a: a, meters: map[string]*Meter{}, onChannel: map[string][]*Meter{},
		areaMeter: map[string]*Meter{}, customers: map[string][]*Meter{}, inArea: map[string][]*Meter{},
		areas: map[string]*Area{}, channels: map[string]*Channel{}, concs: map[string]*Concentrator{},
		concOfChan: map[string]*Concentrator{}}
	for i := range a.Areas {
		if _, ok := ix.areas[a.Areas[i].ID]; !ok {
			ix.areas[a.Areas[i].ID] = &a.Areas[i]
		}
	}
	for i := range a.Channels {
		if _, ok := ix.channels[a.Channels[i].ID]; !ok {
			ix.channels[a.Channels[i].ID] = &a.Channels[i]
		}
	}
	for i := range a.Concentrators {
		k := &a.Concentrators[i]
		if _, ok := ix.concs[k.ID]; !ok {
			ix.concs[k.ID] = k
		}
		for _, ch := range k.Channels {
			if _, ok := ix.concOfChan[ch]; !ok {
				ix.concOfChan[ch] = k
			}
		}
	}
	for i := range a.Meters {
		m := &a.Meters[i]
		if _, ok := ix.meters[m.Address]; ok {
			continue
		}
		ix.meters[m.Address] = m
		ix.onChannel[m.Channel] = append(ix.onChannel[m.Channel], m)
		ix.inArea[m.Area] = append(ix.inArea[m.Area], m)
		if m.Role == RoleArea {
			if _, ok := ix.areaMeter[m.Area]; !ok {
				ix.areaMeter[m.Area] = m
			}
		} else {
			ix.customers[m.Area] = append(ix.customers[m.Area], m)
		}
	}
	return ix
}

// Archive is the indexed archive.
func (ix *Index) Archive() *Archive { return ix.a }

// Meter returns the meter with an address; a short address is padded
// with leading zeros.
func (ix *Index) Meter(addr string) (*Meter, bool) {
	m, ok := ix.meters[addr]
	if !ok && len(addr) < 12 {
		if n, err := NormalizeAddress(addr); err == nil {
			m, ok = ix.meters[n]
		}
	}
	return m, ok
}

// MeterAt returns the meter with a DL/T 645 address.
func (ix *Index) MeterAt(addr dlt645.Address) (*Meter, bool) {
	m, ok := ix.meters[addr.String()]
	return m, ok
}

// MetersOnChannel returns the meters on a channel, in archive order.
func (ix *Index) MetersOnChannel(channel string) []*Meter { return ix.onChannel[channel] }

// MetersInArea returns all meters of an area (area meter included), in
// archive order.
func (ix *Index) MetersInArea(area string) []*Meter { return ix.inArea[area] }

// AreaMeter returns the area meter (台区总表) of an area.
func (ix *Index) AreaMeter(area string) (*Meter, bool) {
	m, ok := ix.areaMeter[area]
	return m, ok
}

// Customers returns the customer and PV meters of an area, in archive
// order.
func (ix *Index) Customers(area string) []*Meter { return ix.customers[area] }

// Area returns the area with an ID.
func (ix *Index) Area(id string) (*Area, bool) {
	a, ok := ix.areas[id]
	return a, ok
}

// Channel returns the channel with an ID.
func (ix *Index) Channel(id string) (*Channel, bool) {
	c, ok := ix.channels[id]
	return c, ok
}

// Concentrator returns the concentrator with an ID.
func (ix *Index) Concentrator(id string) (*Concentrator, bool) {
	c, ok := ix.concs[id]
	return c, ok
}

// ConcentratorOf returns the concentrator that owns a channel.
func (ix *Index) ConcentratorOf(channel string) (*Concentrator, bool) {
	c, ok := ix.concOfChan[channel]
	return c, ok
}
