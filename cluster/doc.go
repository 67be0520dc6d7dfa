// Package cluster shares the channels and terminals out among head-end
// nodes through etcd.
//
// It stands at the collector's floor (it may import protocol, meter,
// archive and store, and imports none of them today); only daemon and cmd
// import it. It has no coordination of its own beyond what etcd gives:
// leases, transactions and watches.
//
// # Membership
//
// Join grants the node a lease (Options.TTL) and puts members/<node> under
// it; the node renews the lease every Options.Renew and watches the
// members, owners and dial-ins. A node that dies stops renewing, and etcd
// deletes every key under its lease a TTL later.
//
// # Assignment
//
// Every work item (ChannelItem, AreaItem) has one desired owner,
// computed alike on every node from the live members: weighted rendezvous
// hashing (Owner). It is balanced (each member gets its weight's share) and
// moves little: when a node joins, only the items it now wins move, about
// 1/N of them; when one leaves, only its own.
//
// # Ownership and handover
//
// The desired owner claims a free item by creating owner/<item> = its name
// under its lease, in a transaction that succeeds only if the key is
// absent: no item ever has two owner keys. A node holding an item that
// should now be another's (Releasable) keeps polling it until the caller
// reaches a safe point (between transactions, at the end of a poll cycle),
// stops, and calls Release, which deletes the key; the desired owner's
// watch sees the delete and claims it. A dead node's keys vanish with its
// lease, and the survivors claim its items: fail-over takes the TTL plus a
// watch event and a transaction. Owned (and Changes) is what the collector
// polls.
//
// # Fencing
//
// A node cut off from etcd must stop before etcd can give its items to
// another, that is before its lease expires on the server. The server
// cannot expire a lease sooner than TTL after it received the last
// renewal, which is after the node sent it; so the node keeps a local
// deadline, the time it sent its last successful renewal + the TTL granted
// − Options.Margin, and Owned is empty once the deadline passes, whatever
// etcd last said. Margin covers the transaction in flight when the fence
// falls (the poller finishes it and starts no other) and the drift of the
// node's clock against the server's over one TTL. A node whose lease the
// server lost starts a new session, and its items come back through the
// assignment. While etcd itself is down every node stops: etcd is the
// authority on who polls what, and a head-end without it polls nothing
// rather than polling twice.
//
// # Progress
//
// The owner writes progress/<item> (Progress: the slot, the transactions
// done in it) after each transaction, in a transaction conditioned on its
// owner key, so a node that lost the item cannot write it. A node taking
// an item over reads it first (Resume) and starts where the last owner
// stopped. What cannot be avoided: the transaction in flight when an owner
// is SIGKILLed — its request went out, its progress was never written — is
// repeated by the taker: one meter per item per kill may be read twice in
// a slot. (A read that reached the outbox is deduplicated downstream by
// its key.)
//
// A feed's owner (PublishItem: billing's change feed) keeps its position
// the same way in cursor/<item> (Cursor, SetCursor).
//
// # Dial-in terminals: take-over
//
// A 376.1 terminal dials in to whichever node the load balancer picks. The
// node holding its link takes it over through etcd rather than handing the
// link to the assigned owner: the link is the only way to talk to the
// terminal, it cannot be moved to another machine, and relaying every frame
// through a second node would add a hop, a second failure point and a
// connection between nodes to run. DialIn puts dialin/<item> = this node
// under its lease, which makes it the item's desired owner on every node;
// the old owner hands the item over at its next safe point (Releasable,
// Release), or its lease lapses if it is dead, and the receiving node
// claims it. DecideDialIn names the three cases (keep, claim, take over).
// The load balancer spreads the links, so the terminals stay balanced;
// HangUp returns the item to the assignment, and a dial-in dies with its
// node's lease.
//
// # Keys under Options.Prefix ("/headend/cluster/")
//
//	members/<node>   member record (JSON)      under the node's lease
//	owner/<item>     the owning node's name    under the owner's lease
//	dialin/<item>    the node holding the link under that node's lease
//	progress/<item>  Progress (JSON)           no lease: outlives its writer
//	cursor/<item>    a feed's seq (JSON)       no lease: outlives its writer
package cluster
