package config

import "github.com/wolkvox-connect/wolkvox-connect/source"

// Secret is the engine's secret type (source.Secret): a value that cannot print itself.
type Secret = source.Secret

// NewSecret holds s as a Secret; "" is an unset one.
func NewSecret(s string) Secret { return source.NewSecret(s) }
