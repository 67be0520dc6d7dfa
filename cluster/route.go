package cluster

// OwnerOf returns the node that owns item now, as this node's view of
// etcd has it, and the API URL that node advertised (Options.Advertise;
// empty when it advertised none or is not a live member). ok is false
// when nobody owns the item.
func (n *Node) OwnerOf(item string) (node, advertise string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	o, ok := n.owners[item]
	if !ok {
		return "", "", false
	}
	if m, live := n.members[o.node]; live {
		advertise = m.Advertise
	}
	return o.node, advertise, true
}
