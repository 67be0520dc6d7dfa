// Package cluster shares the channels and terminals out among head-end
// nodes through etcd.
package cluster
