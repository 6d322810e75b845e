package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// The group protocol: members join with ProtocolType and one protocol, ProtocolName,
// whose metadata is a [memberMeta] and whose assignments are [assignment]s, both JSON.
// Kafka's coordinator only compares the names: a group whose members speak another
// protocol (Kafka consumers, Connect workers) refuses ours with
// INCONSISTENT_GROUP_PROTOCOL.
const (
	ProtocolType = "wolkvox-connect"
	ProtocolName = "token-sticky-v1"
	wireVersion  = 1
)

// memberMeta is what a member tells the group when it joins.
type memberMeta struct {
	Version  int    `json:"v"`
	WorkerID string `json:"worker_id"`
	URL      string `json:"url,omitempty"` // where its REST API answers
	// Config fingerprints everything the workers of a group must agree on; Sections the
	// same per part, so that a mismatch can be named.
	Config   string            `json:"config"`
	Sections map[string]string `json:"sections"`
	// Owned are the units it runs now: the assignor keeps them there (sticky) and gives
	// none of them to another member before it stopped them (cooperative).
	Owned []string `json:"owned"`
}

// assignment is what the leader gives each member for one generation.
type assignment struct {
	Version int      `json:"v"`
	Units   []string `json:"units"` // unit IDs to run in this generation
	// Refused says why the member gets nothing: its configuration differs from the
	// group's.
	Refused string `json:"refused,omitempty"`
	// Members is the whole group as the leader planned it, for status and for finding
	// a connector's owner.
	Members []MemberView `json:"members"`
}

// MemberView is one member of the group as the last assignment has it.
type MemberView struct {
	MemberID string `json:"member_id"`
	WorkerID string `json:"worker_id"`
	URL      string `json:"url,omitempty"`
	// Connectors are those it runs in this generation; Pending, those it is to run once
	// their previous owner has stopped them.
	Connectors []string `json:"connectors"`
	Pending    []string `json:"pending,omitempty"`
	Refused    string   `json:"refused,omitempty"`
}

// fingerprints hashes what the workers of one group must agree on: per connector
// everything that decides what it reads and writes (its token by hash only), and the
// worker's topics and transactional ID prefix. Brokers, REST, logging and limits may
// differ between workers. It returns the whole and the sections.
func fingerprints(configs []source.Config, dest source.Destination) (string, map[string]string) {
	sections := map[string]string{
		"topics": hash(dest.TopicTemplate, dest.OffsetsTopic, dest.DeadLetterTopic, dest.TransactionalIDPrefix),
	}
	for _, c := range configs {
		parts := []string{c.Name, c.Server, offsets.TokenHash(c.Token.Reveal()), locName(c.Location),
			fmt.Sprint(c.DailyQuota, c.QuotaResetHour, c.MaxInFlight), c.BaseURL}
		for _, r := range c.Reports {
			parts = append(parts, r.Key(), fmt.Sprint(r.Interval, r.Lookback, r.Settle, r.Bucket),
				r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
		}
		sections["connector "+c.Name] = hash(parts...)
	}
	var all []string
	for _, k := range slices.Sorted(maps.Keys(sections)) {
		all = append(all, k, sections[k])
	}
	return hash(all...), sections
}

func locName(l *time.Location) string {
	if l == nil {
		return "UTC"
	}
	return l.String()
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// differences names the sections in which mine differ from the group's.
func differences(group, mine map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(group)) {
		v, ok := mine[k]
		switch {
		case !ok:
			out = append(out, k+" is missing here")
		case v != group[k]:
			out = append(out, k+" differs")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(mine)) {
		if _, ok := group[k]; !ok {
			out = append(out, k+" is only here")
		}
	}
	return strings.Join(out, "; ")
}

// unitsOf groups configs by token, in configuration order: the connectors of one token
// run on one worker.
func unitsOf(configs []source.Config) []Unit {
	var out []Unit
	for _, group := range source.TokenGroups(configs) {
		first := configs[group[0]]
		id := "connector " + first.Name
		if first.Token.IsSet() {
			id = "token " + offsets.TokenHash(first.Token.Reveal())
		}
		u := Unit{ID: id}
		for _, i := range group {
			u.Connectors = append(u.Connectors, configs[i].Name)
		}
		out = append(out, u)
	}
	return out
}

// leaderPlan is the leader's work for one generation: the group's configuration is that
// of most members (the leader's on a tie); members with another get nothing and are
// told what differs; the others share the units (see assign).
func leaderPlan(us []Unit, leader string, metas map[string]memberMeta) map[string]assignment {
	votes := map[string]int{}
	for _, m := range metas {
		votes[m.Config]++
	}
	groupConfig := metas[leader].Config
	for _, fp := range slices.Sorted(maps.Keys(votes)) {
		if votes[fp] > votes[groupConfig] {
			groupConfig = fp
		}
	}
	var groupSections map[string]string
	var agreeing []string
	owned := map[string][]string{}
	for _, id := range slices.Sorted(maps.Keys(metas)) {
		m := metas[id]
		if m.Config == groupConfig {
			agreeing = append(agreeing, id)
			owned[id] = m.Owned
			groupSections = m.Sections
		}
	}
	p := assign(us, agreeing, owned)
	connectorsOf := map[string][]string{}
	for _, u := range us {
		connectorsOf[u.ID] = u.Connectors
	}
	expand := func(ids []string) []string {
		out := []string{}
		for _, id := range ids {
			out = append(out, connectorsOf[id]...)
		}
		slices.Sort(out)
		return out
	}
	out := map[string]assignment{}
	var views []MemberView
	for _, id := range slices.Sorted(maps.Keys(metas)) {
		m := metas[id]
		v := MemberView{MemberID: id, WorkerID: m.WorkerID, URL: m.URL, Connectors: []string{}}
		a := assignment{Version: wireVersion, Units: []string{}}
		if m.Config != groupConfig {
			a.Refused = "this worker's configuration differs from the group's: " + differences(groupSections, m.Sections) +
				"; give every worker of the group the same file"
			v.Refused = a.Refused
		} else {
			a.Units = p.now[id]
			v.Connectors = expand(p.now[id])
			var pending []string
			for u, owner := range p.target {
				if owner == id && !slices.Contains(p.now[id], u) {
					pending = append(pending, u)
				}
			}
			if len(pending) > 0 {
				v.Pending = expand(pending)
			}
		}
		out[id] = a
		views = append(views, v)
	}
	for id, a := range out {
		a.Members = views
		out[id] = a
	}
	return out
}

func encodeMeta(m memberMeta) []byte {
	m.Version = wireVersion
	b, _ := json.Marshal(m) // strings, maps of strings and slices: cannot fail
	return b
}

func decodeMeta(b []byte) (memberMeta, error) {
	var m memberMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("cluster: member metadata: %w", err)
	}
	if m.Version != wireVersion {
		return m, fmt.Errorf("cluster: member metadata version %d, this worker speaks %d: run one release in a group", m.Version, wireVersion)
	}
	return m, nil
}

func encodeAssignment(a assignment) []byte {
	b, _ := json.Marshal(a)
	return b
}

func decodeAssignment(b []byte) (assignment, error) {
	var a assignment
	if len(b) == 0 {
		return a, fmt.Errorf("cluster: empty assignment")
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("cluster: assignment: %w", err)
	}
	if a.Version != wireVersion {
		return a, fmt.Errorf("cluster: assignment version %d, this worker speaks %d: run one release in a group", a.Version, wireVersion)
	}
	return a, nil
}
