package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// DefaultTopicTemplate names a report's topic when the configuration gives no template.
const DefaultTopicTemplate = "wolkvox.{connector}.{report}"

// maxTopicLen is Kafka's limit (Topic.MAX_NAME_LENGTH).
const maxTopicLen = 249

// TopicName expands a topic template: {connector}, {server} and {report} are replaced,
// any other {…} is an error, and the result must be a valid Kafka topic name (see
// [ValidateTopic]). Errors are [*TopicNameError].
func TopicName(template, connector, server, report string) (string, error) {
	var b strings.Builder
	rest := template
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return "", &TopicNameError{Name: template, Reason: "unmatched '}'"}
			}
			b.WriteString(rest)
			break
		}
		if strings.IndexByte(rest[:i], '}') >= 0 {
			return "", &TopicNameError{Name: template, Reason: "unmatched '}'"}
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", &TopicNameError{Name: template, Reason: "unmatched '{'"}
		}
		switch name := rest[i+1 : i+j]; name {
		case "connector":
			b.WriteString(connector)
		case "server":
			b.WriteString(server)
		case "report":
			b.WriteString(report)
		default:
			return "", &TopicNameError{Name: template, Reason: fmt.Sprintf("unknown placeholder {%s}; use {connector}, {server} or {report}", name)}
		}
		rest = rest[i+j+1:]
	}
	name := b.String()
	if err := ValidateTopic(name); err != nil {
		var tn *TopicNameError
		if errors.As(err, &tn) {
			tn.Reason += fmt.Sprintf(" (from template %q)", template)
		}
		return "", err
	}
	return name, nil
}

// ValidateTopic applies Kafka's topic name rules: 1 to 249 characters from
// [a-zA-Z0-9._-], and not "." or "..". (Kafka also warns when two names differ only
// in '.' versus '_', because metric names collide; that is legal and not checked.)
func ValidateTopic(name string) error {
	switch {
	case name == "":
		return &TopicNameError{Name: name, Reason: "empty"}
	case name == "." || name == "..":
		return &TopicNameError{Name: name, Reason: `"." and ".." are not allowed`}
	case len(name) > maxTopicLen:
		return &TopicNameError{Name: name, Reason: fmt.Sprintf("%d characters, the limit is %d", len(name), maxTopicLen)}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return &TopicNameError{Name: name, Reason: fmt.Sprintf("character %q at %d; only [a-zA-Z0-9._-] are allowed", c, i)}
		}
	}
	return nil
}

// EnsureTopics creates those of topics, and the dead-letter topic, that do not exist
// yet, with the [Topics] settings; a topic that exists is left as it is, whatever its
// settings. Topics this writer already ensured are skipped without a request, so the
// poller may call it before every commit. It is safe to call concurrently with Commit.
func (w *Writer) EnsureTopics(ctx context.Context, topics ...string) error {
	if err := w.usable(); err != nil {
		return err
	}
	want := make([]string, 0, len(topics)+1)
	w.ensuredMu.Lock()
	for _, t := range append([]string{w.cfg.dlqTopic}, topics...) {
		if err := ValidateTopic(t); err != nil {
			w.ensuredMu.Unlock()
			return err
		}
		if _, ok := w.ensured[t]; !ok {
			w.ensured[t] = struct{}{} // reserved; removed again below if creation fails
			want = append(want, t)
		}
	}
	w.ensuredMu.Unlock()
	if len(want) == 0 {
		return nil
	}

	configs := make(map[string]*string, len(w.cfg.topics.Configs))
	for k, v := range w.cfg.topics.Configs {
		configs[k] = kadm.StringPtr(v)
	}
	resps, err := w.adm.CreateTopics(ctx, w.cfg.topics.Partitions, w.cfg.topics.ReplicationFactor, configs, want...)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("sink: create topics %v: %w", want, err))
	}
	failed := make(map[string]bool)
	for _, t := range want {
		r, ok := resps[t]
		switch {
		case err != nil:
			failed[t] = true
		case !ok:
			failed[t] = true
			errs = append(errs, fmt.Errorf("sink: create topic %q: no answer from the broker", t))
		case r.Err == nil:
			w.log.InfoContext(ctx, "topic created", "topic", t, "partitions", r.NumPartitions, "replication_factor", r.ReplicationFactor)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
		default:
			failed[t] = true
			errs = append(errs, fmt.Errorf("sink: create topic %q: %w", t, r.Err))
		}
	}
	if len(failed) > 0 {
		w.ensuredMu.Lock()
		for t := range failed {
			delete(w.ensured, t)
		}
		w.ensuredMu.Unlock()
	}
	var ok []string
	for _, t := range want {
		if !failed[t] {
			ok = append(ok, t)
		}
	}
	if len(ok) > 0 {
		// Read now what each topic accepts, so that the first window does not wait for
		// it; a new topic may not be described yet on every broker, and RecordLimit
		// reads it again when it is needed.
		if err := w.readLimits(ctx, ok...); err != nil {
			w.log.DebugContext(ctx, "topic limits not read yet", "err", err)
		}
	}
	return errors.Join(errs...)
}
