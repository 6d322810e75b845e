package simulator

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// paramsFor gives every report the parameters it needs.
func paramsFor(r *catalog.Report) []string {
	var kv []string
	for _, p := range r.Params {
		switch {
		case p.Name == "agent_id" && p.Required:
			kv = append(kv, p.Name, "1003")
		case p.Default != "":
			kv = append(kv, p.Name, p.Default)
		case p.Required:
			kv = append(kv, p.Name, "1")
		}
	}
	return kv
}

var dynamicKey = regexp.MustCompile(`^(q\d\d|opt\d+|service_level_\d+seg)$`)

// TestEveryReportMatchesCatalog calls all catalog reports and checks that their rows
// carry exactly the catalog's fields, in order, plus only the report's dynamic columns.
func TestEveryReportMatchesCatalog(t *testing.T) {
	reports := catalog.All()
	if len(reports) != 104 {
		t.Fatalf("catalog has %d reports, want 104", len(reports))
	}
	h := newHarness(t)
	from, to := t0.Add(-3*time.Hour), t0.Add(-time.Hour)
	for i := range reports {
		r := &reports[i]
		t.Run(r.API, func(t *testing.T) {
			resp := h.report(r.API, from, to, paramsFor(r)...)
			if resp.status != 200 {
				t.Fatalf("status %d: %.300s", resp.status, resp.body)
			}
			e := decodeEnvelope(t, resp.body)
			rows := orderedRows(t, e.Data, r.NestedField)
			if len(rows) == 0 {
				t.Fatal("no rows")
			}
			want := make([]string, len(r.Fields))
			for i, f := range r.Fields {
				want[i] = f.Name
			}
			for _, row := range rows {
				got := slices.DeleteFunc(keysOf(row), func(k string) bool {
					return len(r.DynamicPrefixes) > 0 && dynamicKey.MatchString(k) && !slices.Contains(want, k)
				})
				if !slices.Equal(got, want) {
					t.Fatalf("keys\n got %q\nwant %q", got, want)
				}
				for _, c := range row {
					if c.Null || c.Number {
						t.Fatalf("%s: lenient value with Lenient off: %+v", c.Key, c)
					}
				}
			}
			if len(r.DynamicPrefixes) > 0 && len(keysOf(rows[0])) == len(want) {
				t.Errorf("no dynamic columns for prefixes %q", r.DynamicPrefixes)
			}
		})
	}
}

// TestValueFormats checks the formats the README documents on a few reports.
func TestValueFormats(t *testing.T) {
	h := newHarness(t)
	connID := regexp.MustCompile(`^\d{5}\.\d{4}\.(\d{10})\.\d{5}$`)
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	duration := regexp.MustCompile(`^\d{1,2}:\d\d:\d\d$`)
	percent := regexp.MustCompile(`^\d{1,3}(,\d{3})*(\.\d\d)? %$`)
	from, to := t0.Add(-6*time.Hour), t0.Add(-time.Hour)

	resp := h.report("act_3", from, to, "cod_act", "x")
	rows := orderedRows(t, decodeEnvelope(t, resp.body).Data, "")
	for _, r := range rows {
		id, _ := r.Get("conn_id")
		m := connID.FindStringSubmatch(id)
		if m == nil {
			t.Fatalf("conn_id %q", id)
		}
		date, _ := r.Get("date")
		lt, err := time.ParseInLocation("2006-01-02 15:04:05", date, bogota)
		if err != nil || !stamp.MatchString(date) {
			t.Fatalf("date %q: %v", date, err)
		}
		if lt.Before(from) || lt.After(to) {
			t.Fatalf("date %s outside the window", date)
		}
		if epoch := fmt.Sprint(lt.Unix()); epoch != m[1] {
			t.Errorf("conn_id %s embeds epoch %s, its row is dated %s (%s)", id, m[1], date, epoch)
		}
		if d, _ := r.Get("time"); !duration.MatchString(d) && d != "-" && d != "--" {
			t.Errorf("time %q is not H:MM:SS", d)
		}
	}

	var sawWide, sawUnpadded, sawPlaceholder bool
	for _, api := range []string{"agent_1", "skill_1", "agent_16", "quality_1"} {
		resp := h.report(api, t0.AddDate(0, 0, -2), t0, "skill_id", "all")
		for _, r := range orderedRows(t, decodeEnvelope(t, resp.body).Data, "") {
			for _, c := range r {
				switch {
				case strings.HasSuffix(c.Value, " %"):
					if !percent.MatchString(c.Value) {
						t.Errorf("%s %s = %q", api, c.Key, c.Value)
					}
					sawWide = sawWide || strings.Contains(c.Value, ",")
				case duration.MatchString(c.Value):
					sawUnpadded = sawUnpadded || c.Value[1] == ':'
				}
			}
		}
	}
	resp = h.report("cdr_1", from, to)
	sawPlaceholder = bytes.Contains(resp.body, []byte(`":"-"`)) || bytes.Contains(resp.body, []byte(`":"--"`))
	if !sawWide || !sawUnpadded || !sawPlaceholder {
		t.Errorf(`saw "9,336.00 %%" %v, unpadded hours %v, placeholders %v`, sawWide, sawUnpadded, sawPlaceholder)
	}

	// Typo and whitespace keys come byte for byte.
	for api, key := range map[string]string{"chat_1": `"agent_anwers "`, "campaign_9": `"campaing_id"`, "chat_13": `"chanel"`, "wizard_3": `"explation"`, "agent_1": `"aht_outbund"`} {
		resp := h.report(api, from, to, "campaign_id", "all")
		if !bytes.Contains(resp.body, []byte(key)) {
			t.Errorf("%s lacks key %s", api, key)
		}
	}
}

