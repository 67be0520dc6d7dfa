package cluster

// AreaItem is the work item of a transformer area's analysis, by its id:
// each area is analysed, in a run, by its owner alone.
func AreaItem(id string) string { return "area:" + id }

// PublishItem is the work item of billing's publisher: one node at a time
// sends the change feed.
const PublishItem = "publish"
