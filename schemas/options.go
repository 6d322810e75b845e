package schemas

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// Opt configures an Encoder or a Decoder (NewEncoder, NewDecoder).
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	client        *sr.Client
	urls          []string
	preRegistered bool
	refresh       time.Duration
	set           *Set
	logger        *slog.Logger
}

// DefaultRegistryRefresh is how long an Encoder uses a schema ID before it asks the
// registry again (see RegistryRefresh).
const DefaultRegistryRefresh = time.Minute

func defaultCfg() cfg {
	return cfg{logger: slog.New(slog.DiscardHandler), refresh: DefaultRegistryRefresh}
}

// Registry makes the Encoder write the Confluent wire format (magic byte 0, 4-byte
// big-endian schema ID, Avro body), registering schemas with cl, and lets the Decoder
// read it. Without Registry or RegistryURLs, events use Avro single-object encoding.
func Registry(cl *sr.Client) Opt { return optFunc(func(c *cfg) { c.client = cl }) }

// RegistryURLs is Registry with a plain client built from the given base URLs (tried in
// order), for an open registry. A registry behind basic auth or a private CA needs a
// client built with those options (sr.BasicAuth, sr.HTTPClient), passed to Registry, as
// the worker's configuration does. It cannot be combined with Registry.
func RegistryURLs(urls ...string) Opt {
	return optFunc(func(c *cfg) { c.urls = append(c.urls, urls...) })
}

// RequirePreRegistered makes the Encoder refuse to register schemas: each topic's
// subject must already hold the report's schema (the exact text `wolkvox-connect schemas
// show REPORT` prints), or Encode fails with ErrNotRegistered. Use it where producers
// have no write access to the registry. The default, false, registers on first use.
// It needs a registry and is ignored by the Decoder.
func RequirePreRegistered(b bool) Opt { return optFunc(func(c *cfg) { c.preRegistered = b }) }

// RegistryRefresh sets how long the Encoder uses a topic's schema ID before it asks the
// registry again (registers, or looks up with RequirePreRegistered, once more: one
// request per topic per interval), overriding the default of DefaultRegistryRefresh.
// That is how a registry that lost its schemas (one with in-memory storage, restarted)
// gets them back: within the interval the next event registers the schema again and
// carries the ID the registry now gives, logged as a warning with both IDs, since
// events written with the old ID no longer resolve (or, where the registry handed that
// ID out again, resolve to another schema). A registry that cannot be reached at a
// refresh leaves the ID in use, to be asked again after another interval; a
// pre-registered schema that is gone fails Encode with ErrNotRegistered. Zero or less
// asks once per topic for the Encoder's life.
func RegistryRefresh(d time.Duration) Opt { return optFunc(func(c *cfg) { c.refresh = d }) }

// WithSchemas replaces the schemas compiled into the binary (Embedded) with s.
func WithSchemas(s *Set) Opt { return optFunc(func(c *cfg) { c.set = s }) }

// WithLogger sets the logger; the default discards everything. Registrations are logged
// at Info, cache misses at Debug.
func WithLogger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// build applies opts, validates them and makes the registry client, if any.
func build(component string, opts []Opt) (cfg, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	var problems []error
	if c.client != nil && len(c.urls) > 0 {
		problems = append(problems, errors.New("Registry and RegistryURLs cannot both be given"))
	}
	if c.preRegistered && c.client == nil && len(c.urls) == 0 {
		problems = append(problems, errors.New("RequirePreRegistered needs a registry (Registry or RegistryURLs)"))
	}
	if c.logger == nil {
		problems = append(problems, errors.New("WithLogger(nil): pass a logger or leave the option out"))
	}
	if err := errors.Join(problems...); err != nil {
		return c, fmt.Errorf("schemas: invalid %s options: %w", component, err)
	}
	if c.set == nil {
		s, err := Embedded()
		if err != nil {
			return c, err
		}
		c.set = s
	}
	if len(c.urls) > 0 {
		cl, err := sr.NewClient(sr.URLs(c.urls...), sr.UserAgent("wolkvox-connect"))
		if err != nil {
			return c, fmt.Errorf("%w: building the client: %w", ErrRegistry, err)
		}
		c.client = cl
	}
	c.logger = c.logger.With("component", component)
	return c, nil
}
