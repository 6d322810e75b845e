package simulator

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// role is what a column means to the generator. Roles are derived from the catalog (type,
// name, key fields, time field), never from a per-report table, except where a quirk
// says so (nestedParents, cdr4Buckets, dynamic column anchors).
type role int

const (
	rolePlain       role = iota // a value of its type, free of the others
	roleTime                    // the detail row's TimeField: the event's time
	roleLabel                   // a bucketed row's date/day/hour label
	roleInteraction             // an id of the interaction (conn_id…): unique per interaction
	roleEntity                  // one attribute (id, name, dni) of an agent, skill, campaign…
	rolePosition                // a key field that tells apart rows of one interaction
	roleDynamic                 // q01…, opt1…, service_level_Nseg
)

type column struct {
	name     string
	typ      catalog.FieldType
	role     role
	key      bool
	nested   bool   // belongs to the nested element of a ShapeNested report
	editable bool   // changes between versions of an edited detail row
	kind     string // entity kind: agent, skill, campaign, customer, rp, typ, bucket
	family   string // entity family: one entity per family per row (origin_agent ≠ destiny_agent)
	attr     string // entity attribute: id, name, dni, last_name, email, phone, desc
	fh       uint64
	layout   string
	// partition marks an aggregate column whose values split rows into groups; the other
	// non-measure columns of an aggregate depend on the group.
	partition bool
}

// entityCard is how many distinct entities of each kind an operation has.
var entityCard = map[string]int{
	"agent": 12, "skill": 4, "campaign": 3, "customer": 5000, "rp": 3, "typ": 6, "bucket": 5, "generic": 4,
}

// nestedParents is how many of a nested report's leading fields belong to the parent
// object, keyed by NestedField (the catalog lists parent fields first but does not say
// where they stop); the Postman bodies give these.
var nestedParents = map[string]int{"status_x_hour": 2, "agents": 1, "conversation": 3}

// cdr4Buckets are the member names of cdr_4's data object, in the API's order.
var cdr4Buckets = []string{"0_5_seg", "6_20_seg", "21_60_seg", "61_120_seg", "greater_than_121"}

var dynamicRE = regexp.MustCompile(`^(q\d+|opt\d+|service_level_\d+seg)$`)

// model is a report compiled for generation.
type model struct {
	rep       *catalog.Report
	rh        uint64
	seed      uint64
	cols      []column // catalog fields; dynamic columns are added per query
	rate      float64
	groupable bool // detail rows may share an interaction (several rows per conn_id)
	editable  bool
	keyIdx    []int // indexes of key columns in cols
	nq        int   // number of q columns (diagram_4/5/6)
	bucket    time.Duration
	nParent   int // ShapeNested: leading columns that belong to the parent
	// partitions lists, per partitioning family, its cardinality (aggregates).
	partFamilies []string
	partCards    []int
	groups       int
}

func compile(rep *catalog.Report, seed int64, rate float64) *model {
	m := &model{rep: rep, rh: strHash(rep.API), seed: uint64(seed), rate: rate}
	m.nq = int(between(hash(m.seed, m.rh, 0x71), 3, 10))
	if rep.Shape == catalog.ShapeNested {
		m.nParent = 1
		if n, ok := nestedParents[rep.NestedField]; ok {
			m.nParent = n
		}
	}
	if rep.Kind == catalog.Bucketed {
		m.bucket = parseBucket(rep.Bucket)
	}
	hasInteractionKey, hasOtherKey := false, false
	for i, f := range rep.Fields {
		c := column{name: f.Name, typ: f.Type, fh: strHash(f.Name), key: slices.Contains(rep.KeyFields, f.Name)}
		c.nested = rep.Shape == catalog.ShapeNested && i >= m.nParent
		classify(&c, rep)
		if c.typ == catalog.String && (c.role == rolePlain || c.role == roleDynamic) && !c.key {
			c.typ = hintType(f.Name)
		}
		c.layout = layoutFor(c.typ, "")
		if c.role == roleTime {
			c.layout = layoutFor(f.Type, rep.TimeLayout)
		}
		if c.key {
			m.keyIdx = append(m.keyIdx, i)
			switch c.role {
			case roleInteraction:
				hasInteractionKey = true
			case rolePlain:
				// Nested rows are told apart by their own time and content, not by a
				// position in the interaction.
				if rep.Kind == catalog.Detail && !c.nested {
					c.role = rolePosition
					hasOtherKey = true
				}
			}
		}
		c.editable = rep.Kind == catalog.Detail && !c.key && c.role != roleTime && editableName(f.Name)
		if c.editable {
			m.editable = true
		}
		m.cols = append(m.cols, c)
	}
	// Edits need an identity to be edits rather than a new row and a vanished one.
	m.editable = m.editable && len(rep.KeyFields) > 0
	m.groupable = rep.Kind == catalog.Detail && (rep.Shape == catalog.ShapeNested || (hasInteractionKey && hasOtherKey))
	if rep.Kind != catalog.Detail {
		m.planPartitions()
	}
	return m
}

