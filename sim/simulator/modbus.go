package simulator

import (
	"context"
	"fmt"
	"net"

	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/model"
)

// modbusUnits are the SDM630 maps of one Modbus concentrator's meters,
// refreshed from the model as it advances.
type modbusUnits struct {
	meters []*model.Meter
	maps   []*field.SDM630
}

// startModbus exposes a line's meters as Modbus units 1..n (in the order
// of ep.Meters) with the SDM630 input-register map: over TCP on the
// listen address, or RTU on a pseudo-terminal.
func (s *Simulator) startModbus(ctx context.Context, c model.Concentrator, meters []*model.Meter, ep *Endpoint) error {
	if len(meters) > 247 {
		return fmt.Errorf("%d meters on one Modbus line, at most 247 unit ids", len(meters))
	}
	srv := field.NewModbusServer()
	u := modbusUnits{meters: meters}
	for i := range meters {
		m := field.NewSDM630(field.ThreePhaseReadings{})
		u.maps = append(u.maps, m)
		srv.SetUnit(byte(i+1), m)
	}
	s.modbus = append(s.modbus, u)
	if c.Access.Kind == model.AccessModbusTCP {
		ln, err := net.Listen("tcp", s.listenAddr(c.Access.Listen))
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		ep.Address = ln.Addr().String()
		s.wg.Go(func() { srv.ServeTCP(ctx, ln) })
		return nil
	}
	p, err := field.OpenPTY()
	if err != nil {
		return err
	}
	s.closers = append(s.closers, p.Close)
	ep.Address = p.Path
	if c.Access.Device != "" {
		if err := link(p.Path, c.Access.Device); err != nil {
			return err
		}
		ep.Link = c.Access.Device
	}
	s.wg.Go(func() { srv.ServeRTU(ctx, p.Master) })
	return nil
}

// refreshModbus copies the model's registers into the Modbus maps.
func (s *Simulator) refreshModbus() {
	now := s.Fleet.Now()
	for _, u := range s.modbus {
		for i, m := range u.meters {
			r := m.Registers(now)
			u.maps[i].Set(readings(r))
		}
	}
}

// readings converts exact registers to what an SDM630 shows (float32 on
// the wire).
func readings(r model.Registers) field.ThreePhaseReadings {
	var x field.ThreePhaseReadings
	for p := range 3 {
		x.Voltage[p] = float64(r.Voltage[p]) / 10
		x.Current[p] = float64(r.Current[p]) / 1000
		x.Power[p] = float64(r.Power[p+1]) / 10 // 0.0001 kW = 0.1 W
	}
	x.TotalPower = float64(r.Power[0]) / 10
	x.PowerFactor = float64(r.PF) / 1000
	x.Frequency = float64(r.Frequency) / 100
	x.ImportKWh = float64(r.Forward[0]) / 100
	x.ExportKWh = float64(r.Reverse[0]) / 100
	return x
}
