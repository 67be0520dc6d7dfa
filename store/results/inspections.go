package results

// KindInspection is the record kind of work-list (稽查) entries: Body is an
// inspect.Entry, keyed by its ID.
const KindInspection = "inspection"
