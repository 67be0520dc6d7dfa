package field

import (
	"math"
	"sync"
)

// ThreePhaseReadings are what a three-phase meter measures, in the units
// it shows them. The simulator's physical model fills them in.
type ThreePhaseReadings struct {
	Voltage     [3]float64 // V, phase 1..3 to neutral
	Current     [3]float64 // A, phase 1..3
	Power       [3]float64 // W, active power of phase 1..3 (negative: export)
	TotalPower  float64    // W, total system active power
	PowerFactor float64    // total system power factor
	Frequency   float64    // Hz
	ImportKWh   float64    // import active energy, kWh
	ExportKWh   float64    // export active energy, kWh
}

// SDM630 is the input-register map of an Eastron SDM630 three-phase meter
// (function 04): every value an IEEE-754 float32 in two registers, high
// word first, big-endian bytes.
//
//	0x0000 0x0002 0x0004  phase 1..3 voltage, V
//	0x0006 0x0008 0x000A  phase 1..3 current, A
//	0x000C 0x000E 0x0010  phase 1..3 active power, W
//	0x0034                total system power, W
//	0x003E                total system power factor
//	0x0046                frequency, Hz
//	0x0048                import active energy, kWh
//	0x004A                export active energy, kWh
//	0x0156                total active energy, kWh (import + export)
//
// Verified against public register lists transcribed from Eastron's
// "SDM630 Modbus Protocol Implementation" (parameter numbers 30001 ...,
// address = number − 30001): the addresses and units above, float32 with
// high word first, reads of whole parameters only (an odd address or
// count is refused), at most 40 values (80 registers) per request, input
// registers ending with parameter 30381 (0x017C). As the meter does,
// parameters it does not model read 0. Not verified: the exception codes
// the real meter sends for each refusal (here 02 for an odd address or
// count or one past 0x017D, 03 for more than 80 registers), and that
// 0x0156 is exactly import + export. Holding registers (function 03,
// settings) are not modelled and read as exception 02.
type SDM630 struct {
	mu sync.RWMutex
	r  ThreePhaseReadings
}

// SDM630 limits.
const (
	sdm630InputEnd = 0x017E // one past the last input register
	sdm630MaxRegs  = 80
)

// NewSDM630 returns a meter showing r.
func NewSDM630(r ThreePhaseReadings) *SDM630 { return &SDM630{r: r} }

// Set replaces the readings.
func (m *SDM630) Set(r ThreePhaseReadings) {
	m.mu.Lock()
	m.r = r
	m.mu.Unlock()
}

// Update changes the readings in place, under the meter's lock.
func (m *SDM630) Update(f func(*ThreePhaseReadings)) {
	m.mu.Lock()
	f(&m.r)
	m.mu.Unlock()
}

// Readings returns the current readings.
func (m *SDM630) Readings() ThreePhaseReadings {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.r
}

// ReadRegisters implements RegisterMap.
func (m *SDM630) ReadRegisters(fc byte, addr, count uint16) ([]uint16, error) {
	switch {
	case fc == FuncReadHoldingRegisters:
		return nil, ExIllegalDataAddress
	case fc != FuncReadInputRegisters:
		return nil, ExIllegalFunction
	case count > sdm630MaxRegs:
		return nil, ExIllegalDataValue
	case addr%2 != 0 || count%2 != 0 || int(addr)+int(count) > sdm630InputEnd:
		return nil, ExIllegalDataAddress
	}
	r := m.Readings()
	regs := make([]uint16, 0, count)
	for a := addr; a < addr+count; a += 2 {
		bits := math.Float32bits(float32(r.parameter(a)))
		regs = append(regs, uint16(bits>>16), uint16(bits))
	}
	return regs, nil
}

// parameter is the value of the SDM630 input parameter at address a.
func (r *ThreePhaseReadings) parameter(a uint16) float64 {
	switch {
	case a <= 0x0004:
		return r.Voltage[a/2]
	case a <= 0x000A:
		return r.Current[(a-0x0006)/2]
	case a <= 0x0010:
		return r.Power[(a-0x000C)/2]
	}
	switch a {
	case 0x0034:
		return r.TotalPower
	case 0x003E:
		return r.PowerFactor
	case 0x0046:
		return r.Frequency
	case 0x0048:
		return r.ImportKWh
	case 0x004A:
		return r.ExportKWh
	case 0x0156:
		return r.ImportKWh + r.ExportKWh
	}
	return 0
}