// TestShapes checks cdr_4's object, the nested reports and skill_1's services_time.
func TestShapes(t *testing.T) {
	h := newHarness(t)
	from, to := t0.Add(-3*time.Hour), t0.Add(-time.Hour)
	e := decodeEnvelope(t, h.report("cdr_4", from, to).body)
	if e.Data[0] != '{' {
		t.Errorf("cdr_4 data is not an object: %.80s", e.Data)
	}
	for _, key := range cdr4Buckets {
		if !bytes.Contains(e.Data, []byte(`"`+key+`":{`)) {
			t.Errorf("cdr_4 lacks bucket %s", key)
		}
	}
	for api, field := range map[string]string{"agent_5": "status_x_hour", "agent_11": "agents", "chat_2": "conversation"} {
		e := decodeEnvelope(t, h.report(api, from, to).body)
		if !bytes.Contains(e.Data, []byte(`"`+field+`":[{`)) {
			t.Errorf("%s does not nest %s: %.120s", api, field, e.Data)
		}
	}
	for _, tc := range []struct{ services, column string }{{"", "service_level_0seg"}, {"20", "service_level_0seg"}, {"45", "service_level_45seg"}} {
		body := h.report("skill_1", from, to, "skill_id", "all", "services_time", tc.services).body
		if !bytes.Contains(body, []byte(`"service_level_30seg":`)) || !bytes.Contains(body, []byte(`"`+tc.column+`":`)) {
			t.Errorf("services_time=%q: no %s: %.200s", tc.services, tc.column, body)
		}
	}
}

// TestParamsFilter checks that skill_id, campaign_id and agent_id select rows.
func TestParamsFilter(t *testing.T) {
	h := newHarness(t)
	from, to := t0.Add(-3*time.Hour), t0.Add(-time.Hour)
	for _, tc := range []struct{ api, param, value, column string }{
		{"skill_10", "skill_id", "12", "skill_id"},
		{"agent_2", "agent_id", "1005", "agent_id"},
		{"campaign_9", "campaign_id", "501", "campaing_id"},
		{"skill_3", "skill_id", "11", "skill_name"},
	} {
		t.Run(tc.api, func(t *testing.T) {
			all := orderedRows(t, decodeEnvelope(t, h.report(tc.api, from, to, tc.param, "all", "agent_id", "1005").body).Data, "")
			some := orderedRows(t, decodeEnvelope(t, h.report(tc.api, from, to, tc.param, tc.value, "agent_id", "1005").body).Data, "")
			if len(some) == 0 || (tc.api != "agent_2" && len(some) >= len(all)) {
				t.Fatalf("%d rows filtered out of %d", len(some), len(all))
			}
			want := tc.value
			if tc.column == "skill_name" {
				want = skillName(t, h, tc.value) // skill_3 has the skill's name, not its id
			}
			for _, r := range some {
				if v, _ := r.Get(tc.column); v != want {
					t.Fatalf("%s = %q, want %q", tc.column, v, want)
				}
			}
		})
	}
}