func layoutFor(t catalog.FieldType, custom string) string {
	if custom != "" {
		return custom
	}
	if t == catalog.Date {
		return "2006-01-02"
	}
	return "2006-01-02 15:04:05"
}

func parseBucket(s string) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return time.Hour
}

// classify sets a column's role and entity attributes from its name and type.
func classify(c *column, rep *catalog.Report) {
	n := strings.ToLower(strings.TrimSpace(c.name))
	switch {
	case rep.Kind == catalog.Detail && c.name == rep.TimeField:
		c.role = roleTime
		return
	case rep.Kind == catalog.Bucketed && (n == "date" || n == "day" || n == "hour"):
		c.role = roleLabel
		return
	case rep.Shape == catalog.ShapeObject && c.name == catalog.BucketKeyField:
		c.role, c.kind, c.family, c.attr = roleEntity, "bucket", "bucket", "name"
		return
	case strings.Contains(n, "conn_id") || n == "connect_id" || strings.HasPrefix(n, "id_call") ||
		n == "session_id" || n == "case_id" || n == "chat_id" || n == "conversational_id" || n == "id_text":
		c.role = roleInteraction
		return
	case dynamicRE.MatchString(n):
		c.role = roleDynamic
		return
	}
	attr := ""
	switch {
	case strings.HasSuffix(n, "_dni"):
		attr = "dni"
	case strings.HasSuffix(n, "_last_name"):
		attr = "last_name"
	case strings.HasSuffix(n, "_id") || strings.HasPrefix(n, "id_"):
		attr = "id"
	case strings.HasSuffix(n, "_name") || strings.HasPrefix(n, "name_"):
		attr = "name"
	case strings.HasSuffix(n, "_email"):
		attr = "email"
	case strings.HasSuffix(n, "_phone"):
		attr = "phone"
	}
	family := strings.NewReplacer("id_", "", "name_", "").Replace(n)
	for _, suf := range []string{"_dni", "_last_name", "_id", "_name", "_email", "_phone"} {
		family = strings.TrimSuffix(family, suf)
	}
	switch {
	case attr != "" && strings.Contains(n, "agent"):
		c.kind = "agent"
	case attr != "" && strings.Contains(n, "skill"):
		c.kind = "skill"
	case attr == "id" && (strings.Contains(n, "campaign") || strings.Contains(n, "campaing")):
		c.kind, family = "campaign", "campaign"
	case attr != "" && strings.HasPrefix(n, "customer"):
		c.kind = "customer"
	case n == "rp_id" || n == "rp_name":
		c.kind = "rp"
	case strings.Contains(n, "cod_act") || n == "last_code_act":
		c.kind, attr = "typ", "id"
		if strings.HasPrefix(n, "description_") {
			attr = "desc"
		}
		family = strings.TrimPrefix(n, "description_")
	}
	if c.kind != "" {
		c.role, c.family, c.attr = roleEntity, family, attr
	}
}

// editableName says which fields Wolkvox changes after a row first appears: typification
// (set by the agent after the call), results and statuses, comments, sentiment.
func editableName(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if strings.Contains(n, "cod_act") {
		return true
	}
	switch n {
	case "result", "status", "comments", "comment", "hang_up", "skill_result", "call_result",
		"feeling", "evaluation_survey", "last_update", "last_code_act":
		return true
	}
	return false
}

// isMeasure says whether an aggregate column is computed from its events.
func isMeasure(c *column) bool {
	switch c.typ {
	case catalog.Count, catalog.Number, catalog.Percent, catalog.Duration, catalog.Seconds, catalog.Millis:
		return c.role == rolePlain || c.role == roleDynamic
	}
	return false
}

// planPartitions picks the aggregate's grouping: the families of its key fields (an
// entity such as the agent, with all its attributes, or a plain column such as chat_3's
// channel). Other text columns are functions of the group.
func (m *model) planPartitions() {
	keyFamilies := map[string]bool{}
	for i := range m.cols {
		c := &m.cols[i]
		if !c.key || c.role == roleLabel {
			continue
		}
		if c.role != roleEntity {
			c.role, c.kind, c.family, c.attr = roleEntity, "generic", c.name, "name"
		}
		keyFamilies[c.family] = true
	}
	seen := map[string]bool{}
	m.groups = 1
	for i := range m.cols {
		c := &m.cols[i]
		if c.role != roleEntity || !keyFamilies[c.family] {
			continue
		}
		c.partition = true
		if !seen[c.family] {
			seen[c.family] = true
			// Customers are too many to group by; an aggregate keyed by customer keeps a few.
			card := min(entityCard[c.kind], 12)
			m.partFamilies = append(m.partFamilies, c.family)
			m.partCards = append(m.partCards, card)
			m.groups *= card
		}
	}
}

