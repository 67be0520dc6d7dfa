package vee_test

import (
	"fmt"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

func Example() {
	c := vee.DefaultConfig()
	v, _ := vee.NewValidator(c)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 2, h, m, 0, 0, vee.CST) }
	record := func(t time.Time, kwh string) meter.Read {
		x, _ := dlt645.ParseDecimal(kwh)
		return meter.Read{Meter: "000012345678", Class: meter.Interval, Quantity: "forward active energy total", Unit: "kWh",
			Value: x, MeterTime: t, ReadAt: t.Add(65 * time.Minute), Status: meter.OK}
	}
	// the records of 10:15 and 10:30 are missing
	vals := v.Validate(nil, record(at(10, 0), "100.00"), record(at(10, 45), "101.00"))
	for _, x := range vals {
		fmt.Println(x.Time.Format("15:04"), x.Value, x.Quality, x.Version)
	}
	est, _, _ := vee.Estimate(c, vals, nil)
	for _, x := range est {
		fmt.Println(x.Time.Format("15:04"), x.Value, "Δ", x.Delta, x.Quality, x.Version)
	}
	// Output:
	// 10:00 100.00 valid 1
	// 10:15 0 failed 1
	// 10:30 0 failed 1
	// 10:45 101.00 valid 1
	// 10:15 100.33 Δ 0.33 estimated_interpolation 2
	// 10:30 100.66 Δ 0.33 estimated_interpolation 2
	// 10:45 101.00 Δ 0.34 valid 2
}
