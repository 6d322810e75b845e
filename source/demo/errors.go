package demo

import (
	"errors"
	"fmt"
)

var (
	// ErrBroker is returned by Run when the external cluster of Config.Brokers does
	// not answer.
	ErrBroker = errors.New("no Kafka broker answers")
	// ErrFailed is returned by Run when the demo's connector stopped with an error;
	// the error's text ends with the connector's last error.
	ErrFailed = errors.New("the demo connector failed")
)

// ConfigError is a Config that Run refuses before any I/O: Field names the Config
// field, Value is what it holds and Reason what is wrong with it, so that a command can
// name its own flag instead of the field.
type ConfigError struct {
	Field  string
	Value  any
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("demo: %s %v %s", e.Field, e.Value, e.Reason)
}
