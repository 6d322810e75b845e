// Package cluster runs a worker's connectors as one member of a group of workers that
// share them through Kafka's group coordinator, the way Kafka Connect's distributed
// workers do: no consensus of our own.
//
// A [Member] joins the group with the classic group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) under a protocol type of its own; the coordinator keeps the
// membership and the generations, and elects the leader, whose assignor spreads the
// connectors. The unit of assignment is a [Unit]: the connectors that share a Wolkvox
// token, which must run on one worker.
package cluster