// groupEntity returns the entity index of family for aggregate group g (mixed radix).
func (m *model) groupEntity(g int, family string) int {
	for i, f := range m.partFamilies {
		if f == family {
			return g % m.partCards[i]
		}
		g /= m.partCards[i]
	}
	return 0
}

// columns returns the report's columns for one query: the catalog's, plus the dynamic
// columns the report has (q01..qNN, opt1..opt12, service_level_Nseg when services_time is
// given), inserted where the Postman bodies put them. Dynamic columns already listed in
// the catalog are kept as listed.
func (m *model) columns(params url.Values) []column {
	cols := slices.Clone(m.cols)
	has := func(prefix string) bool {
		return slices.ContainsFunc(cols, func(c column) bool { return c.role == roleDynamic && strings.HasPrefix(c.name, prefix) })
	}
	insert := func(names []string, before ...string) {
		at := len(cols)
		for _, b := range before {
			if i := slices.IndexFunc(cols, func(c column) bool { return c.name == b }); i >= 0 {
				at = i
				break
			}
		}
		add := make([]column, 0, len(names))
		for _, n := range names {
			t := catalog.String
			if m.rep.Kind != catalog.Detail {
				t = catalog.Number
			}
			if strings.HasPrefix(n, "service_level_") {
				t = catalog.Percent
			}
			add = append(add, column{name: n, typ: t, role: roleDynamic, fh: strHash(n), nested: m.rep.Shape == catalog.ShapeNested && at >= m.nParent})
		}
		cols = slices.Insert(cols, at, add...)
	}
	for _, p := range m.rep.DynamicPrefixes {
		switch {
		case strings.HasPrefix(p, "q") && !has("q"):
			names := make([]string, m.nq)
			for i := range names {
				names[i] = fmt.Sprintf("q%02d", i+1)
			}
			insert(names, "voice_message_duration", "average")
		case strings.HasPrefix(p, "opt") && !has("opt"):
			names := make([]string, 12)
			for i := range names {
				names[i] = "opt" + strconv.Itoa(i+1)
			}
			insert(names, "conn_id")
		case strings.HasPrefix(p, "service_level"):
			// The catalog's quirk: without services_time, or with one of the fixed 10, 20
			// and 30, the API still sends a service_level_0seg column.
			n, err := strconv.Atoi(params.Get("services_time"))
			if err != nil || n <= 0 || n == 10 || n == 20 || n == 30 {
				n = 0
			}
			name := fmt.Sprintf("service_level_%dseg", n)
			if slices.ContainsFunc(cols, func(c column) bool { return c.name == name }) {
				continue
			}
			last := -1
			for i, c := range cols {
				if strings.HasPrefix(c.name, "service_level_") {
					last = i
				}
			}
			if last >= 0 && last+1 < len(cols) {
				insert([]string{name}, cols[last+1].name)
			} else {
				insert([]string{name})
			}
		}
	}
	return cols
}

// hintType refines a column the catalog types as plain text when its name says what it
// holds (agent reports send counts and durations as text typed "string"), so values look
// like the live ones. The connector keeps such values as text either way.
func hintType(name string) catalog.FieldType {
	n := strings.ToLower(strings.TrimSpace(name))
	has := func(subs ...string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(n, s) })
	}
	switch {
	case n == "login" || n == "logout" || strings.HasPrefix(n, "date_") || strings.HasSuffix(n, "_date") || n == "last_update":
		return catalog.Timestamp
	case has("percent", "occupancy", "service_level", "precision", "accuracy", "silence", "slow_to_greet") || n == "abandon":
		return catalog.Percent
	case strings.HasSuffix(n, "_time") || strings.HasPrefix(n, "time_") || strings.HasPrefix(n, "aht") ||
		n == "asa" || n == "ata" || n == "att" || n == "acw" || n == "tmo" || n == "time" || n == "hold_time" || n == "mute_time":
		return catalog.Duration
	case has("cost", "minutes", "average", "credits", "amount"):
		return catalog.Number
	case has("calls", "chars", "count", "records", "interaction", "total", "surveys", "evaluations", "attempts", "seg") ||
		has("needed", "times_", "_chatbot", "_agents", "busy", "congestion", "failed", "no_answer", "answer_machine") ||
		n == "inbound" || n == "outbound" || n == "internal" || n == "hits" || n == "rpc" || n == "yes" || n == "no" || n == "cantidad" || n == "units":
		if n == "type_interaction" || n == "interaction_type" {
			return catalog.String
		}
		return catalog.Count
	}
	return catalog.String
}

// quirk reports whether one of the report's documented quirks mentions s: a few formats
// (agent_8's YYYYMMDD date, skill_4's integer hour) are recorded only there.
func (m *model) quirk(s string) bool {
	return slices.ContainsFunc(m.rep.Quirks, func(q string) bool { return strings.Contains(q, s) })
}
