package cluster

import (
	"hash/fnv"
	"math"
	"sort"
)

// Member is a node as the assignment sees it: its name and its weight, the
// share of the work it takes relative to the others (0 counts as 1).
type Member struct {
	Name   string
	Weight float64
}

// Owner returns the member that owns item by weighted rendezvous
// (highest-random-weight) hashing: each member scores the item with a hash
// of both names, and the highest score wins. It is deterministic (every
// node computes the same owner from the same members), balanced (each
// member gets its weight's share), and when a member joins only the items
// it now wins move to it; when one leaves only its own items move. Owner
// returns "" when there are no members.
func Owner(members []Member, item string) string {
	best, bestScore := "", math.Inf(-1)
	for _, m := range members {
		s := score(m, item)
		if s > bestScore || (s == bestScore && m.Name < best) {
			best, bestScore = m.Name, s
		}
	}
	return best
}

// Assign returns the owner (see Owner) of every item.
func Assign(members []Member, items []string) map[string]string {
	out := make(map[string]string, len(items))
	for _, it := range items {
		out[it] = Owner(members, it)
	}
	return out
}

// Shares counts the items each member owns in an assignment, with every
// member present (0 for one that owns nothing).
func Shares(members []Member, assignment map[string]string) map[string]int {
	out := make(map[string]int, len(members))
	for _, m := range members {
		out[m.Name] = 0
	}
	for _, o := range assignment {
		out[o]++
	}
	return out
}

// Names returns the members' names, sorted.
func Names(members []Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.Name
	}
	sort.Strings(out)
	return out
}

// score is the weighted rendezvous score -w/ln(u), u being the pair's hash
// mapped to (0,1): the logarithmic method, under which a member's chance to
// win is its weight's share of the total.
func score(m Member, item string) float64 {
	w := m.Weight
	if w <= 0 {
		w = 1
	}
	u := (float64(hash(m.Name, item)>>11) + 0.5) / (1 << 53)
	return -w / math.Log(u)
}

// hash is FNV-1a of name NUL item, finished with murmur3's 64-bit mixer so
// that names differing in one character land far apart.
func hash(name, item string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(item))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
