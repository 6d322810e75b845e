package sink

import (
	"errors"
	"strings"
	"testing"
)

func TestTopicName(t *testing.T) {
	tests := []struct {
		name, template, connector, server, report string
		want                                      string // "" means an error is expected
	}{
		{"default template", DefaultTopicTemplate, "c1", "0040", "act_3", "wolkvox.c1.act_3"},
		{"all placeholders", "{server}-{connector}_{report}", "prod", "0040", "cdr_1", "0040-prod_cdr_1"},
		{"repeated placeholder", "{report}.{report}", "c", "s", "r", "r.r"},
		{"no placeholder", "fixed-topic", "c", "s", "r", "fixed-topic"},
		{"unknown placeholder", "wolkvox.{tenant}.{report}", "c", "s", "r", ""},
		{"unmatched open", "wolkvox.{report", "c", "s", "r", ""},
		{"unmatched close", "wolkvox.report}", "c", "s", "r", ""},
		{"close before open", "}{report}", "c", "s", "r", ""},
		{"space in connector", DefaultTopicTemplate, "my connector", "s", "r", ""},
		{"slash in report", DefaultTopicTemplate, "c", "s", "a/b", ""},
		{"non-ASCII", DefaultTopicTemplate, "señal", "s", "r", ""},
		{"empty result", "{report}", "c", "s", "", ""},
		{"dot", "{report}", "c", "s", ".", ""},
		{"dot dot", "{report}", "c", "s", "..", ""},
		{"249 characters", "{report}", "c", "s", strings.Repeat("a", 249), strings.Repeat("a", 249)},
		{"250 characters", "{report}", "c", "s", strings.Repeat("a", 250), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TopicName(tt.template, tt.connector, tt.server, tt.report)
			if tt.want == "" {
				var tn *TopicNameError
				if !errors.As(err, &tn) || !errors.Is(err, ErrInvalidTopic) {
					t.Fatalf("TopicName = %q, %v; want a *TopicNameError", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("TopicName = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzTopicName: templates and names come from configuration files. Expansion never
// panics and never returns a name Kafka would refuse.
func FuzzTopicName(f *testing.F) {
	f.Add(DefaultTopicTemplate, "c1", "0040", "act_3")
	f.Add("{server}{", "a", "b", "c")
	f.Add("}{x}", "", "", "")
	f.Fuzz(func(t *testing.T, template, connector, server, report string) {
		got, err := TopicName(template, connector, server, report)
		if err != nil {
			if !errors.Is(err, ErrInvalidTopic) {
				t.Fatalf("error %v is not ErrInvalidTopic", err)
			}
			return
		}
		if err := ValidateTopic(got); err != nil {
			t.Fatalf("TopicName returned invalid %q: %v", got, err)
		}
	})
}
