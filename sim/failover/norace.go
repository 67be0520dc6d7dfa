//go:build !race

package failover

const raceOn = false
