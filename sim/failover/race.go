//go:build race

package failover

const raceOn = true
