// Package demo runs the whole connector in one process, for a first look with nothing
// installed: a Kafka broker (kfake, in memory, or an external cluster), the Wolkvox
// simulator and the worker with one connector, [Connector], all on one fast virtual
// clock, with a live status table and, at the end, a few events of each report read
// back from Kafka.
//
// The types to know: [Config], what [Run] runs (a [*ConfigError] when it cannot), and
// [ParseReports], which reads the reports to run from specs such as "agent_2:agent_id=1001".
// [ErrBroker] and [ErrFailed] are the ways a valid demo fails.
package demo
