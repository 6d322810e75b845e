package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// quietLogger is the logger of the one-shot commands (tail, offsets): warnings and errors
// only, on stderr, so that the Kafka client's routine messages do not drown the output.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// connectorByFlag is the connector --connector names in the file s was loaded from
// (an empty name picks a file's only connector), with the fix for the flag.
func connectorByFlag(s *config.Settings, file, name string) (*source.Connector, error) {
	c, err := s.Connector(name)
	var unknown *config.UnknownConnectorError
	if errors.As(err, &unknown) {
		return nil, fmt.Errorf("%w: %s %v (fix --connector)", errUsage, file, err)
	}
	return c, err
}

// reportByFlag is the report of c that --report names, with the fix for the flag.
func reportByFlag(c *source.Connector, file, key string) (source.ReportConfig, error) {
	rc, err := c.Config().Report(key)
	var unknown *source.UnknownReportError
	if errors.As(err, &unknown) && !unknown.Ambiguous {
		return rc, fmt.Errorf("%w: %s: %v (fix --report, or add the report to the file)", errUsage, file, err)
	}
	if err != nil {
		return rc, fmt.Errorf("%w: %v", errUsage, err)
	}
	return rc, nil
}
