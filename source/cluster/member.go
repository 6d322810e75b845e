package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// Worker is what a Member drives: a [source.Worker] made with [source.Assigned].
type Worker interface {
	Configs() []source.Config
	Destination() source.Destination
	Assign(ctx context.Context, names []string) error
}

// Defaults of the group's timeouts (see SessionTimeout).
const (
	DefaultSessionTimeout    = 10 * time.Second
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultRebalanceTimeout  = time.Minute
)

// Member is one worker of a group: it joins the group, runs the connectors the
// leader's assignor gives it (through Worker.Assign) and hands them over when the
// group changes. Handover is safe by construction: a member stops what it loses before
// it rejoins, and a unit goes to its new owner only in a generation after its old owner
// said it no longer runs it (or left the group, or was expelled for missing its session
// timeout); on top of that, the new owner's first transaction fences the old one's
// transactional ID, so a member cut off from the coordinator but not from the brokers
// can never commit again. Exactly once does not depend on any of the timeouts.
type Member struct {
	w        Worker
	cfg      cfg
	log      *slog.Logger
	units    []Unit
	config   string
	sections map[string]string

	mu   sync.Mutex
	view View
}

// View is what a member knows of its group.
type View struct {
	Group      string `json:"group"`
	MemberID   string `json:"member_id,omitempty"`
	WorkerID   string `json:"worker_id"`
	Generation int32  `json:"generation"`
	Leader     string `json:"leader,omitempty"`
	// State is JOINING (between generations), STABLE, or REFUSED (the configuration
	// differs from the group's; Refused says how).
	State   string       `json:"state"`
	Refused string       `json:"refused,omitempty"`
	Members []MemberView `json:"members"`
	// Connectors are those this worker runs.
	Connectors []string `json:"connectors"`
	LastError  string   `json:"last_error,omitempty"`
}

// Owner returns the member that runs connector in the view's generation, if any.
func (v View) Owner(connector string) (MemberView, bool) {
	for _, m := range v.Members {
		if slices.Contains(m.Connectors, connector) {
			return m, true
		}
	}
	return MemberView{}, false
}

type cfg struct {
	group                         string
	workerID                      string
	url                           func() string
	session, heartbeat, rebalance time.Duration
	logger                        *slog.Logger
}

// Opt configures a [Member]; see [New].
type Opt func(*cfg)

// WorkerID names this worker in status views (default: the host name and process ID).
func WorkerID(id string) Opt { return func(c *cfg) { c.workerID = id } }

// AdvertisedURL is where this worker's REST API answers the other workers, asked at
// every join (a REST API on port 0 knows its port only once it listens).
func AdvertisedURL(u func() string) Opt { return func(c *cfg) { c.url = u } }

// SessionTimeout is how long the coordinator waits for a member's heartbeat before it
// expels it and gives its connectors to the others (default 10 s); HeartbeatInterval how
// often members send one (default 3 s, at most a third of the session timeout).
// Failover takes about the session timeout plus a heartbeat interval.
func SessionTimeout(session, heartbeat time.Duration) Opt {
	return func(c *cfg) { c.session, c.heartbeat = session, heartbeat }
}

// RebalanceTimeout bounds how long a rebalance waits for every member to rejoin
// (default 1 min).
func RebalanceTimeout(d time.Duration) Opt { return func(c *cfg) { c.rebalance = d } }

// Logger sets the logger (default: discard).
func Logger(l *slog.Logger) Opt { return func(c *cfg) { c.logger = l } }

// ErrGroupConflict: the group is used by something that is not a group of
// wolkvox-connect workers (Kafka consumers, Connect workers), or one of another release.
var ErrGroupConflict = errors.New("cluster: the group is used by other clients")