// skillName looks a skill's name up in information.php?api=skills, the operation's
// dimension table.
func skillName(t *testing.T, h *harness, id string) string {
	t.Helper()
	r, err := h.call(context.Background(), InformationPath, DefaultToken, "api", "skills")
	if err != nil || r.status != 200 {
		t.Fatalf("skills: %d %v", r.status, err)
	}
	for _, row := range orderedRows(t, decodeEnvelope(t, r.body).Data, "") {
		if v, _ := row.Get("skill_id"); v == id {
			name, _ := row.Get("skill_name")
			return name
		}
	}
	t.Fatalf("no skill %s in information.php?api=skills", id)
	return ""
}

// TestDeterminism: the same window answers the same bytes while its data do not change,
// and a server with another seed answers different data.
func TestDeterminism(t *testing.T) {
	a := newHarness(t, Seed(7))
	b := newHarness(t, Seed(7))
	c := newHarness(t, Seed(8))
	from, to := t0.Add(-26*time.Hour), t0.Add(-25*time.Hour) // long settled
	for _, api := range []string{"diagram_13", "chat_2", "agent_8", "cdr_4", "agent_1"} {
		r1, r2, r3 := a.report(api, from, to).body, a.report(api, from, to).body, b.report(api, from, to).body
		if !bytes.Equal(r1, r2) || !bytes.Equal(r1, r3) {
			t.Errorf("%s: two reads of a settled window differ", api)
		}
		a.clock.Advance(time.Hour)
		if r4 := a.report(api, from, to).body; !bytes.Equal(r1, r4) {
			t.Errorf("%s: a settled window changed an hour later", api)
		}
		if bytes.Equal(r1, c.report(api, from, to).body) {
			t.Errorf("%s: seeds 7 and 8 gave the same body", api)
		}
	}
}

// TestLateRowsAndEdits: reading the same recent window as time passes returns rows that
// were not there before and rows whose content changed, under the same identity.
func TestLateRowsAndEdits(t *testing.T) {
	h := newHarness(t, LateRows(0.3, 10*time.Minute), Edits(0.3, 5*time.Minute))
	from, to := t0.Add(-10*time.Minute), t0
	read := func() map[string]Row {
		rows := orderedRows(t, decodeEnvelope(t, h.report("cdr_1", from, to).body).Data, "")
		out := map[string]Row{}
		for _, r := range rows {
			id, _ := r.Get("conn_id")
			out[id] = r
		}
		return out
	}
	// What Wolkvox edits after the fact: the typification, the hang-up side, the comment.
	editable := []string{"cod_act", "description_cod_act", "cod_act_2", "description_cod_act_2", "hang_up", "comment"}
	before := read()
	h.clock.Advance(time.Hour)
	after := read()
	var added, changed, typified int
	for id, row := range after {
		old, ok := before[id]
		switch {
		case !ok:
			added++
		case rowString(old) != rowString(row):
			changed++
			for i, c := range row {
				if c != old[i] && !slices.Contains(editable, c.Key) {
					t.Errorf("row %s: %s changed from %q to %q; only %q may", id, c.Key, old[i].Value, c.Value, editable)
				}
			}
			// An edited row is untypified until its first edit.
			if v, _ := old.Get("cod_act"); v == "" {
				if v, _ := row.Get("cod_act"); v != "" {
					typified++
				}
			}
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("row %s vanished", id)
		}
	}
	if added == 0 || changed == 0 || typified == 0 {
		t.Errorf("after an hour: %d rows added, %d changed, %d typified late (of %d)", added, changed, typified, len(after))
	}
}

