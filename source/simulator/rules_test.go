package simulator

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRules checks every documented answer with real HTTP calls.
func TestRules(t *testing.T) {
	h := newHarness(t, Token(DefaultToken, DefaultServer), Token("other", "0099"), Reports("chat_1", "agent_2", "skill_5", "diagram_13", "act_3"))
	from := t0.Add(-2 * time.Hour).Format(dateLayout)
	to := t0.Add(-time.Hour).Format(dateLayout)
	quiet := time.Date(2026, 3, 10, 3, 0, 0, 0, bogota) // 03:00: a one-second window there is empty
	tests := []struct {
		name    string
		path    string
		token   string
		headers map[string]string
		kv      []string
		status  int
		errText string
		msg     string
	}{
		{"ok", ReportsPath, DefaultToken, nil, []string{"api", "chat_1", "date_ini", from, "date_end", to}, 200, "", ""},
		{"no token", ReportsPath, "", nil, []string{"api", "chat_1", "date_ini", from, "date_end", to}, 401, "UNAUTHORIZED", MsgNoToken},
		{"wrong token", ReportsPath, "nope", nil, []string{"api", "chat_1", "date_ini", from, "date_end", to}, 403, "FORBIDDEN", MsgBadToken},
		{"token of another server", ReportsPath, "other", map[string]string{"wolkvox_server": DefaultServer}, []string{"api", "chat_1", "date_ini", from, "date_end", to}, 403, "FORBIDDEN", MsgBadToken},
		{"unknown api", ReportsPath, DefaultToken, nil, []string{"api", "chat_99", "date_ini", from, "date_end", to}, 400, "BAD REQUEST", MsgNoAPI},
		{"missing api", ReportsPath, DefaultToken, nil, []string{"date_ini", from, "date_end", to}, 400, "BAD REQUEST", MsgNoAPI},
		{"report not on this server", ReportsPath, DefaultToken, nil, []string{"api", "chat_3", "date_ini", from, "date_end", to}, 404, "NOT FOUND", MsgDates},
		{"missing date_end", ReportsPath, DefaultToken, nil, []string{"api", "chat_1", "date_ini", from}, 400, "BAD REQUEST", MsgParams},
		{"missing required agent_id", ReportsPath, DefaultToken, nil, []string{"api", "agent_2", "date_ini", from, "date_end", to}, 400, "BAD REQUEST", MsgParams},
		{"missing required cod_act", ReportsPath, DefaultToken, nil, []string{"api", "act_3", "date_ini", from, "date_end", to}, 400, "BAD REQUEST", MsgParams},
		{"cod_act accepted", ReportsPath, DefaultToken, nil, []string{"api", "act_3", "cod_act", "cod_act1", "date_ini", from, "date_end", to}, 200, "", ""},
		{"malformed date", ReportsPath, DefaultToken, nil, []string{"api", "chat_1", "date_ini", "2026-03-10", "date_end", to}, 404, "NOT FOUND", MsgDates},
		{"impossible date", ReportsPath, DefaultToken, nil, []string{"api", "chat_1", "date_ini", "20260231000000", "date_end", to}, 404, "NOT FOUND", MsgDates},
		{"end before ini", ReportsPath, DefaultToken, nil, []string{"api", "chat_1", "date_ini", to, "date_end", from}, 404, "NOT FOUND", MsgDates},
		{"31 days is fine", ReportsPath, DefaultToken, nil, []string{"api", "diagram_13", "date_ini", t0.AddDate(0, 0, -31).Format(dateLayout), "date_end", t0.Format(dateLayout)}, 200, "", ""},
		{"31 days and a second is too long", ReportsPath, DefaultToken, nil, []string{"api", "diagram_13", "date_ini", t0.AddDate(0, 0, -31).Add(-time.Second).Format(dateLayout), "date_end", t0.Format(dateLayout)}, 404, "NOT FOUND", MsgDates},
		{"skill_5 takes 24 h", ReportsPath, DefaultToken, nil, []string{"api", "skill_5", "skill_id", "all", "date_ini", t0.Add(-24 * time.Hour).Format(dateLayout), "date_end", t0.Format(dateLayout)}, 200, "", ""},
		{"skill_5 refuses more", ReportsPath, DefaultToken, nil, []string{"api", "skill_5", "skill_id", "all", "date_ini", t0.Add(-24*time.Hour - time.Second).Format(dateLayout), "date_end", t0.Format(dateLayout)}, 404, "NOT FOUND", MsgDates},
		{"empty window", ReportsPath, DefaultToken, nil, []string{"api", "diagram_13", "date_ini", quiet.Format(dateLayout), "date_end", quiet.Format(dateLayout)}, 404, "NOT FOUND", MsgDates},
		{"future window", ReportsPath, DefaultToken, nil, []string{"api", "chat_1", "date_ini", t0.Add(time.Hour).Format(dateLayout), "date_end", t0.Add(2 * time.Hour).Format(dateLayout)}, 404, "NOT FOUND", MsgDates},
		{"token info", InformationPath, DefaultToken, nil, []string{"api", "token_info"}, 200, "", ""},
		{"unknown information api", InformationPath, DefaultToken, nil, []string{"api", "nothing"}, 400, "BAD REQUEST", MsgNoAPI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, h.url+tc.path+"?"+queryOf(tc.kv...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("wolkvox-token", tc.token)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			e := decodeEnvelope(t, body)
			if code := codeOf(e.Code); code != tc.status {
				t.Errorf("code %v does not equal the status %d", e.Code, tc.status)
			}
			if tc.status == 200 {
				if e.Error != nil || len(e.Data) == 0 {
					t.Errorf("success body: error %v, data %q", e.Error, e.Data)
				}
				return
			}
			if e.Error != tc.errText || e.Msg != tc.msg {
				t.Errorf("error %v msg %q, want %q %q", e.Error, e.Msg, tc.errText, tc.msg)
			}
		})
	}
}

// TestCodeAndMsgVariants checks that code comes as a string and as a number, and that
// msg varies, over many windows.
func TestCodeAndMsgVariants(t *testing.T) {
	h := newHarness(t)
	var asString, asNumber, wereAre, leading int
	for i := range 40 {
		from := t0.Add(-time.Duration(i+2) * time.Hour)
		r := h.report("chat_1", from, from.Add(30*time.Minute))
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		e := decodeEnvelope(t, r.body)
		switch e.Code.(type) {
		case string:
			asString++
		case float64:
			asNumber++
		}
		if len(e.Msg) > 0 && e.Msg[0] == ' ' {
			leading++
		}
		if strings.Contains(e.Msg, "were are found") {
			wereAre++
		}
		if n := len(orderedRows(t, e.Data, "")); !strings.Contains(e.Msg, strconv.Itoa(n)) && !strings.Contains(e.Msg, "current month") {
			t.Errorf("msg %q does not carry the row count %d", e.Msg, n)
		}
	}
	if asString == 0 || asNumber == 0 || wereAre == 0 || leading == 0 {
		t.Errorf("variants: code string %d, number %d, 'were are' %d, leading space %d", asString, asNumber, wereAre, leading)
	}
}