// New returns the member of group that drives w. It does no I/O.
func New(group string, w Worker, opts ...Opt) (*Member, error) {
	c := cfg{group: group, session: DefaultSessionTimeout, heartbeat: DefaultHeartbeatInterval,
		rebalance: DefaultRebalanceTimeout, logger: slog.New(slog.DiscardHandler), url: func() string { return "" }}
	for _, o := range opts {
		o(&c)
	}
	var errs []error
	if group == "" {
		errs = append(errs, errors.New("cluster: empty group name"))
	}
	if c.session < time.Second || c.heartbeat <= 0 || c.heartbeat > c.session/3 {
		errs = append(errs, fmt.Errorf("cluster: session timeout %v and heartbeat %v: want a session of at least 1s and a heartbeat of at most a third of it", c.session, c.heartbeat))
	}
	if c.rebalance < c.session {
		errs = append(errs, fmt.Errorf("cluster: rebalance timeout %v is below the session timeout %v", c.rebalance, c.session))
	}
	if c.logger == nil {
		errs = append(errs, errors.New("cluster: nil logger"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.workerID == "" {
		c.workerID = defaultWorkerID()
	}
	configs := w.Configs()
	fp, sections := fingerprints(configs, w.Destination())
	m := &Member{w: w, cfg: c, log: c.logger.With("component", "cluster", "group", group), units: unitsOf(configs),
		config: fp, sections: sections}
	m.view = View{Group: group, WorkerID: c.workerID, State: "JOINING", Members: []MemberView{}, Connectors: []string{}}
	return m, nil
}

// View returns what the member knows of its group now.
func (m *Member) View() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view
	v.Members = slices.Clone(v.Members)
	v.Connectors = slices.Clone(v.Connectors)
	return v
}

func (m *Member) update(fn func(v *View)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(&m.view)
}

// Run is the member's life: join, run what is assigned, heartbeat, rejoin when the
// group changes, until ctx ends; then it stops its connectors and leaves the group, so
// the others take them over at once instead of after the session timeout. It returns
// nil then, or ErrGroupConflict (wrapped) when the group cannot be ours.
func (m *Member) Run(ctx context.Context) error {
	dest := m.w.Destination()
	// The group client reaches Kafka as the worker's connectors do.
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(dest.Seeds...), kgo.WithLogger(sink.KafkaLogger(m.log))},
		dest.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("cluster: client: %w", err)
	}
	defer cl.Close()
	s := &session{m: m, cl: cl, owned: []string{}}
	defer s.leave()
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(200*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	for ctx.Err() == nil {
		err := s.runGeneration(ctx)
		switch {
		case err == nil:
			b.Reset()
			continue
		case ctx.Err() != nil:
		case errors.Is(err, ErrGroupConflict):
			s.release(ctx)
			return err
		default:
			m.log.Warn("group membership: retrying", "err", err)
			m.update(func(v *View) { v.State, v.LastError = "JOINING", err.Error() })
			_ = source.WallClock{}.Sleep(ctx, b.NextBackOff()) // ends early with ctx, which ends the loop
		}
	}
	s.release(context.WithoutCancel(ctx))
	return nil
}

// RunWith runs the worker (its Run, run) and the member together until ctx ends or
// either returns: the worker must be running for the member to give it connectors, and
// a worker whose membership failed must not go on with what it was given.
func (m *Member) RunWith(ctx context.Context, run func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	member := make(chan error, 1)
	go func() {
		err := m.Run(ctx)
		cancel()
		member <- err
	}()
	err := run(ctx)
	cancel()
	return errors.Join(err, <-member)
}

// session is the member's state in the coordinator: its member ID and generation, and
// the units it runs.
type session struct {
	m          *Member
	cl         *kgo.Client
	memberID   string
	generation int32
	owned      []string // unit IDs this worker runs
}

// errRejoin: the group is rebalancing; join again (keeping what runs).
var errRejoin = errors.New("cluster: rejoin")

// errExpelled: the coordinator no longer knows this member (its session expired, or a
// generation went on without it): another member may run its connectors already.
var errExpelled = errors.New("cluster: expelled from the group")

// runGeneration joins, syncs, applies the assignment and heartbeats until the group
// changes. It returns nil to rejoin at once, or the error to back off on.
func (s *session) runGeneration(ctx context.Context) error {
	m := s.m
	a, err := s.joinAndSync(ctx)
	if errors.Is(err, errRejoin) {
		return nil
	}
	if errors.Is(err, errExpelled) {
		s.release(ctx)
		s.memberID, s.generation = "", 0
		return nil
	}
	if err != nil {
		return err
	}
	names := []string{}
	for _, u := range m.units {
		if slices.Contains(a.Units, u.ID) {
			names = append(names, u.Connectors...)
		}
	}
	revoked := slices.ContainsFunc(s.owned, func(u string) bool { return !slices.Contains(a.Units, u) })
	// Heartbeat while the worker stops and starts connectors: a slow stop must not
	// cost the membership.
	applied := make(chan error, 1)
	go func() { applied <- m.w.Assign(ctx, names) }()
	var hbErr error
	if err := waitHeartbeating(ctx, s, applied); err != nil {
		hbErr = err
	}
	s.owned = slices.Clone(a.Units)
	state := "STABLE"
	if a.Refused != "" {
		state = "REFUSED"
		m.log.Error("not taking connectors: "+a.Refused, "generation", s.generation)
	}
	m.update(func(v *View) {
		v.MemberID, v.Generation, v.State, v.Refused, v.Members, v.LastError = s.memberID, s.generation, state, a.Refused, a.Members, ""
		v.Connectors = names
	})
	m.log.Info("group generation", "generation", s.generation, "member_id", s.memberID, "connectors", names, "revoked", revoked)
	if hbErr != nil {
		return s.afterHeartbeat(ctx, hbErr)
	}
	if revoked {
		// What this worker gave up goes to its new owner only in the next generation:
		// start it now.
		return nil
	}
	return s.afterHeartbeat(ctx, s.heartbeat(ctx))
}

// waitHeartbeating waits for applied while heartbeating; a heartbeat that says the
// group changed is returned once applied is done (the worker has stopped what it
// stops, so its next metadata is true).
func waitHeartbeating(ctx context.Context, s *session, applied <-chan error) error {
	t := time.NewTicker(s.m.cfg.heartbeat)
	defer t.Stop()
	var hbErr error
	for {
		select {
		case err := <-applied:
			if err != nil && ctx.Err() == nil {
				s.m.log.Error("applying the assignment", "err", err)
			}
			return hbErr
		case <-t.C:
			if hbErr == nil {
				hbErr = s.beat(ctx)
			}
		}
	}
}

// afterHeartbeat turns the end of a heartbeat loop into runGeneration's answer.
func (s *session) afterHeartbeat(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, errRejoin):
		return nil
	case errors.Is(err, errExpelled):
		s.m.log.Warn("expelled from the group: stopping every connector before rejoining", "err", err)
		s.release(ctx)
		s.memberID, s.generation = "", 0
		return nil
	default:
		return err
	}
}