// TestTruncation: a window holding more than 60,000 rows answers exactly 60,000, with
// nothing saying so; the earliest rows are kept.
func TestTruncation(t *testing.T) {
	minute := t0.Add(-2 * time.Hour).Truncate(time.Minute)
	for _, n := range []int{60_000, 60_001} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHarness(t, DefaultRowsPerMinute(0), Bursts(Burst{Report: "diagram_15", Minute: minute, Rows: n}))
			resp := h.report("diagram_15", minute, minute.Add(59*time.Second))
			e := decodeEnvelope(t, resp.body)
			rows := orderedRows(t, e.Data, "")
			truth := latest(h.truth(TruthQuery{Report: "diagram_15", From: minute, To: minute.Add(time.Minute), AsOf: h.clock.Now()}))
			if len(rows) != min(len(truth), 60_000) {
				t.Fatalf("%d rows served, %d in truth", len(rows), len(truth))
			}
			if len(truth) < min(n, 60_000) {
				t.Fatalf("truth holds %d of %d burst rows", len(truth), n)
			}
			if strings.Contains(e.Msg, "trunc") || bytes.Contains(resp.body, []byte("limit")) {
				t.Errorf("truncation is announced: %q", e.Msg)
			}
			if got, want := rowString(rows[len(rows)-1]), rowString(truth[len(rows)-1].Row); got != want {
				t.Errorf("last row served %s, truth %s", got, want)
			}
		})
	}
}

func TestTruthParamsQuery(t *testing.T) {
	h := newHarness(t)
	_, err := h.srv.Truth(TruthQuery{Report: "agent_2", From: t0.Add(-time.Hour), To: t0, AsOf: t0})
	if err == nil {
		t.Fatal("agent_2 without agent_id: no error")
	}
	rows := h.truth((TruthQuery{Report: "agent_2", Params: url.Values{"agent_id": {"1002"}}, From: t0.Add(-time.Hour), To: t0, AsOf: t0}))
	for _, r := range rows {
		if v, _ := r.Row.Get("agent_id"); v != "1002" {
			t.Fatalf("truth row of agent %s", v)
		}
	}
}

// TestFormatExceptions checks, over HTTP, the formats the API notes list as exceptions
// to "YYYY-MM-DD HH:MM:SS" and "H:MM:SS": agent_8's YYYYMMDD date and HH:00 hour,
// agent_6's HH:00 hour, skill_4's integer hour, agent_7's YYYY-MM-DD date, whole seconds
// in cdr_1 time_seg and chat_1 chat_duration, milliseconds in diagram_7 time; and that
// service levels are percentages of the whole 0-100 range, not survey scores.
func TestFormatExceptions(t *testing.T) {
	h := newHarness(t)
	from, to := t0.Add(-3*time.Hour), t0.Add(-time.Hour-time.Second) // 12:00:00..13:59:59
	hours := []string{"12", "13"}
	tests := []struct {
		api, key string
		format   *regexp.Regexp
		// values, when set, is the exact set of values the window must produce.
		values []string
	}{
		{"agent_8", "date", regexp.MustCompile(`^\d{8}$`), []string{"20260310"}},
		{"agent_8", "hour", regexp.MustCompile(`^\d\d:00$`), []string{"12:00", "13:00"}},
		{"agent_6", "hour", regexp.MustCompile(`^\d\d:00$`), []string{"12:00", "13:00"}},
		{"skill_4", "hour", regexp.MustCompile(`^\d{1,2}$`), hours},
		{"agent_7", "date", regexp.MustCompile(`^\d{4}-\d\d-\d\d$`), []string{"2026-03-10"}},
		{"cdr_1", "time_seg", regexp.MustCompile(`^(\d+|-|--)$`), nil},
		{"chat_1", "chat_duration", regexp.MustCompile(`^(\d+|-|--)$`), nil},
		{"diagram_7", "time", regexp.MustCompile(`^(\d+|-|--)$`), nil},
	}
	for _, tc := range tests {
		t.Run(tc.api+"/"+tc.key, func(t *testing.T) {
			rep, _ := catalog.Lookup(tc.api)
			resp := h.report(tc.api, from, to, paramsFor(rep)...)
			if resp.status != 200 {
				t.Fatalf("status %d: %.200s", resp.status, resp.body)
			}
			seen := map[string]bool{}
			var maxMillis int64
			for _, r := range orderedRows(t, decodeEnvelope(t, resp.body).Data, rep.NestedField) {
				v, _ := r.Get(tc.key)
				if !tc.format.MatchString(v) {
					t.Fatalf("%s = %q, want %s", tc.key, v, tc.format)
				}
				seen[v] = true
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					maxMillis = max(maxMillis, n)
				}
			}
			if tc.values != nil {
				got := slices.Sorted(maps.Keys(seen))
				if !slices.Equal(got, tc.values) {
					t.Errorf("%s values %q, want %q", tc.key, got, tc.values)
				}
			}
			// Milliseconds: a minute-long IVR step reads above 3,600, where seconds would not.
			if tc.api == "diagram_7" && maxMillis <= 3600 {
				t.Errorf("diagram_7 time tops out at %d: not milliseconds", maxMillis)
			}
		})
	}

	t.Run("service levels", func(t *testing.T) {
		var levels []float64
		for _, api := range []string{"skill_1", "skill_4"} {
			resp := h.report(api, from, to, "skill_id", "all", "services_time", "45")
			for _, r := range orderedRows(t, decodeEnvelope(t, resp.body).Data, "") {
				for _, c := range r {
					if !strings.HasPrefix(c.Key, "service_level_") || c.Key == "service_level_0seg" {
						continue
					}
					v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSuffix(c.Value, " %"), ",", ""), 64)
					if err != nil || !strings.HasSuffix(c.Value, " %") {
						t.Fatalf("%s %s = %q is not a percentage", api, c.Key, c.Value)
					}
					levels = append(levels, v)
				}
			}
		}
		if len(levels) == 0 {
			t.Fatal("no service levels")
		}
		if lo, hi := slices.Min(levels), slices.Max(levels); lo < 0 || hi > 100 || hi-lo < 10 {
			t.Errorf("service levels span %.2f..%.2f %%: want values spread within 0..100", lo, hi)
		}
	})
}

