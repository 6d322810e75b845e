package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// forwardedHeader marks a request one worker of a group passed to another: the owner
// answers it itself, so a stale view can never bounce a request between two workers.
const forwardedHeader = "X-Wolkvox-Forwarded-By"

// ErrRebalancing: in a group of workers, no worker runs the connector right now (the
// group is handing it over). Answered 409, as Kafka Connect answers during a rebalance.
var ErrRebalancing = errors.New("restapi: the connector is being handed over between workers")

// owner returns where the connector a request names runs when it is not here: in a
// group (see Group), a request about a connector another worker runs is answered by
// that worker. ok is false to answer here: no group, no connector in the path, a
// request already forwarded, or a connector this worker runs (or knows nothing of).
func (s *Server) owner(r *http.Request, name string) (target *url.URL, ok bool, err error) {
	if s.cfg.group == nil || name == "" || r.Header.Get(forwardedHeader) != "" {
		return nil, false, nil
	}
	st, err := s.w.Status(name)
	if err != nil || st.State != source.StateUnassigned {
		return nil, false, nil
	}
	m, found := s.cfg.group.View().Owner(name)
	if !found || m.URL == "" {
		return nil, false, errorf(http.StatusConflict, ErrRebalancing, fmt.Sprintf(
			"connector %s runs on no worker of the group right now (it is being handed over); retry in a few seconds", name))
	}
	if m.WorkerID == s.workerID() {
		return nil, false, nil
	}
	u, err := url.Parse(m.URL)
	if err != nil {
		return nil, false, errorf(http.StatusBadGateway, err, fmt.Sprintf("worker %s advertises a URL that does not parse: %q", m.WorkerID, m.URL))
	}
	return u, true, nil
}

// forwarding answers a request about a connector another worker of the group runs by
// passing it to that worker (its Authorization header included: every worker of a
// group has the same file, so the same REST token), and h's answer otherwise.
func (s *Server) forwarding(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		target, ok, err := s.owner(r, r.PathValue("name"))
		if err != nil {
			return err
		}
		if !ok {
			return h(w, r)
		}
		var proxyErr error
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = target.Host
				pr.Out.Header.Set(forwardedHeader, s.workerID())
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { proxyErr = err },
		}
		proxy.ServeHTTP(w, r)
		if proxyErr != nil {
			return errorf(http.StatusBadGateway, proxyErr, fmt.Sprintf("the worker that runs connector %s (%s) did not answer: %v", r.PathValue("name"), target, proxyErr))
		}
		return nil
	}
}

// remoteStatus is the status of a connector another worker of the group runs, as that
// worker answers GET /connectors/{name}/status; ok is false when it runs here (or
// nowhere, or its owner does not answer: the local status says UNASSIGNED then).
func (s *Server) remoteStatus(ctx context.Context, r *http.Request, name string) (json.RawMessage, bool) {
	target, ok, err := s.owner(r, name)
	if err != nil || !ok {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.requestTimeout)
	defer cancel()
	u := target.JoinPath("connectors", name, "status")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false
	}
	req.Header.Set(forwardedHeader, s.workerID())
	if auth := r.Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.log.Debug("status from the owner", "connector", name, "owner", target.String(), "err", err)
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != http.StatusOK || !json.Valid(body) {
		return nil, false
	}
	return json.RawMessage(strings.TrimSpace(string(body))), true
}