// heartbeat beats every interval until the group changes or ctx ends. A coordinator
// not reached for a whole session timeout has expelled this member by then: it says so
// (errExpelled), so that its connectors are stopped before someone else starts them.
func (s *session) heartbeat(ctx context.Context) error {
	t := time.NewTicker(s.m.cfg.heartbeat)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		err := s.beat(ctx)
		switch {
		case err == nil:
			lastOK = time.Now()
		case errors.Is(err, errRejoin), errors.Is(err, errExpelled):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Since(lastOK) > s.m.cfg.session:
			return fmt.Errorf("%w: no heartbeat answered for %v: %w", errExpelled, time.Since(lastOK).Round(time.Second), err)
		default:
			s.m.log.Warn("heartbeat failed", "err", err)
		}
	}
}

// beat sends one heartbeat.
func (s *session) beat(ctx context.Context) error {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.Generation, req.MemberID = s.m.cfg.group, s.generation, s.memberID
	rctx, cancel := context.WithTimeout(ctx, s.m.cfg.session)
	defer cancel()
	resp, err := req.RequestWith(rctx, s.cl)
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	return classify("heartbeat", kerr.ErrorForCode(resp.ErrorCode))
}

// classify maps a group error to errRejoin, errExpelled, ErrGroupConflict or itself.
func classify(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.RebalanceInProgress):
		return fmt.Errorf("%w: %s: %w", errRejoin, what, err)
	case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.FencedInstanceID):
		return fmt.Errorf("%w: %s: %w", errExpelled, what, err)
	case errors.Is(err, kerr.InconsistentGroupProtocol), errors.Is(err, kerr.GroupAuthorizationFailed), errors.Is(err, kerr.InvalidGroupID):
		return fmt.Errorf("%w: %s: %w", ErrGroupConflict, what, err)
	default:
		return fmt.Errorf("cluster: %s: %w", what, err)
	}
}

