package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TokenGroup is the connectors that share one Wolkvox token, and with it one daily
// budget and one limit of calls in flight: build one source.Quota and one
// wolkvox.Limiter per group. The loader has checked that they agree on all three values.
type TokenGroup struct {
	Connectors     []int // indexes into Settings.Connectors, in file order
	DailyQuota     int64
	QuotaResetHour int
	MaxInFlight    int
}

// Label names the group without its token: "the token of bogota, medellin".
func (g TokenGroup) Label(s *Settings) string {
	names := make([]string, len(g.Connectors))
	for i, c := range g.Connectors {
		names[i] = s.Connectors[c].Config.Name
	}
	return "the token of " + strings.Join(names, ", ")
}

// TokenGroups groups the connectors by token, in the order of their first connector.
func (s *Settings) TokenGroups() []TokenGroup {
	configs := make([]source.Config, len(s.Connectors))
	for i := range s.Connectors {
		configs[i] = source.Config{Name: s.Connectors[i].Config.Name, Token: s.Connectors[i].Token}
	}
	var groups []TokenGroup
	for _, members := range source.TokenGroups(configs) {
		first := &s.Connectors[members[0]]
		groups = append(groups, TokenGroup{Connectors: members, DailyQuota: first.Config.DailyQuota,
			QuotaResetHour: first.Config.QuotaResetHour, MaxInFlight: first.MaxInFlight})
	}
	return groups
}

// QuotaPlan is the steady-state calls a day of a token group against its budget; each
// report is named "connector/report-key".
func (s *Settings) QuotaPlan(g TokenGroup) source.Plan {
	p := source.Plan{PerReport: map[string]float64{}, Budget: g.DailyQuota}
	for _, i := range g.Connectors {
		c := &s.Connectors[i]
		cp := c.Config.QuotaPlan()
		for k, n := range cp.PerReport {
			p.PerReport[c.Config.Name+"/"+k] = n
		}
		p.Total += cp.Total
	}
	return p
}

// checkTokens checks what connectors sharing a token must agree on, and that each
// token's steady-state calls fit its daily budget.
func (l *loader) checkTokens(s *Settings) {
	for _, g := range s.TokenGroups() {
		first := g.Connectors[0]
		agree := true
		for _, i := range g.Connectors[1:] {
			c := &s.Connectors[i]
			differ := func(key string, mine, theirs any) {
				agree = false
				l.bad(fmt.Sprintf("connectors[%d].%s", i, key), fmt.Sprintf("is %v but connectors[%d] (%s), which uses the same token, has %v: connectors sharing a token share one %s",
					mine, first, s.Connectors[first].Config.Name, theirs, map[string]string{"daily_quota": "daily budget", "quota_reset_hour": "daily reset", "max_in_flight": "limit of simultaneous calls"}[key]),
					fmt.Sprintf("give both %s: %v (the token's value), or give them separate tokens", key, theirs))
			}
			if c.Config.DailyQuota != g.DailyQuota {
				differ("daily_quota", c.Config.DailyQuota, g.DailyQuota)
			}
			if c.Config.QuotaResetHour != g.QuotaResetHour {
				differ("quota_reset_hour", c.Config.QuotaResetHour, g.QuotaResetHour)
			}
			if c.MaxInFlight != g.MaxInFlight {
				differ("max_in_flight", c.MaxInFlight, g.MaxInFlight)
			}
		}
		if !agree || g.DailyQuota <= 0 {
			continue
		}
		p := s.QuotaPlan(g)
		if p.Fits() {
			continue
		}
		who := g.Label(s)
		l.bad(fmt.Sprintf("connectors[%d].daily_quota", first), fmt.Sprintf("the reports on %s make %.0f calls a day in steady state, above the daily quota of %d",
			who, p.Total, g.DailyQuota),
			fmt.Sprintf("cut %.0f calls a day: a longer interval (10m instead of 5m halves a report's calls), a longer bucket for range reports, or fewer reports; raise daily_quota only if the token has more licenses", p.Total-float64(g.DailyQuota)))
	}
}

// WritePlans writes the quota plan of every token group: the steady-state calls a day
// of each report, their sum against the budget, and what is left for catching up.
func (s *Settings) WritePlans(w io.Writer) {
	for _, g := range s.TokenGroups() {
		first := s.Connectors[g.Connectors[0]].Config
		p := s.QuotaPlan(g)
		fmt.Fprintf(w, "\nquota plan for %s (resets at %02d:00 %s):\n%s\n", g.Label(s), g.QuotaResetHour, first.Location, p)
		fmt.Fprintf(w, "  fits: %.0f calls a day left for catching up and retries\n", float64(p.Budget)-p.Total)
	}
}

// LogPlans logs, as a worker starts, the configuration's warnings and each token
// group's quota plan.
func (s *Settings) LogPlans(log *slog.Logger) {
	for _, p := range s.Warnings {
		log.Warn("configuration: "+p.String(), "field", p.Field)
	}
	for _, g := range s.TokenGroups() {
		plan := s.QuotaPlan(g)
		log.Info("quota plan", "token", g.Label(s), "calls_per_day", int64(plan.Total), "budget", plan.Budget)
	}
}
