package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// ProbeTimeout bounds one token_info call of [Settings.Probe]: the endpoint is small,
// and a user waiting at a prompt would rather see a timeout than the API's 60 s.
const ProbeTimeout = 30 * time.Second

// Probe is what one token_info call says of a connector's server and token.
type Probe struct {
	Connector  string
	DailyQuota int64 // the connector's daily_quota
	Info       wolkvox.TokenInfo
	// Err is why the call failed; nil when it answered. Class, Reason and Fix explain
	// it; every secret of the settings is hidden from Reason and Text.
	Err          error
	Class        wolkvox.Class
	Reason, Text string
	Fix          string
}

// OverLimit reports whether the connector's daily_quota is above the limit the token
// has, which the quota plan was computed from.
func (p Probe) OverLimit() bool {
	return p.Err == nil && p.Info.Limit > 0 && p.DailyQuota > p.Info.Limit
}

// Probe calls token_info once per connector (one call of each token's budget), in file
// order, and says what each answered or why it failed.
func (s *Settings) Probe(ctx context.Context) []Probe {
	red := s.Redactor()
	out := make([]Probe, len(s.Connectors))
	for i := range s.Connectors {
		c := &s.Connectors[i]
		p := Probe{Connector: c.Config.Name, DailyQuota: c.Config.DailyQuota}
		p.Info, p.Err = probeOne(ctx, c)
		if p.Err != nil {
			p.Class, p.Fix = probeClass(p.Err), probeFix(p.Err)
			p.Reason, p.Text = red.Redact(probeReason(p.Err)), red.Redact(p.Err.Error())
		}
		out[i] = p
	}
	return out
}

func probeOne(ctx context.Context, c *Connector) (wolkvox.TokenInfo, error) {
	cl, err := wolkvox.NewClient(append(c.SourceOpts(), wolkvox.CallTimeout(ProbeTimeout))...)
	if err != nil {
		return wolkvox.TokenInfo{}, fmt.Errorf("building the client: %w", err)
	}
	defer cl.CloseIdleConnections()
	return cl.TokenInfo(ctx)
}

// probeReason is the part of a failed probe's error a user acts on: the network error
// ("dial tcp 127.0.0.1:1: connect: connection refused") or the API's answer, without
// the chain of wrappers the full error carries.
func probeReason(err error) string {
	var re *wolkvox.ResponseError
	var op *net.OpError
	switch {
	case errors.As(err, &re) && re.StatusCode != 0:
		return re.Error()
	case errors.As(err, &op):
		return op.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", ProbeTimeout)
	}
	return err.Error()
}

// probeClass is the wolkvox.Class of a failed probe; a failure before any call (a bad
// option) is "config".
func probeClass(err error) wolkvox.Class {
	var re *wolkvox.ResponseError
	switch {
	case errors.As(err, &re):
		return re.Class
	case errors.Is(err, wolkvox.ErrInvalidOption):
		return "config"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wolkvox.ClassCanceled
	}
	return wolkvox.ClassTransient
}

// probeFix says what to do about a failed probe, by the class of its error.
func probeFix(err error) string {
	class := probeClass(err)
	switch {
	case errors.Is(err, wolkvox.ErrInvalidOption):
		return "correct the connector's server, token or base_url"
	case class == wolkvox.ClassInvalidToken:
		return "check the token (a new one from the Wolkvox manager?) and that server is the operation's wv number"
	case class == wolkvox.ClassQuotaExhausted:
		return "the token's calls for today are spent; wait for the daily reset, or raise the licenses"
	case class == wolkvox.ClassBadRequest:
		return "check server (and base_url): this host does not serve information.php?api=token_info"
	case class == wolkvox.ClassTooManyRequests:
		return "another program is calling with this token right now; try again, and keep max_in_flight within the token's limit"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the API did not answer in time; check the network path to the server and try again"
	}
	return "a transient failure (maintenance, network): try again later; check base_url if you set one"
}
