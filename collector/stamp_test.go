package collector

import (
	"testing"

	"github.com/headend/headend/meter"
)

func TestStamps(t *testing.T) {
	daily := stampFreezes([]meter.Read{
		{DI: 0x05060001, Status: meter.OK, Quantity: "daily freeze -1 time", Text: "2025-06-02T00:00"},
		{DI: 0x05060101, Status: meter.OK, Quantity: "daily freeze -1 forward active energy total"},
	}, cst)
	if daily[1].Quantity != "forward active energy total" || daily[1].MeterTime.Format("2006-01-02 15:04") != "2025-06-02 00:00" {
		t.Fatalf("daily %+v", daily[1])
	}
	prof := stampProfile([]meter.Read{
		{DI: 0x06000001, Quantity: "record time", Text: "2025-06-02T09:15"},
		{DI: 0x06000001, Quantity: "phase A voltage"},
		{DI: 0x06000001, Quantity: "record time", Text: "2025-06-02T09:30"},
		{DI: 0x06000001, Quantity: "phase A voltage"},
	}, cst)
	if prof[1].MeterTime.Minute() != 15 || prof[3].MeterTime.Minute() != 30 {
		t.Fatalf("profile %v %v", prof[1].MeterTime, prof[3].MeterTime)
	}
}
