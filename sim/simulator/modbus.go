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
// of the endpoint's meters) with the SDM630 input-register map: over TCP
// on the listen address, or RTU on a pseudo-terminal. It returns how to
// start the port (again).
func (s *Simulator) startModbus(c model.Concentrator, meters []*model.Meter, i int) (func(ctx context.Context) (func(), error), error) {
	if len(meters) > 247 {
		return nil, fmt.Errorf("%d meters on one Modbus line, at most 247 unit ids", len(meters))
	}
	srv := field.NewModbusServer()
	u := modbusUnits{meters: meters}
	for i := range meters {
		m := field.NewSDM630(field.ThreePhaseReadings{})
		u.maps = append(u.maps, m)
		srv.SetUnit(byte(i+1), m)
	}
	srv.OnAnswer = func(unit byte, resp []byte) {
		if int(unit) < 1 || int(unit) > len(meters) || len(resp) < 2 {
			return
		}
		s.countModbus(meters[unit-1].Address, resp[2:]) // the register bytes after function code and count
	}
	s.modbus = append(s.modbus, u)
	if c.Access.Kind == model.AccessModbusTCP {
		addr := s.listenAddr(c.Access.Listen)
		return func(ctx context.Context) (func(), error) {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, fmt.Errorf("listen: %w", err)
			}
			addr = ln.Addr().String()
			s.setAddress(i, addr)
			return s.serve(ctx, func(ctx context.Context) { srv.ServeTCP(ctx, ln) }, ln.Close), nil
		}, nil
	}
	return func(ctx context.Context) (func(), error) {
		p, err := field.OpenPTY()
		if err != nil {
			return nil, err
		}
		s.setAddress(i, p.Path)
		if c.Access.Device != "" {
			if err := link(p.Path, c.Access.Device); err != nil {
				p.Close()
				return nil, err
			}
			s.setEndpoint(i, func(e *Endpoint) { e.Link = c.Access.Device })
		}
		return s.serve(ctx, func(ctx context.Context) { srv.ServeRTU(ctx, p.Master) }, p.Close), nil
	}, nil
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
