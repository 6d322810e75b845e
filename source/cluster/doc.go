// Package cluster runs a worker's connectors as one member of a group of workers that
// share them through Kafka's group coordinator, the way Kafka Connect's distributed
// workers do: no consensus of our own.
//
// A [Member] joins the group with the classic group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) under a protocol type of its own; the coordinator keeps the
// membership and the generations, and elects the leader, whose assignor spreads the
// connectors. The unit of assignment is a [Unit]: the connectors that share a Wolkvox
// token, which must run on one worker.
//
// Why the classic protocol and not KIP-848's: KIP-848 assigns topic partitions, on the
// broker, with the broker's assignors; our units are tokens, not partitions, and the
// assignment must keep a token's connectors together, balance by connectors, and know
// what each member still runs so that nothing runs twice in a generation. The classic
// protocol lets the leader compute any assignment from the members' metadata, which is
// what Kafka Connect's own workers use it for. Stickiness and the cooperative handover
// (a unit moves only in a generation after its old owner stopped it) are in assign;
// the join, sync and heartbeat loop is [Member.Run].
package cluster