// joinAndSync joins the group (the leader also computes everyone's assignment) and
// returns this member's assignment for the new generation.
func (s *session) joinAndSync(ctx context.Context) (assignment, error) {
	m := s.m
	m.update(func(v *View) { v.State = "JOINING" })
	meta := encodeMeta(memberMeta{WorkerID: m.cfg.workerID, URL: m.cfg.url(), Config: m.config, Sections: m.sections, Owned: s.owned})
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = m.cfg.group
	join.SessionTimeoutMillis = int32(m.cfg.session.Milliseconds())
	join.RebalanceTimeoutMillis = int32(m.cfg.rebalance.Milliseconds())
	join.ProtocolType = ProtocolType
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = ProtocolName, meta
	join.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	var resp *kmsg.JoinGroupResponse
	for {
		join.MemberID = s.memberID
		var err error
		resp, err = join.RequestWith(ctx, s.cl)
		if err != nil {
			return assignment{}, fmt.Errorf("cluster: join: %w", err)
		}
		jerr := kerr.ErrorForCode(resp.ErrorCode)
		if errors.Is(jerr, kerr.MemberIDRequired) { // KIP-394: join again with the ID given
			s.memberID = resp.MemberID
			continue
		}
		if jerr != nil {
			err := classify("join", jerr)
			if errors.Is(err, errExpelled) {
				s.memberID = ""
			}
			return assignment{}, err
		}
		break
	}
	s.memberID, s.generation = resp.MemberID, resp.Generation
	if resp.Protocol != nil && *resp.Protocol != ProtocolName {
		return assignment{}, fmt.Errorf("%w: the group chose protocol %q", ErrGroupConflict, *resp.Protocol)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = m.cfg.group, s.generation, s.memberID
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr(ProtocolType), kmsg.StringPtr(ProtocolName)
	if resp.LeaderID == s.memberID {
		metas := map[string]memberMeta{}
		for _, mem := range resp.Members {
			meta, err := decodeMeta(mem.ProtocolMetadata)
			if err != nil {
				m.log.Error("a member's metadata is unreadable: it gets nothing", "member_id", mem.MemberID, "err", err)
				meta = memberMeta{Config: "unreadable: " + err.Error(), Sections: map[string]string{}}
			}
			metas[mem.MemberID] = meta
		}
		for id, a := range leaderPlan(m.units, s.memberID, metas) {
			ga := kmsg.NewSyncGroupRequestGroupAssignment()
			ga.MemberID, ga.MemberAssignment = id, encodeAssignment(a)
			sync.GroupAssignment = append(sync.GroupAssignment, ga)
		}
		m.log.Debug("leading the group", "generation", s.generation, "members", slices.Sorted(maps.Keys(metas)))
	}
	sresp, err := sync.RequestWith(ctx, s.cl)
	if err != nil {
		return assignment{}, fmt.Errorf("cluster: sync: %w", err)
	}
	if err := classify("sync", kerr.ErrorForCode(sresp.ErrorCode)); err != nil {
		return assignment{}, err
	}
	m.update(func(v *View) { v.Leader = resp.LeaderID })
	return decodeAssignment(sresp.MemberAssignment)
}

// release stops every connector this worker runs.
func (s *session) release(ctx context.Context) {
	if len(s.owned) == 0 {
		return
	}
	if err := s.m.w.Assign(ctx, nil); err != nil {
		s.m.log.Error("stopping the connectors", "err", err)
	}
	s.owned = []string{}
	s.m.update(func(v *View) { v.Connectors = []string{} })
}

// leave tells the coordinator this member is gone, so the group rebalances at once.
func (s *session) leave() {
	if s.memberID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = s.m.cfg.group
	mem := kmsg.NewLeaveGroupRequestMember()
	mem.MemberID = s.memberID
	req.MemberID, req.Members = s.memberID, []kmsg.LeaveGroupRequestMember{mem}
	if _, err := req.RequestWith(ctx, s.cl); err != nil {
		s.m.log.Warn("leaving the group", "err", err)
	}
	s.m.log.Info("left the group", "member_id", s.memberID)
}