// TestLenient: with Lenient on, some whole numbers come as JSON numbers and some
// placeholders as null, the rest stays text, and the ground truth holds exactly what was
// sent (numbers and nulls included).
func TestLenient(t *testing.T) {
	h := newHarness(t, Lenient(0.5))
	from, to := t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	resp := h.report("cdr_1", from, to.Add(-time.Second))
	rows := orderedRows(t, decodeEnvelope(t, resp.body).Data, "")
	var numbers, nulls, text int
	served := map[string]bool{}
	for _, r := range rows {
		served[rowString(r)] = true
		for _, c := range r {
			switch {
			case c.Number:
				if _, err := strconv.ParseInt(c.Value, 10, 64); err != nil {
					t.Fatalf("%s: number %q is not whole", c.Key, c.Value)
				}
				numbers++
			case c.Null:
				nulls++
			default:
				text++
			}
		}
	}
	if numbers == 0 || nulls == 0 || text == 0 {
		t.Errorf("%d numbers, %d nulls, %d strings: want some of each", numbers, nulls, text)
	}
	truth := latest(h.truth(TruthQuery{Report: "cdr_1", From: from, To: to, AsOf: t0}))
	if len(truth) != len(rows) {
		t.Fatalf("%d rows served, %d in truth", len(rows), len(truth))
	}
	for _, tr := range truth {
		if !served[rowString(tr.Row)] {
			t.Fatalf("truth row not served as is: %s", rowString(tr.Row))
		}
	}
}

// TestKeysAndInclusiveWindow: diagram_13 sends several rows per interaction, told apart
// by conn_id + second_event + cod_opc_menu; a window includes both of its ends, so a
// one-second window at a row's time returns that row.
func TestKeysAndInclusiveWindow(t *testing.T) {
	h := newHarness(t)
	from, to := t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	rows := orderedRows(t, decodeEnvelope(t, h.report("diagram_13", from, to).body).Data, "")
	perConn := map[string]int{}
	keys := map[string]bool{}
	for _, r := range rows {
		conn, _ := r.Get("conn_id")
		second, _ := r.Get("second_event")
		opt, _ := r.Get("cod_opc_menu")
		k := conn + "|" + second + "|" + opt
		if keys[k] {
			t.Fatalf("key %s sent twice", k)
		}
		keys[k] = true
		perConn[conn]++
	}
	if shared := slices.Max(slices.Collect(maps.Values(perConn))); shared < 2 {
		t.Errorf("no interaction has more than one row (%d rows, %d conn_ids)", len(rows), len(perConn))
	}

	date, _ := rows[len(rows)/2].Get("date")
	at, err := time.ParseInLocation("2006-01-02 15:04:05", date, bogota)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rows {
		if d, _ := r.Get("date"); d == date {
			want = append(want, rowString(r))
		}
	}
	var got []string
	for _, r := range orderedRows(t, decodeEnvelope(t, h.report("diagram_13", at, at).body).Data, "") {
		got = append(got, rowString(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("window %s..%s answered\n%q\nwant\n%q", date, date, got, want)
	}
}
