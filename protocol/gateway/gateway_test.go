package gateway

import "testing"

func TestTopic(t *testing.T) {
	if got := Topic("", DownTopic, "C0103"); got != "headend/gw/C0103/down" {
		t.Fatal(got)
	}
	if got := Topic("site/{id}/rx/{id}", UpTopic, "G1"); got != "site/G1/rx/G1" {
		t.Fatal(got)
	}
}
